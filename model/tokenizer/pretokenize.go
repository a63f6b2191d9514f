package tokenizer

import (
	"fmt"
	"unicode"

	"github.com/dlclark/regexp2"
)

// Pre-tokenization cuts a text fragment into words; BPE never merges across words.

// span is a word: text[start:end] in bytes.
type span struct{ start, end int }

// splitter cuts text into words, appending their spans (in order) to dst.
type splitter interface {
	split(text string, st *scratch, dst []span) []span
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

func (s *regexSplitter) split(text string, st *scratch, dst []span) []span {
	runes, offs := st.decodeRunes(text)
	prev := 0 // rune index where the current gap starts
	emit := func(a, b int, keep bool) {
		if keep && b > a {
			dst = append(dst, span{offs[a], offs[b]})
		}
	}
	m, err := s.re.FindRunesMatch(runes)
	for err == nil && m != nil {
		a, b := m.Index, m.Index+m.Length
		emit(prev, a, s.keepGaps)
		emit(a, b, s.keepMatches)
		prev = b
		m, err = s.re.FindNextMatch(m)
	}
	// regexp2 only fails on a match timeout, and none is set.
	emit(prev, len(runes), s.keepGaps)
	return dst
}

// whitespaceSplitter is Hugging Face's WhitespaceSplit: words are the maximal runs of non-space.
type whitespaceSplitter struct{}

func (whitespaceSplitter) split(text string, _ *scratch, dst []span) []span {
	start := -1
	for i, r := range text {
		if unicode.IsSpace(r) {
			if start >= 0 {
				dst = append(dst, span{start, i})
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		dst = append(dst, span{start, len(text)})
	}
	return dst
}

// seqSplitter applies splitters in turn, each to every word of the previous one
// (Hugging Face's Sequence pre-tokenizer).
type seqSplitter []splitter

func (q seqSplitter) split(text string, st *scratch, dst []span) []span {
	base := len(dst)
	dst = append(dst, span{0, len(text)})
	for _, s := range q {
		words := append([]span(nil), dst[base:]...)
		dst = dst[:base]
		for _, w := range words {
			n := len(dst)
			dst = s.split(text[w.start:w.end], st, dst)
			for i := n; i < len(dst); i++ {
				dst[i].start += w.start
				dst[i].end += w.start
			}
		}
	}
	return dst
}

// decodeRunes decodes text into the scratch rune buffer, with byte offsets (len = runes+1).
func (st *scratch) decodeRunes(text string) ([]rune, []int) {
	runes, offs := st.runes[:0], st.offs[:0]
	for i, r := range text {
		runes = append(runes, r)
		offs = append(offs, i)
	}
	offs = append(offs, len(text))
	st.runes, st.offs = runes, offs
	return runes, offs
}
