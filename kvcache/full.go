package kvcache

import (
	"fmt"
	"math/bits"
)

// DefaultMinCapacity is the smallest capacity bucket of the Full cache.
const DefaultMinCapacity = 256

// FullConfig configures the Full cache. MinCapacity (default 256) is rounded up to a power of two.
type FullConfig struct {
	Layout      Layout
	MinCapacity int
}

// Full keeps every token resident: position p is slot p. The capacity is the smallest power of two
// >= max(MinCapacity, Len()); when it fills, the context moves to a buffer twice as large (a new
// decode graph per bucket, log2(n) graphs in all). In Memory, prompt slots count as Sink and
// generated ones as Window.
type Full struct {
	flat
	act    activeStore
	minCap int
	prompt int
}

// NewFull builds a Full cache.
func NewFull(c FullConfig) (*Full, error) {
	if err := c.Layout.Validate(); err != nil {
		return nil, err
	}
	if c.MinCapacity < 0 {
		return nil, fmt.Errorf("%w: MinCapacity = %d < 0", ErrConfig, c.MinCapacity)
	}
	if c.MinCapacity == 0 {
		c.MinCapacity = DefaultMinCapacity
	}
	c.Layout.DType = c.Layout.dtype()
	f := &Full{}
	f.init(c.Layout, nextPow2(c.MinCapacity))
	return f, nil
}

func (f *Full) init(l Layout, minCap int) {
	*f = Full{flat: flat{lay: l}, minCap: minCap}
	f.act = newActive(l, minCap, &f.moved)
	f.peakRes = f.act.bytes()
}

func nextPow2(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}

// grow moves the context to the bucket that holds need tokens.
func (f *Full) grow(need int) error {
	if need <= f.act.capacity() {
		return nil
	}
	na := newActive(f.lay, nextPow2(need), &f.moved)
	if err := na.copyFrom(f.act, 0, 0, f.n); err != nil {
		na.release()
		return err
	}
	f.act.release()
	f.act = na
	f.peakRes = max(f.peakRes, na.bytes())
	return nil
}

// Capacity implements Cache.
func (f *Full) Capacity() int { return f.act.capacity() }

// Context implements Cache.
func (f *Full) Context() Context { return f.act.context() }

// AppendPrompt implements Cache.
func (f *Full) AppendPrompt(k, v []float32, n int) error {
	if err := f.checkPrompt(k, v, n); err != nil {
		return err
	}
	if err := f.grow(f.n + n); err != nil {
		return err
	}
	tk, tv := make([]float32, f.lay.TokenElems()), make([]float32, f.lay.TokenElems())
	for i := range n {
		f.lay.chunkToken(tk, k, n, i)
		f.lay.chunkToken(tv, v, n, i)
		if err := f.act.writeF32(f.n, tk, tv); err != nil {
			return err
		}
		f.n++
		f.prompt++
	}
	return nil
}

// Append implements Cache.
func (f *Full) Append(pos int, k, v []float32) error {
	if err := f.checkAppend(pos, k, v); err != nil {
		return err
	}
	if err := f.grow(f.n + 1); err != nil {
		return err
	}
	f.closed = true
	f.tr.onAppend(pos)
	if err := f.act.writeF32(f.n, k, v); err != nil {
		return err
	}
	f.n++
	return nil
}

// NeedsAttention implements Cache.
func (f *Full) NeedsAttention() bool { return false }

// ObserveAttention implements Cache.
func (f *Full) ObserveAttention([]float32) error {
	return fmt.Errorf("%w: ObserveAttention", ErrNotSupported)
}

// Memory implements Cache.
func (f *Full) Memory() Memory {
	return Memory{
		Capacity:          f.act.capacity(),
		ResidentBytes:     f.act.bytes(),
		PeakResidentBytes: f.peakRes,
		MovedBytes:        f.moved,
		Tokens:            f.n,
		Attended: Regions{
			Sink:   f.act.maskCount(0, f.prompt),
			Window: f.act.maskCount(f.prompt, f.act.capacity()-f.prompt),
		},
	}
}

// Reset implements Cache: back to the smallest bucket.
func (f *Full) Reset() {
	f.act.release()
	f.init(f.lay, f.minCap)
}

func (f *Full) regions() []region { return []region{{"all", 0, f.act.capacity()}} }
