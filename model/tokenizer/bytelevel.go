package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// Byte-level BPE vocabularies (GPT-2, Llama 3, Qwen) store tokens as strings over a 256-character
// alphabet: every byte maps to one printable code point, so that token texts never contain spaces or
// control characters. Printable Latin-1 bytes map to themselves; the other 68 bytes map, in byte
// order, to U+0100 onwards (space 0x20 -> U+0120 'Ġ', newline 0x0A -> U+010A 'Ċ').

var (
	byteToRune [256]rune      // byte -> alphabet code point
	runeToByte map[rune]uint8 // inverse
)

func init() {
	runeToByte = make(map[rune]uint8, 256)
	printable := func(b int) bool {
		return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
	}
	next := rune(256)
	for b := range 256 {
		r := rune(b)
		if !printable(b) {
			r = next
			next++
		}
		byteToRune[b] = r
		runeToByte[r] = uint8(b)
	}
}

// byteLevelEncode maps raw bytes to their alphabet string (the form stored in vocabularies).
func byteLevelEncode(raw string) string {
	var sb strings.Builder
	sb.Grow(2 * len(raw))
	for i := 0; i < len(raw); i++ {
		sb.WriteRune(byteToRune[raw[i]])
	}
	return sb.String()
}

// byteLevelDecode maps an alphabet string back to raw bytes. ok is false when s holds a code point
// outside the alphabet (such a token text cannot be produced from bytes).
func byteLevelDecode(s string) (raw string, ok bool) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		c, found := runeToByte[r]
		if !found {
			return "", false
		}
		b = append(b, c)
	}
	return string(b), true
}

// byteLevelDecodeLossy decodes s like llama.cpp's llama_decode_text, except that code points
// outside the alphabet are kept as their own UTF-8 (llama.cpp writes an "[UNK_BYTE_…]" marker there;
// real vocabularies never contain such tokens).
func byteLevelDecodeLossy(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if c, ok := runeToByte[r]; ok {
			b = append(b, c)
		} else {
			b = utf8.AppendRune(b, r)
		}
	}
	return string(b)
}
