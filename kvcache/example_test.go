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
	// A thought of 20 tokens, then its 4-token summary: the decoder's tracker names the spans.
	appendN(20 + 4)
	th := kvcache.Thought{ID: 0, Body: kvcache.Span{Start: 5, End: 25}, Summary: kvcache.Span{Start: 25, End: 29}}
	if err := cache.Seal(th); err != nil {
		panic(err)
	}

	// Later, zoom it back in.
	appendN(16)
	if err := cache.Zoom([]kvcache.ThoughtID{th.ID}); err != nil {
		panic(err)
	}
	m := cache.Memory()
	fmt.Printf("capacity %d slots, resident %d B, host %d B\n", m.Capacity, m.ResidentBytes, m.HostBytes)
	fmt.Printf("attended: %+v\n", m.Attended)
	// Output:
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

// A policy is registered by name; New builds any of them at the budget a ZoomR cache of the same
// Config would have.
func ExampleNew() {
	cfg := kvcache.Config{Layout: kvcache.Layout{Layers: 2, KVHeads: 2, HeadDim: 8}, Window: 64,
		SummaryCap: 128, ZoomSlots: 2, ZoomSlotLen: 64, PromptLen: 40}
	for _, name := range kvcache.PolicyNames() {
		c, err := kvcache.New(name, cfg)
		if err != nil {
			panic(err)
		}
		_, sealer := c.(kvcache.Sealer)
		_, observer := c.(kvcache.AttentionObserver)
		fmt.Printf("%-9s sealer=%-5v observer=%v\n", name, sealer, observer)
	}
	// Output:
	// full      sealer=false observer=false
	// h2o       sealer=false observer=true
	// rkv       sealer=false observer=true
	// streaming sealer=false observer=false
	// sumr      sealer=true  observer=false
	// zoomr     sealer=true  observer=false
}
