package kvcache

import (
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// gridStep is a few script ops and the active context they must leave, as a literal grid: for ZoomR
// and SumR one line per region with its attended positions ("." when empty; the context must attend
// exactly their union, each position in one slot), for pool policies every slot in physical order.
type gridStep struct {
	ops, grid string
}

func runGrid(t *testing.T, newCache func(Layout) Cache, steps []gridStep) {
	for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16} {
		t.Run(dt.String(), func(t *testing.T) {
			c := newScripted(newCache(Layout{Layers: 2, KVHeads: 2, HeadDim: 2, DType: dt}))
			for i, s := range steps {
				script(t, c, s.ops)
				if got, want := grid(t, c.Cache), normGrid(s.grid); got != want {
					t.Fatalf("step %d (%s):\ngot\n%swant\n%s", i, s.ops, got, want)
				}
			}
		})
	}
}

func TestGridZoomR(t *testing.T) {
	runGrid(t, func(l Layout) Cache {
		return must[*ZoomR](t)(NewZoomR(Config{Layout: l, SinkAlign: 4, Window: 4, SummaryCap: 4, ZoomSlots: 2, ZoomSlotLen: 3}))
	}, []gridStep{
		{"prompt 3", `
			sink:    0 1 2
			summary: .
			zoom:    .
			window:  .`},
		{"gen 4", `
			sink:    0 1 2
			summary: .
			zoom:    .
			window:  3 4 5 6`},
		// The summary (7, 8) joins the summary region; it is also in the window (one slot each).
		{"begin; gen 2; seal", `
			sink:    0 1 2
			summary: 7 8
			zoom:    .
			window:  5 6 7 8`},
		// Thought 0's body (3..6) is longer than a zoom slot: its last 3 tokens are zoomed.
		{"zoom 0", `
			sink:    0 1 2
			summary: 7 8
			zoom:    4 5 6
			window:  5 6 7 8`},
		{"gen 2; begin; gen 2; seal", `
			sink:    0 1 2
			summary: 7 8 11 12
			zoom:    4 5 6
			window:  9 10 11 12`},
		// Re-selection: thought 0 leaves, thought 1 enters.
		{"zoom 1", `
			sink:    0 1 2
			summary: 7 8 11 12
			zoom:    9 10
			window:  9 10 11 12`},
		// The summary region is full: thought 0's summary leaves to make room for thought 2's.
		{"gen 1; begin; gen 1; seal", `
			sink:    0 1 2
			summary: 11 12 14
			zoom:    9 10
			window:  11 12 13 14`},
		// Thought 0 can still be zoomed (from the host store) though its summary left the region.
		{"zoom 0 2", `
			sink:    0 1 2
			summary: 11 12 14
			zoom:    4 5 6 13
			window:  11 12 13 14`},
		{"zoom; gen 1", `
			sink:    0 1 2
			summary: 11 12 14
			zoom:    .
			window:  12 13 14 15`},
	})
}

func TestGridZoomRSinks(t *testing.T) {
	// The first 2 tokens are sinks; the rest of the prompt flows through the window. Paragraph mode:
	// a thought sealed without summary whose last token stands in for one (sealw 1).
	runGrid(t, func(l Layout) Cache {
		return must[*ZoomR](t)(NewZoomR(Config{Layout: l, Sinks: 2, Window: 3, SummaryCap: 2, ZoomSlots: 1, ZoomSlotLen: 4}))
	}, []gridStep{
		{"prompt 4", `
			sink:    0 1
			summary: .
			zoom:    .
			window:  2 3`},
		{"gen 3", `
			sink:    0 1
			summary: .
			zoom:    .
			window:  4 5 6`},
		{"sealw 1", `
			sink:    0 1
			summary: 6
			zoom:    .
			window:  4 5 6`},
		{"zoom 0", `
			sink:    0 1
			summary: 6
			zoom:    4 5
			window:  4 5 6`},
		// Without a tail a thought has no summary tokens; it can still be zoomed.
		{"gen 2; sealw 0; zoom 1", `
			sink:    0 1
			summary: 6
			zoom:    7 8
			window:  6 7 8`},
		{"zoom; gen 3", `
			sink:    0 1
			summary: 6
			zoom:    .
			window:  9 10 11`},
	})
}

