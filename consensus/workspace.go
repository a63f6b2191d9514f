package consensus

import (
	"cmp"
	"math"
	"slices"
)

var negInf = math.Inf(-1)

// workspace holds the scratch buffers a selector reuses between calls, so that a steady stream of
// same-sized selections allocates nothing. Every buffer is sized by grow at the start of a call.
type workspace struct {
	layers []int     // voting layers of this call
	votes  []float64 // [T] votes (or softmax mass) per thought
	inCand []bool    // [T] whether the thought is in cand
	best   []int32   // [T] PerHead: best rank the thought reached in any head's top-k
	sums   []float64 // [T] summed scores, filled lazily for the thoughts whose order needs them
	exps   []float64 // [T] ScoreSum: exp(score - max) of the current head
	cand   []int     // thoughts that received votes (or belong to the union), in first-vote order
	rest   []int     // valid thoughts outside cand, when they are needed to fill the budget
	topID  []int     // [k] current head's top-k thought ids, best first
	topVal []float32 // [k] their scores
	ids    []int     // result: selected ids, ascending
	out    []float64 // result: their votes
}

// grow sizes the per-thought buffers for t thoughts and k votes per head and clears the per-call state.
func (w *workspace) grow(t, k int) {
	w.votes = resize(w.votes, t)
	w.inCand = resize(w.inCand, t)
	w.sums = resize(w.sums, t)
	w.topID = resize(w.topID, k)
	w.topVal = resize(w.topVal, k)
	clear(w.votes)
	clear(w.inCand)
	w.cand = w.cand[:0]
	w.rest = w.rest[:0]
	w.ids = w.ids[:0]
	w.out = w.out[:0]
}

// resize returns s with length n, reusing its storage when it is large enough.
func resize[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
}

// addCand records that thought t now belongs to the candidate set.
func (w *workspace) addCand(t int) {
	if !w.inCand[t] {
		w.inCand[t] = true
		w.cand = append(w.cand, t)
	}
}

// topK fills w.topID/topVal with the k best valid thoughts of one head's row and returns how many it
// found. Only scores above -inf count: NaN (which compares false) and -inf never get a vote, so a head
// whose row is all NaN casts no vote. Ties go to the more recent thought (higher id): the row is
// scanned from the end and an equal score never displaces an earlier-found one.
func (w *workspace) topK(row []float32, valid []bool, k int) int {
	n := 0
	thresh := float32(negInf) // the score to beat to enter the list
	t := len(row) - 1
	// Most scores do not beat the threshold once the list is full: test four at a time and only
	// look closer when one of them does (NaN compares false, so it never triggers a closer look).
	for ; t >= 3; t -= 4 {
		q := row[t-3 : t+1 : t+1]
		if q[3] > thresh || q[2] > thresh || q[1] > thresh || q[0] > thresh {
			for i := 3; i >= 0; i-- {
				if q[i] > thresh && isValid(valid, t-3+i) {
					n = w.insert(n, k, q[i], t-3+i)
					if n == k {
						thresh = w.topVal[k-1]
					}
				}
			}
		}
	}
	for ; t >= 0; t-- {
		if v := row[t]; v > thresh && isValid(valid, t) {
			n = w.insert(n, k, v, t)
			if n == k {
				thresh = w.topVal[k-1]
			}
		}
	}
	return n
}

// insert puts thought t with score v into the top list of length n (capacity k) at the first
// position holding a strictly smaller score, dropping the last entry when the list is full. It
// returns the new length. The caller guarantees v beats the last entry of a full list.
func (w *workspace) insert(n, k int, v float32, t int) int {
	p := n
	for p > 0 && w.topVal[p-1] < v {
		p--
	}
	if n < k {
		n++
	}
	copy(w.topVal[p+1:n], w.topVal[p:n-1])
	copy(w.topID[p+1:n], w.topID[p:n-1])
	w.topVal[p], w.topID[p] = v, t
	return n
}

