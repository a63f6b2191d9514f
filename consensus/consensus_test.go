package consensus

import (
	"errors"
	"math"
	"testing"
)

var (
	nan  = float32(math.NaN())
	pInf = float32(math.Inf(1))
	nInf = float32(math.Inf(-1))
)

// grid builds Scores from literal rows, one per (layer, head), layer-major.
func grid(layers, heads int, rows ...[]float32) Scores {
	s := Scores{Layers: layers, Heads: heads}
	if len(rows) > 0 {
		s.Thoughts = len(rows[0])
	}
	for _, r := range rows {
		s.Data = append(s.Data, r...)
	}
	return s
}

// hand is the worked example used by several tests (2 layers × 2 heads × 4 thoughts).
//
//	         t0 t1 t2 t3    top-2 (k=2)   top-1
//	L0 H0:    1  9  5  2    t1 t2         t1
//	L0 H1:    8  1  7  3    t0 t2         t0
//	L1 H0:    3  2  6  9    t3 t2         t3
//	L1 H1:    9  4  1  2    t0 t1         t0
//	summed:  21 16 19 16
//
// k=2 votes: t0 2, t1 2, t2 3, t3 1 (8 cast). k=1 votes: t0 2, t1 1, t3 1 (4 cast).
func hand() Scores {
	return grid(2, 2,
		[]float32{1, 9, 5, 2},
		[]float32{8, 1, 7, 3},
		[]float32{3, 2, 6, 9},
		[]float32{9, 4, 1, 2},
	)
}

type selCase struct {
	name   string
	s      Scores
	valid  []bool
	budget int
	ids    []int
	votes  []float64
	total  float64
	agree  float64
}

func runCases(t *testing.T, sel Selector, cases []selCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := sel.Select(c.s, c.valid, c.budget)
			if err != nil {
				t.Fatalf("Select: %v", err)
			}
			checkSel(t, got, c.ids, c.votes, c.total, c.agree)
		})
	}
}

