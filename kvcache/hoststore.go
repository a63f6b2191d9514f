package kvcache

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
)

// HostStore keeps the KV of every position appended (prompt, thought bodies, summaries) on the host,
// in the storage dtype, token-major [pos][L, KVH, D], in blocks of a fixed number of tokens: growing
// it never copies and its size is exact. The blocks live in memory mapped outside the Go heap where
// the platform allows it (see hostArena): the store is the one thing that grows with every token.
// Blocks wholly before a position can be dropped (a policy that needs only a suffix). Not safe for
// concurrent use.
type HostStore struct {
	impl hostImpl
}

// hostImpl is the store in one element type.
type hostImpl interface {
	appendF32(k, v []float32)
	read(pos, n int, k, v []float32)
	meanKey(dst []float32, a, b int)
	dropBefore(pos int)
	length() int
	first() int
	bytes() int64
	release()
}

// NewHostStore returns an empty store for layout l with blocks of `block` tokens (0: DefaultHostBlock).
func NewHostStore(l Layout, block int) (*HostStore, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if block < 0 {
		return nil, fmt.Errorf("%w: host block %d", ErrConfig, block)
	}
	if block == 0 {
		block = DefaultHostBlock
	}
	if l.dtype() == dtypes.BFloat16 {
		return &HostStore{newHostOf(l, block, convBF16, f32OfBF16)}, nil
	}
	return &HostStore{newHostOf(l, block, convF32, f32OfF32)}, nil
}

// Append stores the next position's K and V ([L, KVH, D] float32, rounded to the storage dtype).
func (h *HostStore) Append(k, v []float32) { h.impl.appendF32(k, v) }

// Len is the number of positions appended.
func (h *HostStore) Len() int { return h.impl.length() }

// First is the first position still held (positions before it were dropped).
func (h *HostStore) First() int { return h.impl.first() }

// Read copies positions [pos, pos+n) into k and v as float32, token-major [n][L, KVH, D]. They must
// be held: First() <= pos and pos+n <= Len().
func (h *HostStore) Read(pos, n int, k, v []float32) error {
	if pos < h.First() || n < 0 || pos+n > h.Len() {
		return fmt.Errorf("%w: read of positions [%d, %d) from a store holding [%d, %d)", ErrArgument, pos, pos+n, h.First(), h.Len())
	}
	h.impl.read(pos, n, k, v)
	return nil
}

// MeanKey writes into dst [L, KVH, D] the mean key of the positions of s (non-empty, held).
func (h *HostStore) MeanKey(dst []float32, s Span) error {
	if s.Empty() || s.Start < h.First() || s.End > h.Len() {
		return fmt.Errorf("%w: mean key of positions [%d, %d) from a store holding [%d, %d)", ErrArgument, s.Start, s.End, h.First(), h.Len())
	}
	h.impl.meanKey(dst, s.Start, s.End)
	return nil
}

// DropBefore frees every block whose positions are all < pos.
func (h *HostStore) DropBefore(pos int) { h.impl.dropBefore(pos) }

// Bytes is the size of the blocks held (resident from allocation).
func (h *HostStore) Bytes() int64 { return h.impl.bytes() }

// Release frees every block; the store is empty afterwards and can be appended to again.
func (h *HostStore) Release() { h.impl.release() }

func newHostOf[T elem](l Layout, block int, conv func([]T, []float32), f32 func(T) float32) *host[T] {
	h := &host[T]{lay: l, block: block, conv: conv, f32: f32,
		arena: newHostArena(block * l.TokenElems() * l.ElemBytes())}
	unmapWhenDropped(h, h.arena)
	return h
}

// hostBlock is one block of tokens: k and v each [block][L,KVH,D], in arena memory.
type hostBlock[T elem] struct {
	k, v   []T
	kc, vc *hostChunk
}

type host[T elem] struct {
	lay    Layout
	block  int
	arena  *hostArena
	blocks []*hostBlock[T] // nil = dropped
	live   int             // non-nil blocks
	n      int
	drop   int // first position not dropped
	conv   func([]T, []float32)
	f32    func(T) float32
}

func (h *host[T]) tok(pos int) (k, v []T) {
	b, i, te := h.blocks[pos/h.block], pos%h.block, h.lay.TokenElems()
	return b.k[i*te : (i+1)*te], b.v[i*te : (i+1)*te]
}

func (h *host[T]) appendF32(k, v []float32) {
	if h.n%h.block == 0 {
		kb, kc := h.arena.alloc()
		vb, vc := h.arena.alloc()
		h.blocks = append(h.blocks, &hostBlock[T]{k: viewAs[T](kb), v: viewAs[T](vb), kc: kc, vc: vc})
		h.live++
	}
	kt, vt := h.tok(h.n)
	h.conv(kt, k)
	h.conv(vt, v)
	h.n++
}

func (h *host[T]) read(pos, n int, k, v []float32) {
	te := h.lay.TokenElems()
	for i := range n {
		kt, vt := h.tok(pos + i)
		for j, x := range kt {
			k[i*te+j] = h.f32(x)
		}
		for j, x := range vt {
			v[i*te+j] = h.f32(x)
		}
	}
}

func (h *host[T]) length() int { return h.n }

func (h *host[T]) first() int { return h.drop }

func (h *host[T]) bytes() int64 {
	return int64(h.live) * int64(h.block) * h.lay.TokenKVBytes()
}

func (h *host[T]) dropBefore(pos int) {
	for b := h.drop / h.block; b < pos/h.block && b < len(h.blocks); b++ {
		if blk := h.blocks[b]; blk != nil {
			h.blocks[b] = nil
			h.live--
			h.arena.free(blk.kc)
			h.arena.free(blk.vc)
		}
		h.drop = (b + 1) * h.block
	}
}

func (h *host[T]) meanKey(dst []float32, a, b int) {
	clear(dst)
	for p := a; p < b; p++ {
		kt, _ := h.tok(p)
		for i, x := range kt {
			dst[i] += h.f32(x)
		}
	}
	inv := 1 / float32(b-a)
	for i := range dst {
		dst[i] *= inv
	}
}

func (h *host[T]) release() {
	h.blocks, h.live, h.n, h.drop = nil, 0, 0, 0
	h.arena.release()
}

// storage conversions

func convF32(dst, src []float32) { copy(dst, src) }

func convBF16(dst []bfloat16.BFloat16, src []float32) {
	for i, x := range src {
		dst[i] = toBF16(x)
	}
}

func f32OfF32(x float32) float32 { return x }

func f32OfBF16(x bfloat16.BFloat16) float32 { return x.Float32() }
