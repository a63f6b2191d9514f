package kvcache

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/distributed"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Context is the attention context a policy exposes to the model for one step. Shapes:
//
//	K[l]  [KVH, C, D]   keys of slot c (post-RoPE, as the model returned them)
//	V[l]  [KVH, D, C]   values, TRANSPOSED so that both attention products contract on the last axis
//	Mask  [C] float32   1 = attend to slot c, 0 = skip it (shared by every layer and head)
//
// The tensors are owned by the cache and edited in place between steps; they stay the same objects until
// the cache changes capacity or is Reset, at which point the old ones are finalized and new ones returned.
type Context struct {
	K, V []*tensors.Tensor
	Mask *tensors.Tensor
	// ShardedK, ShardedV and ShardedMask hold the context instead of K, V and Mask when it is split
	// across devices (NewShardedBackendSlots): the same logical shapes, K and V split on their KV-head
	// axis, the mask replicated.
	ShardedK, ShardedV []*distributed.Tensor
	ShardedMask        *distributed.Tensor
}

// Capacity is C, the number of slots of the context.
func (c Context) Capacity() int {
	switch {
	case c.Mask != nil:
		return c.Mask.Shape().Dimensions[0]
	case c.ShardedMask != nil:
		return c.ShardedMask.Shape().Dimensions[0]
	}
	return 0
}

// Slots is the storage of an active context: C slots, each one token's K and V in every layer, and
// the mask that says which slots are attended. Policies write it through a SlotPool. The default lives
// in Go memory (NewHostSlots); a model engine whose math runs on a device supplies its own (device
// buffers updated in place by small graphs), through a SlotsFactory.
//
// Tokens are passed in the model layout, float32, token-major: n tokens are [n][L, KVH, D]; the store
// rounds them to its dtype (exact for values that came from a store of the same dtype).
type Slots interface {
	// Capacity is C.
	Capacity() int
	// Bytes is the size of the buffers: Layout.ContextBytes(C).
	Bytes() int64
	// Resize changes the capacity to c >= 1, keeping the content and mask of the slots below
	// min(c, Capacity()); a caller shrinks only when no attended slot is at or above c.
	Resize(c int) error
	// Write stores len(slots) tokens into the listed slots and marks them attended.
	Write(slots []int, k, v []float32) error
	// Clear marks the listed slots not attended.
	Clear(slots []int) error
	// Context applies any pending edits and returns the tensors the model reads.
	Context() (Context, error)
	// Moved is the cumulative number of bytes written into the buffers (K, V and mask): what a
	// host-to-device transfer carries.
	Moved() int64
	// Release frees the buffers; the Slots must not be used afterwards.
	Release()
}

// SlotsFactory makes the Slots of an active context of capacity c.
type SlotsFactory func(l Layout, c int) (Slots, error)

// NewHostSlots is the default SlotsFactory: tensors in Go memory, edited in place
// (tensors.MutableFlatData). On the pure-Go backend the model reads them without a copy; any other
// backend uploads them whole before a step, which is why device engines bring their own Slots.
func NewHostSlots(l Layout, c int) (Slots, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if c < 1 {
		return nil, fmt.Errorf("%w: capacity %d", ErrConfig, c)
	}
	if l.dtype() == dtypes.BFloat16 {
		return newHostSlots[bfloat16.BFloat16](l, c, convBF16), nil
	}
	return newHostSlots[float32](l, c, convF32), nil
}

// hostSlots is the Go-memory Slots in storage element type T.
type hostSlots[T elem] struct {
	lay   Layout
	c     int
	k, v  []*tensors.Tensor // per layer [KVH, C, D] and [KVH, D, C]
	mask  *tensors.Tensor   // [C]
	conv  func([]T, []float32)
	tmp   []T // one token converted to T
	moved int64
}

func newHostSlots[T elem](l Layout, c int, conv func([]T, []float32)) *hostSlots[T] {
	s := &hostSlots[T]{lay: l, conv: conv, tmp: make([]T, l.TokenElems())}
	s.alloc(c)
	return s
}

func (s *hostSlots[T]) alloc(c int) {
	l, dt := s.lay, s.lay.dtype()
	s.c = c
	s.k, s.v = make([]*tensors.Tensor, l.Layers), make([]*tensors.Tensor, l.Layers)
	for i := range l.Layers {
		s.k[i] = tensors.FromShape(shapes.Make(dt, l.KVHeads, c, l.HeadDim))
		s.v[i] = tensors.FromShape(shapes.Make(dt, l.KVHeads, l.HeadDim, c))
	}
	s.mask = tensors.FromShape(shapes.Make(dtypes.Float32, c))
}

func (s *hostSlots[T]) Capacity() int { return s.c }

func (s *hostSlots[T]) Bytes() int64 { return s.lay.ContextBytes(s.c) }

