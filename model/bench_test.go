package model_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/zoomr-go/zoomr/internal/benchmodels"
	"github.com/zoomr-go/zoomr/model"
)

// BenchmarkDecodeStep measures one decode step of the d=512, 8-layer, 8/2-head benchmark model over a
// full cache of 1k and 4k tokens (random K/V: the step's cost does not depend on the values), on the
// host step (the pure-Go backend's default) and on the graph step. Compare with llama.cpp:
// node ../shared/oracle/bench.mjs --model <dir> --vocab llama-spm --ctx 1024.
func BenchmarkDecodeStep(b *testing.B) {
	dir, err := benchmodels.Materialize(benchmodels.Random512)
	if err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{"host", "graph"} {
		benchmarkDecodeStep(b, loadPath(b, dir, path), path)
	}
}

// loadPath loads the model at dir on the host path ("host", the pure-Go backend's default) or with
// graphs only ("graph").
func loadPath(b *testing.B, dir, path string) *model.Model {
	var opts []model.Option
	if path == "graph" {
		opts = append(opts, model.WithGraphStep())
	}
	m, err := model.Load(context.Background(), dir, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func benchmarkDecodeStep(b *testing.B, m *model.Model, path string) {
	ctx := context.Background()
	c := m.Config
	for _, n := range []int{1024, 4096} {
		b.Run(fmt.Sprintf("%s/ctx=%d", path, n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, uint64(n)))
			kv := make([]float32, c.Layers*c.KVHeads*n*c.HeadDim)
			for i := range kv {
				kv[i] = float32(rng.NormFloat64())
			}
			cache := model.NewSimpleKV(c)
			if err := cache.Append(kv, kv, n); err != nil {
				b.Fatal(err)
			}
			tok := 5
			for b.Loop() {
				res, err := m.Step(ctx, tok, n, cache.KV(), model.StepOptions{})
				if err != nil {
					b.Fatal(err)
				}
				tok = model.Argmax(res.Logits)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkPrefill measures a 512-token prompt chunk of the benchmark model on the host path and on
// the graph.
func BenchmarkPrefill(b *testing.B) {
	ctx := context.Background()
	dir, err := benchmodels.Materialize(benchmodels.Random512)
	if err != nil {
		b.Fatal(err)
	}
	tokens := make([]int, 512)
	for i := range tokens {
		tokens[i] = (i*7919 + 13) % 1000
	}
	for _, path := range []string{"host", "graph"} {
		m := loadPath(b, dir, path)
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				if _, err := m.Prefill(ctx, tokens, 0, nil, false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(tokens)*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