// vote lets every voting (layer, head) vote for its top-k valid thoughts. It returns the number of
// votes cast. With ranks, it also records in w.best each thought's best rank (0 = some head's first
// choice).
func (w *workspace) vote(s Scores, valid []bool, k int, ranks bool) float64 {
	if ranks {
		w.best = resize(w.best, s.Thoughts)
		for i := range w.best {
			w.best[i] = math.MaxInt32
		}
	}
	total := 0
	for _, l := range w.layers {
		for h := range s.Heads {
			n := w.topK(s.row(l, h), valid, k)
			for r, t := range w.topID[:n] {
				w.votes[t]++
				w.addCand(t)
				if ranks && int32(r) < w.best[t] {
					w.best[t] = int32(r)
				}
			}
			total += n
		}
	}
	return float64(total)
}

// fillSums computes, for each thought in ts, its score summed over the voting heads: the tie-break
// after the primary key. NaN scores count as -inf, and a sum that is NaN (+inf and -inf met) as -inf,
// so that the order is total and deterministic.
func (w *workspace) fillSums(s Scores, ts []int) {
	for _, t := range ts {
		w.sums[t] = 0
	}
	for _, l := range w.layers {
		for h := range s.Heads {
			row := s.row(l, h)
			for _, t := range ts {
				v := float64(row[t])
				if v != v {
					v = negInf
				}
				w.sums[t] += v
			}
		}
	}
	for _, t := range ts {
		if math.IsNaN(w.sums[t]) {
			w.sums[t] = negInf
		}
	}
}

// bySumThenRecent orders thoughts by higher summed score, then higher id.
func (w *workspace) bySumThenRecent(a, b int) int {
	if c := cmp.Compare(w.sums[b], w.sums[a]); c != 0 {
		return c
	}
	return cmp.Compare(b, a)
}

// choose selects budget thoughts and writes the Selection into w.ids/w.out.
//
// The order is: candidates (w.cand) by primary (negative = a first), then by higher summed score,
// then by higher id (more recent); valid non-candidates come after all candidates, by summed score
// then id. Summed scores are only computed for the thoughts whose place depends on them: the group of
// candidates tied on the primary key across the cut, or the non-candidates when the candidates do
// not fill the budget.
func (w *workspace) choose(s Scores, valid []bool, budget, nValid int, total float64, primary func(a, b int) int) Selection {
	switch {
	case budget == 0:
	case budget >= nValid:
		for t := range s.Thoughts {
			if isValid(valid, t) {
				w.ids = append(w.ids, t)
			}
		}
	case len(w.cand) >= budget:
		w.cutCandidates(s, budget, primary)
	default:
		w.ids = append(w.ids, w.cand...)
		for t := range s.Thoughts {
			if isValid(valid, t) && !w.inCand[t] {
				w.rest = append(w.rest, t)
			}
		}
		w.fillSums(s, w.rest)
		slices.SortFunc(w.rest, w.bySumThenRecent)
		w.ids = append(w.ids, w.rest[:budget-len(w.cand)]...)
	}
	return w.finish(total)
}

// cutCandidates appends the first budget candidates (budget <= len(cand)) in ranking order to w.ids.
func (w *workspace) cutCandidates(s Scores, budget int, primary func(a, b int) int) {
	c := w.cand
	slices.SortFunc(c, func(a, b int) int {
		if r := primary(a, b); r != 0 {
			return r
		}
		return cmp.Compare(b, a)
	})
	if budget > 0 && budget < len(c) && primary(c[budget-1], c[budget]) == 0 {
		// The cut splits a group tied on the primary key: order that group by summed score.
		lo, hi := budget-1, budget+1
		for lo > 0 && primary(c[lo-1], c[budget-1]) == 0 {
			lo--
		}
		for hi < len(c) && primary(c[hi], c[budget-1]) == 0 {
			hi++
		}
		w.fillSums(s, c[lo:hi])
		slices.SortFunc(c[lo:hi], w.bySumThenRecent)
	}
	w.ids = append(w.ids, c[:budget]...)
}

// finish sorts the selected ids, gathers their votes and computes the agreeability.
func (w *workspace) finish(total float64) Selection {
	slices.Sort(w.ids)
	landed := 0.0
	for _, t := range w.ids {
		w.out = append(w.out, w.votes[t])
		landed += w.votes[t]
	}
	sel := Selection{IDs: w.ids, Votes: w.out, TotalVotes: total}
	if total > 0 {
		sel.Agreeability = min(landed/total, 1) // ScoreSum's float sums may overshoot 1 by an ulp
	}
	return sel
}
