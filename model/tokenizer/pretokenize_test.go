package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func words(s splitter, text string) []string {
	var out []string
	s.split(text, new(scratch), func(a, b int) { out = append(out, text[a:b]) })
	return out
}

func TestLetterSplitterTable(t *testing.T) {
	llama3, qwen2 := letterSplitter{maxDigits: 3}, letterSplitter{maxDigits: 1}
	cases := []struct {
		s    splitter
		text string
		want []string
	}{
		{llama3, "Hello world", []string{"Hello", " world"}},
		{llama3, "  x", []string{" ", " x"}},               // \s+(?!\S) leaves the last space to the word
		{llama3, "x  ", []string{"x", "  "}},               // trailing run: \s+ at the end
		{llama3, "a \n\n b", []string{"a", " \n\n", " b"}}, // \s*[\r\n]+ stops after the last newline
		{llama3, "1234567", []string{"123", "456", "7"}},
		{qwen2, "1234", []string{"1", "2", "3", "4"}},
		{llama3, "don't I'LL we'Re", []string{"don", "'t", " I", "'LL", " we", "'Re"}},
		{llama3, "'x", []string{"'x"}},                 // not a contraction: punctuation prefix + letters
		{llama3, " !!\n\nx", []string{" !!\n\n", "x"}}, // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
		{llama3, "\tfoo", []string{"\tfoo"}},           // any non-letter/number/newline prefixes letters
		{llama3, "\nfoo", []string{"\n", "foo"}},
		{llama3, "3x", []string{"3", "x"}},
		{llama3, "日本語テキスト", []string{"日本語テキスト"}},
		{llama3, "a\u3000b", []string{"a", "\u3000b"}},
		{llama3, "𮯰𮯱 x", []string{"𮯰𮯱", " x"}}, // CJK Ext. I: letters for llama.cpp (Unicode 15.1)
		{llama3, "", nil},
		{llama3, " ", []string{" "}},
	}
	for _, c := range cases {
		if got := words(c.s, c.text); !slices.Equal(got, c.want) {
			t.Errorf("%+v %q: got %q want %q", c.s, c.text, got, c.want)
		}
	}
}

// stressAlphabet covers every class boundary of the Llama 3 / Qwen2 patterns.
var stressAlphabet = []rune{
	'a', 'Z', 's', 'S', 't', 'r', 'e', 'E', 'v', 'm', 'l', 'L', 'd', 'é', 'ß', 'Ж', 'ж', 'ſ', 'İ', 'K', // letters
	'日', '本', 'ア', '한', 'ا', 'ह', 'ก', // more letters (Lo)
	'0', '7', '٣', '²', '½', 'Ⅻ', '〇', // numbers Nd / No / Nl
	' ', ' ', ' ', '\t', '\n', '\n', '\r', '\v', '\f', 0x85, 0xA0, 0x1680, 0x2003, 0x2028, 0x2029, 0x202F, 0x3000, // whitespace
	'\'', '\'', '’', '.', ',', '!', '?', '-', '_', '(', '$', '+', '<', '|', '>', '~', '`', '@', // punctuation, symbols
	0x0301, 0x0308, 0x093F, // combining marks
	0x200D, 0xFE0F, 0x200B, 0x00AD, // format characters
	'😀', '🇫', '🇷', '👍', // emoji
	0x0378, 0xE000, 0x10FFFD, 0x00, 0x1F, 0x7F, // unassigned, private use, controls
	0x1C, 0x1D, 0x1E, // information separators: not \s for regex engines
}

func randomText(r *rand.Rand, maxLen int) string {
	n := r.IntN(maxLen + 1)
	var b strings.Builder
	for range n {
		b.WriteRune(stressAlphabet[r.IntN(len(stressAlphabet))])
	}
	return b.String()
}

// TestLetterSplitterMatchesRegexp2 checks the hand-written splitter against the pattern itself,
// run by regexp2, on random strings over all the character classes involved.
func TestLetterSplitterMatchesRegexp2(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 500
	}
	for _, c := range []struct {
		name     string
		fast     splitter
		patterns []string
	}{
		{"llama3", letterSplitter{maxDigits: 3}, []string{patLlama3, patLlama3HF}},
		{"qwen2", letterSplitter{maxDigits: 1}, []string{patQwen2, patQwen2HF}},
	} {
		for _, pat := range c.patterns {
			re, err := newRegexSplitter(pat, true, true)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			for i := range n {
				text := randomText(r, 24)
				if got, want := words(c.fast, text), words(re, text); !slices.Equal(got, want) {
					t.Fatalf("%s case %d %q:\nfast   %q\nregexp %q\npattern %s", c.name, i, text, got, want, pat)
				}
			}
		}
	}
}

func TestRegexSplitterBehaviours(t *testing.T) {
	iso, _ := newRegexSplitter(`\d+`, true, true)
	removed, _ := newRegexSplitter(`\d+`, false, true)
	keep, _ := newRegexSplitter(`\d+`, true, false)
	text := "ab12cd345"
	for _, c := range []struct {
		s    splitter
		want []string
	}{
		{iso, []string{"ab", "12", "cd", "345"}},
		{removed, []string{"ab", "cd"}},
		{keep, []string{"12", "345"}},
		{whitespaceSplitter{}, []string{"ab12cd345"}},
		{seqSplitter{whitespaceSplitter{}, iso}, []string{"ab", "12", "cd", "345"}},
	} {
		if got := words(c.s, text); !slices.Equal(got, c.want) {
			t.Errorf("got %q want %q", got, c.want)
		}
	}
	if got := words(whitespaceSplitter{}, " a\u00a0b\n c "); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("WhitespaceSplit: %q", got)
	}
}
