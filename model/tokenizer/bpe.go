package tokenizer

import (
	"fmt"
	"math"
	"strings"
	"sync"
)

// Byte-level BPE. A word (one pre-tokenizer piece) starts as one symbol per byte; the adjacent pair
// with the lowest merge rank is merged, leftmost first on ties, until no pair has a rank. That is the
// order of llama.cpp's llm_tokenizer_bpe_session and of Hugging Face's BPE::merge_word.
//
// Symbols are ids, not strings: the vocabulary id of their text, or a "virtual" id past the
// vocabulary for a merge result that is not itself a token (real vocabularies have none, but merges
// are defined on texts, so the engine must allow them). Merge lookup is then one map probe on a
// pair of ints, with no string building.

// mergeInfo is the rank of a pair and the symbol it merges into.
type mergeInfo struct{ rank, result int32 }

type bpeModel struct {
	pre          splitter
	prefixSpace  bool // ByteLevel add_prefix_space
	ignoreMerges bool // a word that is a token is emitted whole (Llama 3)

	merges  map[uint64]mergeInfo
	byteSym [256]int32       // the symbol of each single byte
	rawIDs  map[string]int32 // raw bytes -> id, for ignoreMerges (nil otherwise)
	ids     map[string]int   // the tokenizer's text -> id map (shared)
	nTokens int32            // symbols >= nTokens are virtual
	virtual []string         // their texts

	cache wordCache
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// newBPE builds the merge table. merges are in rank order (rank = index).
func newBPE(tokens []tokenData, ids map[string]int, merges [][2]string, pre splitter, ignoreMerges bool) (*bpeModel, error) {
	m := &bpeModel{
		pre:          pre,
		ignoreMerges: ignoreMerges,
		merges:       make(map[uint64]mergeInfo, len(merges)),
		ids:          ids,
		nTokens:      int32(len(tokens)),
	}
	if len(tokens) >= math.MaxInt32/2 || len(merges) >= math.MaxInt32/2 {
		return nil, fmt.Errorf("%w: %d tokens, %d merges", ErrInvalidFile, len(tokens), len(merges))
	}
	virtIdx := map[string]int32{}
	sym := func(text string) int32 {
		if id, ok := ids[text]; ok {
			return int32(id)
		}
		if v, ok := virtIdx[text]; ok {
			return v
		}
		v := m.nTokens + int32(len(m.virtual))
		m.virtual = append(m.virtual, text)
		virtIdx[text] = v
		return v
	}
	for b := range 256 {
		m.byteSym[b] = sym(string(byteToRune[b]))
	}
	for rank, mg := range merges {
		if mg[0] == "" || mg[1] == "" {
			continue // a malformed GGUF merge keeps its rank but can never apply
		}
		k := pairKey(sym(mg[0]), sym(mg[1]))
		if _, dup := m.merges[k]; dup {
			continue // llama.cpp keeps the first rank of a repeated pair
		}
		m.merges[k] = mergeInfo{rank: int32(rank), result: sym(mg[0] + mg[1])}
	}
	if ignoreMerges {
		m.rawIDs = make(map[string]int32, len(tokens))
		for id, td := range tokens {
			if raw, ok := byteLevelDecode(td.text); ok {
				m.rawIDs[raw] = int32(id)
			}
		}
	}
	return m, nil
}

func (m *bpeModel) encode(text string, st *scratch, out []int) []int {
	if m.prefixSpace && !strings.HasPrefix(text, " ") {
		text = " " + text
	}
	m.pre.split(text, st, func(a, b int) { out = m.encodeWord(text[a:b], st, out) })
	return out
}

// encodeWord appends the ids of one word (raw bytes).
func (m *bpeModel) encodeWord(word string, st *scratch, out []int) []int {
	if ids, ok := m.cache.get(word); ok {
		return append(out, ids...)
	}
	start := len(out)
	if id, ok := m.rawIDs[word]; ok && m.ignoreMerges {
		out = append(out, int(id))
	} else {
		syms := st.syms[:0]
		for i := 0; i < len(word); i++ {
			syms = append(syms, m.byteSym[word[i]])
		}
		if len(syms) <= 256 {
			syms = m.mergeSmall(syms, st)
		} else {
			syms = m.mergeLarge(syms, st)
		}
		st.syms = syms
		for _, s := range syms {
			if s < m.nTokens {
				out = append(out, int(s))
			} else {
				out = m.fallback(s, out)
			}
		}
	}
	m.cache.put(word, out[start:])
	return out
}

// fallback emits a virtual symbol as llama.cpp does: each byte of its text, looked up alone.
func (m *bpeModel) fallback(s int32, out []int) []int {
	text := m.virtual[s-m.nTokens]
	for i := 0; i < len(text); i++ {
		if id, ok := m.ids[text[i:i+1]]; ok {
			out = append(out, id)
		}
	}
	return out
}

const noRank = math.MaxInt32

func (m *bpeModel) rank(a, b int32) (int32, int32) {
	if mi, ok := m.merges[pairKey(a, b)]; ok {
		return mi.rank, mi.result
	}
	return noRank, -1
}

// mergeSmall merges with a rank per adjacent pair and a linear scan for the minimum: for short
// words this beats a heap, and the scan's strict "<" picks the leftmost pair on ties.
func (m *bpeModel) mergeSmall(syms []int32, st *scratch) []int32 {
	if len(syms) < 2 {
		return syms
	}
	ranks := st.ranks[:0]
	results := st.ids[:0]
	for i := 0; i+1 < len(syms); i++ {
		r, res := m.rank(syms[i], syms[i+1])
		ranks = append(ranks, r)
		results = append(results, res)
	}
	for {
		best, bestRank := -1, int32(noRank)
		for i, r := range ranks {
			if r < bestRank {
				best, bestRank = i, r
			}
		}
		if best < 0 {
			break
		}
		syms[best] = results[best]
		syms = append(syms[:best+1], syms[best+2:]...)
		ranks = append(ranks[:best], ranks[best+1:]...)
		results = append(results[:best], results[best+1:]...)
		if best > 0 {
			ranks[best-1], results[best-1] = m.rank(syms[best-1], syms[best])
		}
		if best < len(syms)-1 {
			ranks[best], results[best] = m.rank(syms[best], syms[best+1])
		}
	}
	st.ranks, st.ids = ranks, results
	return syms
}

// symbol is a node of the linked list used by mergeLarge.
type symbol struct {
	id         int32 // -1 once merged into its left neighbour
	prev, next int32 // -1 at the ends
}

// pairEntry is a candidate merge; it is stale when either side changed since it was pushed.
type pairEntry struct {
	rank, left, right int32
	lid, rid          int32 // the symbols it was computed for
}

func (a pairEntry) less(b pairEntry) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.left < b.left)
}

