package kvcache

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// plannedThought is one reasoning segment of a scripted stream.
type plannedThought struct {
	body, summary int // tokens; summary == 0: paragraph mode (SealWithoutSummary(tail))
	tail          int
}

// planStream draws thoughts until about n generated tokens.
func planStream(rng *rand.Rand, n, maxBody, maxSummary int) []plannedThought {
	var plan []plannedThought
	for total := 0; total < n; {
		th := plannedThought{body: 1 + rng.IntN(maxBody)}
		if rng.IntN(5) == 0 {
			th.tail = rng.IntN(min(th.body, maxSummary) + 1)
		} else {
			th.summary = 1 + rng.IntN(maxSummary)
		}
		plan = append(plan, th)
		total += th.body + th.summary
	}
	return plan
}

// driver appends a prompt and a planned stream to c, calling onToken after every token and onSeal
// after every sealed thought (where a decoder would re-select).
type driver struct {
	t       testing.TB
	c       Cache
	onToken func()
	onSeal  func(id ThoughtID)
}

func (d driver) gen(n int) {
	for range n {
		k, v := fakeToken(d.c.Layout(), d.c.Len())
		if err := d.c.Append(d.c.Len(), k, v); err != nil {
			d.t.Fatal(err)
		}
		if d.onToken != nil {
			d.onToken()
		}
	}
}

func (d driver) run(prompt int, plan []plannedThought) {
	d.t.Helper()
	k, v := fakeChunk(d.c.Layout(), 0, prompt)
	if err := d.c.AppendPrompt(k, v, prompt); err != nil {
		d.t.Fatal(err)
	}
	for _, th := range plan {
		d.gen(th.body)
		var id ThoughtID
		var err error
		if th.summary > 0 {
			if err = d.c.BeginSummary(); err != nil {
				d.t.Fatal(err)
			}
			d.gen(th.summary)
			id, err = d.c.Seal()
		} else {
			id, err = d.c.SealWithoutSummary(th.tail)
		}
		if err != nil {
			d.t.Fatal(err)
		}
		if d.onSeal != nil {
			d.onSeal(id)
		}
		if d.onToken != nil {
			d.onToken()
		}
	}
}

// expectedHier is the attended set a sink/summary/zoom/window cache must show, derived only from the
// public API and the config: sinks, the window, the newest summaries that fit the summary region
// (FIFO eviction keeps the longest fitting suffix), and the last ZoomSlotLen body tokens of each
// zoomed thought; positions below the sink end belong to the sink only.
func expectedHier(c Cache, cfg Config, promptLen int, summaryRegion int) []int {
	n := c.Len()
	sinkEnd := promptLen
	if cfg.Sinks > 0 {
		sinkEnd = cfg.Sinks
	}
	set := map[int]bool{}
	for p := 0; p < min(n, sinkEnd); p++ {
		set[p] = true
	}
	for p := max(sinkEnd, n-cfg.Window); p < n; p++ {
		set[p] = true
	}
	used := 0
	for id := c.NumThoughts() - 1; id >= 0 && summaryRegion > 0; id-- {
		th, _ := c.Thought(ThoughtID(id))
		a, b := max(th.Summary.Start, sinkEnd), th.Summary.End
		a = max(a, b-summaryRegion)
		if a >= b {
			continue
		}
		if used+b-a > summaryRegion {
			break
		}
		used += b - a
		for p := a; p < b; p++ {
			set[p] = true
		}
	}
	for _, id := range c.Zoomed() {
		th, _ := c.Thought(id)
		for p := max(th.Body.Start, sinkEnd, th.Body.End-cfg.ZoomSlotLen); p < th.Body.End; p++ {
			set[p] = true
		}
	}
	var out []int
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func rangeInts(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// zoomNewest zooms the newest sealed thoughts, as many as fit.
func zoomNewest(t testing.TB, c Cache) {
	var ids []ThoughtID
	for id := c.NumThoughts() - 1; id >= 0 && len(ids) < c.ZoomCapacity(); id-- {
		ids = append(ids, ThoughtID(id))
	}
	if err := c.Zoom(ids); err != nil {
		t.Fatal(err)
	}
}

// TestZoomRCoveringIsFull: with regions large enough for every thought, every position is attended
// exactly once at every step — the condition for ZoomR to equal the full cache.
func TestZoomRCoveringIsFull(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sinks int
		dt    dtypes.DType
	}{{"whole-prompt/f32", 0, dtypes.Float32}, {"whole-prompt/bf16", 0, dtypes.BFloat16},
		{"sinks-beyond-prompt/f32", 12, dtypes.Float32}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			plan := planStream(rng, 200, 12, 4)
			l := Layout{Layers: 2, KVHeads: 2, HeadDim: 2, DType: tc.dt}
			if tc.dt == dtypes.BFloat16 {
				l = Layout{Layers: 1, KVHeads: 1, HeadDim: 1, DType: tc.dt} // stride 1: exact to position 255
			}
			cfg := Config{Layout: l, Sinks: tc.sinks, Window: 16, SummaryCap: 4 * len(plan),
				ZoomSlots: len(plan), ZoomSlotLen: 12}
			z := must[*ZoomR](t)(NewZoomR(cfg))
			driver{t: t, c: z,
				onToken: func() {
					if got := attended(t, z); !slices.Equal(got, rangeInts(z.Len())) {
						t.Fatalf("at %d tokens attended %v", z.Len(), got)
					}
				},
				onSeal: func(ThoughtID) { zoomNewest(t, z) },
			}.run(5, plan)
		})
	}
}