func checkSel(t *testing.T, got Selection, ids []int, votes []float64, total, agree float64) {
	t.Helper()
	if !equalInts(got.IDs, ids) {
		t.Errorf("IDs = %v, want %v", got.IDs, ids)
	}
	if len(got.Votes) != len(votes) {
		t.Fatalf("Votes = %v, want %v", got.Votes, votes)
	}
	for i := range votes {
		if math.Abs(got.Votes[i]-votes[i]) > 1e-6 {
			t.Errorf("Votes = %v, want %v", got.Votes, votes)
			break
		}
	}
	if math.Abs(got.TotalVotes-total) > 1e-6 {
		t.Errorf("TotalVotes = %v, want %v", got.TotalVotes, total)
	}
	if math.Abs(got.Agreeability-agree) > 1e-6 {
		t.Errorf("Agreeability = %v, want %v", got.Agreeability, agree)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGlobalVoteHand(t *testing.T) {
	runCases(t, &GlobalVote{}, []selCase{
		{name: "c=1", s: hand(), budget: 1, ids: []int{2}, votes: []float64{3}, total: 8, agree: 3.0 / 8},
		// t0 and t1 tie on 2 votes for the second place: t0's summed score (21) beats t1's (16).
		{name: "c=2 tie by summed score", s: hand(), budget: 2, ids: []int{0, 2}, votes: []float64{2, 3}, total: 8, agree: 5.0 / 8},
		{name: "c=3", s: hand(), budget: 3, ids: []int{0, 1, 2}, votes: []float64{2, 2, 3}, total: 8, agree: 7.0 / 8},
		{name: "c=4 all", s: hand(), budget: 4, ids: []int{0, 1, 2, 3}, votes: []float64{2, 2, 3, 1}, total: 8, agree: 1},
		{name: "budget above thoughts", s: hand(), budget: 99, ids: []int{0, 1, 2, 3}, votes: []float64{2, 2, 3, 1}, total: 8, agree: 1},
		{name: "budget 0", s: hand(), budget: 0, ids: []int{}, votes: []float64{}, total: 8, agree: 0},
		// Without t2, its votes move to each head's next choice: t0 3, t1 2, t3 3; t0 beats t3 on sums.
		{name: "t2 invalid c=1", s: hand(), valid: []bool{true, true, false, true}, budget: 1,
			ids: []int{0}, votes: []float64{3}, total: 8, agree: 3.0 / 8},
		{name: "t2 invalid c=2", s: hand(), valid: []bool{true, true, false, true}, budget: 2,
			ids: []int{0, 3}, votes: []float64{3, 3}, total: 8, agree: 6.0 / 8},
		{name: "t2 invalid, budget covers valid", s: hand(), valid: []bool{true, true, false, true}, budget: 3,
			ids: []int{0, 1, 3}, votes: []float64{3, 2, 3}, total: 8, agree: 1},
		{name: "none valid", s: hand(), valid: []bool{false, false, false, false}, budget: 2},
		{name: "no thoughts", s: Scores{Layers: 2, Heads: 2}, budget: 2},
		{name: "zero scores value", s: Scores{}, budget: 2},
	})

	runCases(t, &GlobalVote{Options: Options{VotesPerHead: 1}}, []selCase{
		// t1 and t3 tie on 1 vote and on summed score (16): the more recent, t3, wins.
		{name: "k=1 tie by recency", s: hand(), budget: 2, ids: []int{0, 3}, votes: []float64{2, 1}, total: 4, agree: 3.0 / 4},
	})
	// Only layer 1 votes (k=1): t3 and t0 get one vote each; sums over layer 1: t0 12, t3 11.
	for _, o := range []Options{{VotesPerHead: 1, Layers: []int{1}}, {VotesPerHead: 1, SkipLayers: 1}} {
		runCases(t, &GlobalVote{Options: o}, []selCase{
			{name: "layer 1 only", s: hand(), budget: 1, ids: []int{0}, votes: []float64{1}, total: 2, agree: 0.5},
		})
	}
}

func TestGlobalVoteEdgeScores(t *testing.T) {
	k1 := &GlobalVote{Options: Options{VotesPerHead: 1}}
	runCases(t, k1, []selCase{
		{name: "equal scores vote for the most recent", s: grid(1, 1, []float32{5, 5, 5}), budget: 1,
			ids: []int{2}, votes: []float64{1}, total: 1, agree: 1},
		{name: "+inf wins", s: grid(1, 1, []float32{pInf, 1e30, 3}), budget: 1,
			ids: []int{0}, votes: []float64{1}, total: 1, agree: 1},
		// Both heads vote t1; the other two places go by summed score (t3: 2), then recency (t4 over t0, t2).
		{name: "fill unvoted by sum then recency", s: grid(1, 2, []float32{0, 5, 1, 1, -1}, []float32{0, 6, -1, 1, 1}),
			budget: 3, ids: []int{1, 3, 4}, votes: []float64{2, 0, 0}, total: 2, agree: 1},
	})
	runCases(t, k1, []selCase{
		// A NaN score makes the thought's summed score -inf (not "skip it"): t0 and t1 tie on one vote,
		// t0 sums NaN+5 = -inf, t1 sums 1+1 = 2, so t1 wins (skipping the NaN would give t0 5).
		{name: "NaN in sums counts as -inf", s: grid(1, 2, []float32{nan, 1, 0}, []float32{5, 1, 0}), budget: 1,
			ids: []int{1}, votes: []float64{1}, total: 2, agree: 0.5},
		// +inf and -inf in one thought's sum give NaN, which counts as -inf too.
		{name: "inf minus inf counts as -inf", s: grid(1, 2, []float32{pInf, 1, 0}, []float32{nInf, 1, 0}), budget: 1,
			ids: []int{1}, votes: []float64{1}, total: 2, agree: 0.5},
	})
	runCases(t, &GlobalVote{}, []selCase{
		// NaN and -inf never get votes: the head casts a single vote.
		{name: "NaN and -inf get no vote", s: grid(1, 1, []float32{nan, 1, nInf, nan}), budget: 1,
			ids: []int{1}, votes: []float64{1}, total: 1, agree: 1},
		// A NaN thought is still valid: it may fill the budget, after finite ones, by recency.
		{name: "NaN thought fills last", s: grid(1, 1, []float32{nan, 1, nan}), budget: 2,
			ids: []int{1, 2}, votes: []float64{1, 0}, total: 1, agree: 1},
		{name: "all NaN: no votes, most recent", s: grid(1, 2, []float32{nan, nan, nan}, []float32{nan, nan, nan}), budget: 2,
			ids: []int{1, 2}, votes: []float64{0, 0}, total: 0, agree: 0},
	})
}

func TestPerHeadHand(t *testing.T) {
	// Best ranks: t0 0, t1 0, t2 1, t3 0. Rank-0 thoughts first by votes (t0 2, t1 2, t3 1); t0 and t1
	// tie on votes and are ordered by summed score (21, 16). GlobalVote would pick t2 (3 votes) first.
	runCases(t, &PerHead{}, []selCase{
		{name: "c=1", s: hand(), budget: 1, ids: []int{0}, votes: []float64{2}, total: 8, agree: 2.0 / 8},
		{name: "c=2", s: hand(), budget: 2, ids: []int{0, 1}, votes: []float64{2, 2}, total: 8, agree: 4.0 / 8},
		{name: "c=3", s: hand(), budget: 3, ids: []int{0, 1, 3}, votes: []float64{2, 2, 1}, total: 8, agree: 5.0 / 8},
		{name: "c=9", s: hand(), budget: 9, ids: []int{0, 1, 2, 3}, votes: []float64{2, 2, 3, 1}, total: 8, agree: 1},
	})
	// k=1: union {t0, t1, t3}, all rank 0; t0 has 2 votes; t1, t3 tie on votes and sums: recency, t3.
	runCases(t, &PerHead{Options: Options{VotesPerHead: 1}}, []selCase{
		{name: "k=1 c=2", s: hand(), budget: 2, ids: []int{0, 3}, votes: []float64{2, 1}, total: 4, agree: 3.0 / 4},
		// The union (3) is below the budget: t2 fills the last place.
		{name: "k=1 c=4", s: hand(), budget: 4, ids: []int{0, 1, 2, 3}, votes: []float64{2, 1, 0, 1}, total: 4, agree: 1},
	})
}

func TestScoreSumHand(t *testing.T) {
	ln2, ln3 := float32(math.Log(2)), float32(math.Log(3))
	// Head 0 softmax [0, 0, ln2] = [.25, .25, .5]; head 1 softmax [ln3, 0, 0] = [.6, .2, .2].
	// Mass: t0 .85, t1 .45, t2 .7 over 2 heads.
	s := grid(1, 2, []float32{0, 0, ln2}, []float32{ln3, 0, 0})
	runCases(t, &ScoreSum{}, []selCase{
		{name: "c=1", s: s, budget: 1, ids: []int{0}, votes: []float64{.85}, total: 2, agree: .425},
		{name: "c=2", s: s, budget: 2, ids: []int{0, 2}, votes: []float64{.85, .7}, total: 2, agree: .775},
		{name: "c=3", s: s, budget: 3, ids: []int{0, 1, 2}, votes: []float64{.85, .45, .7}, total: 2, agree: 1},
		// t0 invalid: head 0 over [t1, t2] = [1/3, 2/3], head 1 = [.5, .5].
		{name: "t0 invalid", s: s, valid: []bool{false, true, true}, budget: 1,
			ids: []int{2}, votes: []float64{2.0/3 + .5}, total: 2, agree: (2.0/3 + .5) / 2},
		{name: "NaN gets no mass", s: grid(1, 1, []float32{nan, 0, 0}), budget: 3,
			ids: []int{0, 1, 2}, votes: []float64{0, .5, .5}, total: 1, agree: 1},
		{name: "+inf splits the unit", s: grid(1, 1, []float32{pInf, 0, pInf}), budget: 1,
			ids: []int{2}, votes: []float64{.5}, total: 1, agree: .5},
		{name: "all NaN head spreads nothing", s: grid(1, 2, []float32{nan, nan}, []float32{0, 0}), budget: 1,
			ids: []int{1}, votes: []float64{.5}, total: 1, agree: .5},
	})
}

func TestRecent(t *testing.T) {
	runCases(t, &Recent{}, []selCase{
		{name: "last two valid", s: Scores{Thoughts: 5}, valid: []bool{true, false, true, true, false}, budget: 2,
			ids: []int{2, 3}, votes: []float64{0, 0}},
		{name: "budget above valid", s: Scores{Thoughts: 5}, valid: []bool{true, false, true, true, false}, budget: 10,
			ids: []int{0, 2, 3}, votes: []float64{0, 0, 0}},
		{name: "full scores accepted", s: hand(), budget: 3, ids: []int{1, 2, 3}, votes: []float64{0, 0, 0}},
		{name: "budget 0", s: hand(), budget: 0},
		{name: "none", s: Scores{}, budget: 3},
	})
}

func TestErrors(t *testing.T) {
	good := hand()
	short := hand()
	short.Data = short.Data[:15]
	cases := []struct {
		name   string
		sel    Selector
		s      Scores
		valid  []bool
		budget int
		want   error
	}{
		{"data too short", &GlobalVote{}, short, nil, 1, ErrShape},
		{"negative dim", &GlobalVote{}, Scores{Layers: -1, Heads: 2, Thoughts: 0}, nil, 1, ErrShape},
		{"huge dims", &GlobalVote{}, Scores{Layers: 1 << 30, Heads: 1 << 30, Thoughts: 1 << 30}, nil, 1, ErrShape},
		{"valid length", &GlobalVote{}, good, []bool{true}, 1, ErrShape},
		{"negative budget", &GlobalVote{}, good, nil, -1, ErrBudget},
		{"negative k", &GlobalVote{Options: Options{VotesPerHead: -1}}, good, nil, 1, ErrOptions},
		{"negative skip", &GlobalVote{Options: Options{SkipLayers: -1}}, good, nil, 1, ErrOptions},
		{"duplicate layer", &GlobalVote{Options: Options{Layers: []int{1, 0, 1}}}, good, nil, 1, ErrOptions},
		{"negative layer", &GlobalVote{Options: Options{Layers: []int{-1}}}, good, nil, 1, ErrOptions},
		{"empty layer list", &GlobalVote{Options: Options{Layers: []int{}}}, good, nil, 1, ErrOptions},
		{"layers and skip", &GlobalVote{Options: Options{Layers: []int{1}, SkipLayers: 1}}, good, nil, 1, ErrOptions},
		{"layer out of range", &GlobalVote{Options: Options{Layers: []int{0, 2}}}, good, nil, 1, ErrLayer},
		{"skip all layers", &GlobalVote{Options: Options{SkipLayers: 2}}, good, nil, 1, ErrNoVoters},
		{"no heads", &GlobalVote{}, Scores{Layers: 2, Heads: 0, Thoughts: 3}, nil, 1, ErrNoVoters},
		{"perhead shape", &PerHead{}, short, nil, 1, ErrShape},
		{"perhead layer", &PerHead{Options: Options{Layers: []int{5}}}, good, nil, 1, ErrLayer},
		{"scoresum shape", &ScoreSum{}, good, []bool{true}, 1, ErrShape},
		{"scoresum skip all", &ScoreSum{Options: Options{SkipLayers: 7}}, good, nil, 1, ErrNoVoters},
		{"recent shape", &Recent{}, short, nil, 1, ErrShape},
		{"recent budget", &Recent{}, good, nil, -2, ErrBudget},
		{"recent valid length", &Recent{}, Scores{Thoughts: 3}, []bool{true, false}, 1, ErrShape},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.sel.Select(c.s, c.valid, c.budget)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if len(got.IDs) != 0 {
				t.Errorf("selection %v returned with an error", got.IDs)
			}
			// A failed call leaves the selector usable.
			if _, err := c.sel.Select(hand(), nil, 2); err != nil && !errors.Is(err, ErrOptions) && !errors.Is(err, ErrLayer) && !errors.Is(err, ErrNoVoters) {
				t.Errorf("selector unusable after error: %v", err)
			}
		})
	}
}

