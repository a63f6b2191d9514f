package consensus

import (
	"errors"
	"fmt"
	"math"
)

// Errors returned by selectors. Each is wrapped with the numbers involved; test with errors.Is.
var (
	// ErrShape: the score tensor's dimensions do not match its data, or the validity mask does not
	// match the number of thoughts.
	ErrShape = errors.New("consensus: shape mismatch")
	// ErrBudget: a negative budget.
	ErrBudget = errors.New("consensus: invalid budget")
	// ErrOptions: invalid Options (negative votes per head, duplicate or negative layers, ...).
	ErrOptions = errors.New("consensus: invalid options")
	// ErrLayer: a voting layer named in Options does not exist in the scores.
	ErrLayer = errors.New("consensus: voting layer out of range")
	// ErrNoVoters: there are thoughts to choose from but no (layer, head) pair is allowed to vote.
	ErrNoVoters = errors.New("consensus: no voting heads")
)

// Scores holds one relevance score per (layer, query head, thought): in ZoomR the scaled dot product
// of the current query with each thought's mean summary key, q[l,h]·kbar[l,h/G,j]/sqrt(D).
type Scores struct {
	Layers, Heads, Thoughts int
	Data                    []float32 // [Layers, Heads, Thoughts], row-major
}

// Validate reports whether the dimensions are non-negative and match len(Data).
func (s Scores) Validate() error {
	if s.Layers < 0 || s.Heads < 0 || s.Thoughts < 0 {
		return fmt.Errorf("%w: negative dimension in [%d, %d, %d]", ErrShape, s.Layers, s.Heads, s.Thoughts)
	}
	// Compare in float64 first so that absurd dimensions cannot overflow the int product.
	if float64(s.Layers)*float64(s.Heads)*float64(s.Thoughts) >= float64(math.MaxInt) {
		return fmt.Errorf("%w: dimensions [%d, %d, %d] too large", ErrShape, s.Layers, s.Heads, s.Thoughts)
	}
	if n := s.Layers * s.Heads * s.Thoughts; n != len(s.Data) {
		return fmt.Errorf("%w: [%d, %d, %d] needs %d scores, got %d",
			ErrShape, s.Layers, s.Heads, s.Thoughts, n, len(s.Data))
	}
	return nil
}

// row returns the scores of one (layer, head) over all thoughts.
func (s Scores) row(layer, head int) []float32 {
	off := (layer*s.Heads + head) * s.Thoughts
	return s.Data[off : off+s.Thoughts]
}

// Selection is the outcome of one re-selection: the thoughts to zoom into, shared by all layers and
// heads.
//
// The slices are owned by the Selector that returned them and are overwritten by its next call (this
// is what keeps selection allocation-free); use Clone to keep a Selection.
type Selection struct {
	IDs   []int     // selected thought ids, ascending; len = min(budget, number of valid thoughts)
	Votes []float64 // Votes[i] = votes (or softmax mass, for ScoreSum) received by IDs[i]
	// TotalVotes is every vote cast in this round, selected or not (for ScoreSum: the number of
	// (layer, head) pairs that spread one unit of mass).
	TotalVotes float64
	// Agreeability = sum(Votes) / TotalVotes: the share of all votes that landed in the selected set.
	// 0 when no vote was cast (e.g. Recent, or every score NaN).
	Agreeability float64
}

// Clone returns a copy that does not alias the selector's buffers.
func (s Selection) Clone() Selection {
	c := s
	c.IDs = append([]int(nil), s.IDs...)
	c.Votes = append([]float64(nil), s.Votes...)
	return c
}

// Selector chooses up to budget thoughts among the valid ones.
//
// valid[j] says whether thought j may be chosen (nil means all are valid); invalid thoughts are never
// selected and never receive votes. Every implementation in this package returns exactly
// min(budget, number of valid thoughts) ids, in ascending order, and is deterministic.
//
// Selectors keep scratch buffers between calls and are NOT safe for concurrent use: use one per
// goroutine (they are cheap).
type Selector interface {
	Select(s Scores, valid []bool, budget int) (Selection, error)
}

// checkInput validates the arguments shared by all selectors and counts the valid thoughts.
func checkInput(s Scores, valid []bool, budget int) (nValid int, err error) {
	if err := s.Validate(); err != nil {
		return 0, err
	}
	if valid != nil && len(valid) != s.Thoughts {
		return 0, fmt.Errorf("%w: %d validity flags for %d thoughts", ErrShape, len(valid), s.Thoughts)
	}
	if budget < 0 {
		return 0, fmt.Errorf("%w: %d", ErrBudget, budget)
	}
	if valid == nil {
		return s.Thoughts, nil
	}
	for _, v := range valid {
		if v {
			nValid++
		}
	}
	return nValid, nil
}

// isValid reads a possibly-nil validity mask.
func isValid(valid []bool, t int) bool { return valid == nil || valid[t] }
