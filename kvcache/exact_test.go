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
	body, summary int // tokens; summary == 0: paragraph mode (sealed without summary, tail tokens)
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

// driver appends a prompt and a planned stream to a scripted cache, calling onToken after every
// token and onSeal after every sealed thought (where a decoder would re-select).
type driver struct {
	t       testing.TB
	s       *scripted
	onToken func()
	onSeal  func(id ThoughtID)
}

func (d driver) run(prompt int, plan []plannedThought) {
	d.t.Helper()
	script(d.t, d.s, fmt.Sprintf("prompt %d", prompt))
	tick := func() {
		if d.onToken != nil {
			d.onToken()
		}
	}
	for _, th := range plan {
		for range th.body {
			script(d.t, d.s, "gen 1")
			tick()
		}
		if th.summary > 0 {
			script(d.t, d.s, "begin")
			for range th.summary {
				script(d.t, d.s, "gen 1")
				tick()
			}
			script(d.t, d.s, "seal")
		} else {
			script(d.t, d.s, fmt.Sprintf("sealw %d", th.tail))
		}
		if d.onSeal != nil {
			d.onSeal(ThoughtID(len(d.s.thoughts) - 1))
		}
		tick()
	}
}

// expectedHier is the attended set a sink/summary/zoom/window cache must show, derived only from the
// rules (independently of spans.go): sinks, the window, the newest summaries that fit the summary
// region (FIFO eviction keeps the longest fitting suffix), and the last ZoomSlotLen body tokens of
// each zoomed thought; positions below the sink end belong to the sink only.
func expectedHier(n int, thoughts []Thought, zoomed []ThoughtID, cfg Config, promptLen int) []int {
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
	for id := len(thoughts) - 1; id >= 0 && cfg.SummaryCap > 0; id-- {
		th := thoughts[id]
		a, b := max(th.Summary.Start, sinkEnd), th.Summary.End
		a = max(a, b-cfg.SummaryCap)
		if a >= b {
			continue
		}
		if used+b-a > cfg.SummaryCap {
			break
		}
		used += b - a
		for p := a; p < b; p++ {
			set[p] = true
		}
	}
	for _, id := range zoomed {
		th := thoughts[id]
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

// positionsOf lists the positions of spans.
func positionsOf(spans []Span) []int {
	var out []int
	for _, s := range spans {
		for p := s.Start; p < s.End; p++ {
			out = append(out, p)
		}
	}
	return out
}

func rangeInts(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func zoomedOf(c Cache) []ThoughtID {
	if z, ok := c.(Zoomer); ok {
		return z.Zoomed()
	}
	return nil
}

// zoomNewest zooms the newest sealed thoughts, as many as fit.
func zoomNewest(t testing.TB, s *scripted) {
	z := s.Cache.(Zoomer)
	var ids []ThoughtID
	for id := len(s.thoughts) - 1; id >= 0 && len(ids) < z.ZoomCapacity(); id-- {
		ids = append(ids, ThoughtID(id))
	}
	if err := z.Zoom(ids); err != nil {
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
			s := newScripted(must[*ZoomR](t)(NewZoomR(cfg)))
			driver{t: t, s: s,
				onToken: func() {
					if got := attended(t, s); !slices.Equal(got, rangeInts(s.Len())) {
						t.Fatalf("at %d tokens attended %v", s.Len(), got)
					}
				},
				onSeal: func(ThoughtID) { zoomNewest(t, s) },
			}.run(5, plan)
		})
	}
}

// TestAttendedSetMatchesRules: under tight budgets (summaries dropped, thoughts truncated, random
// re-selections) each policy attends exactly the positions its rules name — AttendedSpans, and the
// independent derivation expectedHier agree with the context tensors — each at most once, with the
// right K/V in every slot.
func TestAttendedSetMatchesRules(t *testing.T) {
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
				s := newScripted(z)
				driver{t: t, s: s,
					onToken: func() {
						got := attended(t, s)
						if want := expectedHier(s.Len(), s.thoughts, z.Zoomed(), z.Config(), prompt); !slices.Equal(got, want) {
							t.Fatalf("at %d tokens attended\n%v\nwant\n%v", s.Len(), got, want)
						}
						spans := must[[]Span](t)(AttendedSpans(cfg, prompt, s.thoughts, z.Zoomed(), s.Len()))
						if want := positionsOf(spans); !slices.Equal(got, want) {
							t.Fatalf("at %d tokens attended\n%v\nAttendedSpans\n%v", s.Len(), got, want)
						}
					},
					onSeal: func(ThoughtID) {
						var ids []ThoughtID
						n := len(s.thoughts)
						for _, j := range rng.Perm(n)[:min(n, rng.IntN(cfg.ZoomSlots+1))] {
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
			s := newScripted(must[*SumR](t)(NewSumR(cfg)))
			driver{t: t, s: s, onToken: func() {
				if got, want := attended(t, s), expectedHier(s.Len(), s.thoughts, nil, cfg, prompt); !slices.Equal(got, want) {
					t.Fatalf("at %d tokens attended\n%v\nwant\n%v", s.Len(), got, want)
				}
			}}.run(prompt, plan)
		})
		t.Run(fmt.Sprintf("seed%d/streaming", seed), func(t *testing.T) {
			cfg := Config{Layout: l, Sinks: 4, Window: 7}
			s := newScripted(must[*StreamingLLM](t)(NewStreamingLLM(StreamingConfig{Layout: l, Sinks: 4, Window: 7})))
			driver{t: t, s: s, onToken: func() {
				if got, want := attended(t, s), expectedHier(s.Len(), nil, nil, cfg, prompt); !slices.Equal(got, want) {
					t.Fatalf("at %d tokens attended\n%v\nwant\n%v", s.Len(), got, want)
				}
			}}.run(prompt, plan)
		})
		t.Run(fmt.Sprintf("seed%d/full", seed), func(t *testing.T) {
			f := must[*Full](t)(NewFull(FullConfig{Layout: l, MinCapacity: 16}))
			s := newScripted(f)
			driver{t: t, s: s, onToken: func() {
				if got := attended(t, s); !slices.Equal(got, rangeInts(f.Len())) {
					t.Fatalf("at %d tokens attended %v", f.Len(), got)
				}
				if c := f.Memory().Capacity; c != max(16, 1<<bitsLen(f.Len()-1)) {
					t.Fatalf("capacity %d at %d tokens", c, f.Len())
				}
			}}.run(prompt, plan)
		})
		for _, name := range []string{"h2o", "rkv"} {
			t.Run(fmt.Sprintf("seed%d/%s", seed, name), func(t *testing.T) {
				var c AttentionObserver
				if name == "h2o" {
					c = must[*H2O](t)(NewH2O(H2OConfig{Layout: l, Heavy: 5, Window: 4}))
				} else {
					c = must[*RKV](t)(NewRKV(RKVConfig{Layout: l, Budget: 5, Window: 4, Buffer: 2}))
				}
				checkHeavyHitters(t, c, prompt, name == "h2o")
			})
		}
	}
}

func bitsLen(n int) int {
	b := 0
	for ; n > 0; n >>= 1 {
		b++
	}
	return b
}

// checkHeavyHitters feeds an attention-scored policy attention concentrated on positions divisible
// by 3: they must become what it keeps besides its 4-token window (for R-KV, whose random test keys
// are all alike, importance decides; with strict set only those may be kept once the stream is long).
func checkHeavyHitters(t *testing.T, c AttentionObserver, prompt int, strict bool) {
	l := c.Layout()
	observe := func() {
		pos := slotView(t, l, contextOf(t, c))
		attn := make([]float32, 2*3*len(pos)) // L=2, H=3
		for i := range attn {
			if p := pos[i%len(pos)]; p >= 0 && p%3 == 0 {
				attn[i] = 1
			}
		}
		if err := c.ObserveAttention(attn); err != nil {
			t.Fatal(err)
		}
	}
	k, v := fakeChunk(l, 0, prompt)
	if err := c.AppendPrompt(k, v, prompt); err != nil {
		t.Fatal(err)
	}
	for range 300 {
		observe()
		k, v := fakeToken(l, c.Len())
		if err := c.Append(c.Len(), k, v); err != nil {
			t.Fatal(err)
		}
		got := attended(t, c)
		n := c.Len()
		if !slices.Equal(got[len(got)-4:], []int{n - 4, n - 3, n - 2, n - 1}) {
			t.Fatalf("at %d: recent window missing in %v", n, got)
		}
		kept := 0
		for _, p := range got[:len(got)-4] {
			if p%3 == 0 {
				kept++
			} else if strict && n > 40 {
				t.Fatalf("at %d: heavy set %v holds %d, which got no attention", n, got, p)
			}
		}
		if n > 40 && kept == 0 {
			t.Fatalf("at %d: no attended position kept in %v", n, got)
		}
	}
}
