package kvcache_test

import (
	"fmt"

	"github.com/zoomr-go/zoomr/kvcache"
)

// token returns a stand-in K/V for one token (a model's Step would produce them).
func token(l kvcache.Layout) (k, v []float32) {
	return make([]float32, l.TokenElems()), make([]float32, l.TokenElems())
}

func ExampleNewZoomR() {
	layout := kvcache.Layout{Layers: 2, KVHeads: 2, HeadDim: 8}
	cache, err := kvcache.NewZoomR(kvcache.Config{Layout: layout, SinkAlign: 8, Window: 16,
		SummaryCap: 32, ZoomSlots: 2, ZoomSlotLen: 24})
	if err != nil {
		panic(err)
	}
	// A 5-token prompt (from the model's Prefill: [L, KVH, n, D]).
	if err := cache.AppendPrompt(make([]float32, 5*layout.TokenElems()), make([]float32, 5*layout.TokenElems()), 5); err != nil {
		panic(err)
	}
	appendN := func(n int) {
		for range n {
			k, v := token(layout)
			if err := cache.Append(cache.Len(), k, v); err != nil {
				panic(err)
			}
		}
	}
	// A thought of 20 tokens, then its 4-token summary.
	appendN(20)
	_ = cache.BeginSummary()
	appendN(4)
	id, _ := cache.Seal()
	th, _ := cache.Thought(id)
	fmt.Printf("thought %d: body %v, summary %v\n", id, th.Body, th.Summary)

	// Later, zoom it back in.
	appendN(16)
	_ = cache.Zoom([]kvcache.ThoughtID{id})
	m := cache.Memory()
	fmt.Printf("capacity %d slots, resident %d B, host %d B\n", m.Capacity, m.ResidentBytes, m.HostBytes)
	fmt.Printf("attended: %+v\n", m.Attended)
	// Output:
	// thought 0: body {5 25}, summary {25 29}
	// capacity 104 slots, resident 27040 B, host 65536 B
	// attended: {Sink:5 Summary:4 Zoom:20 Window:16 Heavy:0}
}

func ExampleConfig_Budget() {
	cfg := kvcache.Config{
		Layout:    kvcache.Layout{Layers: 24, KVHeads: 2, HeadDim: 64},
		Window:    256,
		ZoomSlots: 2, ZoomSlotLen: 256,
		MaxTokens: 2048, // the summary ring gets the rest
	}
	b, err := cfg.Budget(300) // a 300-token prompt, all kept
	if err != nil {
		panic(err)
	}
	fmt.Printf("sink %d + summary %d + zoom %d + window %d = %d slots, %.1f MiB resident\n",
		b.Sink, b.Summary, b.Zoom, b.Window, b.Tokens, float64(b.Bytes)/(1<<20))
	// Output:
	// sink 320 + summary 1280 + zoom 512 + window 256 = 2368 slots, 55.5 MiB resident
}
