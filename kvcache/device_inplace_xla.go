//go:build xla

package kvcache

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/gomlx/go-xla/pkg/pjrt"
	"github.com/gomlx/go-xla/pkg/stablehlo"
	xdtypes "github.com/gomlx/go-xla/pkg/types/dtypes"
	xshapes "github.com/gomlx/go-xla/pkg/types/shapes"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/distributed"
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
	runs    atomic.Int64                      // programs run (one per device per update): tests check the path
}

// apply implements inPlaceUpdater.
func (u *xlaUpdater) apply(s *deviceSlots, p pendingEdits) (bool, error) {
	l := s.lay
	big := s.bufs()
	if !u.isXLA(big[0], 0) {
		return false, nil // not an XLA buffer: the GoMLX graph does it
	}
	padRows(p, l.TokenElems())
	var small []*tensors.Tensor
	if p.nw > 0 {
		small = append(small, tensors.FromFlatDataAndDimensions(p.widx, p.nw, 1), s.rowsTensor(p.rk, p.nw), s.rowsTensor(p.rv, p.nw))
	}
	if p.nc > 0 {
		small = append(small, tensors.FromFlatDataAndDimensions(p.cidx, p.nc, 1))
	}
	defer finalize(small)
	res, err := u.run(0, l, s.c, p.nw, p.nc, big, small)
	if err != nil {
		return false, err
	}
	s.k, s.v, s.mask = res[:l.Layers], res[l.Layers:2*l.Layers], res[2*l.Layers]
	return true, nil
}

// applySplit implements inPlaceUpdater: device d's shards (its KV heads of every K and Vᵀ, its copy
// of the mask) are updated by the single-device program compiled for d, with d's share of the
// written rows; the devices need nothing from each other.
func (u *xlaUpdater) applySplit(s *splitSlots, p pendingEdits) (bool, error) {
	l, n := s.lay, s.specs.n
	if !u.isXLA(s.mask.Shards()[0], 0) {
		return false, nil
	}
	padRows(p, l.TokenElems())
	var rk, rv *distributed.Tensor
	var err error
	if p.nw > 0 {
		if rk, err = distributed.ShardTensor(s.specs.rowsByHead, s.rowsTensor(p.rk, p.nw)); err != nil {
			return false, internalErr(err)
		}
		if rv, err = distributed.ShardTensor(s.specs.rowsByHead, s.rowsTensor(p.rv, p.nw)); err != nil {
			return false, internalErr(err)
		}
	}
	shard := l
	shard.KVHeads = l.KVHeads / n
	out := make([]*tensors.Tensor, 0, n*(2*l.Layers+1)) // device-major, as adopt takes them
	for d := range n {
		big := s.deviceBufs(d)
		var small []*tensors.Tensor
		if p.nw > 0 {
			small = append(small, tensors.FromFlatDataAndDimensions(p.widx, p.nw, 1), rk.Shards()[d], rv.Shards()[d])
		}
		if p.nc > 0 {
			small = append(small, tensors.FromFlatDataAndDimensions(p.cidx, p.nc, 1))
		}
		res, err := u.run(d, shard, s.c, p.nw, p.nc, big, small)
		finalize(small)
		if err != nil {
			return false, err
		}
		out = append(out, res...)
	}
	return true, s.adopt(out)
}

// isXLA reports whether t's buffer on device d is a PJRT buffer (the program's input kind).
func (u *xlaUpdater) isXLA(t *tensors.Tensor, d int) bool {
	b, err := t.Buffer(u.backend, backends.DeviceNum(d))
	if err != nil {
		return false
	}
	_, ok := b.(*pjrt.Buffer)
	return ok
}

// run executes the update program on device d: big (K ×L, Vᵀ ×L, mask, of layout l and capacity c)
// donated and aliased to the results, small the edits' arguments. A failure after the donation loses
// the buffers: the context is gone, which the caller reports.
func (u *xlaUpdater) run(d int, l Layout, c, nw, nc int, big, small []*tensors.Tensor) ([]*tensors.Tensor, error) {
	dev := backends.DeviceNum(d)
	first, err := big[0].Buffer(u.backend, dev)
	if err != nil {
		return nil, internalErr(err)
	}
	exec, err := u.exec(first.(*pjrt.Buffer).Client(), d, l, c, nw, nc)
	if err != nil {
		return nil, internalErr(err)
	}
	inputs := make([]*pjrt.Buffer, 0, len(big)+len(small))
	donated := make([]int, len(big))
	for i, t := range big {
		b, err := t.DonateBuffer(u.backend, dev)
		if err != nil {
			return nil, internalErr(err)
		}
		inputs = append(inputs, b.(*pjrt.Buffer))
		donated[i] = i
	}
	for _, t := range small {
		b, err := t.Buffer(u.backend, dev)
		if err != nil {
			return nil, internalErr(err)
		}
		inputs = append(inputs, b.(*pjrt.Buffer))
	}
	outs, err := exec.Execute(inputs...).Donate(donated...).Done()
	if err != nil {
		return nil, internalErr(err)
	}
	u.runs.Add(1)
	res := make([]*tensors.Tensor, len(outs))
	for i, o := range outs {
		if res[i], err = tensors.FromBuffer(u.backend, o); err != nil {
			return nil, internalErr(err)
		}
	}
	return res, nil
}

// padRows makes the padding writes (widx[writes:], which repeat the last written slot) carry that
// write's rows too: a "set" scatter applies duplicate indices in any order, so they must agree (the
// graph's adds wanted zeros there).
func padRows(p pendingEdits, te int) {
	if p.nw == 0 {
		return
	}
	last := (p.writes - 1) * te
	for i := p.writes; i < p.nw; i++ {
		copy(p.rk[i*te:(i+1)*te], p.rk[last:last+te])
		copy(p.rv[i*te:(i+1)*te], p.rv[last:last+te])
	}
}

// finalize frees the argument tensors' buffers now rather than at garbage collection.
func finalize(ts []*tensors.Tensor) {
	for _, t := range ts {
		_ = t.FinalizeAll()
	}
}

// exec returns the compiled update program for these shapes, compiling it on first use.
func (u *xlaUpdater) exec(client *pjrt.Client, d int, l Layout, c, nw, nc int) (*pjrt.LoadedExecutable, error) {
	kind := fmt.Sprintf("dev%d/%d/%d/%d/%s/c%d/w%d/c%d", d, l.Layers, l.KVHeads, l.HeadDim, l.DType, c, nw, nc)
	u.mu.Lock()
	defer u.mu.Unlock()
	if e, ok := u.execs[kind]; ok {
		return e, nil
	}
	prog, err := updateProgram(l, c, nw, nc)
	if err != nil {
		return nil, err
	}
	// One replica, one partition, on device d (where the shard's buffers are).
	e, err := client.Compile().WithStableHLO(prog).WithDeviceAssignment([]int{d}).Done()
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
