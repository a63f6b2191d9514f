package task

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/zoomr-go/zoomr/summarize"
)

// ErrConfig: a generator Config that cannot be used.
var ErrConfig = errors.New("task: invalid generator config")

// Split selects the training or the held-out problems.
type Split uint8

const (
	Train   Split = iota // problems with HeldOut() false
	HeldOut              // problems with HeldOut() true
)

func (s Split) String() string {
	if s == HeldOut {
		return "heldout"
	}
	return "train"
}

// Config is the distribution of problems. The zero value is the evaluation distribution: 18..20
// steps of 24 moves (traces of 1,064..1,182 tokens), half note questions. With Scale Long the
// defaults are the long evaluation distribution: 40..44 steps of 48 moves (traces of 4,206..4,626
// tokens, 40..44 thoughts).
type Config struct {
	MinSteps, MaxSteps int     // K range (defaults 18, 20; Long: 40, 44)
	MinWalk, MaxWalk   int     // n range (defaults 24, 24; Long: 48, 48)
	NoteShare          float64 // share of note questions; 0 means 0.5, < 0 means none
	Form               Form    // how note questions are asked
	Scale              Scale   // the token families (and so the limits of the ranges)
}

// Defaults of the evaluation distribution.
const (
	DefaultMinSteps = 18
	DefaultMaxSteps = 20
	DefaultWalk     = 24
)

// Defaults of the long evaluation distribution (Scale Long): every trace at least 40 thoughts and
// 4,000 tokens (40 × (2·48+9) + the answer).
const (
	LongDefaultMinSteps = 40
	LongDefaultMaxSteps = 44
	LongDefaultWalk     = 48
)

// WithDefaults returns c with the zero ranges and share replaced by the defaults of its scale.
func (c Config) WithDefaults() Config { return c.withDefaults() }

func (c Config) withDefaults() Config {
	if c.MinSteps == 0 && c.MaxSteps == 0 {
		c.MinSteps, c.MaxSteps = DefaultMinSteps, DefaultMaxSteps
		if c.Scale == Long {
			c.MinSteps, c.MaxSteps = LongDefaultMinSteps, LongDefaultMaxSteps
		}
	}
	if c.MinWalk == 0 && c.MaxWalk == 0 {
		c.MinWalk, c.MaxWalk = DefaultWalk, DefaultWalk
		if c.Scale == Long {
			c.MinWalk, c.MaxWalk = LongDefaultWalk, LongDefaultWalk
		}
	}
	if c.NoteShare == 0 {
		c.NoteShare = 0.5
	}
	return c
}

// Validate checks the ranges (after defaults).
func (c Config) Validate() error {
	c = c.withDefaults()
	if !c.Scale.valid() {
		return fmt.Errorf("%w: scale %d", ErrConfig, c.Scale)
	}
	switch {
	case c.MinSteps < 1 || c.MaxSteps > c.Scale.MaxSteps() || c.MinSteps > c.MaxSteps:
		return fmt.Errorf("%w: steps %d..%d, want within 1..%d (%s scale)", ErrConfig, c.MinSteps, c.MaxSteps, c.Scale.MaxSteps(), c.Scale)
	case c.MinWalk < NoteAt || c.MaxWalk > c.Scale.MaxWalk() || c.MinWalk > c.MaxWalk:
		return fmt.Errorf("%w: walk %d..%d, want within %d..%d (%s scale)", ErrConfig, c.MinWalk, c.MaxWalk, NoteAt, c.Scale.MaxWalk(), c.Scale)
	case c.NoteShare > 1:
		return fmt.Errorf("%w: note share %g > 1", ErrConfig, c.NoteShare)
	case !c.Form.valid():
		return fmt.Errorf("%w: question form %d", ErrConfig, c.Form)
	}
	return nil
}

// Generator draws problems of one split from a seeded stream: the same (config, split, seed) gives
// the same problems. It is not safe for concurrent use.
type Generator struct {
	cfg   Config
	split Split
	rng   *rand.Rand
}

// NewGenerator returns a generator of the split's problems. The split is mixed into the stream, so
// the two splits never share a sequence even with the same seed (and HeldOut keeps them disjoint).
func NewGenerator(cfg Config, split Split, seed uint64) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Generator{cfg: cfg.withDefaults(), split: split, rng: rand.New(rand.NewPCG(seed, 0x7a5c0000+uint64(split)))}, nil
}

// Config returns the generator's configuration with defaults applied.
func (g *Generator) Config() Config { return g.cfg }

// Next draws the next problem of the split.
func (g *Generator) Next() Problem {
	for {
		p := g.draw()
		if p.HeldOut() == (g.split == HeldOut) {
			return p
		}
	}
}

func (g *Generator) draw() Problem {
	c := g.cfg
	k := c.MinSteps + g.rng.IntN(c.MaxSteps-c.MinSteps+1)
	p := Problem{
		Keys:   make([]int, k),
		Start:  g.rng.IntN(10),
		Walk:   c.MinWalk + g.rng.IntN(c.MaxWalk-c.MinWalk+1),
		Target: g.rng.IntN(k),
		Kind:   Value,
		Form:   c.Form,
	}
	for i := range p.Keys {
		p.Keys[i] = g.rng.IntN(10)
	}
	if g.rng.Float64() < c.NoteShare {
		p.Kind = Note
	}
	return p
}

// WriteJSONL writes n problems of the generator as summarize records, one JSON object per line.
func (g *Generator) WriteJSONL(w io.Writer, n int) error {
	jw := summarize.NewWriter(w)
	for range n {
		if err := jw.Write(g.Next().Record()); err != nil {
			return err
		}
	}
	return jw.Flush()
}
