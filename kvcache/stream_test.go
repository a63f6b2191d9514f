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
	ctx := c.Context()
	for i := range ctx.K {
		resident += int64(ctx.K[i].Shape().Memory() + ctx.V[i].Shape().Memory())
	}
	resident += int64(ctx.Mask.Shape().Memory())
	var z *ZoomR
	switch x := c.(type) {
	case *ZoomR:
		z = x
	case *SumR:
		z = x.ZoomR
	case *StreamingLLM:
		z = x.ZoomR
	}
	if z != nil {
		switch h := z.host.(type) {
		case *host[float32]:
			for _, b := range h.blocks {
				if b != nil {
					hostB += int64(4 * (len(b.k) + len(b.v)))
				}
			}
		case *host[bfloat16.BFloat16]:
			for _, b := range h.blocks {
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
	m := a.c.Memory()
	res, host := allocated(a.t, a.c)
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
	if z, ok := a.c.(interface{ NumThoughts() int }); ok && a.c.ZoomCapacity() > 0 {
		if want := int64(z.NumThoughts() * (4*l.TokenElems() + thoughtRecordBytes)); m.IndexBytes != want {
			a.t.Fatalf("IndexBytes %d, want %d", m.IndexBytes, want)
		}
	}
	a.history = append(a.history, m.ResidentBytes)
	return m
}

// TestStream20k drives a 20k-token reasoning stream (a thought of 70-90 tokens + a summary of 10-20
// every ~100 tokens, a re-selection after each) through ZoomR (fixed and growing summary region), SumR
// and Full: ZoomR's resident bytes never exceed its budget and are flat once reached, Full's follow
// the power-of-two buckets of its length, and every byte count equals what is allocated.
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
		driver{t: t, c: c,
			onToken: func() {
				each(a.check())
				if step++; step%2500 == 0 && c.ZoomCapacity() > 0 {
					// the attended set stays exactly what the rules say, deep into the stream
					if got, want := attended(t, c), expectedHier(c, zcfg, prompt, zcfg.SummaryCap); !slices.Equal(got, want) {
						t.Fatalf("at %d tokens attended %v, want %v", c.Len(), got, want)
					}
				}
			},
			onSeal: func(id ThoughtID) {
				ids := []ThoughtID{id}
				if id > 0 {
					ids = append(ids, id/2) // an old thought: its summary may have left the ring
				}
				if c.ZoomCapacity() > 0 {
					if err := c.Zoom(ids); err != nil {
						t.Fatal(err)
					}
				}
			},
		}.run(prompt, plan)
		return a
	}

	t.Run("zoomr", func(t *testing.T) {
		z := must[*ZoomR](t)(NewZoomR(zcfg))
		run(z, func(m Memory) {
			if m.ResidentBytes != budget.Bytes {
				t.Fatalf("at %d tokens resident %d, budget %d", m.Tokens, m.ResidentBytes, budget.Bytes)
			}
		})
		m := z.Memory()
		wantHost := int64((m.Tokens+255)/256*256) * l.TokenKVBytes()
		if m.HostBytes != wantHost || m.PeakResidentBytes != budget.Bytes {
			t.Fatalf("final %+v, want host %d", m, wantHost)
		}
		t.Logf("zoomr: %d tokens, %d thoughts, resident %d B (budget %d), host %d B, moved %d B",
			m.Tokens, z.NumThoughts(), m.ResidentBytes, budget.Bytes, m.HostBytes, m.MovedBytes)
	})

	t.Run("zoomr-summary-grow", func(t *testing.T) {
		cfg := zcfg
		cfg.SummaryGrow = true
		z := must[*ZoomR](t)(NewZoomR(cfg))
		a := run(z, func(m Memory) {
			if m.ResidentBytes > budget.Bytes {
				t.Fatalf("at %d tokens resident %d > budget %d", m.Tokens, m.ResidentBytes, budget.Bytes)
			}
		})
		reached := slices.Index(a.history, budget.Bytes)
		if reached < 0 || !slices.IsSorted(a.history) {
			t.Fatalf("resident bytes never reached the budget or shrank: %v", slices.Compact(a.history))
		}
		for _, r := range a.history[reached:] {
			if r != budget.Bytes {
				t.Fatalf("resident bytes moved after reaching the budget: %v", slices.Compact(a.history))
			}
		}
		if got := slices.Compact(slices.Clone(a.history)); len(got) != 5 { // no sink yet; then with the sink: 64, 128, 256, 512 summary slots
			t.Fatalf("resident sizes %v, want 5 steps", got)
		}
	})

	t.Run("sumr", func(t *testing.T) {
		s := must[*SumR](t)(NewSumR(SumRConfig{Layout: l, Window: 128, SummaryCap: 512}))
		run(s, func(m Memory) {
			if m.HostBytes > 2*256*l.TokenKVBytes() {
				t.Fatalf("SumR host store holds %d B at %d tokens: more than the open thought's blocks", m.HostBytes, m.Tokens)
			}
		})
	})

	t.Run("full", func(t *testing.T) {
		f := must[*Full](t)(NewFull(FullConfig{Layout: l}))
		run(f, func(m Memory) {
			if want := l.ContextBytes(max(256, nextPow2(m.Tokens))); m.ResidentBytes != want {
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

// TestSummaryGrowKeepsContent: growing the summary region moves every region intact (the ring is
// unrolled), and the attended set is unchanged by the move.
func TestSummaryGrowKeepsContent(t *testing.T) {
	l := Layout{Layers: 2, KVHeads: 2, HeadDim: 2}
	cfg := Config{Layout: l, Window: 8, SummaryCap: 200, SummaryGrow: true, ZoomSlots: 2, ZoomSlotLen: 6, SinkAlign: 4}
	z := must[*ZoomR](t)(NewZoomR(cfg))
	rng := rand.New(rand.NewPCG(5, 5))
	caps := []int{}
	driver{t: t, c: z,
		onToken: func() {
			if got, want := attended(t, z), expectedHier(z, cfg, 6, cfg.SummaryCap); !slices.Equal(got, want) {
				t.Fatalf("at %d tokens attended %v, want %v", z.Len(), got, want)
			}
			if c := z.Capacity(); len(caps) == 0 || caps[len(caps)-1] != c {
				caps = append(caps, c)
			}
		},
		onSeal: func(ThoughtID) { zoomNewest(t, z) },
	}.run(6, planStream(rng, 900, 10, 9))
	// sink 8 + zoom 12 + window 8 = 28 plus summary 64, 128, 200
	if want := []int{28 + 64, 28 + 128, 28 + 200}; !slices.Equal(caps, want) {
		t.Fatalf("capacities %v, want %v", caps, want)
	}
}
