package consensus

import "fmt"

// DefaultVotesPerHead is k when Options.VotesPerHead is 0: the knee of the paper's ablation.
const DefaultVotesPerHead = 2

// Options configure the score-based selectors. The zero value means: every layer votes, k = 2.
type Options struct {
	// VotesPerHead is k, the number of thoughts each (layer, head) votes for (GlobalVote, PerHead).
	// 0 means DefaultVotesPerHead. ScoreSum ignores it.
	VotesPerHead int
	// Layers lists the layers that vote, in any order, without duplicates. nil means all layers
	// except the first SkipLayers. An explicit empty, non-nil list is an error (nobody would vote).
	Layers []int
	// SkipLayers, used when Layers is nil, keeps the first SkipLayers layers from voting (early
	// layers attend mostly positionally). Setting both Layers and SkipLayers is an error.
	SkipLayers int
}

// LayerRange returns the layers [from, to) as a list for Options.Layers.
func LayerRange(from, to int) []int {
	if to <= from {
		return []int{}
	}
	ls := make([]int, 0, to-from)
	for l := from; l < to; l++ {
		ls = append(ls, l)
	}
	return ls
}

// Validate checks the options independently of any score tensor.
func (o Options) Validate() error {
	if o.VotesPerHead < 0 {
		return fmt.Errorf("%w: VotesPerHead %d < 0", ErrOptions, o.VotesPerHead)
	}
	if o.SkipLayers < 0 {
		return fmt.Errorf("%w: SkipLayers %d < 0", ErrOptions, o.SkipLayers)
	}
	if o.Layers == nil {
		return nil
	}
	if o.SkipLayers != 0 {
		return fmt.Errorf("%w: both Layers (%d entries) and SkipLayers (%d) set", ErrOptions, len(o.Layers), o.SkipLayers)
	}
	if len(o.Layers) == 0 {
		return fmt.Errorf("%w: empty Layers list", ErrOptions)
	}
	for i, l := range o.Layers {
		if l < 0 {
			return fmt.Errorf("%w: Layers[%d] = %d < 0", ErrOptions, i, l)
		}
		for j := range i {
			if o.Layers[j] == l {
				return fmt.Errorf("%w: layer %d listed twice (Layers[%d], Layers[%d])", ErrOptions, l, j, i)
			}
		}
	}
	return nil
}

// votesPerHead resolves the default.
func (o Options) votesPerHead() int {
	if o.VotesPerHead == 0 {
		return DefaultVotesPerHead
	}
	return o.VotesPerHead
}

// votingLayers appends the layers that vote over a tensor with numLayers layers to dst[:0].
func (o Options) votingLayers(dst []int, numLayers int) ([]int, error) {
	dst = dst[:0]
	if o.Layers != nil {
		for i, l := range o.Layers {
			if l >= numLayers {
				return dst, fmt.Errorf("%w: Layers[%d] = %d, scores have %d layers", ErrLayer, i, l, numLayers)
			}
		}
		return append(dst, o.Layers...), nil
	}
	for l := o.SkipLayers; l < numLayers; l++ {
		dst = append(dst, l)
	}
	if len(dst) == 0 {
		return dst, fmt.Errorf("%w: SkipLayers %d of %d layers", ErrNoVoters, o.SkipLayers, numLayers)
	}
	return dst, nil
}
