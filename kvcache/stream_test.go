package kvcache

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
)

// allocated sums the sizes of the buffers a cache actually holds: its context tensors and, for the
// hierarchical engine, the host blocks (computed from the slices, not from the cache's counters).
func allocated(t testing.TB, c Cache) (resident, hostB int64) {
	t.Helper()
	ctx := contextOf(t, c)
	for i := range ctx.K {
		resident += int64(ctx.K[i].Shape().Memory() + ctx.V[i].Shape().Memory())
	}
	resident += int64(ctx.Mask.Shape().Memory())
	var h *hier
	switch x := c.(type) {
	case *ZoomR:
		h = x.h
	case *SumR:
		h = x.h
	}
	if h != nil {
		switch st := h.host.impl.(type) {
		case *host[float32]:
			for _, b := range st.blocks {
				if b != nil {
					hostB += int64(4 * (len(b.k) + len(b.v)))
				}
			}
		case *host[bfloat16.BFloat16]:
			for _, b := range st.blocks {
				if b != nil {
					hostB += int64(2 * (len(b.k) + len(b.v)))
				}
			}
		}
	}
	return resident, hostB
}

// accountant checks a cache's Memory against its allocations after every call and tracks the peaks.
type accountant struct {
	t                 testing.TB
	c                 Cache
	peakRes, peakHost int64
	history           []int64 // ResidentBytes after each check
}

func (a *accountant) check() Memory {
	a.t.Helper()
	res, host := allocated(a.t, a.c) // first: an empty pool allocates its storage on Context
	m := a.c.Memory()
	a.peakRes, a.peakHost = max(a.peakRes, res), max(a.peakHost, host)
	l := a.c.Layout()
	switch {
	case m.ResidentBytes != res:
		a.t.Fatalf("ResidentBytes %d, allocated %d", m.ResidentBytes, res)
	case m.ResidentBytes != l.ContextBytes(m.Capacity):
		a.t.Fatalf("ResidentBytes %d != ContextBytes(%d) = %d", m.ResidentBytes, m.Capacity, l.ContextBytes(m.Capacity))
	case m.HostBytes != host:
		a.t.Fatalf("HostBytes %d, allocated %d", m.HostBytes, host)
	case m.PeakResidentBytes != a.peakRes || m.PeakHostBytes != a.peakHost:
		a.t.Fatalf("peaks %d/%d, observed %d/%d", m.PeakResidentBytes, m.PeakHostBytes, a.peakRes, a.peakHost)
	case m.Tokens != a.c.Len():
		a.t.Fatalf("Tokens %d, Len %d", m.Tokens, a.c.Len())
	case m.Attended.Total() > m.Capacity:
		a.t.Fatalf("attended %+v > capacity %d", m.Attended, m.Capacity)
	}
	if z, ok := a.c.(*ZoomR); ok {
		if want := int64(4*cap(z.h.kbar) + cap(z.h.thoughts)*thoughtRecordBytes); m.IndexBytes != want || m.IndexBytes < int64(z.NumThoughts()*(4*l.TokenElems()+thoughtRecordBytes)) {
			a.t.Fatalf("IndexBytes %d, want %d", m.IndexBytes, want)
		}
	}
	a.history = append(a.history, m.ResidentBytes)
	return m
}

