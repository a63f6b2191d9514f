package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// SentencePiece-style BPE as llama.cpp's llm_tokenizer_spm runs it: spaces become "▁", a space is
// put before text that opens the sequence or follows a special token (add_space_prefix), the text
// starts as one symbol per UTF-8 character, and the adjacent pair whose concatenation is the
// vocabulary entry with the highest score is merged (leftmost on ties) until no pair is a token.
// A final symbol that is not a token is a single character missing from the vocabulary: it is
// written as byte tokens <0xXX>.
//
// (llama.cpp keeps a map from merged text back to its two halves to "resegment" such symbols; a
// merged symbol is always a token there, since a pair is only merged when its text is one, so the
// map is never needed and this code does without it.)

// Speed: llama.cpp runs one priority queue over the whole text. Here the text is first cut where no
// merge can ever reach across: between two characters that are adjacent in no vocabulary entry (a
// merged symbol is a vocabulary entry, so it would contain them). The pieces, mostly "▁word", are
// independent problems with the same answer, solved with small queues and cached like BPE words.
type spmModel struct {
	byteTok [256]int            // id of "<0xXX>" (or of the one-byte text), -1 if the vocabulary lacks it
	pairs   map[uint64]struct{} // adjacent character pairs found inside some vocabulary entry
	cache   wordCache
}

func runePair(a, b rune) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// addText records the adjacent character pairs of a vocabulary entry.
func (m *spmModel) addText(text string) {
	prev := rune(-1)
	for _, r := range text {
		if prev >= 0 {
			m.pairs[runePair(prev, r)] = struct{}{}
		}
		prev = r
	}
}

func newSPM(ids map[string]int) *spmModel {
	m := &spmModel{pairs: make(map[uint64]struct{}, 2*len(ids))}
	for text := range ids {
		m.addText(text)
	}
	for b := range 256 {
		m.byteTok[b] = -1
		if id, ok := ids[fmt.Sprintf("<0x%02X>", b)]; ok {
			m.byteTok[b] = id
		} else if id, ok := ids[string([]byte{byte(b)})]; ok {
			m.byteTok[b] = id
		}
	}
	return m
}

// spmSym is a symbol: text[off:off+n] of the escaped text.
type spmSym struct {
	off, n     int32
	prev, next int32
}

// spmPair is a candidate merge; stale when the two symbols no longer add up to size bytes.
type spmPair struct {
	score       float32
	left, right int32
	size        int32
}

func (a spmPair) less(b spmPair) bool { // "less" = popped first: higher score, then leftmost
	return a.score > b.score || (a.score == b.score && a.left < b.left)
}

func (m *spmModel) encode(text string, spacePrefix bool, t *Tokenizer, st *scratch, out []int) ([]int, error) {
	if spacePrefix {
		text = " " + text
	}
	text = strings.ReplaceAll(text, " ", "▁")
	start, prev := 0, rune(-1)
	var err error
	for i, r := range text {
		if prev >= 0 {
			if _, ok := m.pairs[runePair(prev, r)]; !ok {
				if out, err = m.encodeChunk(text[start:i], t, st, out); err != nil {
					return nil, err
				}
				start = i
			}
		}
		prev = r
	}
	return m.encodeChunk(text[start:], t, st, out)
}

// encodeChunk is llama.cpp's llm_tokenizer_spm_session::tokenize on one independent piece.
func (m *spmModel) encodeChunk(text string, t *Tokenizer, st *scratch, out []int) ([]int, error) {
	if ids, ok := m.cache.get(text); ok {
		return append(out, ids...), nil
	}
	first := len(out)
	syms := st.spmSyms[:0]
	defer func() { st.spmSyms = syms[:0] }()
	for off := 0; off < len(text); {
		_, n := utf8.DecodeRuneInString(text[off:])
		i := int32(len(syms))
		syms = append(syms, spmSym{off: int32(off), n: int32(n), prev: i - 1, next: i + 1})
		off += n
	}
	if len(syms) == 0 {
		return out, nil
	}
	syms[len(syms)-1].next = -1

	heap := st.spmHeap[:0]
	defer func() { st.spmHeap = heap[:0] }()
	try := func(l, r int32) {
		if l < 0 || r < 0 {
			return
		}
		s := text[syms[l].off : syms[r].off+syms[r].n]
		if id, ok := t.ids[s]; ok {
			heap = heapPush(heap, spmPair{score: t.tokens[id].score, left: l, right: r, size: int32(len(s))})
		}
	}
	for i := 1; i < len(syms); i++ {
		try(int32(i-1), int32(i))
	}
	for len(heap) > 0 {
		var p spmPair
		p, heap = heapPop(heap)
		l, r := &syms[p.left], &syms[p.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != p.size {
			continue // one side already merged elsewhere
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = p.left
		}
		try(l.prev, p.left)
		try(p.left, l.next)
	}
	for i := int32(0); i >= 0; i = syms[i].next {
		s := text[syms[i].off : syms[i].off+syms[i].n]
		if id, ok := t.ids[s]; ok {
			out = append(out, id)
			continue
		}
		for j := 0; j < len(s); j++ {
			id := m.byteTok[s[j]]
			if id < 0 {
				return nil, fmt.Errorf("%w: no byte token <0x%02X> for %q", ErrUnknownToken, s[j], s)
			}
			out = append(out, id)
		}
	}
	m.cache.put(text, out[first:])
	return out, nil
}
