package server

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model/chat"
)

// chunks cuts s into pieces of random lengths (bytes; a token's text may split anywhere).
func chunks(s string, rng *rand.Rand) []string {
	var out []string
	for len(s) > 0 {
		n := min(len(s), 1+rng.IntN(6))
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

func TestStopMatcher(t *testing.T) {
	cases := []struct {
		name    string
		stops   []string
		text    string
		want    string
		stopped bool
	}{
		{"none", nil, "abc\n\ndef", "abc\n\ndef", false},
		{"at the end", []string{"\n\n"}, "abc\n\n", "abc", true},
		{"inside a token", []string{"\n\n"}, "abc\n\nThe end", "abc", true},
		{"earliest of two", []string{"end", "c\n"}, "abc\n\nThe end", "ab", true},
		{"prefix then not", []string{"STOP"}, "a STO and more", "a STO and more", false},
		{"prefix at the end", []string{"STOP"}, "a ST", "a ST", false},
		{"overlapping prefixes", []string{"aab"}, "aaaab", "aa", true},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for range 50 { // any split of the text into tokens gives the same output
				m := stopMatcher{stops: c.stops}
				var out strings.Builder
				stopped := false
				for _, piece := range chunks(c.text, rng) {
					emit, found := m.push(piece)
					for _, s := range c.stops {
						require.NotContains(t, out.String()+emit, s, "a stop string was emitted")
					}
					out.WriteString(emit)
					if found {
						stopped = true
						break
					}
				}
				if !stopped {
					out.WriteString(m.flush())
				}
				require.Equal(t, c.want, out.String())
				require.Equal(t, c.stopped, stopped)
			}
		})
	}
}

// TestThinkSplitterMatchesSplit: streamed in any pieces, the splitter's reasoning and content
// are what chat.ThinkMarkers.Split gives for the whole text.
func TestThinkSplitterMatchesSplit(t *testing.T) {
	texts := []string{
		"<think>\nLet me see.\n\nIt is 4.\n</think>\n\nThe answer is 4.",
		"  <think>a</think>b",
		"<think>\n\n</think>\n\nOnly an answer.",
		"<think>unfinished thought  \n",
		"No thinking at all.",
		"  leading space kept when there is no span",
		"<thi",
		"<think> a < b </thin and on </think>  x </think> y",
		"",
		" \n ",
		"<think>\n  spaced   out \n words \n</think>",
	}
	rng := rand.New(rand.NewPCG(3, 4))
	words := []string{"<think>", "</think>", "<", "</", "think", ">", " ", "\n", "a", "b c", "<th"}
	for range 300 {
		var b strings.Builder
		if rng.IntN(2) == 0 {
			b.WriteString("<think>")
		}
		for range rng.IntN(12) {
			b.WriteString(words[rng.IntN(len(words))])
		}
		texts = append(texts, b.String())
	}
	for _, text := range texts {
		for _, inThink := range []bool{false, true} {
			want := chat.DefaultThink.Split(text, inThink)
			trimmed := strings.TrimLeft(text, spaces)
			if !inThink && !strings.HasPrefix(trimmed, "<think>") && strings.Contains(text, "</think>") && !strings.Contains(text, "<think>") {
				continue // Split's after-the-fact rule, which a stream cannot follow (see thinkSplitter)
			}
			for range 5 {
				sp := newThinkSplitter(chat.DefaultThink, inThink)
				var reasoning, content strings.Builder
				for _, piece := range chunks(text, rng) {
					r, c := sp.push(piece)
					reasoning.WriteString(r)
					content.WriteString(c)
				}
				r, c := sp.flush()
				reasoning.WriteString(r)
				content.WriteString(c)
				require.Equal(t, want.Reasoning, reasoning.String(), "reasoning of %q (inThink %v)", text, inThink)
				require.Equal(t, want.Content, content.String(), "content of %q (inThink %v)", text, inThink)
			}
		}
	}
}
