package summarize

import (
	"fmt"
	"strings"
	"unicode"
)

// fakeTok is a tiny word-level tokenizer over a fixed vocabulary, for tests. Special tokens (those in
// specials) are matched first; otherwise text splits into " word" / "word" pieces, runs of newlines
// (at most two per token), and single other characters. Unknown pieces are an error.
type fakeTok struct {
	ids   map[string]int
	texts []string
}

var specials = []string{DefaultBeginSummary, DefaultEndSummary, "</think>", "<|im_end|>"}

func newFakeTok(words ...string) *fakeTok {
	t := &fakeTok{ids: map[string]int{}}
	for _, w := range append(append([]string{}, specials...), words...) {
		if _, dup := t.ids[w]; !dup {
			t.ids[w] = len(t.texts)
			t.texts = append(t.texts, w)
		}
	}
	return t
}

// testTok covers the records used in the tests and examples.
func testTok() *fakeTok {
	return newFakeTok("\n\n", "\n", ".", "?", ":", " ", "=",
		"Q", " What", " is", " two", " plus", " three", "Two", " and", " make", " five",
		"Five", "Check", " minus", "Checked", " Checked", "5", "p", "t", "s", "a")
}

func (t *fakeTok) TokenID(s string) (int, bool) { id, ok := t.ids[s]; return id, ok }

func (t *fakeTok) Text(id int) string { return t.texts[id] }

func (t *fakeTok) Encode(text string) ([]int, error) {
	var ids []int
	for len(text) > 0 {
		piece := t.next(text)
		id, ok := t.ids[piece]
		if !ok {
			return nil, fmt.Errorf("fakeTok: unknown piece %q", piece)
		}
		ids = append(ids, id)
		text = text[len(piece):]
	}
	return ids, nil
}

func (t *fakeTok) next(text string) string {
	for _, s := range specials {
		if strings.HasPrefix(text, s) {
			return s
		}
	}
	if strings.HasPrefix(text, "\n\n") {
		return "\n\n"
	}
	isWord := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	start := 0
	if text[0] == ' ' && len(text) > 1 && isWord(rune(text[1])) {
		start = 1
	}
	end := start
	for end < len(text) && isWord(rune(text[end])) {
		end++
	}
	if end == start {
		return text[:1]
	}
	return text[:end]
}

// decode joins token texts.
func (t *fakeTok) decode(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(t.texts[id])
	}
	return b.String()
}
