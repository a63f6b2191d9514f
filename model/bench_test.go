package model

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// Random512 is the benchmark model shared with examples/bench: d=512, 8 layers, 8 query / 2 KV heads,
// SwiGLU 1536, the Llama-2 (SentencePiece) vocabulary size so llama.cpp can load it with a real vocab.
var Random512 = RandomSpec{Arch: "llama", VocabSize: 32000, Hidden: 512, Layers: 8, Heads: 8, KVHeads: 2,
	Intermediate: 1536, Seed: 512, BOS: intp(1), EOS: []int{2}}

// BenchmarkDecodeStep measures one decode step of Random512 over a full cache of 1k (and 4k) tokens.
func BenchmarkDecodeStep(b *testing.B) {
	ctx := context.Background()
	m := writeAndLoad(b, Random512)
	for _, n := range []int{1024, 4096} {
		b.Run(fmt.Sprintf("ctx=%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			prompt := make([]int, n)
			for i := range prompt {
				prompt[i] = 3 + rng.IntN(m.Config.VocabSize-3)
			}
			cache := NewSimpleKV(m.Config)
			for start := 0; start < n; start += 256 { // chunked prefill over the growing cache
				var kv *KV
				if cache.Len() > 0 {
					k := cache.KV()
					kv = &k
				}
				pre, err := m.Prefill(ctx, prompt[start:start+256], start, kv, false)
				if err != nil {
					b.Fatal(err)
				}
				cache.Append(pre.K, pre.V, 256)
			}
			kv := cache.KV()
			// The cache capacity bucket may exceed n; mask covers exactly n tokens.
			tok := 5
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				res, err := m.Step(ctx, tok, n, kv, StepOptions{})
				if err != nil {
					b.Fatal(err)
				}
				tok = Argmax(res.Logits)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