func (s *hostSlots[T]) Moved() int64 { return s.moved }

func (s *hostSlots[T]) Context() (Context, error) {
	return Context{K: s.k, V: s.v, Mask: s.mask}, nil
}

func (s *hostSlots[T]) Release() {
	for i := range s.k {
		_ = s.k[i].FinalizeAll()
		_ = s.v[i].FinalizeAll()
	}
	_ = s.mask.FinalizeAll()
}

func (s *hostSlots[T]) checkSlots(slots []int) error {
	for _, sl := range slots {
		if sl < 0 || sl >= s.c {
			return fmt.Errorf("%w: slot %d of %d", ErrArgument, sl, s.c)
		}
	}
	return nil
}

func (s *hostSlots[T]) Write(slots []int, k, v []float32) error {
	te := s.lay.TokenElems()
	if len(k) != len(slots)*te || len(v) != len(slots)*te {
		return fmt.Errorf("%w: %d slots need %d K/V values, got %d/%d", ErrShape, len(slots), len(slots)*te, len(k), len(v))
	}
	if err := s.checkSlots(slots); err != nil {
		return err
	}
	kvh, d, c := s.lay.KVHeads, s.lay.HeadDim, s.c
	for l := range s.lay.Layers {
		err := tensors.MutableFlatData(s.k[l], func(flat []T) {
			for i, sl := range slots {
				s.conv(s.tmp[:kvh*d], k[i*te+l*kvh*d:i*te+(l+1)*kvh*d])
				for h := range kvh {
					copy(flat[(h*c+sl)*d:(h*c+sl+1)*d], s.tmp[h*d:(h+1)*d])
				}
			}
		})
		if err != nil {
			return internalErr(err)
		}
		err = tensors.MutableFlatData(s.v[l], func(flat []T) {
			for i, sl := range slots {
				s.conv(s.tmp[:kvh*d], v[i*te+l*kvh*d:i*te+(l+1)*kvh*d])
				for hd, x := range s.tmp[:kvh*d] { // hd = h*D + d: row hd of [KVH*D, C]
					flat[hd*c+sl] = x
				}
			}
		})
		if err != nil {
			return internalErr(err)
		}
	}
	s.moved += int64(len(slots)) * s.lay.TokenKVBytes()
	return s.setMask(slots, 1)
}

func (s *hostSlots[T]) Clear(slots []int) error {
	if err := s.checkSlots(slots); err != nil {
		return err
	}
	return s.setMask(slots, 0)
}

func (s *hostSlots[T]) setMask(slots []int, val float32) error {
	err := tensors.MutableFlatData(s.mask, func(m []float32) {
		for _, sl := range slots {
			m[sl] = val
		}
	})
	s.moved += int64(4 * len(slots))
	return internalErr(err)
}

// Resize moves the content into buffers of capacity c.
func (s *hostSlots[T]) Resize(c int) error {
	if c < 1 {
		return fmt.Errorf("%w: resize to %d slots", ErrArgument, c)
	}
	if c == s.c {
		return nil
	}
	oldK, oldV, oldMask, oldC := s.k, s.v, s.mask, s.c
	s.alloc(c)
	kvh, d, keep := s.lay.KVHeads, s.lay.HeadDim, min(c, oldC)
	err := func() error {
		for l := range s.lay.Layers {
			if err := copyTensor(s.k[l], oldK[l], func(to, from []T) {
				for h := range kvh {
					copy(to[h*c*d:h*c*d+keep*d], from[h*oldC*d:h*oldC*d+keep*d])
				}
			}); err != nil {
				return err
			}
			if err := copyTensor(s.v[l], oldV[l], func(to, from []T) {
				for hd := range kvh * d {
					copy(to[hd*c:hd*c+keep], from[hd*oldC:hd*oldC+keep])
				}
			}); err != nil {
				return err
			}
		}
		return copyTensor(s.mask, oldMask, func(to, from []float32) { copy(to[:keep], from[:keep]) })
	}()
	old := &hostSlots[T]{lay: s.lay, k: oldK, v: oldV, mask: oldMask}
	if err != nil {
		s.Release()
		s.k, s.v, s.mask, s.c = oldK, oldV, oldMask, oldC
		return err
	}
	old.Release() // a growth copies where the buffers live: not counted in Moved
	return nil
}

func copyTensor[E elem](to, from *tensors.Tensor, f func(to, from []E)) error {
	var inner error
	err := tensors.ConstFlatData(from, func(fromFlat []E) {
		inner = tensors.MutableFlatData(to, func(toFlat []E) { f(toFlat, fromFlat) })
	})
	if err == nil {
		err = inner
	}
	return internalErr(err)
}

func internalErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %v", ErrInternal, err)
}
