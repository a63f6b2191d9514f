package zoomr

import (
	"errors"
	"fmt"
	"math"

	"github.com/zoomr-go/zoomr/model"
)

// ErrNoToken is returned when a LogitsProcessor leaves no token that can be sampled.
var ErrNoToken = errors.New("zoomr: logits processor allowed no token")

// A LogitsProcessor edits the next token's logits before sampling: a grammar that constrains an
// answer to its schema, a list of banned tokens, a bias. Set Config.NewLogitsProcessor; each
// generation gets its own processor, so it may keep state between calls.
type LogitsProcessor interface {
	// Process sees the tokens generated so far (not the prompt; empty before the first) and edits
	// logits in place. A token whose logit is set to -Inf cannot be sampled; an error stops the
	// generation (it is returned wrapped).
	Process(generated []int, logits []float32) error
}

// LogitsProcessorFunc adapts a function to LogitsProcessor.
type LogitsProcessorFunc func(generated []int, logits []float32) error

// Process calls f.
func (f LogitsProcessorFunc) Process(generated []int, logits []float32) error {
	return f(generated, logits)
}

// AllowOnly sets every logit but those of allowed to -Inf (ids outside logits are ignored): the
// building block of a grammar. It is model.AllowOnly, here for discoverability.
func AllowOnly(logits []float32, allowed ...int) { model.AllowOnly(logits, allowed...) }

// process runs the generation's logits processor, if any, on the step's logits in place (the model
// returns a fresh slice per step and only the sampler reads it) and checks that a token is left.
func (s *session) process(generated []int, logits []float32) error {
	if s.proc == nil {
		return nil
	}
	if err := s.proc.Process(generated, logits); err != nil {
		return fmt.Errorf("zoomr: logits processor: %w", err)
	}
	for _, l := range logits {
		if !math.IsInf(float64(l), -1) && !math.IsNaN(float64(l)) {
			return nil
		}
	}
	return fmt.Errorf("%w (after %d generated tokens)", ErrNoToken, len(generated))
}
