package consensus

import (
	"math"
)

// ScoreSum is the InfLLM-style baseline: every voting (layer, head) spreads one unit of mass over the
// valid thoughts by a softmax of its scores, masses are summed over heads and layers, and the budget
// thoughts with the most mass are kept. Votes are these masses and TotalVotes is the number of heads
// that spread mass, so Agreeability is the share of all mass that landed in the selection.
//
// NaN and -inf scores get no mass; a head with no finite or +inf score spreads none. A head with +inf
// scores splits its unit evenly among them (the softmax limit). Ties (rare with real scores) go to
// the higher summed score, then to the more recent thought. Options.VotesPerHead is ignored.
//
// The zero value is ready to use. Not safe for concurrent use. It costs one exp per score, so it is
// several times slower than GlobalVote.
type ScoreSum struct {
	Options
	w workspace
}

// NewScoreSum returns a ScoreSum after checking the options.
func NewScoreSum(o Options) (*ScoreSum, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &ScoreSum{Options: o}, nil
}

// Select implements Selector.
func (ss *ScoreSum) Select(s Scores, valid []bool, budget int) (Selection, error) {
	nValid, err := prepare(&ss.w, ss.Options, s, valid, budget)
	if err != nil || nValid == 0 {
		return Selection{}, err
	}
	w := &ss.w
	w.grow(s.Thoughts, 0)
	w.exps = resize(w.exps, s.Thoughts)
	total := 0.0
	for _, l := range w.layers {
		for h := range s.Heads {
			if ss.spread(s.row(l, h), valid) {
				total++
			}
		}
	}
	return w.choose(s, valid, budget, nValid, total, ss.byMass), nil
}

// spread adds one head's softmax over the valid thoughts to w.votes. It reports whether the head had
// any score that could take mass.
func (ss *ScoreSum) spread(row []float32, valid []bool) bool {
	w := &ss.w
	m := float32(math.Inf(-1))
	for t, v := range row {
		if v > m && isValid(valid, t) {
			m = v
		}
	}
	switch {
	case math.IsInf(float64(m), -1):
		return false // every valid score is NaN or -inf
	case math.IsInf(float64(m), 1):
		n := 0
		for t, v := range row {
			if math.IsInf(float64(v), 1) && isValid(valid, t) {
				n++
			}
		}
		for t, v := range row {
			if math.IsInf(float64(v), 1) && isValid(valid, t) {
				w.votes[t] += 1 / float64(n)
				w.addCand(t)
			}
		}
		return true
	}
	z := 0.0
	for t, v := range row {
		e := 0.0
		if v > float32(math.Inf(-1)) && isValid(valid, t) { // false for NaN
			e = math.Exp(float64(v) - float64(m))
		}
		w.exps[t] = e
		z += e
	}
	for t, e := range w.exps[:len(row)] {
		if e > 0 {
			w.votes[t] += e / z
			w.addCand(t)
		}
	}
	return true
}

// byMass puts the thought with more mass first.
func (ss *ScoreSum) byMass(a, b int) int {
	va, vb := ss.w.votes[a], ss.w.votes[b]
	switch {
	case va > vb:
		return -1
	case va < vb:
		return 1
	}
	return 0
}