// TestAttendedSetMatchesModel: under tight budgets (summaries dropped, thoughts truncated, random
// re-selections) each policy attends exactly the positions its rules name, each at most once, with
// the right K/V in every slot.
func TestAttendedSetMatchesModel(t *testing.T) {
	l := Layout{Layers: 2, KVHeads: 2, HeadDim: 2}
	const prompt = 9
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 7))
		plan := planStream(rng, 400, 15, 5)
		cfgs := []Config{
			{Layout: l, Window: 6, SummaryCap: 7, ZoomSlots: 2, ZoomSlotLen: 5, SinkAlign: 4},
			{Layout: l, Sinks: 3, Window: 5, SummaryCap: 9, ZoomSlots: 3, ZoomSlotLen: 8},
			{Layout: l, Sinks: 12, Window: 4, SummaryCap: 3, ZoomSlots: 1, ZoomSlotLen: 20, HostBlock: 7},
		}
		for i, cfg := range cfgs {
			t.Run(fmt.Sprintf("seed%d/zoomr%d", seed, i), func(t *testing.T) {
				z := must[*ZoomR](t)(NewZoomR(cfg))
				driver{t: t, c: z,
					onToken: func() {
						if got, want := attended(t, z), expectedHier(z, cfg, prompt, cfg.SummaryCap); !slices.Equal(got, want) {
							t.Fatalf("at %d tokens attended\n%v\nwant\n%v", z.Len(), got, want)
						}
					},
					onSeal: func(ThoughtID) {
						var ids []ThoughtID
						for _, j := range rng.Perm(z.NumThoughts())[:min(z.NumThoughts(), rng.IntN(cfg.ZoomSlots+1))] {
							ids = append(ids, ThoughtID(j))
						}
						if err := z.Zoom(ids); err != nil {
							t.Fatal(err)
						}
					},
				}.run(prompt, plan)
			})
		}
		t.Run(fmt.Sprintf("seed%d/sumr", seed), func(t *testing.T) {
			cfg := Config{Layout: l, Window: 6, SummaryCap: 8, SinkAlign: 1}
			s := must[*SumR](t)(NewSumR(SumRConfig{Layout: l, Window: 6, SummaryCap: 8, SinkAlign: 1}))
			driver{t: t, c: s, onToken: func() {
				if got, want := attended(t, s), expectedHier(s, cfg, prompt, cfg.SummaryCap); !slices.Equal(got, want) {
					t.Fatalf("at %d tokens attended\n%v\nwant\n%v", s.Len(), got, want)
				}
			}}.run(prompt, plan)
		})
		t.Run(fmt.Sprintf("seed%d/streaming", seed), func(t *testing.T) {
			cfg := Config{Layout: l, Sinks: 4, Window: 7}
			s := must[*StreamingLLM](t)(NewStreamingLLM(StreamingConfig{Layout: l, Sinks: 4, Window: 7}))
			driver{t: t, c: s, onToken: func() {
				if got, want := attended(t, s), expectedHier(s, cfg, prompt, 0); !slices.Equal(got, want) {
					t.Fatalf("at %d tokens attended\n%v\nwant\n%v", s.Len(), got, want)
				}
			}}.run(prompt, plan)
		})
		t.Run(fmt.Sprintf("seed%d/full", seed), func(t *testing.T) {
			f := must[*Full](t)(NewFull(FullConfig{Layout: l, MinCapacity: 16}))
			driver{t: t, c: f, onToken: func() {
				if got := attended(t, f); !slices.Equal(got, rangeInts(f.Len())) {
					t.Fatalf("at %d tokens attended %v", f.Len(), got)
				}
				if c := f.Capacity(); c != max(16, nextPow2(f.Len())) {
					t.Fatalf("capacity %d at %d tokens", c, f.Len())
				}
			}}.run(prompt, plan)
		})
		t.Run(fmt.Sprintf("seed%d/h2o", seed), func(t *testing.T) {
			h := must[*H2O](t)(NewH2O(H2OConfig{Layout: l, Heavy: 5, Window: 4}))
			// Attention concentrated on positions divisible by 3: they must become the heavy hitters.
			observe := func() {
				pos := slotView(t, l, h.Context())
				attn := make([]float32, 2*3*len(pos)) // L=2, H=3
				for i := range attn {
					if p := pos[i%len(pos)]; p >= 0 && p%3 == 0 {
						attn[i] = 1
					}
				}
				if err := h.ObserveAttention(attn); err != nil {
					t.Fatal(err)
				}
			}
			k, v := fakeChunk(l, 0, prompt)
			if err := h.AppendPrompt(k, v, prompt); err != nil {
				t.Fatal(err)
			}
			for range 300 {
				observe()
				k, v := fakeToken(l, h.Len())
				if err := h.Append(h.Len(), k, v); err != nil {
					t.Fatal(err)
				}
				got := attended(t, h)
				n := h.Len()
				if !slices.Equal(got[len(got)-4:], []int{n - 4, n - 3, n - 2, n - 1}) {
					t.Fatalf("at %d: recent window missing in %v", n, got)
				}
				for _, p := range got[:len(got)-4] {
					if p%3 != 0 && n > 40 {
						t.Fatalf("at %d: heavy set %v holds %d, which got no attention", n, got, p)
					}
				}
			}
		})
	}
}
