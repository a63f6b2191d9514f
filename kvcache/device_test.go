package kvcache

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/zoomr-go/zoomr/model"
)

// TestBackendSlotsMatchHost: a ZoomR cache whose active context lives in the backend's buffers
// (updated in place by the update graph) holds, at every step, exactly what the Go-memory one holds
// — every slot's K, V and mask — through appends, seals, zooms, evictions and growth, in float32
// and bfloat16; and it moves only the rows it writes (no whole-context uploads).
func TestBackendSlotsMatchHost(t *testing.T) {
	backend, err := model.DefaultBackend()
	if err != nil {
		t.Fatal(err)
	}
	for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16} {
		t.Run(dt.String(), func(t *testing.T) {
			l := Layout{Layers: 2, KVHeads: 2, HeadDim: 2, DType: dt}
			if dt == dtypes.BFloat16 {
				l = Layout{Layers: 1, KVHeads: 1, HeadDim: 1, DType: dt} // exact to position 255
			}
			matchHostSlots(t, l, NewBackendSlots(backend), func(c Context) Context { return c })
		})
	}
}

// matchHostSlots drives a Go-memory ZoomR cache and one on slots through the same stream, requires
// the same slots at every step (view turns the latter's context into whole tensors) and bounds the
// bytes moved per token.
func matchHostSlots(t *testing.T, l Layout, slots SlotsFactory, view func(Context) Context) {
	t.Helper()
	cfg := Config{Layout: l, Window: 6, SummaryCap: 7, ZoomSlots: 2, ZoomSlotLen: 5, SinkAlign: 4, MinCapacity: 8}
	host := newScripted(must[*ZoomR](t)(NewZoomR(cfg)))
	dcfg := cfg
	dcfg.NewSlots = slots
	dev := newScripted(must[*ZoomR](t)(NewZoomR(dcfg)))
	rng := rand.New(rand.NewPCG(3, 3))
	plan := planStream(rng, 200, 15, 5)
	check := func() {
		t.Helper()
		h, d := slotView(t, l, contextOf(t, host)), slotView(t, l, view(contextOf(t, dev)))
		if !slices.Equal(h, d) {
			t.Fatalf("at %d tokens: host slots %v, backend slots %v", host.Len(), h, d)
		}
	}
	zoom := func() {
		var ids []ThoughtID
		n := len(host.thoughts)
		for _, j := range rng.Perm(n)[:min(n, rng.IntN(3))] {
			ids = append(ids, ThoughtID(j))
		}
		for _, c := range []*scripted{host, dev} {
			if err := c.Cache.(Zoomer).Zoom(ids); err != nil {
				t.Fatal(err)
			}
		}
	}
	both := func(ops string) {
		script(t, host, ops)
		script(t, dev, ops)
	}
	both("prompt 9")
	check()
	for _, th := range plan {
		for range th.body {
			both("gen 1")
			check()
		}
		if th.summary > 0 {
			both("begin")
			for range th.summary {
				both("gen 1")
				check()
			}
			both("seal")
		} else {
			both(fmt.Sprintf("sealw %d", th.tail))
		}
		zoom()
		check()
	}
	hm, dm := host.Memory(), dev.Memory()
	if hm.Capacity != dm.Capacity || hm.ResidentBytes != dm.ResidentBytes {
		t.Fatalf("memory: host %+v, backend %+v", hm, dm)
	}
	// Per written row: its K and V plus an index (and the mask's index); nothing per slot of the context.
	perToken := float64(dm.MovedBytes) / float64(host.Len())
	if limit := 3 * float64(l.TokenKVBytes()+16); perToken > limit {
		t.Fatalf("moved %.0f B per token, want under %.0f (K+V %d B)", perToken, limit, l.TokenKVBytes())
	}
	t.Logf("moved %.1f B per token (K+V %d B per token), capacity %d", perToken, l.TokenKVBytes(), dm.Capacity)
}
