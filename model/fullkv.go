package model

import (
	"context"
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// SimpleKV is the plainest full cache: every token's K/V in float32, capacity doubling from 64. It is the
// reference the model package tests itself with; the kvcache package holds the real policies.
type SimpleKV struct {
	c   *Config
	n   int
	buf KV
}

// NewSimpleKV returns an empty full cache for c.
func NewSimpleKV(c *Config) *SimpleKV { return &SimpleKV{c: c} }

// Len is the number of tokens held.
func (s *SimpleKV) Len() int { return s.n }

// KV is the attention context over all held tokens.
func (s *SimpleKV) KV() KV { return s.buf }

// grow makes room for need tokens, copying into a larger bucket when needed.
func (s *SimpleKV) grow(need int) {
	capacity := s.buf.Capacity()
	if need <= capacity {
		return
	}
	newCap := max(64, capacity)
	for newCap < need {
		newCap *= 2
	}
	c := s.c
	next := KV{Mask: tensors.FromShape(shapes.Make(dtypes.Float32, newCap))}
	for l := range c.Layers {
		k := tensors.FromShape(shapes.Make(dtypes.Float32, c.KVHeads, newCap, c.HeadDim))
		v := tensors.FromShape(shapes.Make(dtypes.Float32, c.KVHeads, c.HeadDim, newCap))
		if capacity > 0 {
			old := s.buf
			tensors.MustConstFlatData(old.K[l], func(src []float32) {
				tensors.MustMutableFlatData(k, func(dst []float32) {
					for h := range c.KVHeads {
						copy(dst[h*newCap*c.HeadDim:], src[h*capacity*c.HeadDim:(h+1)*capacity*c.HeadDim])
					}
				})
			})
			tensors.MustConstFlatData(old.V[l], func(src []float32) {
				tensors.MustMutableFlatData(v, func(dst []float32) {
					for row := range c.KVHeads * c.HeadDim {
						copy(dst[row*newCap:], src[row*capacity:(row+1)*capacity])
					}
				})
			})
		}
		next.K = append(next.K, k)
		next.V = append(next.V, v)
	}
	tensors.MustMutableFlatData(next.Mask, func(m []float32) {
		for i := range s.n {
			m[i] = 1
		}
	})
	for l := range s.buf.K {
		s.buf.K[l].FinalizeAll()
		s.buf.V[l].FinalizeAll()
	}
	if s.buf.Mask != nil {
		s.buf.Mask.FinalizeAll()
	}
	s.buf = next
}

// Append adds n tokens whose K and V are laid out [Layers, KVHeads, n, HeadDim] (n = 1 for a step result).
func (s *SimpleKV) Append(k, v []float32, n int) error {
	c := s.c
	if want := c.Layers * c.KVHeads * n * c.HeadDim; len(k) != want || len(v) != want {
		return fmt.Errorf("%w: SimpleKV.Append of %d tokens needs %d values, got K %d, V %d", ErrInvalidInput, n, want, len(k), len(v))
	}
	s.grow(s.n + n)
	capacity := s.buf.Capacity()
	D := c.HeadDim
	for l := range c.Layers {
		tensors.MustMutableFlatData(s.buf.K[l], func(dst []float32) {
			for h := range c.KVHeads {
				src := k[((l*c.KVHeads+h)*n)*D : ((l*c.KVHeads+h)*n+n)*D]
				copy(dst[(h*capacity+s.n)*D:], src)
			}
		})
		tensors.MustMutableFlatData(s.buf.V[l], func(dst []float32) {
			for h := range c.KVHeads {
				for t := range n {
					src := v[((l*c.KVHeads+h)*n+t)*D:]
					for d := range D {
						dst[(h*D+d)*capacity+s.n+t] = src[d]
					}
				}
			}
		})
	}
	tensors.MustMutableFlatData(s.buf.Mask, func(m []float32) {
		for i := s.n; i < s.n+n; i++ {
			m[i] = 1
		}
	})
	s.n += n
	return nil
}

// GenerateGreedy is the simple full-cache generation path: prefill the prompt, then n greedy decode steps.
// It returns the n generated ids (EOS does not stop it).
func (m *Model) GenerateGreedy(ctx context.Context, prompt []int, n int) ([]int, error) {
	pre, err := m.Prefill(ctx, prompt, 0, nil, false)
	if err != nil {
		return nil, err
	}
	cache := NewSimpleKV(m.Config)
	if err := cache.Append(pre.K, pre.V, len(prompt)); err != nil {
		return nil, err
	}
	out := make([]int, 0, n)
	next := Argmax(pre.Logits)
	for i := range n {
		out = append(out, next)
		if i == n-1 {
			break
		}
		res, err := m.Step(ctx, next, len(prompt)+i, cache.KV(), StepOptions{})
		if err != nil {
			return nil, err
		}
		if err := cache.Append(res.K, res.V, 1); err != nil {
			return nil, err
		}
		next = Argmax(res.Logits)
	}
	return out, nil
}

// Argmax returns the index of the largest value (the lowest index on ties).
func Argmax(x []float32) int {
	best, bestV := 0, float32(0)
	if len(x) > 0 {
		bestV = x[0]
	}
	// Blocks of 8 are tested against the running best with eight independent comparisons (no
	// loop-carried dependency; a new maximum is rare after the first few blocks), and only a block
	// holding a larger value is scanned in order: the result is the plain scan's, first index of
	// the maximum, NaNs never chosen unless first. A batched step takes the argmax of 8 rows of a
	// 152k vocabulary: the plain scan cost 1.2 ms of an 11.5 ms step.
	i := 0
	for ; i+8 <= len(x); i += 8 {
		b := x[i : i+8 : i+8]
		if !(b[0] > bestV || b[1] > bestV || b[2] > bestV || b[3] > bestV ||
			b[4] > bestV || b[5] > bestV || b[6] > bestV || b[7] > bestV) {
			continue
		}
		for j, v := range b {
			if v > bestV {
				best, bestV = i+j, v
			}
		}
	}
	for ; i < len(x); i++ {
		if x[i] > bestV {
			best, bestV = i, x[i]
		}
	}
	return best
}

// AllowOnly sets every logit but those of allowed to -Inf (ids outside logits are ignored): the
// building block of a grammar that constrains sampling (zoomr.LogitsProcessor).
func AllowOnly(logits []float32, allowed ...int) {
	kept := make([]float32, len(allowed))
	negInf := float32(math.Inf(-1))
	for i, id := range allowed {
		kept[i] = negInf
		if id >= 0 && id < len(logits) {
			kept[i] = logits[id]
		}
	}
	for i := range logits {
		logits[i] = negInf
	}
	for i, id := range allowed {
		if id >= 0 && id < len(logits) {
			logits[id] = kept[i]
		}
	}
}
