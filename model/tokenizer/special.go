package tokenizer

import (
	"cmp"
	"slices"
	"strings"
)

// Special (added) tokens are cut out of the text before the model's own algorithm runs, exactly as
// llama.cpp's tokenizer_st_partition does: tokens are taken longest first, and each one splits every
// remaining text fragment at all its occurrences, left to right. (This is not the same as a
// leftmost-longest scan when two special texts overlap; llama.cpp's order is the reference.)

// fragment is a piece of the partitioned text: raw text (id < 0) or one special token.
type fragment struct {
	text string
	id   int
}

// specialIndex holds the partition candidates of a vocabulary.
type specialIndex struct {
	order []int // candidate ids: longest text first, ties by id
	// byPrefix finds candidates occurring in a text in one pass: key = first two bytes of the
	// token text (one-byte texts are keyed by their byte alone, with the high bit pattern 0xFF00).
	byPrefix map[uint16][]int
	first    [256]bool // some candidate starts with this byte
}

func prefixKey(s string) uint16 {
	if len(s) == 1 {
		return 0xFF00 | uint16(s[0])
	}
	return uint16(s[0])<<8 | uint16(s[1])
}

// buildSpecialIndex indexes the tokens llama.cpp partitions on: control, user-defined and unknown.
func buildSpecialIndex(tokens []tokenData) specialIndex {
	var ix specialIndex
	for id, td := range tokens {
		if td.attr&(attrControl|attrUserDefined|attrUnknown) != 0 && td.text != "" {
			ix.order = append(ix.order, id)
		}
	}
	slices.SortStableFunc(ix.order, func(a, b int) int {
		return cmp.Compare(len(tokens[b].text), len(tokens[a].text))
	})
	ix.byPrefix = make(map[uint16][]int, len(ix.order))
	for _, id := range ix.order {
		s := tokens[id].text
		k := prefixKey(s)
		ix.byPrefix[k] = append(ix.byPrefix[k], id)
		ix.first[s[0]] = true
	}
	return ix
}

// present returns the candidates that occur somewhere in text, in partition order. Most texts hold
// none, so the ordered partition below usually has nothing to do.
func (ix *specialIndex) present(text string, parseSpecial bool, tokens []tokenData) []int {
	if len(ix.order) == 0 {
		return nil
	}
	var found map[int]bool
	for i := 0; i < len(text); i++ {
		if !ix.first[text[i]] {
			continue
		}
		keys := [2]uint16{0xFF00 | uint16(text[i]), 0}
		nk := 1
		if i+1 < len(text) {
			keys[1] = uint16(text[i])<<8 | uint16(text[i+1])
			nk = 2
		}
		for _, k := range keys[:nk] {
			for _, id := range ix.byPrefix[k] {
				td := &tokens[id]
				if !parseSpecial && td.attr&(attrControl|attrUnknown) != 0 {
					continue
				}
				if strings.HasPrefix(text[i:], td.text) {
					if found == nil {
						found = map[int]bool{}
					}
					found[id] = true
				}
			}
		}
	}
	if len(found) == 0 {
		return nil
	}
	out := make([]int, 0, len(found))
	for _, id := range ix.order {
		if found[id] {
			out = append(out, id)
		}
	}
	return out
}

// partition splits text into raw fragments and special tokens, appending to dst.
func (ix *specialIndex) partition(text string, parseSpecial bool, tokens []tokenData, dst []fragment) []fragment {
	if text == "" {
		return dst
	}
	base := len(dst)
	dst = append(dst, fragment{text: text, id: -1})
	for _, id := range ix.present(text, parseSpecial, tokens) {
		dst = splitOn(dst, base, id, &tokens[id])
	}
	return dst
}

// splitOn replaces every raw fragment of frags[base:] by its pieces around occurrences of token id.
func splitOn(frags []fragment, base, id int, td *tokenData) []fragment {
	var out []fragment
	changed := false
	for i := base; i < len(frags); i++ {
		f := frags[i]
		if f.id >= 0 || !strings.Contains(f.text, td.text) {
			if changed {
				out = append(out, f)
			}
			continue
		}
		if !changed {
			out = append(out, frags[base:i]...)
			changed = true
		}
		rest := f.text
		for {
			j := strings.Index(rest, td.text)
			if j < 0 {
				break
			}
			left := rest[:j]
			if td.attr&attrLStrip != 0 {
				left = strings.TrimRight(left, asciiSpace)
			}
			if left != "" {
				out = append(out, fragment{text: left, id: -1})
			}
			out = append(out, fragment{id: id})
			rest = rest[j+len(td.text):]
			if td.attr&attrRStrip != 0 {
				rest = strings.TrimLeft(rest, asciiSpace)
			}
		}
		if rest != "" {
			out = append(out, fragment{text: rest, id: -1})
		}
	}
	if !changed {
		return frags
	}
	return append(frags[:base], out...)
}

// asciiSpace is C's isspace set, which llama.cpp strips around lstrip/rstrip tokens.
const asciiSpace = " \t\n\v\f\r"
