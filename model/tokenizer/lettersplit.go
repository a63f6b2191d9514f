package tokenizer

import "unicode"

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

func classify(r rune) uint8 {
	if r < 128 {
		return asciiClass[r]
	}
	return classifySlow(r)
}

func (s letterSplitter) split(text string, st *scratch, dst []span) []span {
	runes, offs := st.decodeRunes(text)
	n := len(runes)
	cls := st.cls[:0]
	for _, r := range runes {
		cls = append(cls, classify(r))
	}
	st.cls = cls
	at := func(i int) uint8 { // class, 0 past the end
		if i < n {
			return cls[i]
		}
		return 0
	}
	isRN := func(i int) bool { return i < n && (runes[i] == '\r' || runes[i] == '\n') }
	prev := 0
	cut := func(end int) {
		if end > prev {
			dst = append(dst, span{offs[prev], offs[end]})
			prev = end
		}
	}
	for pos := 0; pos < n; {
		r, c := runes[pos], cls[pos]

		// (?i:'s|'t|'re|'ve|'m|'ll|'d)
		if r == '\'' && pos+1 < n {
			r1 := unicode.ToLower(runes[pos+1])
			if r1 == 's' || r1 == 't' || r1 == 'm' || r1 == 'd' {
				pos += 2
				cut(pos)
				continue
			}
			if pos+2 < n {
				r2 := unicode.ToLower(runes[pos+2])
				if (r1 == 'r' && r2 == 'e') || (r1 == 'v' && r2 == 'e') || (r1 == 'l' && r2 == 'l') {
					pos += 3
					cut(pos)
					continue
				}
			}
		}

		// [^\r\n\p{L}\p{N}]?\p{L}+
		if r != '\r' && r != '\n' && c&clsNumber == 0 && (c&clsLetter != 0 || at(pos+1)&clsLetter != 0) {
			pos++
			for at(pos)&clsLetter != 0 {
				pos++
			}
			cut(pos)
			continue
		}

		// \p{N}{1,maxDigits}
		if c&clsNumber != 0 {
			end := pos + 1
			for end-pos < s.maxDigits && at(end)&clsNumber != 0 {
				end++
			}
			pos = end
			cut(pos)
			continue
		}

		// ` ?[^\s\p{L}\p{N}]+[\r\n]*` (a lone trailing space also lands here and is its own word,
		// as \s+ would make it)
		c2 := c
		if r == ' ' {
			c2 = at(pos + 1)
		}
		if c2&(clsSpace|clsLetter|clsNumber) == 0 {
			if r == ' ' {
				pos++
			}
			for at(pos)&(clsSpace|clsLetter|clsNumber) == 0 && at(pos) != 0 {
				pos++
			}
			for isRN(pos) {
				pos++
			}
			cut(pos)
			continue
		}

		// whitespace run starting here
		nws, lastRN := 0, -1
		for at(pos+nws)&clsSpace != 0 {
			if isRN(pos + nws) {
				lastRN = pos + nws
			}
			nws++
		}
		switch {
		case lastRN >= 0: // \s*[\r\n]+
			pos = lastRN + 1
		case nws > 1 && pos+nws < n: // \s+(?!\S): leave the last space to the next word
			pos += nws - 1
		case nws > 0: // \s+
			pos += nws
		default: // cannot happen: every class is covered above; keep the loop total anyway
			pos++
		}
		cut(pos)
	}
	return dst
}
