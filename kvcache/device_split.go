package kvcache

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/distributed"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// NewShardedBackendSlots is NewBackendSlots for a model split across the devices of a 1-axis mesh
// (tensor parallelism, model.WithDevices; pass the model's Mesh): each layer's K [KVH, C, D] and
// Vᵀ [KVH, D, C] are split on their KV-head axis — every device holds the KV heads its share of the
// attention reads — and the mask [C] is replicated. Context returns them as ShardedK, ShardedV and
// ShardedMask. The edits are queued and applied as by NewBackendSlots, by graphs that XLA partitions
// across the devices (GoMLX AutoSharding): a written token's rows are uploaded split by KV head too,
// so each device receives only its heads' rows. The mesh's size must divide the layout's KV heads.
func NewShardedBackendSlots(b backends.Backend, mesh *distributed.DeviceMesh) SlotsFactory {
	execs := &deviceExecs{backend: b, execs: map[string]*Exec{}, inPlace: newInPlaceUpdater(b)}
	return func(l Layout, c int) (Slots, error) {
		if err := l.Validate(); err != nil {
			return nil, err
		}
		if c < 1 {
			return nil, fmt.Errorf("%w: capacity %d", ErrConfig, c)
		}
		sp, err := newSlotSpecs(mesh, l.KVHeads, b)
		if err != nil {
			return nil, err
		}
		l.DType = l.dtype()
		s := &splitSlots{deviceSlots: deviceSlots{lay: l, x: execs}, specs: sp}
		if err := s.alloc(c); err != nil {
			return nil, err
		}
		return s, nil
	}
}

// slotSpecs are the sharding specs of a split context's buffers and update arguments.
type slotSpecs struct {
	mesh       *distributed.DeviceMesh
	n          int
	byHead     *distributed.ShardingSpec // K, Vᵀ: axis 0 (KV heads) split
	rowsByHead *distributed.ShardingSpec // written rows [n, L, KVH, D]: axis 2 split
	replicated *distributed.ShardingSpec
}