func TestConstructors(t *testing.T) {
	bad := Options{VotesPerHead: -3}
	if _, err := NewGlobalVote(bad); !errors.Is(err, ErrOptions) {
		t.Errorf("NewGlobalVote: %v", err)
	}
	if _, err := NewPerHead(bad); !errors.Is(err, ErrOptions) {
		t.Errorf("NewPerHead: %v", err)
	}
	if _, err := NewScoreSum(Options{Layers: []int{}}); !errors.Is(err, ErrOptions) {
		t.Errorf("NewScoreSum: %v", err)
	}
	g, err := NewGlobalVote(Options{Layers: LayerRange(1, 2)})
	if err != nil {
		t.Fatal(err)
	}
	// Layer 1 with k=2 gives each thought one vote; summed over layer 1: t0 12, t1 6, t2 7, t3 11.
	if got, _ := g.Select(hand(), nil, 1); !equalInts(got.IDs, []int{0}) {
		t.Errorf("IDs %v", got.IDs)
	}
	if r := LayerRange(3, 3); r == nil || len(r) != 0 {
		t.Errorf("LayerRange(3,3) = %#v", r)
	}
}

func TestClone(t *testing.T) {
	g := &GlobalVote{}
	a, _ := g.Select(hand(), nil, 2)
	kept := a.Clone()
	g.Select(hand(), []bool{false, true, false, true}, 1) // overwrites a's buffers
	checkSel(t, kept, []int{0, 2}, []float64{2, 3}, 8, 5.0/8)
}
