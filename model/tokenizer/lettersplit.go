package tokenizer

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// letterSplitter implements, without a regex engine, the pre-tokenizer pattern shared by Llama 3
// (maxDigits 3) and Qwen2/2.5/3 (maxDigits 1):
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,maxDigits} |
//	 ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
//
// Each loop iteration below is one leftmost match, trying the alternatives in order, which is what
// a backtracking engine does with this pattern (no alternative can match a shorter string than a
// later one would need). llama.cpp ships the same construction (unicode_regex_split_custom_llama3).
// Character classes use Go's Unicode tables plus the letters Go's tables (Unicode 15.0) lack and
// llama.cpp's (Unicode 15.1) have; whitespace is the Unicode White_Space set, as in both.
type letterSplitter struct{ maxDigits int }

// Character class bits. clsAny marks "inside the text", so that out of range reads as 0.
const (
	clsAny    = 1 << iota
	clsLetter // \p{L}
	clsNumber // \p{N}
	clsSpace  // \s
)

var asciiClass [128]uint8

func init() {
	for c := range 128 {
		asciiClass[c] = classifySlow(rune(c))
	}
}

func classifySlow(r rune) uint8 {
	c := uint8(clsAny)
	if unicode.IsLetter(r) || isUnicode151Letter(r) {
		c |= clsLetter
	}
	if unicode.IsNumber(r) {
		c |= clsNumber
	}
	if unicode.IsSpace(r) { // White_Space: \t-\r, space, U+0085, U+00A0, U+1680, U+2000-200A, U+2028/9, U+202F, U+205F, U+3000
		c |= clsSpace
	}
	return c
}

// isUnicode151Letter: CJK Unified Ideographs Extension I (Unicode 15.1, Lo), absent from Go's
// Unicode 15.0 tables but letters for llama.cpp's tokenizer.
func isUnicode151Letter(r rune) bool { return r >= 0x2EBF0 && r <= 0x2EE5D }

// bmpClass caches the class of every Basic Multilingual Plane code point (64 KiB, built on first
// use): Unicode table lookups are binary searches, too slow per character of CJK text.
var (
	bmpClassOnce sync.Once
	bmpClass     *[0x10000]uint8
)

func classify(r rune) uint8 {
	if r < 0x80 {
		return asciiClass[r]
	}
	if r < 0x10000 {
		bmpClassOnce.Do(func() {
			t := new([0x10000]uint8)
			for c := range t {
				t[c] = classifySlow(rune(c))
			}
			bmpClass = t
		})
		return bmpClass[r]
	}
	return classifySlow(r)
}

// at decodes the code point at byte i: the rune, its size and its class (size and class 0 past
// the end of text).
func at(text string, i int) (rune, int, uint8) {
	if i >= len(text) {
		return -1, 0, 0
	}
	if c := text[i]; c < utf8.RuneSelf {
		return rune(c), 1, asciiClass[c]
	}
	r, n := utf8.DecodeRuneInString(text[i:])
	return r, n, classify(r)
}

func (s letterSplitter) split(text string, _ *scratch, emit func(int, int)) {
	n := len(text)
	prev := 0
	cut := func(end int) {
		if end > prev {
			emit(prev, end)
			prev = end
		}
	}
	for pos := 0; pos < n; {
		r, size, c := at(text, pos)

		// (?i:'s|'t|'re|'ve|'m|'ll|'d)
		if r == '\'' && pos+1 < n {
			r1, n1, _ := at(text, pos+1)
			r1 = unicode.ToLower(r1)
			if r1 == 's' || r1 == 't' || r1 == 'm' || r1 == 'd' {
				pos += 1 + n1
				cut(pos)
				continue
			}
			r2, n2, _ := at(text, pos+1+n1)
			r2 = unicode.ToLower(r2)
			if (r1 == 'r' && r2 == 'e') || (r1 == 'v' && r2 == 'e') || (r1 == 'l' && r2 == 'l') {
				pos += 1 + n1 + n2
				cut(pos)
				continue
			}
		}

		// [^\r\n\p{L}\p{N}]?\p{L}+
		if r != '\r' && r != '\n' && c&clsNumber == 0 {
			_, _, c1 := at(text, pos+size)
			if c&clsLetter != 0 || c1&clsLetter != 0 {
				pos += size
				for {
					_, z, cz := at(text, pos)
					if cz&clsLetter == 0 {
						break
					}
					pos += z
				}
				cut(pos)
				continue
			}
		}

		// \p{N}{1,maxDigits}
		if c&clsNumber != 0 {
			pos += size
			for k := 1; k < s.maxDigits; k++ {
				_, z, cz := at(text, pos)
				if cz&clsNumber == 0 {
					break
				}
				pos += z
			}
			cut(pos)
			continue
		}

		// ` ?[^\s\p{L}\p{N}]+[\r\n]*` (a lone trailing space also lands here and is its own word,
		// as \s+ would make it)
		p, c2 := pos, c
		if r == ' ' {
			p = pos + 1
			_, _, c2 = at(text, p)
		}
		if c2&(clsSpace|clsLetter|clsNumber) == 0 {
			for {
				_, z, cz := at(text, p)
				if cz == 0 || cz&(clsSpace|clsLetter|clsNumber) != 0 {
					break
				}
				p += z
			}
			for p < n && (text[p] == '\r' || text[p] == '\n') {
				p++
			}
			pos = p
			cut(pos)
			continue
		}

		// a whitespace run starts here
		nws, lastRN, lastStart := 0, -1, pos
		for p = pos; ; {
			rz, z, cz := at(text, p)
			if cz&clsSpace == 0 {
				break
			}
			if rz == '\r' || rz == '\n' {
				lastRN = p + 1
			}
			lastStart = p
			p += z
			nws++
		}
		switch {
		case lastRN >= 0: // \s*[\r\n]+
			pos = lastRN
		case nws > 1 && p < n: // \s+(?!\S): leave the last space to the next word
			pos = lastStart
		case nws > 0: // \s+
			pos = p
		default: // cannot happen: every class is covered above; keep the loop total anyway
			pos += size
		}
		cut(pos)
	}
}
