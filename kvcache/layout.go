package kvcache

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
)

// Layout is the shape of one token's KV entry, shared by every policy.
type Layout struct {
	Layers  int // L: decoder layers
	KVHeads int // KVH: key/value heads per layer
	HeadDim int // D: dimension of one head
	// DType is the storage dtype of the active context and of the host store:
	// dtypes.Float32 or dtypes.BFloat16. The zero value (InvalidDType) means Float32.
	// Model K/V always arrive as float32; bfloat16 storage rounds them to nearest-even once, on append.
	DType dtypes.DType
}

// Validate reports whether the layout can be used to build a cache.
func (l Layout) Validate() error {
	if l.Layers <= 0 || l.KVHeads <= 0 || l.HeadDim <= 0 {
		return fmt.Errorf("%w: layers=%d kvHeads=%d headDim=%d must all be > 0", ErrLayout, l.Layers, l.KVHeads, l.HeadDim)
	}
	switch l.dtype() {
	case dtypes.Float32, dtypes.BFloat16:
	default:
		return fmt.Errorf("%w: dtype %s (want Float32 or BFloat16)", ErrLayout, l.DType)
	}
	return nil
}

func (l Layout) dtype() dtypes.DType {
	if l.DType == dtypes.InvalidDType {
		return dtypes.Float32
	}
	return l.DType
}

// TokenElems is the number of values in one token's K (or V) for all layers: L*KVH*D.
func (l Layout) TokenElems() int { return l.Layers * l.KVHeads * l.HeadDim }

// ElemBytes is the size of one stored value: 4 (float32) or 2 (bfloat16).
func (l Layout) ElemBytes() int { return l.dtype().Size() }

// TokenKVBytes is the storage of one token's K and V over all layers, in the storage dtype.
func (l Layout) TokenKVBytes() int64 { return int64(2 * l.TokenElems() * l.ElemBytes()) }

// SlotBytes is what one slot of an active context costs: the token's K and V in every layer plus
// its float32 mask entry.
func (l Layout) SlotBytes() int64 { return l.TokenKVBytes() + 4 }

// ContextBytes is the size of an active context of capacity c: L K tensors [KVH,c,D], L V tensors
// [KVH,D,c] and one mask [c] float32.
func (l Layout) ContextBytes(c int) int64 { return int64(c) * l.SlotBytes() }

// checkToken validates the K/V of one token in the model layout [L, KVH, D].
func (l Layout) checkToken(k, v []float32) error {
	want := l.TokenElems()
	if len(k) != want || len(v) != want {
		return fmt.Errorf("%w: token K/V have %d/%d values, want L*KVH*D = %d*%d*%d = %d",
			ErrShape, len(k), len(v), l.Layers, l.KVHeads, l.HeadDim, want)
	}
	return nil
}

// checkChunk validates the K/V of a prompt chunk in the model layout [L, KVH, n, D].
func (l Layout) checkChunk(k, v []float32, n int) error {
	if n <= 0 {
		return fmt.Errorf("%w: prompt chunk of %d tokens", ErrShape, n)
	}
	want := l.TokenElems() * n
	if len(k) != want || len(v) != want {
		return fmt.Errorf("%w: prompt K/V have %d/%d values, want L*KVH*n*D = %d*%d*%d*%d = %d",
			ErrShape, len(k), len(v), l.Layers, l.KVHeads, n, l.HeadDim, want)
	}
	return nil
}

// chunkToken copies token i of a prompt chunk [L, KVH, n, D] into dst in the token layout [L, KVH, D].
func (l Layout) chunkToken(dst, chunk []float32, n, i int) {
	d := l.HeadDim
	for lh := 0; lh < l.Layers*l.KVHeads; lh++ {
		copy(dst[lh*d:(lh+1)*d], chunk[(lh*n+i)*d:(lh*n+i+1)*d])
	}
}

// elem is a storage element type.
type elem interface{ float32 | bfloat16.BFloat16 }

// toBF16 rounds to the nearest bfloat16, ties to even (the bfloat16 package truncates).
func toBF16(x float32) bfloat16.BFloat16 {
	b := math.Float32bits(x)
	if b&0x7fffffff > 0x7f800000 { // NaN: keep it a (quiet) NaN.
		return bfloat16.BFloat16(b>>16 | 0x40)
	}
	b += 0x7fff + (b>>16)&1
	return bfloat16.BFloat16(b >> 16)
}

// eachToken calls fn with each token of a prompt chunk [L, KVH, n, D], in the token layout [L, KVH, D]
// (fn must not keep the slices), stopping at the first error.
func (l Layout) eachToken(k, v []float32, n int, fn func(k, v []float32) error) error {
	tk, tv := make([]float32, l.TokenElems()), make([]float32, l.TokenElems())
	for i := range n {
		l.chunkToken(tk, k, n, i)
		l.chunkToken(tv, v, n, i)
		if err := fn(tk, tv); err != nil {
			return err
		}
	}
	return nil
}

// stream is the state every policy keeps about the token stream: its length and whether generation
// has started (after which no prompt is accepted).
type stream struct {
	lay    Layout
	n      int
	prompt int
	closed bool
}

// checkPrompt validates a prompt chunk [L, KVH, n, D].
func (s *stream) checkPrompt(k, v []float32, n int) error {
	if err := s.lay.checkChunk(k, v, n); err != nil {
		return err
	}
	if s.closed {
		return fmt.Errorf("%w: %d prompt tokens after %d tokens and the start of generation", ErrPromptClosed, n, s.n)
	}
	return nil
}

// checkAppend validates one generated token at position pos.
func (s *stream) checkAppend(pos int, k, v []float32) error {
	if err := s.lay.checkToken(k, v); err != nil {
		return err
	}
	if pos != s.n {
		return fmt.Errorf("%w: Append at %d, next position is %d", ErrPosition, pos, s.n)
	}
	return nil
}

// Layout implements Cache.
func (s *stream) Layout() Layout { return s.lay }

// Len implements Cache.
func (s *stream) Len() int { return s.n }

// reset forgets the stream.
func (s *stream) reset() { s.n, s.prompt, s.closed = 0, 0, false }
