package train

import (
	"errors"
	"fmt"

	"github.com/zoomr-go/zoomr/summarize"
)

// ErrExample: an Example whose slices disagree or whose routing target is out of range.
var ErrExample = errors.New("train: invalid example")

// Example is one training sequence: a rendered record plus what the masks and the routing loss need.
// All slices have one entry per token.
type Example struct {
	IDs []int
	// Weight[t] is the loss weight of predicting IDs[t] from IDs[:t] (0 for prompt tokens and for t=0).
	Weight  []float32
	Kinds   []summarize.Kind
	Thought []int // thought index of each token, -1 for prompt and answer tokens
	// PromptLen tokens are the prompt (the whole prompt is attended in restricted masks, like
	// kvcache's whole-prompt sink).
	PromptLen int
	// Route, when >= 0, is the position of a re-selection token whose query should select thought
	// RouteThought: the routing loss trains the mean-summary-key scores there, and restricted masks
	// zoom RouteThought in for every later position.
	Route        int
	RouteThought int
	// Copies are the example's long-range induction copies, the copy loss's targets
	// (Config.CopyWeight); none for most examples. A note question's own note copy comes first.
	Copies []Copy
	// Causal trains the example under the full causal mask; otherwise View, when set, is its
	// restricted view, and when nil the trainer draws one or not (Config.View).
	Causal bool
	View   *View
	// Tag groups examples in evaluation reports (e.g. the task's question kind); free-form.
	Tag string
}

// Len is the number of tokens.
func (e *Example) Len() int { return len(e.IDs) }

// Thoughts is the number of thoughts (1 + the largest thought index).
func (e *Example) Thoughts() int {
	n := 0
	for _, t := range e.Thought {
		n = max(n, t+1)
	}
	return n
}

// Validate checks that the slices agree and the routing fields are in range.
func (e *Example) Validate() error {
	n := len(e.IDs)
	switch {
	case n < 2:
		return fmt.Errorf("%w: %d tokens, need at least 2", ErrExample, n)
	case len(e.Weight) != n || len(e.Kinds) != n || len(e.Thought) != n:
		return fmt.Errorf("%w: %d ids but %d weights, %d kinds, %d thought indices",
			ErrExample, n, len(e.Weight), len(e.Kinds), len(e.Thought))
	case e.PromptLen < 0 || e.PromptLen > n:
		return fmt.Errorf("%w: prompt length %d of %d tokens", ErrExample, e.PromptLen, n)
	case e.Route >= n:
		return fmt.Errorf("%w: route position %d of %d tokens", ErrExample, e.Route, n)
	case e.Route >= 0 && (e.RouteThought < 0 || e.RouteThought >= e.Thoughts()):
		return fmt.Errorf("%w: route thought %d of %d", ErrExample, e.RouteThought, e.Thoughts())
	}
	for _, c := range e.Copies {
		if c.From < 0 || c.From >= c.At || c.At >= n {
			return fmt.Errorf("%w: copy from %d at %d of %d tokens", ErrExample, c.From, c.At, n)
		}
	}
	return nil
}

// Copy is one long-range induction copy of an example: the prediction made at position At (a
// restated note tag, say) copies the token at From (the note's digit after the same tag in the
// asked thought's body; or, at the restated question's tag, the prompt's question word). The copy loss pulls the attention of Config.CopyHeads at At onto From.
type Copy struct{ At, From int }

// Weights are the loss weights per token kind (prompt tokens are never trained).
type Weights struct {
	Thought, Summary, Answer float32
}

// DefaultWeights train every generated token, the answer more.
func DefaultWeights() Weights { return Weights{Thought: 1, Summary: 1, Answer: 3} }

// FromRendered makes an Example of a rendered record without routing information.
func FromRendered(r summarize.Rendered, w Weights) Example {
	e := Example{
		IDs:       r.IDs,
		Weight:    make([]float32, r.Len()),
		Kinds:     r.Kinds,
		Thought:   r.Thought,
		PromptLen: r.PromptLen,
		Route:     -1,
	}
	for t := 1; t < r.Len(); t++ {
		if !r.Loss[t] {
			continue
		}
		switch r.Kinds[t] {
		case summarize.Thought:
			e.Weight[t] = w.Thought
		case summarize.Summary:
			e.Weight[t] = w.Summary
		case summarize.Answer:
			e.Weight[t] = w.Answer
		}
	}
	return e
}
