package server

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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

// TestSpaceTrim: streamed in any pieces, the trimmed output is strings.TrimSpace (reasoning) or
// strings.TrimLeft (content) of the whole.
func TestSpaceTrim(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	words := []string{" ", "\n", "\t", "a", "b c", "  d  ", "\n\n", "é"}
	texts := []string{"", " ", "\n a b \n", "x", "  lead", "trail  ", " \n mid dle \n "}
	for range 300 {
		var b strings.Builder
		for range rng.IntN(10) {
			b.WriteString(words[rng.IntN(len(words))])
		}
		texts = append(texts, b.String())
	}
	for _, text := range texts {
		for _, trailing := range []bool{false, true} {
			want := strings.TrimLeft(text, spaces)
			if trailing {
				want = strings.TrimSpace(text)
			}
			for range 5 {
				tr := spaceTrim{trailing: trailing}
				var out strings.Builder
				for _, piece := range chunks(text, rng) {
					out.WriteString(tr.push(piece, false))
				}
				out.WriteString(tr.push("", true))
				require.Equal(t, want, out.String(), "%q (trailing %v)", text, trailing)
			}
		}
	}
	off := spaceTrim{off: true}
	require.Equal(t, "  x  ", off.push("  x  ", false))
}
