package jinja

// This file is not from upstream: it bounds what a template may make the evaluator do. Chat templates come
// from model files, i.e. untrusted input, and upstream has no such bounds (a recursive macro there ends in a
// fatal Go stack overflow that recover cannot catch, and a large range() loop runs unbounded).

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrLimit is returned (wrapped, with the numbers involved) when a render exceeds a bound of its Config.
var ErrLimit = errors.New("jinja: render limit exceeded")

// RaisedError is the error a template raises with raise_exception(message).
type RaisedError struct{ Message string }

func (e *RaisedError) Error() string { return e.Message }

// Config bounds one render and gives it the clock. Zero fields take the defaults below.
type Config struct {
	MaxSteps  int64         // statements executed + loop iterations + calls; default DefaultMaxSteps
	MaxDepth  int           // nested macro/caller calls; default DefaultMaxDepth
	MaxOutput int           // bytes of any rendered text or built string/list length; default DefaultMaxOutput
	Timeout   time.Duration // wall time of the render; default DefaultTimeout
	Now       func() time.Time
}

// Defaults: a real chat template renders a 100-message conversation with tools in well under 1e5 steps,
// recurses a few levels (JSON-schema printers), and produces kilobytes.
const (
	DefaultMaxSteps  = 5_000_000
	DefaultMaxDepth  = 200
	DefaultMaxOutput = 16 << 20
	DefaultTimeout   = 5 * time.Second
	// maxSourceBytes and maxParseDepth bound the parser: nesting recurses, and Go's stack overflow is fatal.
	maxSourceBytes = 4 << 20
	maxParseDepth  = 256
	// maxValueDepth and maxPrintBytes bound printing/encoding of nested values (a namespace can be stored
	// inside itself; shared references print once per reference).
	maxValueDepth = 512
	maxPrintBytes = DefaultMaxOutput
)

// budget is shared by an evaluator and every child evaluator it starts (macros, set blocks, callers).
type budget struct {
	steps, maxSteps int64
	depth, maxDepth int
	maxOutput       int
	deadline        time.Time
	now             func() time.Time
	err             error // sticky: the first limit hit
}

func newBudget(cfg Config) *budget {
	b := &budget{maxSteps: cfg.MaxSteps, maxDepth: cfg.MaxDepth, maxOutput: cfg.MaxOutput, now: cfg.Now}
	if b.maxSteps <= 0 {
		b.maxSteps = DefaultMaxSteps
	}
	if b.maxDepth <= 0 {
		b.maxDepth = DefaultMaxDepth
	}
	if b.maxOutput <= 0 {
		b.maxOutput = DefaultMaxOutput
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if b.now == nil {
		b.now = time.Now
	}
	b.deadline = time.Now().Add(timeout)
	return b
}

// step charges one unit of work; the clock is read every 16 steps (a step can cost as much as a builtin
// over a list of up to MaxOutput items, so rarer reads would let a render overrun its time).
func (b *budget) step() error {
	if b.err != nil {
		return b.err
	}
	b.steps++
	if b.steps > b.maxSteps {
		b.err = fmt.Errorf("%w: more than %d steps", ErrLimit, b.maxSteps)
	} else if b.steps&15 == 0 && time.Now().After(b.deadline) {
		b.err = fmt.Errorf("%w: render took longer than its time limit (%d steps done)", ErrLimit, b.steps)
	}
	return b.err
}

// enter charges one level of call nesting; leave undoes it.
func (b *budget) enter() error {
	b.depth++
	if b.depth > b.maxDepth {
		b.err = fmt.Errorf("%w: call depth above %d", ErrLimit, b.maxDepth)
		return b.err
	}
	return b.step()
}

func (b *budget) leave() { b.depth-- }

// checkLen rejects a string longer than the output limit, or a list longer than a sixteenth of it (a
// million items by default: sorting or filtering more in one step would outlast the time limit, which is
// only checked between steps).
func (b *budget) checkLen(n int, what string) error {
	limit := b.maxOutput
	if what != "string" {
		limit = max(b.maxOutput/16, 1)
	}
	if n > limit {
		b.err = fmt.Errorf("%w: %s of length %d above %d", ErrLimit, what, n, limit)
		return b.err
	}
	return nil
}

// outBuf is an evaluator's output; writes past the limit are dropped and recorded in the budget, which the
// next step() reports.
type outBuf struct {
	strings.Builder
	b *budget
}

func (o *outBuf) WriteString(s string) (int, error) {
	if o.b != nil && o.Len()+len(s) > o.b.maxOutput {
		if o.b.err == nil {
			o.b.err = fmt.Errorf("%w: output above %d bytes", ErrLimit, o.b.maxOutput)
		}
		return 0, o.b.err
	}
	return o.Builder.WriteString(s)
}