func newSlotSpecs(mesh *distributed.DeviceMesh, kvHeads int, b backends.Backend) (*slotSpecs, error) {
	if mesh == nil || mesh.Rank() != 1 {
		return nil, fmt.Errorf("%w: a split context needs a 1-axis device mesh, got %v", ErrConfig, mesh)
	}
	n, axis := mesh.NumDevices(), mesh.AxesNames()[0]
	if kvHeads%n != 0 {
		return nil, fmt.Errorf("%w: %d KV heads cannot be split across %d devices", ErrConfig, kvHeads, n)
	}
	if b.NumDevices() < n {
		return nil, fmt.Errorf("%w: a context split across %d devices on backend %q with %d", ErrConfig, n, b.Name(), b.NumDevices())
	}
	sp := &slotSpecs{mesh: mesh, n: n, replicated: distributed.NewReplicatedShardingSpec(mesh)}
	var err error
	if sp.byHead, err = distributed.BuildSpec(mesh).S(axis).Done(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if sp.rowsByHead, err = distributed.BuildSpec(mesh).R().R().S(axis).Done(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return sp, nil
}

// splitSlots is an active context split across devices. It takes its pending-edit bookkeeping
// (Write, Clear, Capacity, Bytes, Moved) from deviceSlots, whose own buffers it leaves unused.
type splitSlots struct {
	deviceSlots
	specs *slotSpecs
	k, v  []*distributed.Tensor // per layer, logical [KVH, C, D] and [KVH, D, C]
	mask  *distributed.Tensor   // [C] replicated
}

// setup makes a new executor run split: inputs and outputs as specs say (the last repeats).
func (s *splitSlots) setup(in, out []*distributed.ShardingSpec) func(*Exec) {
	return func(e *Exec) {
		e.AutoSharding(s.specs.mesh).WithInputShardingSpecs(in...).WithOutputShardingSpecs(out...)
	}
}

// bufferSpecs are the specs of the buffers in graph order: K ×L, Vᵀ ×L, mask.
func (s *splitSlots) bufferSpecs() []*distributed.ShardingSpec {
	out := make([]*distributed.ShardingSpec, 0, 2*s.lay.Layers+1)
	for range 2 * s.lay.Layers {
		out = append(out, s.specs.byHead)
	}
	return append(out, s.specs.replicated)
}

// adopt takes a run's outputs (device-major, K ×L, Vᵀ ×L, mask per device) as the buffers.
func (s *splitSlots) adopt(out []*tensors.Tensor) error {
	L, n := s.lay.Layers, s.specs.n
	per := 2*L + 1
	gather := func(i int, spec *distributed.ShardingSpec) (*distributed.Tensor, error) {
		shards := make([]*tensors.Tensor, n)
		for d := range n {
			shards[d] = out[d*per+i]
		}
		dt, err := distributed.NewTensor(spec, shards)
		return dt, internalErr(err)
	}
	k, v := make([]*distributed.Tensor, L), make([]*distributed.Tensor, L)
	var err error
	for l := range L {
		if k[l], err = gather(l, s.specs.byHead); err != nil {
			return err
		}
		if v[l], err = gather(L+l, s.specs.byHead); err != nil {
			return err
		}
	}
	mask, err := gather(2*L, s.specs.replicated)
	if err != nil {
		return err
	}
	s.k, s.v, s.mask = k, v, mask
	return nil
}

// buffers lists every device's buffers, device-major (K ×L, Vᵀ ×L, mask per device), donated to the
// graph that replaces them when donate.
func (s *splitSlots) buffers(donate bool) ([]any, error) {
	var out []any
	for d := range s.specs.n {
		for _, t := range s.deviceBufs(d) {
			if !donate {
				out = append(out, t)
				continue
			}
			dn, err := DonateTensorBuffer(t, s.x.backend, backends.DeviceNum(d))
			if err != nil {
				return nil, internalErr(err)
			}
			out = append(out, dn)
		}
	}
	return out, nil
}

// alloc makes zeroed split buffers of capacity c (by a graph: nothing is uploaded).
func (s *splitSlots) alloc(c int) error {
	l := s.lay
	args := make([]any, s.specs.n) // one dummy input per device
	for d := range args {
		args[d] = []int32{0}
	}
	out, err := s.x.runWith(fmt.Sprintf("split%d/zeros/%d/%s", s.specs.n, c, l.DType),
		s.setup([]*distributed.ShardingSpec{s.specs.replicated}, s.bufferSpecs()),
		func(in []*Node) []*Node {
			g := in[0].Graph()
			var outs []*Node
			for range l.Layers {
				outs = append(outs, Zeros(g, shapes.Make(l.DType, l.KVHeads, c, l.HeadDim)))
			}
			for range l.Layers {
				outs = append(outs, Zeros(g, shapes.Make(l.DType, l.KVHeads, l.HeadDim, c)))
			}
			return append(outs, Zeros(g, shapes.Make(dtypes.Float32, c)))
		}, args...)
	if err != nil {
		return err
	}
	if err := s.adopt(out); err != nil {
		return err
	}
	s.c = c
	s.rows, s.cleared, s.wk, s.wv = map[int]int{}, map[int]bool{}, s.wk[:0], s.wv[:0]
	return nil
}

// Context applies the pending edits and returns the split buffers.
func (s *splitSlots) Context() (Context, error) {
	if err := s.flush(); err != nil {
		return Context{}, err
	}
	return Context{ShardedK: s.k, ShardedV: s.v, ShardedMask: s.mask}, nil
}

// flush runs the split update graph over the pending writes and clears. Each device gets its KV
// heads' part of the written rows and its own copy of the slot indices.
func (s *splitSlots) flush() error {
	if len(s.rows) == 0 && len(s.cleared) == 0 {
		return nil
	}
	l, n := s.lay, s.specs.n
	p := s.pending()
	if s.x.inPlace != nil {
		ok, err := s.x.inPlace.applySplit(s, p)
		if err != nil {
			return err
		}
		if ok {
			s.moved += splitSent(l, n, p)
			s.applied()
			return nil
		}
	}
	bufs, err := s.buffers(true)
	if err != nil {
		return err
	}
	per := len(bufs) / n
	in := s.bufferSpecs()
	perDevice := make([][]any, n)
	for d := range n {
		perDevice[d] = slices.Clip(bufs[d*per : (d+1)*per]) // appended to below
	}
	if p.nw > 0 {
		in = append(in, s.specs.replicated, s.specs.rowsByHead, s.specs.rowsByHead)
		rk, err := distributed.ShardTensor(s.specs.rowsByHead, s.rowsTensor(p.rk, p.nw))
		if err != nil {
			return internalErr(err)
		}
		rv, err := distributed.ShardTensor(s.specs.rowsByHead, s.rowsTensor(p.rv, p.nw))
		if err != nil {
			return internalErr(err)
		}
		for d := range n {
			perDevice[d] = append(perDevice[d], p.widx, rk.Shards()[d], rv.Shards()[d])
		}
	}
	if p.nc > 0 {
		in = append(in, s.specs.replicated)
		for d := range n {
			perDevice[d] = append(perDevice[d], p.cidx)
		}
	}
	var args []any
	for _, a := range perDevice {
		args = append(args, a...)
	}
	kind := fmt.Sprintf("split%d/update/%d/%s/w%d/c%d", n, s.c, l.DType, p.nw, p.nc)
	out, err := s.x.runWith(kind, s.setup(in, s.bufferSpecs()),
		func(in []*Node) []*Node { return s.updateGraph(in, p.nw, p.nc) }, args...)
	if err != nil {
		return err
	}
	if err := s.adopt(out); err != nil {
		return err
	}
	s.moved += splitSent(l, n, p)
	s.applied()
	return nil
}

// splitSent is what an update of a context split across n devices uploads: the slot indices to
// every device, each written row once (each device gets its KV heads' part).
func splitSent(l Layout, n int, p pendingEdits) int64 {
	return int64(n*4*p.nw) + 2*int64(p.nw)*int64(l.TokenElems()*l.ElemBytes()) + int64(n*4*p.nc)
}

// updateGraph applies nw writes and nc clears, with the same inputs and outputs as
// deviceSlots.updateGraph. The writes scatter whole [KVH, D] windows at a slot (the slot the only
// scatter index), so the KV-head axis, split across the devices, passes through and each device
// writes its own heads with no communication. "Set" is min(·, 0), max(·, 0), then a sum, as there.
func (s *splitSlots) updateGraph(in []*Node, nw, nc int) []*Node {
	l := s.lay
	L, KVH, D := l.Layers, l.KVHeads, l.HeadDim
	ks, vs, mask := in[:L], in[L:2*L], in[2*L]
	rest := in[2*L+1:]
	g := mask.Graph()
	type scatter func(operand, indices, updates *Node, indexVectorAxis int, updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes []int, sorted, unique bool) *Node
	// set writes updates [nw, KVH, D] into x at slots idx [nw, 1] along x's slot axis (K: 1, Vᵀ: 2).
	set := func(x, idx, upd *Node, slotAxis int) *Node {
		at := func(op scatter, x, upd *Node) *Node {
			return op(x, idx, upd, 1, []int{1, 2}, []int{slotAxis}, []int{slotAxis}, false, false)
		}
		zeros := ZerosLike(upd)
		x = at(BackendScatterMin, x, zeros)
		x = at(BackendScatterMax, x, zeros)
		return at(BackendScatterSum, x, upd)
	}
	outK, outV := append([]*Node{}, ks...), append([]*Node{}, vs...)
	if nw > 0 {
		widx, rowsK, rowsV := Reshape(rest[0], nw, 1), rest[1], rest[2]
		rest = rest[3:]
		for li := range L {
			rk := Reshape(SliceAxis(rowsK, 1, AxisRange(li, li+1)), nw, KVH, D)
			rv := Reshape(SliceAxis(rowsV, 1, AxisRange(li, li+1)), nw, KVH, D)
			outK[li] = set(ks[li], widx, rk, 1)
			outV[li] = set(vs[li], widx, rv, 2)
		}
		mask = ScatterMax(mask, widx, Ones(g, shapes.Make(dtypes.Float32, nw)), false, false)
	}
	if nc > 0 {
		mask = ScatterMin(mask, Reshape(rest[0], nc, 1), Zeros(g, shapes.Make(dtypes.Float32, nc)), false, false)
	}
	return append(append(outK, outV...), mask)
}

// Resize moves the buffers to capacity c (keeping the slots below min(c, C)), split as they are.
func (s *splitSlots) Resize(c int) error {
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
	args, err := s.buffers(false)
	if err != nil {
		return err
	}
	out, err := s.x.runWith(fmt.Sprintf("split%d/resize/%d/%d/%s", s.specs.n, old, c, l.DType),
		s.setup(s.bufferSpecs(), s.bufferSpecs()),
		func(in []*Node) []*Node { return resizeGraph(in, l.Layers, old, c) }, args...)
	if err != nil {
		return err
	}
	s.release()
	if err := s.adopt(out); err != nil {
		return err
	}
	s.c = c
	return nil
}

// Release frees the buffers.
func (s *splitSlots) Release() { s.release() }

// splitBufs lists the split buffers in the update programs' order: K ×L, Vᵀ ×L, mask.
func (s *splitSlots) splitBufs() []*distributed.Tensor {
	return append(append(append(make([]*distributed.Tensor, 0, len(s.k)+len(s.v)+1), s.k...), s.v...), s.mask)
}

// deviceBufs is device d's part of splitBufs: its shards.
func (s *splitSlots) deviceBufs(d int) []*tensors.Tensor {
	dts := s.splitBufs()
	out := make([]*tensors.Tensor, len(dts))
	for i, dt := range dts {
		out[i] = dt.Shards()[d]
	}
	return out
}

func (s *splitSlots) release() {
	for _, dt := range s.splitBufs() {
		if dt != nil {
			_ = dt.Finalize()
		}
	}
	s.k, s.v, s.mask = nil, nil, nil
}
