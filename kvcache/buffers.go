package kvcache

import (
	"fmt"

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
}

// Capacity is C, the number of slots of the context.
func (c Context) Capacity() int {
	if c.Mask == nil {
		return 0
	}
	return c.Mask.Shape().Dimensions[0]
}

// activeStore is an active context of fixed capacity in one storage dtype, edited slot by slot.
// Every write adds the bytes it touched to *moved (what a transfer to an accelerator would carry).
type activeStore interface {
	capacity() int
	context() Context
	bytes() int64
	// writeF32 stores one token given in the model layout [L,KVH,D] (float32) into slot.
	writeF32(slot int, k, v []float32) error
	// copyHost copies positions [pos, pos+n) of the host store into slots [slot, slot+n).
	copyHost(slot int, h hostStore, pos, n int) error
	// copyFrom copies slots [srcOff, srcOff+n) of src (same layout, any capacity) into [dst, dst+n), mask included.
	copyFrom(src activeStore, dst, srcOff, n int) error
	// setMask sets the mask of slots [slot, slot+n) to val.
	setMask(slot, n int, val float32) error
	// maskCount counts the attended slots in [slot, slot+n).
	maskCount(slot, n int) int
	release()
}

func newActive(l Layout, c int, moved *int64) activeStore {
	if l.dtype() == dtypes.BFloat16 {
		return newActiveT[bfloat16.BFloat16](l, c, moved, convBF16)
	}
	return newActiveT[float32](l, c, moved, convF32)
}

type active[T elem] struct {
	lay    Layout
	c      int
	k, v   []*tensors.Tensor
	mask   *tensors.Tensor
	conv   func([]T, []float32)
	tk, tv []T // scratch: one token converted to T
	moved  *int64
}

func newActiveT[T elem](l Layout, c int, moved *int64, conv func([]T, []float32)) *active[T] {
	a := &active[T]{lay: l, c: c, conv: conv, moved: moved,
		tk: make([]T, l.TokenElems()), tv: make([]T, l.TokenElems())}
	dt := l.dtype()
	a.k = make([]*tensors.Tensor, l.Layers)
	a.v = make([]*tensors.Tensor, l.Layers)
	for i := range l.Layers {
		a.k[i] = tensors.FromShape(shapes.Make(dt, l.KVHeads, c, l.HeadDim))
		a.v[i] = tensors.FromShape(shapes.Make(dt, l.KVHeads, l.HeadDim, c))
	}
	a.mask = tensors.FromShape(shapes.Make(dtypes.Float32, c))
	return a
}

func (a *active[T]) capacity() int { return a.c }

func (a *active[T]) context() Context { return Context{K: a.k, V: a.v, Mask: a.mask} }

func (a *active[T]) bytes() int64 {
	var n int64
	for i := range a.k {
		n += int64(a.k[i].Memory()) + int64(a.v[i].Memory())
	}
	return n + int64(a.mask.Memory())
}

func (a *active[T]) release() {
	for i := range a.k {
		_ = a.k[i].FinalizeAll()
		_ = a.v[i].FinalizeAll()
	}
	_ = a.mask.FinalizeAll()
}

func internalErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %v", ErrInternal, err)
}

// editKV runs fk on the flat K and fv on the flat V of every layer.
func (a *active[T]) editKV(fk, fv func(l int, flat []T)) error {
	for l := range a.lay.Layers {
		if err := tensors.MutableFlatData(a.k[l], func(flat []T) { fk(l, flat) }); err != nil {
			return internalErr(err)
		}
		if err := tensors.MutableFlatData(a.v[l], func(flat []T) { fv(l, flat) }); err != nil {
			return internalErr(err)
		}
	}
	return nil
}

func (a *active[T]) writeF32(slot int, k, v []float32) error {
	a.conv(a.tk, k)
	a.conv(a.tv, v)
	kvh, d, c := a.lay.KVHeads, a.lay.HeadDim, a.c
	err := a.editKV(func(l int, flat []T) {
		for h := range kvh {
			copy(flat[(h*c+slot)*d:(h*c+slot+1)*d], a.tk[(l*kvh+h)*d:(l*kvh+h+1)*d])
		}
	}, func(l int, flat []T) {
		src := a.tv[l*kvh*d : (l+1)*kvh*d]
		for hd, x := range src { // hd = h*D + d
			flat[hd*c+slot] = x
		}
	})
	if err != nil {
		return err
	}
	*a.moved += a.lay.TokenKVBytes()
	return a.setMask(slot, 1, 1)
}

