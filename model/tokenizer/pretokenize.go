package tokenizer

import (
	"fmt"
	"unicode"

	"github.com/dlclark/regexp2"
)

// Pre-tokenization cuts a text fragment into words; BPE never merges across words.

// span is a word: text[start:end] in bytes.
type span struct{ start, end int }

// splitter cuts text into words and calls emit with each word's byte range, in order. Words are
// streamed rather than collected so that a long text needs no buffer proportional to it.
type splitter interface {
	split(text string, st *scratch, emit func(start, end int))
}

// The pre-tokenizer patterns of the vocabularies we target, as written in tokenizer.json and as
// llama.cpp spells them (it avoids (?i:...) for std::regex).
const (
	patLlama3HF  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	patLlama3    = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	patQwen2HF   = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	patQwen2     = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	patGPT2      = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	patWordPunct = `\w+|[^\w\s]+` // Hugging Face "Whitespace" pre-tokenizer
)

// splitterFor returns the splitter of a Split(regex, Isolated) pre-tokenizer. The Llama 3 and
// Qwen2 patterns get a direct implementation of the same regular expression (see lettersplit.go):
// it is several times faster than a backtracking matcher and uses llama.cpp's Unicode tables;
// tests check it against regexp2 running the pattern itself. Other patterns run on regexp2.
func splitterFor(pattern string) (splitter, error) {
	switch pattern {
	case patLlama3HF, patLlama3:
		return letterSplitter{maxDigits: 3}, nil
	case patQwen2HF, patQwen2:
		return letterSplitter{maxDigits: 1}, nil
	}
	return newRegexSplitter(pattern, true, true)
}

// regexSplitter is a Hugging Face Split pre-tokenizer on a regexp2 pattern (.NET/Perl syntax with
// look-around, which these patterns need). keepMatches/keepGaps select the behaviour:
// Isolated keeps both, Removed keeps the gaps, Removed+invert keeps the matches.
type regexSplitter struct {
	re                    *regexp2.Regexp
	keepMatches, keepGaps bool
}

func newRegexSplitter(pattern string, keepMatches, keepGaps bool) (*regexSplitter, error) {
	re, err := regexp2.Compile(pattern, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("%w: pre-tokenizer regex %q: %v", ErrUnsupportedModel, pattern, err)
	}
	return &regexSplitter{re: re, keepMatches: keepMatches, keepGaps: keepGaps}, nil
}

func (s *regexSplitter) split(text string, _ *scratch, emit func(int, int)) {
	// regexp2 matches on runes; offs maps rune indexes back to bytes. Words are collected before
	// being emitted so that a nested splitter (seqSplitter) may run on each of them.
	runes := []rune(text)
	offs := make([]int, 0, len(runes)+1)
	for i := range text {
		offs = append(offs, i)
	}
	offs = append(offs, len(text))
	var words []span
	prev := 0 // rune index where the current gap starts
	add := func(a, b int, keep bool) {
		if keep && b > a {
			words = append(words, span{offs[a], offs[b]})
		}
	}
	m, err := s.re.FindRunesMatch(runes)
	for err == nil && m != nil {
		a, b := m.Index, m.Index+m.Length
		add(prev, a, s.keepGaps)
		add(a, b, s.keepMatches)
		prev = b
		m, err = s.re.FindNextMatch(m)
	}
	// regexp2 only fails on a match timeout, and none is set.
	add(prev, len(runes), s.keepGaps)
	for _, w := range words {
		emit(w.start, w.end)
	}
}

// whitespaceSplitter is Hugging Face's WhitespaceSplit: words are the maximal runs of non-space.
type whitespaceSplitter struct{}

func (whitespaceSplitter) split(text string, _ *scratch, emit func(int, int)) {
	start := -1
	for i, r := range text {
		if unicode.IsSpace(r) {
			if start >= 0 {
				emit(start, i)
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		emit(start, len(text))
	}
}

// seqSplitter applies splitters in turn, each to every word of the previous one
// (Hugging Face's Sequence pre-tokenizer). The empty sequence makes the whole text one word.
type seqSplitter []splitter

func (q seqSplitter) split(text string, st *scratch, emit func(int, int)) {
	if len(q) == 0 {
		if text != "" {
			emit(0, len(text))
		}
		return
	}
	q[0].split(text, st, func(a, b int) {
		q[1:].split(text[a:b], st, func(c, d int) { emit(a+c, a+d) })
	})
}