func TestGridZoomRLongSummary(t *testing.T) {
	// A summary longer than the region keeps its last part: 3 4 of the summary 2 3 4.
	runGrid(t, func(l Layout) Cache {
		return must[*ZoomR](t)(NewZoomR(Config{Layout: l, Window: 1, SummaryCap: 2, ZoomSlots: 1, ZoomSlotLen: 2, SinkAlign: 1}))
	}, []gridStep{
		{"prompt 1; gen 1; begin; gen 3; seal", `
			sink:    0
			summary: 3 4
			zoom:    .
			window:  4`},
	})
}

func TestGridSumR(t *testing.T) {
	runGrid(t, func(l Layout) Cache {
		return must[*SumR](t)(NewSumR(Config{Layout: l, SinkAlign: 1, Window: 3, SummaryCap: 3}))
	}, []gridStep{
		{"prompt 2", `
			sink:    0 1
			summary: .
			window:  .`},
		{"gen 3; begin; gen 2; seal", `
			sink:    0 1
			summary: 5 6
			window:  4 5 6`},
		{"gen 1; sealw 1", `
			sink:    0 1
			summary: 5 6 7
			window:  5 6 7`},
		{"gen 2; begin; gen 1; seal", `
			sink:    0 1
			summary: 7 10
			window:  8 9 10`},
	})
}

func TestGridStreamingLLM(t *testing.T) {
	runGrid(t, func(l Layout) Cache {
		return must[*StreamingLLM](t)(NewStreamingLLM(StreamingConfig{Layout: l, Sinks: 2, Window: 3}))
	}, []gridStep{
		{"prompt 4", "pool: 0 1 2 3 ."},
		// Thoughts change nothing in the context; the window's freed slots are reused.
		{"gen 1; begin; gen 2; seal", "pool: 0 1 5 6 4"},
	})
}

func TestGridFull(t *testing.T) {
	runGrid(t, func(l Layout) Cache {
		return must[*Full](t)(NewFull(FullConfig{Layout: l, MinCapacity: 3}))
	}, []gridStep{
		{"prompt 3", "pool: 0 1 2 ."},
		{"gen 1", "pool: 0 1 2 3"},
		{"gen 1; begin; gen 1; seal", "pool: 0 1 2 3 4 5 . ."},
	})
}

func TestGridH2O(t *testing.T) {
	for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16} {
		t.Run(dt.String(), func(t *testing.T) {
			l := Layout{Layers: 2, KVHeads: 2, HeadDim: 2, DType: dt}
			h := must[*H2O](t)(NewH2O(H2OConfig{Layout: l, Heavy: 2, Window: 2}))
			s := newScripted(h)
			// attn gives every layer and both query heads the same row (H = 2).
			observe := func(row ...float32) {
				t.Helper()
				var attn []float32
				for range 2 * 2 {
					attn = append(attn, row...)
				}
				if err := h.ObserveAttention(attn); err != nil {
					t.Fatal(err)
				}
			}
			check := func(want string) {
				t.Helper()
				if got := grid(t, h); got != normGrid(want) {
					t.Fatalf("got\n%swant\n%s", got, normGrid(want))
				}
			}
			script(t, s, "prompt 3")
			check("pool: 0 1 2 .")
			observe(0.1, 0.6, 0.3, 0) // scores 0.4 2.4 1.2
			script(t, s, "gen 1")
			check("pool: 0 1 2 3")
			observe(0.5, 0.2, 0.2, 0.1) // 2.4 3.2 2.0 0.4
			// Token 4 enters; the 2 most recent (3, 4) are protected; 2 has the lowest score of 0..2.
			script(t, s, "gen 1")
			check("pool: 0 1 4 3")
			observe(0.3, 0, 0.3, 0.4) // 3.6 3.2 1.2 2.0
			script(t, s, "gen 1")     // candidates 0, 1, 3: 3 is lowest
			check("pool: 0 1 4 5")
			if m := h.Memory(); m.Attended.Window != 2 || m.Attended.Heavy != 2 {
				t.Fatalf("attended %+v, want 2 window + 2 heavy", m.Attended)
			}
			// Without scores, ties go to the oldest: a long prompt keeps its last tokens.
			h.Reset()
			script(t, newScripted(h), "prompt 6")
			check("pool: 4 5 2 3")
		})
	}
}
