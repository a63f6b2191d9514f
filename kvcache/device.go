package kvcache

import (
	"fmt"
	"math/bits"
	"slices"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// NewBackendSlots is a SlotsFactory whose active contexts live in a backend's own buffers — an
// accelerator's memory under XLA — where the model's graphs read them without a copy. The cache's
// edits never re-upload a context: writes and clears are queued and, before the next step, applied
// by one small program on the device: only the written rows and the slot indices cross. Moved counts
// exactly those bytes. On XLA (-tags xla) that program aliases the buffers to its outputs, so it
// touches only the written rows (device_inplace.go); elsewhere it is a GoMLX graph over donated
// buffers, which XLA cannot alias and so copies whole (a cost on the device, not a transfer).
//
// The graph sets a slot's K and V by scatter: min(x, 0) then max(·, 0) zeroes the target rows, a sum
// adds the new ones (the backends' scatter has min, max and sum, not "set"); the mask is set with a
// scatter-max of ones and cleared with a scatter-min of zeros. Batches are padded to powers of two
// (padding repeats the last index with zero rows, which every one of those scatters ignores), so a
// few update graphs serve a whole generation.
func NewBackendSlots(b backends.Backend) SlotsFactory {
	execs := &deviceExecs{backend: b, execs: map[string]*Exec{}, inPlace: newInPlaceUpdater(b)}
	return func(l Layout, c int) (Slots, error) {
		if err := l.Validate(); err != nil {
			return nil, err
		}
		if c < 1 {
			return nil, fmt.Errorf("%w: capacity %d", ErrConfig, c)
		}
		l.DType = l.dtype()
		s := &deviceSlots{lay: l, x: execs}
		if err := s.alloc(c); err != nil {
			return nil, err
		}
		return s, nil
	}
}

// deviceExecs are the compiled graphs a factory's Slots share (one per kind and shapes).
type deviceExecs struct {
	backend backends.Backend
	mu      sync.Mutex
	execs   map[string]*Exec
	inPlace inPlaceUpdater // nil: edits go through updateGraph (a copy of each buffer)
}

// run executes graph kind (built by fn on first use) on args, turning panics into ErrInternal.
func (x *deviceExecs) run(kind string, fn func(in []*Node) []*Node, args ...any) (out []*tensors.Tensor, err error) {
	return x.runWith(kind, nil, fn, args...)
}

// runWith is run with setup (if not nil) applied to a new executor: e.g. its distribution.
func (x *deviceExecs) runWith(kind string, setup func(*Exec), fn func(in []*Node) []*Node, args ...any) (out []*tensors.Tensor, err error) {
	x.mu.Lock()
	e, ok := x.execs[kind]
	if !ok {
		e, err = NewExecAny(x.backend, fn)
		if err == nil {
			e.SetMaxCache(64)
			if setup != nil {
				setup(e)
			}
			x.execs[kind] = e
		}
	}
	x.mu.Unlock()
	if err != nil {
		return nil, internalErr(err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrInternal, r)
		}
	}()
	out, err = e.Exec(args...)
	return out, internalErr(err)
}

// deviceSlots is an active context in a backend's buffers, with the edits not yet applied.
type deviceSlots struct {
	lay   Layout
	x     *deviceExecs
	c     int
	k, v  []*tensors.Tensor // per layer [KVH, C, D], [KVH, D, C]
	mask  *tensors.Tensor   // [C] float32
	moved int64

	// Pending edits, coalesced per slot: the last one wins.
	rows    map[int]int // slot -> its row in wk/wv
	wk, wv  []float32   // written rows, token-major [n][L, KVH, D]
	cleared map[int]bool
}

func (s *deviceSlots) Capacity() int { return s.c }
func (s *deviceSlots) Bytes() int64  { return s.lay.ContextBytes(s.c) }
func (s *deviceSlots) Moved() int64  { return s.moved }

