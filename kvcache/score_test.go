package kvcache

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// TestScoreSummaries: scores are q·kbar/sqrt(D) with kbar the mean key of the thought's summary (of its
// body in paragraph mode without a tail, of its tail with one), per layer and query head, query head h
// reading KV head h/G — for every sealed thought, including those whose summary left the ring.
func TestScoreSummaries(t *testing.T) {
	const heads = 4 // G = 2
	for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16} {
		t.Run(dt.String(), func(t *testing.T) {
			l := Layout{Layers: 2, KVHeads: 2, HeadDim: 4, DType: dt}
			rng := rand.New(rand.NewPCG(3, 3))
			var keys [][]float32 // per position, [L,KVH,D], as stored (rounded to the storage dtype)
			round := func(x float32) float32 {
				if dt == dtypes.BFloat16 {
					return toBF16(x).Float32()
				}
				return x
			}
			z := must[*ZoomR](t)(NewZoomR(Config{Layout: l, Window: 4, SummaryCap: 6, ZoomSlots: 1, ZoomSlotLen: 4}))
			caches := []Zoomer{z}
			var thoughts []Thought
			gen := func(n int) {
				for range n {
					k, v := make([]float32, l.TokenElems()), make([]float32, l.TokenElems())
					stored := make([]float32, len(k))
					for i := range k {
						k[i], v[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
						stored[i] = round(k[i])
					}
					keys = append(keys, stored)
					for _, c := range caches {
						if err := c.Append(len(keys)-1, k, v); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			seal := func(body, summary Span) {
				th := Thought{ID: ThoughtID(len(thoughts)), Body: body, Summary: summary}
				thoughts = append(thoughts, th)
				for _, c := range caches {
					if err := c.Seal(th); err != nil {
						t.Fatal(err)
					}
				}
			}
			type span struct{ a, b int }
			var kspans []span // positions whose mean is each thought's kbar
			for i := range 5 {
				start := len(keys)
				gen(3 + i)
				switch i {
				case 2: // paragraph, no tail: mean of the body
					seal(Span{start, len(keys)}, Span{len(keys), len(keys)})
					kspans = append(kspans, span{start, len(keys)})
				case 3: // paragraph, tail 2
					seal(Span{start, len(keys) - 2}, Span{len(keys) - 2, len(keys)})
					kspans = append(kspans, span{len(keys) - 2, len(keys)})
				default:
					sum := len(keys)
					gen(3)
					seal(Span{start, sum}, Span{sum, len(keys)})
					kspans = append(kspans, span{sum, len(keys)})
				}
			}
			q := make([]float32, l.Layers*heads*l.HeadDim)
			for i := range q {
				q[i] = float32(rng.NormFloat64())
			}
			T := len(kspans)
			want := make([]float32, l.Layers*heads*T)
			for li := range l.Layers {
				for h := range heads {
					for j, sp := range kspans {
						var dot float64
						for d := range l.HeadDim {
							var mean float64
							for p := sp.a; p < sp.b; p++ {
								mean += float64(keys[p][(li*l.KVHeads+h/2)*l.HeadDim+d])
							}
							mean /= float64(sp.b - sp.a)
							dot += mean * float64(q[(li*heads+h)*l.HeadDim+d])
						}
						want[(li*heads+h)*T+j] = float32(dot / 2) // sqrt(D) = 2
					}
				}
			}
			for _, c := range caches {
				got := make([]float32, len(want))
				if err := c.ScoreSummaries(q, got); err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if math.Abs(float64(got[i]-want[i])) > 1e-5 {
						t.Fatalf("%T: score %d = %v, want %v", c, i, got[i], want[i])
					}
				}
			}
			if m := z.Memory(); m.Attended.Summary != 5 { // region of 6: only the newest summaries fit
				t.Fatalf("summary region holds %d tokens, want 5 (thoughts 3 and 4)", m.Attended.Summary)
			}
		})
	}
}

func TestToBF16(t *testing.T) {
	for _, tc := range []struct {
		in   float32
		want uint16
	}{
		{1, 0x3f80},
		{-2, 0xc000},
		{math.Float32frombits(0x3f808000), 0x3f80}, // halfway, even below: down
		{math.Float32frombits(0x3f818000), 0x3f82}, // halfway, odd below: up
		{math.Float32frombits(0x3f808001), 0x3f81}, // above halfway: up
		{float32(math.Inf(1)), 0x7f80},
		{math.MaxFloat32, 0x7f80}, // rounds to +Inf
	} {
		if got := uint16(toBF16(tc.in)); got != tc.want {
			t.Errorf("toBF16(%v) = %#04x, want %#04x", tc.in, got, tc.want)
		}
	}
	if got := toBF16(float32(math.NaN())).Float32(); !math.IsNaN(float64(got)) {
		t.Errorf("toBF16(NaN) = %v", got)
	}
}

// TestResetAndBudgets: Reset returns each policy to its freshly built state (same accounting, same
// behaviour on the same input), and each policy's Budget bounds its resident bytes (and is reached
// here, where the first bucket is larger than the budget).
func TestResetAndBudgets(t *testing.T) {
	l := Layout{Layers: 2, KVHeads: 2, HeadDim: 2}
	budgets := map[string]func() (Budget, error){
		"zoomr": func() (Budget, error) {
			return Config{Layout: l, Window: 6, SummaryCap: 4, ZoomSlots: 2, ZoomSlotLen: 3}.Budget(5)
		},
		"sumr":      func() (Budget, error) { return newBudget(l, 64, 4, 0, 6, 0), nil }, // no zoom region
		"streaming": StreamingConfig{Layout: l, Sinks: 2, Window: 6}.Budget,
		"h2o":       H2OConfig{Layout: l, Heavy: 3, Window: 3}.Budget,
	}
	for name, build := range policies {
		t.Run(name, func(t *testing.T) {
			fresh := newScripted(must[Cache](t)(build(l)))
			c := newScripted(must[Cache](t)(build(l)))
			script(t, c, openBody+"; begin; gen 1")
			c.Reset()
			c.thoughts, c.open, c.sum = nil, -1, -1
			if got, want := c.Memory(), fresh.Memory(); got != want || c.Len() != 0 {
				t.Fatalf("after Reset: %+v (len %d), fresh: %+v", got, c.Len(), want)
			}
			script(t, c, sealedTwo)
			script(t, fresh, sealedTwo)
			if _, ok := c.Cache.(Zoomer); ok {
				script(t, c, "zoom 1")
				script(t, fresh, "zoom 1")
			}
			if grid(t, c.Cache) != grid(t, fresh.Cache) || c.Memory() != fresh.Memory() {
				t.Fatalf("reset cache behaves differently:\n%s\n%s", grid(t, c.Cache), grid(t, fresh.Cache))
			}
			if b, ok := budgets[name]; ok {
				bud, err := b()
				m := c.Memory()
				if err != nil || bud.Bytes != m.ResidentBytes || bud.Tokens != m.Capacity {
					t.Fatalf("budget %+v (%v), capacity %d, resident %d", bud, err, m.Capacity, m.ResidentBytes)
				}
			}
		})
	}
}