// TestStream20k drives a 20k-token reasoning stream (a thought of 70-90 tokens + a summary of 10-20
// every ~100 tokens, a re-selection after each) through ZoomR, SumR and Full: ZoomR's resident bytes
// grow in buckets to its budget and never past it (nor past a full cache's at the same length), Full's
// follow the power-of-two buckets of its length, and every byte count equals what is allocated.
func TestStream20k(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 4000
	}
	const prompt = 50
	l := Layout{Layers: 2, KVHeads: 2, HeadDim: 8}
	rng := rand.New(rand.NewPCG(20, 20))
	var plan []plannedThought
	for total := 0; total < n; {
		th := plannedThought{body: 70 + rng.IntN(21), summary: 10 + rng.IntN(11)}
		plan = append(plan, th)
		total += th.body + th.summary
	}
	zcfg := Config{Layout: l, Window: 128, SummaryCap: 512, ZoomSlots: 2, ZoomSlotLen: 128}
	budget := must[Budget](t)(zcfg.Budget(prompt))
	if budget.Tokens != 64+512+256+128 {
		t.Fatalf("budget %+v", budget)
	}

	run := func(c Cache, each func(m Memory)) *accountant {
		a := &accountant{t: t, c: c}
		a.check()
		step := 0
		s := newScripted(c)
		driver{t: t, s: s,
			onToken: func() {
				each(a.check())
				if z, ok := c.(*ZoomR); ok {
					if step++; step%2500 == 0 {
						// the attended set stays exactly what the rules say, deep into the stream
						if got, want := attended(t, c), expectedHier(c.Len(), s.thoughts, z.Zoomed(), zcfg, prompt); !slices.Equal(got, want) {
							t.Fatalf("at %d tokens attended %v, want %v", c.Len(), got, want)
						}
					}
				}
			},
			onSeal: func(id ThoughtID) {
				ids := []ThoughtID{id}
				if id > 0 {
					ids = append(ids, id/2) // an old thought: its summary may have left the region
				}
				if z, ok := c.(Zoomer); ok {
					if err := z.Zoom(ids); err != nil {
						t.Fatal(err)
					}
				}
			},
		}.run(prompt, plan)
		return a
	}

	t.Run("zoomr", func(t *testing.T) {
		z := must[*ZoomR](t)(NewZoomR(zcfg))
		a := run(z, func(m Memory) {
			full := l.ContextBytes(max(DefaultMinCapacity, 1<<bitsLen(m.Tokens-1)))
			if m.ResidentBytes > budget.Bytes || m.ResidentBytes > full {
				t.Fatalf("at %d tokens resident %d, budget %d, a full cache %d", m.Tokens, m.ResidentBytes, budget.Bytes, full)
			}
		})
		if !slices.IsSorted(a.history) || a.history[len(a.history)-1] != budget.Bytes {
			t.Fatalf("resident bytes shrank or never reached the budget: %v", slices.Compact(a.history))
		}
		m := z.Memory()
		wantHost := int64((m.Tokens+255)/256*256) * l.TokenKVBytes()
		if m.HostBytes != wantHost || m.PeakResidentBytes != budget.Bytes {
			t.Fatalf("final %+v, want host %d", m, wantHost)
		}
		t.Logf("zoomr: %d tokens, %d thoughts, resident %d B (budget %d; sizes %v), host %d B, moved %d B",
			m.Tokens, z.NumThoughts(), m.ResidentBytes, budget.Bytes, slices.Compact(a.history), m.HostBytes, m.MovedBytes)
	})

	t.Run("sumr", func(t *testing.T) {
		s := must[*SumR](t)(NewSumR(Config{Layout: l, Window: 128, SummaryCap: 512}))
		run(s, func(m Memory) {
			if m.HostBytes > 2*256*l.TokenKVBytes() {
				t.Fatalf("SumR host store holds %d B at %d tokens: more than the open thought's blocks", m.HostBytes, m.Tokens)
			}
		})
	})

	t.Run("full", func(t *testing.T) {
		f := must[*Full](t)(NewFull(FullConfig{Layout: l}))
		run(f, func(m Memory) {
			if want := l.ContextBytes(max(256, 1<<bitsLen(m.Tokens-1))); m.ResidentBytes != want {
				t.Fatalf("at %d tokens resident %d, want %d", m.Tokens, m.ResidentBytes, want)
			}
		})
		if m := f.Memory(); m.Capacity != 32768 && !testing.Short() {
			t.Fatalf("Full capacity %d after %d tokens", m.Capacity, m.Tokens)
		}
	})

	t.Run("bf16-halves-kv", func(t *testing.T) {
		b16 := l
		b16.DType = dtypes.BFloat16
		c16 := zcfg
		c16.Layout = b16
		b := must[Budget](t)(c16.Budget(prompt))
		if b.Bytes != int64(b.Tokens)*(l.TokenKVBytes()/2+4) {
			t.Fatalf("bf16 budget %+v", b)
		}
	})
}