// alloc makes zeroed buffers of capacity c on the backend (by a graph: nothing is uploaded).
func (s *deviceSlots) alloc(c int) error {
	l := s.lay
	out, err := s.x.run(fmt.Sprintf("zeros/%d/%s", c, l.DType), func(in []*Node) []*Node {
		g := in[0].Graph()
		var outs []*Node
		for range l.Layers {
			outs = append(outs, Zeros(g, shapes.Make(l.DType, l.KVHeads, c, l.HeadDim)))
		}
		for range l.Layers {
			outs = append(outs, Zeros(g, shapes.Make(l.DType, l.KVHeads, l.HeadDim, c)))
		}
		return append(outs, Zeros(g, shapes.Make(dtypes.Float32, c)))
	}, []int32{0})
	if err != nil {
		return err
	}
	s.c, s.k, s.v, s.mask = c, out[:l.Layers], out[l.Layers:2*l.Layers], out[2*l.Layers]
	s.rows, s.cleared, s.wk, s.wv = map[int]int{}, map[int]bool{}, s.wk[:0], s.wv[:0]
	return nil
}

func (s *deviceSlots) checkSlots(slots []int) error {
	for _, sl := range slots {
		if sl < 0 || sl >= s.c {
			return fmt.Errorf("%w: slot %d of %d", ErrArgument, sl, s.c)
		}
	}
	return nil
}

// Write queues the tokens' K/V for their slots.
func (s *deviceSlots) Write(slots []int, k, v []float32) error {
	te := s.lay.TokenElems()
	if len(k) != len(slots)*te || len(v) != len(slots)*te {
		return fmt.Errorf("%w: %d slots need %d K/V values, got %d/%d", ErrShape, len(slots), len(slots)*te, len(k), len(v))
	}
	if err := s.checkSlots(slots); err != nil {
		return err
	}
	for i, sl := range slots {
		r, ok := s.rows[sl]
		if !ok {
			r = len(s.wk) / te
			s.rows[sl] = r
			s.wk, s.wv = append(s.wk, k[i*te:(i+1)*te]...), append(s.wv, v[i*te:(i+1)*te]...)
		} else {
			copy(s.wk[r*te:(r+1)*te], k[i*te:(i+1)*te])
			copy(s.wv[r*te:(r+1)*te], v[i*te:(i+1)*te])
		}
		delete(s.cleared, sl)
	}
	return nil
}

// Clear queues the slots' masks to 0.
func (s *deviceSlots) Clear(slots []int) error {
	if err := s.checkSlots(slots); err != nil {
		return err
	}
	for _, sl := range slots {
		if _, ok := s.rows[sl]; ok {
			delete(s.rows, sl) // its pending row stays in wk/wv, unreferenced: not uploaded
		}
		s.cleared[sl] = true
	}
	return nil
}

// Context applies the pending edits and returns the buffers.
func (s *deviceSlots) Context() (Context, error) {
	if err := s.flush(); err != nil {
		return Context{}, err
	}
	return Context{K: s.k, V: s.v, Mask: s.mask}, nil
}

// pow2 is the smallest power of two >= n (0 for 0).
func pow2(n int) int {
	if n == 0 {
		return 0
	}
	return 1 << bits.Len(uint(n-1))
}

// pendingEdits are the queued writes and clears as update-graph arguments, each list padded to a
// power of two (nw, nc): the padding repeats the last slot, with zero rows.
type pendingEdits struct {
	nw, nc int
	writes int       // real writes: widx[writes:] is padding
	widx   []int32   // [nw] written slots
	rk, rv []float32 // [nw][L, KVH, D] their rows
	cidx   []int32   // [nc] cleared slots
}

// pending returns the queued edits (none: nw = nc = 0).
func (s *deviceSlots) pending() pendingEdits {
	te := s.lay.TokenElems()
	writes := slices.Sorted(func(yield func(int) bool) {
		for sl := range s.rows {
			if !yield(sl) {
				return
			}
		}
	})
	clears := slices.Sorted(func(yield func(int) bool) {
		for sl := range s.cleared {
			if !yield(sl) {
				return
			}
		}
	})
	nw, nc := pow2(len(writes)), pow2(len(clears))
	// Write indices and rows, padded: the padding repeats the last slot with zero rows.
	widx := make([]int32, nw)
	rk, rv := make([]float32, nw*te), make([]float32, nw*te)
	for i := range nw {
		sl := writes[min(i, len(writes)-1)]
		widx[i] = int32(sl)
		if i < len(writes) {
			r := s.rows[sl]
			copy(rk[i*te:(i+1)*te], s.wk[r*te:(r+1)*te])
			copy(rv[i*te:(i+1)*te], s.wv[r*te:(r+1)*te])
		}
	}
	cidx := make([]int32, nc)
	for i := range nc {
		cidx[i] = int32(clears[min(i, len(clears)-1)])
	}
	return pendingEdits{nw: nw, nc: nc, writes: len(writes), widx: widx, rk: rk, rv: rv, cidx: cidx}
}

