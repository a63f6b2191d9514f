package tokenizer

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// synthBPE builds a random byte-level BPE vocabulary over a small alphabet: the 256 byte tokens,
// then merges of random existing symbols in random rank order. Some merge results are left out of
// the vocabulary to exercise "virtual" symbols. The pre-tokenizer is ByteLevel without regex, so a
// whole fragment is one word.
func synthBPE(t testing.TB, seed uint64, nMerges int) (*Tokenizer, [][2]string, map[string]int) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	vocab := map[string]int{}
	for b := range 256 {
		vocab[string(byteToRune[b])] = b
	}
	syms := []string{"a", "b", "c", "Ġ"}
	var merges [][2]string
	seen := map[string]bool{}
	for len(merges) < nMerges {
		a, b := syms[r.IntN(len(syms))], syms[r.IntN(len(syms))]
		if seen[a+" "+b] || len(a+b) > 12 {
			continue
		}
		seen[a+" "+b] = true
		merges = append(merges, [2]string{a, b})
		if _, ok := vocab[a+b]; !ok && r.IntN(10) > 0 {
			vocab[a+b] = len(vocab)
		}
		syms = append(syms, a+b) // virtual or not, it can be merged further
	}
	doc := map[string]any{
		"pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": false},
		"model":         map[string]any{"type": "BPE", "vocab": vocab, "merges": merges},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ParseHF(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok, merges, vocab
}

// referenceBPE is the textbook algorithm on strings: merge the lowest-ranked adjacent pair,
// leftmost on ties, then map symbols to ids (llama.cpp's byte-wise fallback for non-tokens).
func referenceBPE(word string, rank map[[2]string]int, vocab map[string]int) []int {
	var syms []string
	for i := 0; i < len(word); i++ {
		syms = append(syms, string(byteToRune[word[i]]))
	}
	for {
		best, bestRank := -1, len(rank)+1
		for i := 0; i+1 < len(syms); i++ {
			if rk, ok := rank[[2]string{syms[i], syms[i+1]}]; ok && rk < bestRank {
				best, bestRank = i, rk
			}
		}
		if best < 0 {
			break
		}
		syms = slices.Replace(syms, best, best+2, syms[best]+syms[best+1])
	}
	var ids []int
	for _, s := range syms {
		if id, ok := vocab[s]; ok {
			ids = append(ids, id)
			continue
		}
		for i := 0; i < len(s); i++ {
			if id, ok := vocab[s[i:i+1]]; ok {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

func TestBPEMatchesReference(t *testing.T) {
	for seed := range uint64(6) {
		tok, merges, vocab := synthBPE(t, seed, 80)
		rank := map[[2]string]int{}
		for i, m := range merges {
			if _, ok := rank[m]; !ok {
				rank[m] = i
			}
		}
		r := rand.New(rand.NewPCG(seed, 99))
		for i := range 300 {
			n := r.IntN(40)
			if i%10 == 0 {
				n = 257 + r.IntN(300) // the heap path
			}
			var b strings.Builder
			for range n {
				b.WriteByte("abc "[r.IntN(4)])
			}
			word := b.String()
			got, err := tok.EncodeWith(word, Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := referenceBPE(word, rank, vocab)
			if len(want) == 0 {
				want = []int{}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d word %q:\n got %v\nwant %v", seed, word, got, want)
			}
		}
	}
}

// TestBPEMergePathsAgree runs the short-word and long-word merge loops on the same symbols.
func TestBPEMergePathsAgree(t *testing.T) {
	tok, _, _ := synthBPE(t, 42, 120)
	m := tok.bpe
	r := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		n := 2 + r.IntN(200)
		syms := make([]int32, n)
		for i := range syms {
			syms[i] = m.byteSym["abc "[r.IntN(4)]]
		}
		small := slices.Clone(m.mergeSmall(slices.Clone(syms), new(scratch)))
		large := slices.Clone(m.mergeLarge(slices.Clone(syms), new(scratch)))
		if !slices.Equal(small, large) {
			t.Fatalf("symbols %v:\nsmall %v\nlarge %v", syms, small, large)
		}
	}
}

func TestWordCacheDoesNotPinInput(t *testing.T) {
	var c wordCache
	big := strings.Repeat("x", 1<<16)
	c.put(big[:3], []int{1})
	for k := range c.m {
		if unsafe.StringData(k) == unsafe.StringData(big) {
			t.Fatal("the cache key shares the input's memory")
		}
	}
	ids, ok := c.get("xxx")
	if !ok || !slices.Equal(ids, []int{1}) {
		t.Fatalf("get = %v, %v", ids, ok)
	}
	if _, ok := c.get(strings.Repeat("y", wordCacheMaxWordLen+1)); ok {
		t.Fatal("long words are not cached")
	}
}
