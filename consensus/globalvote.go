package consensus

import "fmt"

// GlobalVote is the paper's global consensus: every voting (layer, query head) votes for its
// VotesPerHead best-scoring valid thoughts, votes are summed over heads and layers, and the budget
// thoughts with the most votes form one set shared by all layers and heads.
//
// Order (documented tie-break): more votes; then higher score summed over the voting heads; then the
// more recent thought (higher id). Within a head, equal scores also go to the more recent thought.
// Scores that are NaN or -inf never receive a vote. When fewer thoughts received votes than the
// budget allows, the remaining places go to unvoted valid thoughts by the same tie-break, so the
// selection always has min(budget, valid thoughts) ids.
//
// The zero value is ready to use (k = 2, all layers vote). Not safe for concurrent use.
type GlobalVote struct {
	Options
	w workspace
}

// NewGlobalVote returns a GlobalVote after checking the options.
func NewGlobalVote(o Options) (*GlobalVote, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &GlobalVote{Options: o}, nil
}

// Select implements Selector.
func (g *GlobalVote) Select(s Scores, valid []bool, budget int) (Selection, error) {
	nValid, err := prepare(&g.w, g.Options, s, valid, budget)
	if err != nil || nValid == 0 {
		return Selection{}, err
	}
	k := g.votesPerHead()
	g.w.grow(s.Thoughts, k)
	total := g.w.vote(s, valid, k, false)
	return g.w.choose(s, valid, budget, nValid, total, g.byVotes), nil
}

// byVotes puts the thought with more votes first.
func (g *GlobalVote) byVotes(a, b int) int {
	va, vb := g.w.votes[a], g.w.votes[b]
	switch {
	case va > vb:
		return -1
	case va < vb:
		return 1
	}
	return 0
}

// prepare validates the options and the inputs and resolves the voting layers into w.layers. It
// returns the number of valid thoughts; 0 means an empty selection without any further work.
func prepare(w *workspace, o Options, s Scores, valid []bool, budget int) (int, error) {
	if err := o.Validate(); err != nil {
		return 0, err
	}
	nValid, err := checkInput(s, valid, budget)
	if err != nil || nValid == 0 {
		return 0, err // nothing to choose from: the layer options are not checked against s
	}
	layers, err := o.votingLayers(w.layers, s.Layers)
	w.layers = layers
	if err != nil {
		return 0, err
	}
	if s.Heads == 0 {
		return 0, fmt.Errorf("%w: scores have 0 heads for %d valid thoughts", ErrNoVoters, nValid)
	}
	return nValid, nil
}