// applied forgets the queued edits once the buffers hold them.
func (s *deviceSlots) applied() {
	clear(s.rows)
	clear(s.cleared)
	s.wk, s.wv = s.wk[:0], s.wv[:0]
}

// flush runs the update graph over the pending writes and clears.
func (s *deviceSlots) flush() error {
	if len(s.rows) == 0 && len(s.cleared) == 0 {
		return nil
	}
	l, te := s.lay, s.lay.TokenElems()
	p := s.pending()
	nw, nc, widx, rk, rv, cidx := p.nw, p.nc, p.widx, p.rk, p.rv, p.cidx
	sent := int64(4*nw) + 2*int64(nw)*int64(te*l.ElemBytes()) + int64(4*nc)
	if s.x.inPlace != nil {
		ok, err := s.x.inPlace.apply(s, p)
		if err != nil {
			return err
		}
		if ok {
			s.moved += sent
			s.applied()
			return nil
		}
	}
	args := make([]any, 0, 2*l.Layers+4)
	for _, t := range s.bufs() {
		d, err := DonateTensorBuffer(t, s.x.backend, 0)
		if err != nil {
			return internalErr(err)
		}
		args = append(args, d)
	}
	if nw > 0 {
		tk, tv := s.rowsTensor(rk, nw), s.rowsTensor(rv, nw)
		args = append(args, widx, tk, tv)
	}
	if nc > 0 {
		args = append(args, cidx)
	}
	kind := fmt.Sprintf("update/%d/%s/w%d/c%d", s.c, l.DType, nw, nc)
	out, err := s.x.run(kind, func(in []*Node) []*Node { return s.updateGraph(in, nw, nc) }, args...)
	if err != nil {
		return err
	}
	s.k, s.v, s.mask = out[:l.Layers], out[l.Layers:2*l.Layers], out[2*l.Layers]
	s.moved += sent
	s.applied()
	return nil
}

// rowsTensor is n token rows [n, L, KVH, D] in the storage dtype.
func (s *deviceSlots) rowsTensor(rows []float32, n int) *tensors.Tensor {
	l := s.lay
	if l.DType == dtypes.BFloat16 {
		b := make([]bfloat16.BFloat16, len(rows))
		convBF16(b, rows)
		return tensors.FromFlatDataAndDimensions(b, n, l.Layers, l.KVHeads, l.HeadDim)
	}
	return tensors.FromFlatDataAndDimensions(rows, n, l.Layers, l.KVHeads, l.HeadDim)
}

