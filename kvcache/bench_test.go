package kvcache

import (
	"fmt"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// benchLayout is a 24-layer, 2-KV-head, head-dim-64 model (e.g. a 1.5B Qwen2.5): 6144 K values per token.
func benchLayout(dt dtypes.DType) Layout {
	return Layout{Layers: 24, KVHeads: 2, HeadDim: 64, DType: dt}
}

var benchPolicies = []struct {
	name  string
	build func(Layout) (Cache, error)
}{
	{"zoomr", func(l Layout) (Cache, error) { return NewZoomR(Config{Layout: l}) }}, // defaults: window 256, 2x256 zoom, 1024 summary
	{"sumr", func(l Layout) (Cache, error) { return NewSumR(Config{Layout: l}) }},
	{"streaming", func(l Layout) (Cache, error) { return NewStreamingLLM(StreamingConfig{Layout: l}) }},
	{"h2o", func(l Layout) (Cache, error) { return NewH2O(H2OConfig{Layout: l}) }},
	{"rkv", func(l Layout) (Cache, error) { return NewRKV(RKVConfig{Layout: l}) }},
	{"full", func(l Layout) (Cache, error) { return NewFull(FullConfig{Layout: l, MinCapacity: 4096}) }},
}

// BenchmarkAppendStep: one decode step's cache work — Append the new token's K/V (host store +
// window slot, in place) and fetch the Context for the next step. Reported: ns/op, bytes written into
// the active context per step (moved_B/op) and the resident bytes.
func BenchmarkAppendStep(b *testing.B) {
	for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16} {
		for _, p := range benchPolicies {
			b.Run(fmt.Sprintf("%s/%s", p.name, dt), func(b *testing.B) {
				l := benchLayout(dt)
				c, err := p.build(l)
				if err != nil {
					b.Fatal(err)
				}
				const prompt, maxLen = 128, 4096
				pk, pv := fakeChunk(l, 0, prompt)
				k, v := fakeToken(l, 7)
				fill := func() {
					c.Reset()
					if err := c.AppendPrompt(pk, pv, prompt); err != nil {
						b.Fatal(err)
					}
				}
				fill()
				var moved int64
				var ctx Context
				before := c.Memory().MovedBytes
				b.ResetTimer()
				for range b.N {
					if c.Len() == maxLen {
						b.StopTimer()
						moved += c.Memory().MovedBytes - before
						fill()
						before = c.Memory().MovedBytes
						b.StartTimer()
					}
					if err := c.Append(c.Len(), k, v); err != nil {
						b.Fatal(err)
					}
					if ctx, err = c.Context(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				moved += c.Memory().MovedBytes - before
				_ = ctx
				perOp := float64(moved) / float64(b.N)
				b.SetBytes(int64(perOp))
				b.ReportMetric(perOp, "moved_B/op")
				b.ReportMetric(float64(c.Memory().ResidentBytes), "resident_B")
			})
		}
	}
}

// BenchmarkZoom: re-selection of 2 thoughts of 256 tokens each — every op swaps both zoom slots to
// two other thoughts, copying 2x256 tokens from the host store into the active context.
func BenchmarkZoom(b *testing.B) {
	for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16} {
		b.Run(dt.String(), func(b *testing.B) {
			l := benchLayout(dt)
			z, err := NewZoomR(Config{Layout: l, Window: 64, ZoomSlots: 2, ZoomSlotLen: 256, SummaryCap: 256})
			if err != nil {
				b.Fatal(err)
			}
			pk, pv := fakeChunk(l, 0, 16)
			if err := z.AppendPrompt(pk, pv, 16); err != nil {
				b.Fatal(err)
			}
			s := newScripted(z)
			for range 4 { // 4 thoughts: 256 body + 8 summary tokens
				script(b, s, "gen 256; begin; gen 8; seal")
			}
			sets := [][]ThoughtID{{0, 1}, {2, 3}}
			if err := z.Zoom(sets[1]); err != nil {
				b.Fatal(err)
			}
			before := z.Memory().MovedBytes
			b.ResetTimer()
			for i := range b.N {
				if err := z.Zoom(sets[i%2]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			perOp := float64(z.Memory().MovedBytes-before) / float64(b.N)
			b.SetBytes(int64(perOp))
			b.ReportMetric(perOp, "moved_B/op")
		})
	}
}
