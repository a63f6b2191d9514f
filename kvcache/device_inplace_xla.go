//go:build xla

package kvcache

import (
	"fmt"
	"sync"

	"github.com/gomlx/go-xla/pkg/pjrt"
	"github.com/gomlx/go-xla/pkg/stablehlo"
	xdtypes "github.com/gomlx/go-xla/pkg/types/dtypes"
	xshapes "github.com/gomlx/go-xla/pkg/types/shapes"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func init() {
	newInPlaceUpdater = func(b backends.Backend) inPlaceUpdater {
		if b.HasSharedBuffers() {
			return nil // the slots live in host memory the model reads directly: nothing to alias
		}
		return &xlaUpdater{backend: b, execs: map[string]*pjrt.LoadedExecutable{}}
	}
}

// xlaUpdater applies slot edits with StableHLO programs written here, through go-xla, because
// GoMLX's graphs cannot say that an input aliases an output: each K, V and mask argument carries
// `tf.aliasing_output`, and is donated, so XLA writes the rows into the very buffer. The programs
// are the update graph's (updateGraph) with a "set" scatter, which StableHLO has and GoMLX does not.
type xlaUpdater struct {
	backend backends.Backend
	mu      sync.Mutex
	execs   map[string]*pjrt.LoadedExecutable // by updateKind
}

// apply implements inPlaceUpdater.
func (u *xlaUpdater) apply(s *deviceSlots, p pendingEdits) (bool, error) {
	l := s.lay
	big := make([]*tensors.Tensor, 0, 2*l.Layers+1)
	big = append(append(append(big, s.k...), s.v...), s.mask)
	first, err := big[0].Buffer(u.backend, 0)
	if err != nil {
		return false, internalErr(err)
	}
	pb, ok := first.(*pjrt.Buffer)
	if !ok {
		return false, nil // not an XLA buffer: the GoMLX graph does it
	}
	exec, err := u.exec(pb.Client(), l, s.c, p.nw, p.nc)
	if err != nil {
		return false, internalErr(err)
	}
	small, err := u.smallInputs(s, p)
	defer func() {
		for _, t := range small {
			_ = t.FinalizeAll()
		}
	}()
	if err != nil {
		return false, err
	}
	inputs := make([]*pjrt.Buffer, 0, len(big)+len(small))
	donated := make([]int, len(big))
	for i, t := range big {
		b, err := t.DonateBuffer(u.backend, 0)
		if err != nil {
			return false, internalErr(err)
		}
		inputs = append(inputs, b.(*pjrt.Buffer))
		donated[i] = i
	}
	for _, t := range small {
		b, err := t.Buffer(u.backend, 0)
		if err != nil {
			return false, internalErr(err)
		}
		inputs = append(inputs, b.(*pjrt.Buffer))
	}
	outs, err := exec.Execute(inputs...).Donate(donated...).Done()
	if err != nil {
		// The donated buffers are gone: the context is lost, which the caller reports.
		return false, internalErr(err)
	}
	res := make([]*tensors.Tensor, len(outs))
	for i, o := range outs {
		if res[i], err = tensors.FromBuffer(u.backend, o); err != nil {
			return false, internalErr(err)
		}
	}
	s.k, s.v, s.mask = res[:l.Layers], res[l.Layers:2*l.Layers], res[2*l.Layers]
	return true, nil
}

// smallInputs are the program's other arguments: written slots [nw, 1] and their rows
// [nw, L, KVH, D] for K and V, cleared slots [nc, 1]. The padding repeats the last written slot
// (pendingEdits); here its rows repeat that write's too (a "set" scatter applies duplicates in any
// order, so they must agree; the graph's adds wanted zeros).
func (u *xlaUpdater) smallInputs(s *deviceSlots, p pendingEdits) ([]*tensors.Tensor, error) {
	var ts []*tensors.Tensor
	if p.nw > 0 {
		te := s.lay.TokenElems()
		last := (p.writes - 1) * te
		for i := p.writes; i < p.nw; i++ {
			copy(p.rk[i*te:(i+1)*te], p.rk[last:last+te])
			copy(p.rv[i*te:(i+1)*te], p.rv[last:last+te])
		}
		ts = append(ts, tensors.FromFlatDataAndDimensions(p.widx, p.nw, 1), s.rowsTensor(p.rk, p.nw), s.rowsTensor(p.rv, p.nw))
	}
	if p.nc > 0 {
		ts = append(ts, tensors.FromFlatDataAndDimensions(p.cidx, p.nc, 1))
	}
	return ts, nil
}

// exec returns the compiled update program for these shapes, compiling it on first use.
func (u *xlaUpdater) exec(client *pjrt.Client, l Layout, c, nw, nc int) (*pjrt.LoadedExecutable, error) {
	kind := fmt.Sprintf("%d/%d/%d/%s/c%d/w%d/c%d", l.Layers, l.KVHeads, l.HeadDim, l.DType, c, nw, nc)
	u.mu.Lock()
	defer u.mu.Unlock()
	if e, ok := u.execs[kind]; ok {
		return e, nil
	}
	prog, err := updateProgram(l, c, nw, nc)
	if err != nil {
		return nil, err
	}
	e, err := client.Compile().WithStableHLO(prog).Done()
	if err != nil {
		return nil, err
	}
	u.execs[kind] = e
	return e, nil
}

// updateProgram is the StableHLO of one update:
//
//	in: K[l] [KVH, C, D] ×L, Vᵀ[l] [KVH, D, C] ×L, mask [C] (each aliased to the same output),
//	    (widx [nw, 1], rowsK, rowsV [nw, L, KVH, D]), (cidx [nc, 1])
//	out: K, Vᵀ, mask with K[l][h, widx[b], :] = rowsK[b, l, h, :] (Vᵀ likewise on its slot axis),
//	     mask[widx] = 1, mask[cidx] = 0.
func updateProgram(l Layout, c, nw, nc int) ([]byte, error) {
	L, H, D := l.Layers, l.KVHeads, l.HeadDim
	dt := xdtypes.Float32
	if l.DType == dtypes.BFloat16 {
		dt = xdtypes.BFloat16
	}
	b := stablehlo.New("zoomr_slots_update")
	fn := b.Main()
	var err error
	input := func(shape xshapes.Shape, alias int) *stablehlo.Value {
		if err != nil {
			return nil
		}
		var attrs map[string]any
		if alias >= 0 {
			attrs = map[string]any{"tf.aliasing_output": int32(alias)}
		}
		var v *stablehlo.Value
		v, err = fn.InputWithAttributes(shape, attrs)
		return v
	}
	ks, vs := make([]*stablehlo.Value, L), make([]*stablehlo.Value, L)
	for i := range L {
		ks[i] = input(xshapes.Make(dt, H, c, D), i)
	}
	for i := range L {
		vs[i] = input(xshapes.Make(dt, H, D, c), L+i)
	}
	mask := input(xshapes.Make(xdtypes.Float32, c), 2*L)
	var widx, rowsK, rowsV, cidx *stablehlo.Value
	if nw > 0 {
		widx = input(xshapes.Make(xdtypes.Int32, nw, 1), -1)
		rowsK = input(xshapes.Make(dt, nw, L, H, D), -1)
		rowsV = input(xshapes.Make(dt, nw, L, H, D), -1)
	}
	if nc > 0 {
		cidx = input(xshapes.Make(xdtypes.Int32, nc, 1), -1)
	}
	if err != nil {
		return nil, err
	}
	e := &hloBuilder{fn: fn}
	set, setMask := e.setClosure(dt), e.setClosure(xdtypes.Float32)
	for li := range L {
		if nw == 0 {
			break
		}
		rk := e.layerRows(rowsK, li, nw, L, H, D, dt)
		rv := e.layerRows(rowsV, li, nw, L, H, D, dt)
		// The slot axis (1 in K, 2 in Vᵀ) is indexed; the rows' [KVH, D] is the update window.
		ks[li] = e.scatter(ks[li], widx, rk, []int{1, 2}, []int{1}, []int{1}, set)
		vs[li] = e.scatter(vs[li], widx, rv, []int{1, 2}, []int{2}, []int{2}, set)
	}
	if nw > 0 {
		mask = e.scatter(mask, widx, e.fill(1, nw), nil, []int{0}, []int{0}, setMask)
	}
	if nc > 0 {
		mask = e.scatter(mask, cidx, e.fill(0, nc), nil, []int{0}, []int{0}, setMask)
	}
	if e.err != nil {
		return nil, e.err
	}
	if err := fn.Return(append(append(ks, vs...), mask)...); err != nil {
		return nil, err
	}
	return b.Build()
}

// hloBuilder keeps the first error of a sequence of StableHLO ops (the go-xla builder returns one
// per op).
type hloBuilder struct {
	fn  *stablehlo.Function
	err error
}

// setClosure is the scatter update that keeps the new value.
func (e *hloBuilder) setClosure(dt xdtypes.DType) *stablehlo.Function {
	cl := e.fn.Closure()
	if _, err := cl.Input(xshapes.Make(dt)); err != nil && e.err == nil {
		e.err = err
	}
	upd, err := cl.Input(xshapes.Make(dt))
	if err == nil {
		err = cl.Return(upd)
	}
	if err != nil && e.err == nil {
		e.err = err
	}
	return cl
}

// layerRows is rows[:, li] as [nw, KVH, D].
func (e *hloBuilder) layerRows(rows *stablehlo.Value, li, nw, L, H, D int, dt xdtypes.DType) *stablehlo.Value {
	if e.err != nil {
		return nil
	}
	s, err := stablehlo.Slice(rows, []int{0, li, 0, 0}, []int{nw, li + 1, H, D}, []int{1, 1, 1, 1})
	if err == nil {
		s, err = stablehlo.Reshape(s, xshapes.Make(dt, nw, H, D))
	}
	e.err = err
	return s
}

// fill is a float32 [n] constant of value v.
func (e *hloBuilder) fill(v float32, n int) *stablehlo.Value {
	if e.err != nil {
		return nil
	}
	flat := make([]float32, n)
	for i := range flat {
		flat[i] = v
	}
	c, err := e.fn.ConstantFromFlatAndDimensions(flat, n)
	e.err = err
	return c
}

// scatter sets x at the slots idx [n, 1] (a vector per row, axis 1) to updates [n, window...]:
// indexed names x's slot axis, inserted the same axis (window size 1 there).
func (e *hloBuilder) scatter(x, idx, updates *stablehlo.Value, window, inserted, indexed []int, set *stablehlo.Function) *stablehlo.Value {
	if e.err != nil {
		return nil
	}
	out, err := stablehlo.Scatter(x, idx, updates, window, inserted, nil, nil, indexed, 1, false, false, set)
	e.err = err
	return out
}