// updateGraph applies nw writes and nc clears:
//
//	in: K[l] [KVH, C, D] ×L, V[l] [KVH, D, C] ×L, mask [C], (widx [nw], rowsK, rowsV [nw, L, KVH, D]), (cidx [nc])
//	out: K, V, mask updated
func (s *deviceSlots) updateGraph(in []*Node, nw, nc int) []*Node {
	l := s.lay
	L, KVH, D := l.Layers, l.KVHeads, l.HeadDim
	ks, vs, mask := in[:L], in[L:2*L], in[2*L]
	rest := in[2*L+1:]
	g := mask.Graph()
	set := func(x, idx, upd *Node) *Node { // zero the target rows, then add the new ones
		zeros := ZerosLike(upd)
		x = ScatterMin(x, idx, zeros, false, false)
		x = ScatterMax(x, idx, zeros, false, false)
		return ScatterSum(x, idx, upd, false, false)
	}
	outK, outV := slices.Clone(ks), slices.Clone(vs)
	if nw > 0 {
		widx, rowsK, rowsV := rest[0], rest[1], rest[2]
		rest = rest[3:]
		// K: index (h, slot) for each (write b, head h), b-major; V: (h, d, slot) per value.
		slot := BroadcastToDims(Reshape(widx, nw, 1), nw, KVH)
		head := Iota(g, shapes.Make(dtypes.Int32, nw, KVH), 1)
		kIdx := Reshape(Stack([]*Node{head, slot}, -1), nw*KVH, 2)
		slotV := BroadcastToDims(Reshape(widx, nw, 1, 1), nw, KVH, D)
		headV := Iota(g, shapes.Make(dtypes.Int32, nw, KVH, D), 1)
		dimV := Iota(g, shapes.Make(dtypes.Int32, nw, KVH, D), 2)
		vIdx := Reshape(Stack([]*Node{headV, dimV, slotV}, -1), nw*KVH*D, 3)
		for li := range L {
			rk := Reshape(Slice(rowsK, AxisRange(), AxisRange(li, li+1)), nw*KVH, D)
			rv := Reshape(Slice(rowsV, AxisRange(), AxisRange(li, li+1)), nw*KVH*D)
			outK[li] = set(ks[li], kIdx, rk)
			outV[li] = set(vs[li], vIdx, rv)
		}
		mask = ScatterMax(mask, Reshape(widx, nw, 1), Ones(g, shapes.Make(dtypes.Float32, nw)), false, false)
	}
	if nc > 0 {
		mask = ScatterMin(mask, Reshape(rest[0], nc, 1), Zeros(g, shapes.Make(dtypes.Float32, nc)), false, false)
	}
	return append(append(outK, outV...), mask)
}

// Resize moves the buffers to capacity c on the backend (keeping the slots below min(c, C)).
func (s *deviceSlots) Resize(c int) error {
	if c < 1 {
		return fmt.Errorf("%w: resize to %d slots", ErrArgument, c)
	}
	if c == s.c {
		return nil
	}
	if err := s.flush(); err != nil {
		return err
	}
	l, old := s.lay, s.c
	args := make([]any, 0, 2*l.Layers+1)
	for _, t := range s.bufs() {
		args = append(args, t)
	}
	out, err := s.x.run(fmt.Sprintf("resize/%d/%d/%s", old, c, l.DType), func(in []*Node) []*Node {
		return resizeGraph(in, l.Layers, old, c)
	}, args...)
	if err != nil {
		return err
	}
	s.release()
	s.c, s.k, s.v, s.mask = c, out[:l.Layers], out[l.Layers:2*l.Layers], out[2*l.Layers]
	return nil
}

// resizeGraph cuts or zero-pads the slot axis of K ×L [KVH, C, D], Vᵀ ×L [KVH, D, C] and the mask
// [C] from capacity old to c.
func resizeGraph(in []*Node, layers, old, c int) []*Node {
	fit := func(x *Node, axis int) *Node {
		if c < old {
			return SliceAxis(x, axis, AxisRange(0, c))
		}
		dims := slices.Clone(x.Shape().Dimensions)
		dims[axis] = c - old
		return Concatenate([]*Node{x, Zeros(x.Graph(), shapes.Make(x.DType(), dims...))}, axis)
	}
	var outs []*Node
	for li := range layers {
		outs = append(outs, fit(in[li], 1))
	}
	for li := range layers {
		outs = append(outs, fit(in[layers+li], 2))
	}
	return append(outs, fit(in[2*layers], 0))
}

// Release frees the buffers.
func (s *deviceSlots) Release() { s.release() }

// bufs lists the context's buffers in the update programs' order: K ×L, Vᵀ ×L, mask.
func (s *deviceSlots) bufs() []*tensors.Tensor {
	return append(append(append(make([]*tensors.Tensor, 0, len(s.k)+len(s.v)+1), s.k...), s.v...), s.mask)
}

func (s *deviceSlots) release() {
	for _, t := range s.bufs() {
		if t != nil {
			_ = t.FinalizeAll()
		}
	}
	s.k, s.v, s.mask = nil, nil, nil
}
