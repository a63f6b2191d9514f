package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestSPMChunkingIsExact: cutting the text where no vocabulary entry spans the boundary gives the
// same ids as llama.cpp's single priority queue over the whole text.
func TestSPMChunkingIsExact(t *testing.T) {
	tok, err := Load(srcSPMGGUF.file())
	if err != nil {
		t.Fatal(err)
	}
	words := strings.Fields("the quick brown fox jumps over lazy dogs naïve café 日本語 " +
		"unbelievable tokenization ▁ <s> </s> <0x0A> ab cd 12 345 ... !!")
	r := rand.New(rand.NewPCG(8, 9))
	for i := range 400 {
		var b strings.Builder
		for range r.IntN(12) {
			if r.IntN(3) == 0 {
				b.WriteString(randomText(r, 4))
			} else {
				b.WriteString(words[r.IntN(len(words))])
			}
			b.WriteString([]string{" ", "  ", "", "\n", "\t"}[r.IntN(5)])
		}
		text := b.String()
		tok.resetCaches()
		got, err := tok.EncodeWith(text, Options{})
		if err != nil {
			t.Fatal(err)
		}
		tok.resetCaches()
		escaped := strings.ReplaceAll(" "+text, " ", "▁")
		want, err := tok.spm.encodeChunk(escaped, tok, new(scratch), []int{})
		if err != nil {
			t.Fatal(err)
		}
		if text == "" {
			want = []int{}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("case %d %q:\nchunked %v\nwhole   %v", i, text, got, want)
		}
	}
}