type pairHeap []pairEntry

// mergeLarge is llama.cpp's algorithm: a priority queue of candidate pairs, ordered by rank then
// position, with stale entries skipped. O(n log n) for long words (whitespace runs, long scripts
// without spaces).
func (m *bpeModel) mergeLarge(syms []int32, st *scratch) []int32 {
	links := st.links[:0]
	for i, s := range syms {
		links = append(links, symbol{id: s, prev: int32(i) - 1, next: int32(i) + 1})
	}
	links[len(links)-1].next = -1
	h := st.heap[:0]
	push := func(l int32) {
		if l < 0 {
			return
		}
		r := links[l].next
		if r < 0 {
			return
		}
		if rk, _ := m.rank(links[l].id, links[r].id); rk != noRank {
			h = heapPush(h, pairEntry{rank: rk, left: l, right: r, lid: links[l].id, rid: links[r].id})
		}
	}
	for i := range links {
		push(int32(i))
	}
	for len(h) > 0 {
		var e pairEntry
		e, h = heapPop(h)
		l, r := &links[e.left], &links[e.right]
		if l.id != e.lid || r.id != e.rid || l.next != e.right {
			continue // stale
		}
		_, l.id = m.rank(e.lid, e.rid)
		l.next = r.next
		if r.next >= 0 {
			links[r.next].prev = e.left
		}
		r.id = -1
		push(l.prev)
		push(e.left)
	}
	out := syms[:0]
	for i := int32(0); i >= 0; i = links[i].next {
		out = append(out, links[i].id)
	}
	st.links, st.heap = links, h
	return out
}

// heapPush and heapPop are a binary min-heap on less (container/heap without interface calls).
func heapPush[T interface{ less(T) bool }](h []T, x T) []T {
	h = append(h, x)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].less(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

func heapPop[T interface{ less(T) bool }](h []T) (T, []T) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && h[r].less(h[l]) {
			c = r
		}
		if !h[c].less(h[i]) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	return top, h
}

// wordCache remembers the ids of recent words. Keys are copied (a substring would pin the whole
// input text); the map is dropped when full rather than tracking recency.
type wordCache struct {
	mu sync.RWMutex
	m  map[string][]int
}

const (
	wordCacheMaxEntries = 1 << 17
	wordCacheMaxWordLen = 128
)

func (c *wordCache) get(word string) ([]int, bool) {
	if len(word) > wordCacheMaxWordLen {
		return nil, false
	}
	c.mu.RLock()
	ids, ok := c.m[word]
	c.mu.RUnlock()
	return ids, ok
}

func (c *wordCache) put(word string, ids []int) {
	if len(word) > wordCacheMaxWordLen {
		return
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= wordCacheMaxEntries {
		c.m = make(map[string][]int, 1024)
	}
	c.m[strings.Clone(word)] = append([]int(nil), ids...)
	c.mu.Unlock()
}

// reset empties the cache (benchmarks measure cold encoding with it).
func (c *wordCache) reset() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}
