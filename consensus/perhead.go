package consensus

import "cmp"

// PerHead takes the union of every voting head's top-k thoughts, the set a per-head selection would
// need to serve every head its own choice, and caps it at the budget.
//
// Cap rule (documented tie-break): a thought's priority is the best rank it reached in any head's
// top-k (0 = some head's first choice); then the number of heads that picked it (its votes); then
// its summed score; then recency (higher id). Where GlobalVote favours thoughts that many heads want,
// PerHead favours thoughts that some head wants most. When the union is smaller than the budget,
// unpicked valid thoughts fill the rest by summed score, then recency.
//
// Votes and agreeability count top-k picks exactly as GlobalVote does. The zero value is ready to
// use. Not safe for concurrent use.
type PerHead struct {
	Options
	w workspace
}

// NewPerHead returns a PerHead after checking the options.
func NewPerHead(o Options) (*PerHead, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &PerHead{Options: o}, nil
}

// Select implements Selector.
func (p *PerHead) Select(s Scores, valid []bool, budget int) (Selection, error) {
	nValid, err := prepare(&p.w, p.Options, s, valid, budget)
	if err != nil || nValid == 0 {
		return Selection{}, err
	}
	k := p.votesPerHead()
	p.w.grow(s.Thoughts, k)
	total := p.w.vote(s, valid, k, true)
	return p.w.choose(s, valid, budget, nValid, total, p.byRankThenVotes), nil
}

// byRankThenVotes puts the thought with the better best-rank first, then the one with more votes.
func (p *PerHead) byRankThenVotes(a, b int) int {
	if c := cmp.Compare(p.w.best[a], p.w.best[b]); c != 0 {
		return c
	}
	return cmp.Compare(p.w.votes[b], p.w.votes[a])
}