func (a *active[T]) copyHost(slot int, hs hostStore, pos, n int) error {
	if n <= 0 {
		return nil
	}
	h := hs.(*host[T])
	kvh, d, c := a.lay.KVHeads, a.lay.HeadDim, a.c
	err := a.editKV(func(l int, flat []T) {
		for i := range n {
			kt, _ := h.tok(pos + i)
			for hh := range kvh {
				copy(flat[(hh*c+slot+i)*d:(hh*c+slot+i+1)*d], kt[(l*kvh+hh)*d:(l*kvh+hh+1)*d])
			}
		}
	}, func(l int, flat []T) {
		for i := range n { // source-major: each token's V rows are read once, written into column slot+i
			_, vt := h.tok(pos + i)
			for hd, x := range vt[l*kvh*d : (l+1)*kvh*d] {
				flat[hd*c+slot+i] = x
			}
		}
	})
	if err != nil {
		return err
	}
	*a.moved += int64(n) * a.lay.TokenKVBytes()
	return nil
}

func (a *active[T]) copyFrom(src activeStore, dst, srcOff, n int) error {
	if n <= 0 {
		return nil
	}
	s := src.(*active[T])
	kvh, d := a.lay.KVHeads, a.lay.HeadDim
	for l := range a.lay.Layers {
		err := copyTensor(a.k[l], s.k[l], func(to, from []T) {
			for h := range kvh {
				copy(to[(h*a.c+dst)*d:(h*a.c+dst+n)*d], from[(h*s.c+srcOff)*d:(h*s.c+srcOff+n)*d])
			}
		})
		if err != nil {
			return err
		}
		err = copyTensor(a.v[l], s.v[l], func(to, from []T) {
			for hd := range kvh * d {
				copy(to[hd*a.c+dst:hd*a.c+dst+n], from[hd*s.c+srcOff:hd*s.c+srcOff+n])
			}
		})
		if err != nil {
			return err
		}
	}
	err := copyTensor(a.mask, s.mask, func(to, from []float32) { copy(to[dst:dst+n], from[srcOff:srcOff+n]) })
	if err != nil {
		return err
	}
	*a.moved += int64(n) * a.lay.SlotBytes()
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

func (a *active[T]) setMask(slot, n int, val float32) error {
	if n <= 0 {
		return nil
	}
	err := tensors.MutableFlatData(a.mask, func(m []float32) {
		for i := slot; i < slot+n; i++ {
			m[i] = val
		}
	})
	*a.moved += int64(4 * n)
	return internalErr(err)
}

func (a *active[T]) maskCount(slot, n int) int {
	count := 0
	_ = tensors.ConstFlatData(a.mask, func(m []float32) {
		for _, x := range m[slot : slot+n] {
			if x != 0 {
				count++
			}
		}
	})
	return count
}

// hostStore is the host-side segment store: the full KV of every position ever appended (in the
// storage dtype, token-major [pos][L,KVH,D]), kept in fixed blocks of tokens so that its size is exact
// and growing it never copies. Blocks wholly before a "keep from" position can be freed.
type hostStore interface {
	appendF32(k, v []float32)
	bytes() int64
	// dropBefore frees every block whose positions are all < pos.
	dropBefore(pos int)
	// meanKey writes into dst [L,KVH,D] the mean key of positions [a, b) (b > a).
	meanKey(dst []float32, a, b int)
	release()
}

func newHost(l Layout, block int) hostStore {
	if l.dtype() == dtypes.BFloat16 {
		return newHostOf(l, block, convBF16, f32OfBF16)
	}
	return newHostOf(l, block, convF32, f32OfF32)
}

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
	blocks []*hostBlock[T] // nil = freed
	live   int             // non-nil blocks
	n      int
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

func (h *host[T]) bytes() int64 {
	return int64(h.live) * int64(h.block) * h.lay.TokenKVBytes()
}

func (h *host[T]) dropBefore(pos int) {
	for b := 0; b < pos/h.block && b < len(h.blocks); b++ {
		if blk := h.blocks[b]; blk != nil {
			h.blocks[b] = nil
			h.live--
			h.arena.free(blk.kc)
			h.arena.free(blk.vc)
		}
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
	h.blocks, h.live, h.n = nil, 0, 0
	h.arena.release()
}
