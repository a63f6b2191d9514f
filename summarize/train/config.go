package train

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrConfig: a trainer Config that cannot be used.
var ErrConfig = errors.New("train: invalid config")

// Config configures a Trainer. Zero values take the documented defaults.
type Config struct {
	// Steps is the total number of optimizer steps (the schedule's length). Required.
	Steps int
	// BatchTokens is the token budget of one batch: sequences padded to a common length T are
	// batched B = max(1, BatchTokens / T) at a time (default 8192).
	BatchTokens int
	// LR is the peak learning rate (default 1.5e-3), reached linearly after Warmup steps (default
	// 200), then decayed by a cosine to LR*MinLRFactor (default 0.1) at Steps.
	LR          float64
	Warmup      int
	MinLRFactor float64
	// ClipNorm clips the global gradient norm (default 1; < 0 disables).
	ClipNorm float64
	// WeightDecay is AdamW's decoupled weight decay (default 0).
	WeightDecay float64
	// Seed makes batches, masks and everything random reproducible (with the same data source).
	Seed uint64

	// View draws restricted (ZoomR-like) views for examples that have none of their own.
	View ViewConfig
	// RouteWeight scales the routing loss (default 0.5; < 0 disables): at an example's Route
	// position, each layer's and head's softmax over the mean summary keys of the sealed thoughts
	// should pick RouteThought (what ZoomR's consensus reads).
	RouteWeight float64
	// RouteSkipHeads are query heads left out of the routing loss (the others still learn it). Use
	// it to spare a head that does another job at the routing position: in task.NoteTagForm the
	// restated N tag is both the routing position and the query of the far note copy, and routing
	// that copy head to the summaries breaks the copy (docs/training-history.md).
	RouteSkipHeads []HeadRef
	// CopyWeight scales the copy loss (default 0: off): at each Example.Copies query position, the
	// attention of every CopyHeads head (its softmax over the keys the mask allows) should pick the
	// copy's source, the way the routing loss trains the summaries' keys for ZoomR's vote. It
	// gives a one-token induction copy among many look-alike keys (a note's tag: one per thought)
	// a gradient of its own. The loss is reported (StepStats.Copy, CopyAcc) even when off.
	CopyWeight float64
	// CopyHeads are the query heads the copy loss trains (default: every head of the last layer).
	CopyHeads []HeadRef
	// PadTo rounds sequence lengths up (default 64), so few distinct shapes are compiled.
	PadTo int
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	deff := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.BatchTokens, 8192)
	deff(&c.LR, 1.5e-3)
	def(&c.Warmup, 200)
	deff(&c.MinLRFactor, 0.1)
	deff(&c.ClipNorm, 1)
	c.View = c.View.withDefaults()
	deff(&c.RouteWeight, 0.5)
	def(&c.PadTo, 64)
	return c
}

// HeadRef names one query head of one layer.
type HeadRef struct{ Layer, Head int }

func (h HeadRef) String() string { return fmt.Sprintf("%d.%d", h.Layer, h.Head) }

// ParseHeadRefs reads a comma-separated list of "layer.head" (e.g. "1.2,1.3"); "" is none.
func ParseHeadRefs(s string) ([]HeadRef, error) {
	if s == "" {
		return nil, nil
	}
	var out []HeadRef
	for _, f := range strings.Split(s, ",") {
		var h HeadRef
		if n, err := fmt.Sscanf(f, "%d.%d", &h.Layer, &h.Head); err != nil || n != 2 || h.String() != f {
			return nil, fmt.Errorf("%w: head %q, want layer.head such as 1.3", ErrConfig, f)
		}
		out = append(out, h)
	}
	return out, nil
}

// Validate reports the first unusable field.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Steps <= 0:
		return fmt.Errorf("%w: Steps %d", ErrConfig, c.Steps)
	case c.BatchTokens < 0 || c.PadTo < 0 || c.Warmup < 0:
		return fmt.Errorf("%w: negative size (BatchTokens %d, PadTo %d, Warmup %d)", ErrConfig, c.BatchTokens, c.PadTo, c.Warmup)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("%w: LR %g", ErrConfig, c.LR)
	case c.CopyWeight < 0 || math.IsNaN(c.CopyWeight) || math.IsInf(c.CopyWeight, 0):
		return fmt.Errorf("%w: CopyWeight %g", ErrConfig, c.CopyWeight)
	case c.MinLRFactor < 0 || c.MinLRFactor > 1:
		return fmt.Errorf("%w: MinLRFactor %g", ErrConfig, c.MinLRFactor)
	}
	return c.View.Validate()
}

// Validate reports the first unusable field (after defaults).
func (c ViewConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Restricted > 1:
		return fmt.Errorf("%w: Restricted share %g > 1", ErrConfig, c.Restricted)
	case c.WindowMin < 1 || c.WindowMax < c.WindowMin:
		return fmt.Errorf("%w: window range %d..%d", ErrConfig, c.WindowMin, c.WindowMax)
	case c.Zoom < 0 || c.SlotLen < 0:
		return fmt.Errorf("%w: Zoom %d, SlotLen %d", ErrConfig, c.Zoom, c.SlotLen)
	}
	return nil
}

// LearningRate is the schedule: linear warm-up to LR, then cosine decay to LR*MinLRFactor.
func (c Config) LearningRate(step int) float64 {
	c = c.withDefaults()
	if step < c.Warmup {
		return c.LR * float64(step+1) / float64(c.Warmup)
	}
	span := max(1, c.Steps-c.Warmup)
	f := math.Min(1, float64(step-c.Warmup)/float64(span))
	lo := c.LR * c.MinLRFactor
	return lo + (c.LR-lo)*0.5*(1+math.Cos(math.Pi*f))
}
