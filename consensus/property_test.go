package consensus

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomCase draws scores with deliberate ties (small integers), NaN and ±inf, a random validity
// mask, a random budget and random options.
func randomCase(r *rand.Rand) (Scores, []bool, int, Options) {
	s := Scores{Layers: 1 + r.IntN(4), Heads: 1 + r.IntN(4), Thoughts: r.IntN(12)}
	s.Data = make([]float32, s.Layers*s.Heads*s.Thoughts)
	for i := range s.Data {
		switch p := r.IntN(40); {
		case p == 0:
			s.Data[i] = nan
		case p == 1:
			s.Data[i] = nInf
		case p == 2:
			s.Data[i] = pInf
		case p < 20:
			s.Data[i] = float32(r.IntN(4)) // ties
		default:
			s.Data[i] = float32(r.NormFloat64())
		}
	}
	var valid []bool
	if r.IntN(3) > 0 {
		valid = make([]bool, s.Thoughts)
		for i := range valid {
			valid[i] = r.IntN(4) > 0
		}
	}
	o := Options{VotesPerHead: r.IntN(4)}
	switch r.IntN(3) {
	case 1:
		o.SkipLayers = r.IntN(s.Layers)
	case 2:
		o.Layers = r.Perm(s.Layers)[:1+r.IntN(s.Layers)]
	}
	return s, valid, r.IntN(s.Thoughts + 2), o
}

// reference ranks every valid thought by the documented keys, computed naively: key (smaller first),
// then summed score over the voting heads (NaN as -inf), then higher id.
func reference(s Scores, valid []bool, budget int, layers []int, key func(t int) [2]float64) []int {
	sum := func(t int) float64 {
		x := 0.0
		for _, l := range layers {
			for h := range s.Heads {
				v := float64(s.Data[(l*s.Heads+h)*s.Thoughts+t])
				if math.IsNaN(v) {
					v = math.Inf(-1)
				}
				x += v
			}
		}
		if math.IsNaN(x) {
			return math.Inf(-1)
		}
		return x
	}
	var ts []int
	for t := range s.Thoughts {
		if valid == nil || valid[t] {
			ts = append(ts, t)
		}
	}
	slices.SortFunc(ts, func(a, b int) int {
		ka, kb := key(a), key(b)
		if c := cmp.Compare(ka[0], kb[0]); c != 0 {
			return c
		}
		if c := cmp.Compare(ka[1], kb[1]); c != 0 {
			return c
		}
		if c := cmp.Compare(sum(b), sum(a)); c != 0 {
			return c
		}
		return cmp.Compare(b, a)
	})
	ts = ts[:min(budget, len(ts))]
	slices.Sort(ts)
	return ts
}

// naiveVotes counts top-k votes by sorting each head's valid, voteable thoughts.
func naiveVotes(s Scores, valid []bool, layers []int, k int) (votes []float64, best []int, total float64) {
	votes = make([]float64, s.Thoughts)
	best = make([]int, s.Thoughts)
	for i := range best {
		best[i] = math.MaxInt
	}
	for _, l := range layers {
		for h := range s.Heads {
			row := s.Data[(l*s.Heads+h)*s.Thoughts:][:s.Thoughts]
			var ts []int
			for t, v := range row {
				if (valid == nil || valid[t]) && !math.IsNaN(float64(v)) && !math.IsInf(float64(v), -1) {
					ts = append(ts, t)
				}
			}
			slices.SortFunc(ts, func(a, b int) int {
				if c := cmp.Compare(row[b], row[a]); c != 0 {
					return c
				}
				return cmp.Compare(b, a)
			})
			for r, t := range ts[:min(k, len(ts))] {
				votes[t]++
				best[t] = min(best[t], r)
				total++
			}
		}
	}
	return votes, best, total
}

func resolveLayers(o Options, n int) []int {
	if o.Layers != nil {
		return o.Layers
	}
	return LayerRange(o.SkipLayers, n)
}

func TestAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	// One long-lived selector of each kind (scratch reuse across sizes) and a fresh one per case.
	g, p, ss, rc := &GlobalVote{}, &PerHead{}, &ScoreSum{}, &Recent{}
	for i := range 3000 {
		s, valid, budget, o := randomCase(r)
		layers := resolveLayers(o, s.Layers)
		k := o.VotesPerHead
		if k == 0 {
			k = DefaultVotesPerHead
		}
		votes, best, total := naiveVotes(s, valid, layers, k)
		nValid := 0
		for t := range s.Thoughts {
			if valid == nil || valid[t] {
				nValid++
			}
		}
		wantLen := min(budget, nValid)

		g.Options, p.Options, ss.Options = o, o, o
		check := func(name string, sel Selector, want []int, wantVotes []float64, wantTotal float64) {
			t.Helper()
			for _, use := range []Selector{sel, fresh(sel, o)} {
				got, err := use.Select(s, valid, budget)
				if err != nil {
					t.Fatalf("case %d %s: %v", i, name, err)
				}
				if len(got.IDs) != wantLen || !slices.IsSorted(got.IDs) {
					t.Fatalf("case %d %s: IDs %v, want %d ascending", i, name, got.IDs, wantLen)
				}
				for _, id := range got.IDs {
					if valid != nil && !valid[id] {
						t.Fatalf("case %d %s: invalid thought %d selected", i, name, id)
					}
				}
				if want != nil && !equalInts(got.IDs, want) {
					t.Fatalf("case %d %s: IDs %v, want %v (scores %v valid %v budget %d opts %+v)",
						i, name, got.IDs, want, s.Data, valid, budget, o)
				}
				landed := 0.0
				for j, id := range got.IDs {
					if wantVotes != nil && got.Votes[j] != wantVotes[id] {
						t.Fatalf("case %d %s: votes of %d = %v, want %v", i, name, id, got.Votes[j], wantVotes[id])
					}
					landed += got.Votes[j]
				}
				if wantTotal >= 0 && got.TotalVotes != wantTotal {
					t.Fatalf("case %d %s: total %v, want %v", i, name, got.TotalVotes, wantTotal)
				}
				if got.Agreeability < 0 || got.Agreeability > 1 ||
					(got.TotalVotes > 0 && math.Abs(got.Agreeability-min(landed/got.TotalVotes, 1)) > 1e-12) {
					t.Fatalf("case %d %s: agreeability %v (landed %v of %v)", i, name, got.Agreeability, landed, got.TotalVotes)
				}
			}
		}
		check("GlobalVote", g, reference(s, valid, budget, layers, func(t int) [2]float64 {
			return [2]float64{-votes[t], 0}
		}), votes, total)
		check("PerHead", p, reference(s, valid, budget, layers, func(t int) [2]float64 {
			return [2]float64{float64(best[t]), -votes[t]}
		}), votes, total)
		check("ScoreSum", ss, nil, nil, -1) // masses are float sums: checked by the hand cases
		check("Recent", rc, recentRef(s.Thoughts, valid, budget), nil, 0)
	}
}

func recentRef(n int, valid []bool, budget int) []int {
	var ts []int
	for t := n - 1; t >= 0 && len(ts) < budget; t-- {
		if valid == nil || valid[t] {
			ts = append(ts, t)
		}
	}
	slices.Sort(ts)
	return ts
}

func fresh(sel Selector, o Options) Selector {
	switch sel.(type) {
	case *GlobalVote:
		return &GlobalVote{Options: o}
	case *PerHead:
		return &PerHead{Options: o}
	case *ScoreSum:
		return &ScoreSum{Options: o}
	}
	return &Recent{}
}

// TestZeroAllocs: after a first call has sized the scratch buffers, selection allocates nothing,
// including when the budget cut splits a tie and when unvoted thoughts fill the budget.
func TestZeroAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("instrumented builds allocate")
	}
	r := rand.New(rand.NewPCG(3, 4))
	s := Scores{Layers: 4, Heads: 8, Thoughts: 300, Data: make([]float32, 4*8*300)}
	for i := range s.Data {
		s.Data[i] = float32(r.IntN(3)) // many ties
	}
	valid := make([]bool, s.Thoughts)
	for i := range valid {
		valid[i] = i%5 != 0
	}
	for _, sel := range []Selector{&GlobalVote{}, &PerHead{}, &ScoreSum{}, &Recent{},
		&GlobalVote{Options: Options{Layers: []int{3, 1}}}} {
		for _, budget := range []int{2, 100, 1000} {
			sel.Select(s, valid, budget)
			if n := testing.AllocsPerRun(5, func() { sel.Select(s, valid, budget) }); n != 0 {
				t.Errorf("%T budget %d: %v allocs per call", sel, budget, n)
			}
		}
	}
}
