package model

// Tensor parallelism: one model split across the devices of one backend (WithDevices), by GoMLX's
// distributed execution (AutoSharding). We only say how each weight and each input is split; XLA's
// sharding propagation (Shardy) partitions the graphs and inserts the collectives. The graphs are the
// same builder.forward/block as on one device.
//
// What is split (mesh axis "tp", n devices), in the Hugging Face [out, in] layout:
//
//	q/k/v/gate/up projections  [out, in]  column-parallel: S(tp) on out (each device: H/n heads, KVH/n KV heads, I/n of the MLP)
//	their biases               [out]      S(tp)
//	o/down projections         [out, in]  row-parallel: S(tp) on in (partial sums, all-reduced by XLA)
//	embeddings, LM head, norms, o/down biases, q/k norms              replicated
//	context K [KVH, C, D], Vᵀ [KVH, D, C]                             S(tp) on KVH (a KV head lives on one device)
//	mask [C], token ids, positions; every output                      replicated
//
// A context arrives either already split in the devices' buffers (KV.ShardedK/ShardedV, what
// kvcache.NewShardedBackendSlots keeps) or as whole tensors, which are split on the host per call.

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/distributed"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
)

// MeshAxis is the name of the device-mesh axis a model with WithDevices is split along.
const MeshAxis = "tp"

// WithDevices splits the model across the first n devices of its backend (tensor parallelism; see
// devices.go): n must divide the KV heads and the MLP width, and the backend must have n devices (XLA:
// several GPUs, or the CPU plugin's simulated devices). It needs the graph engine; n = 1 is the default.
func WithDevices(n int) Option { return func(o *loadOptions) { o.devices = n } }

// deviceSplit is how a model is split across devices: the mesh and the sharding specs it uses.
type deviceSplit struct {
	n    int
	mesh *distributed.DeviceMesh
	// replicated: whole on every device; column: axis 0 split; row: axis 1 split. The context's K and
	// Vᵀ are split on axis 0 (column).
	replicated, column, row *distributed.ShardingSpec
}

// newDeviceSplit checks that the model can be split n ways on backend b and builds the specs; nil for
// one device.
func newDeviceSplit(n int, c *Config, b backends.Backend, engine Engine) (*deviceSplit, error) {
	switch {
	case n == 0 || n == 1:
		return nil, nil
	case n < 0:
		return nil, fmt.Errorf("%w: WithDevices(%d)", ErrDevices, n)
	case b.NumDevices() < n:
		return nil, fmt.Errorf("%w: WithDevices(%d), but backend %q has %d device(s)", ErrDevices, n, b.Name(), b.NumDevices())
	case engine == EngineHost:
		return nil, fmt.Errorf("%w: WithDevices(%d) needs the graph engine (the host engine runs on the CPU alone)", ErrDevices, n)
	case c.KVHeads%n != 0:
		return nil, fmt.Errorf("%w: %d KV heads cannot be split across %d devices (n must divide the KV heads)", ErrDevices, c.KVHeads, n)
	case c.Intermediate%n != 0:
		return nil, fmt.Errorf("%w: MLP width %d cannot be split across %d devices", ErrDevices, c.Intermediate, n)
	}
	mesh, err := distributed.NewDeviceMesh([]int{n}, []string{MeshAxis})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDevices, err)
	}
	s := &deviceSplit{n: n, mesh: mesh, replicated: distributed.NewReplicatedShardingSpec(mesh)}
	if s.column, err = distributed.BuildSpec(mesh).S(MeshAxis).Done(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDevices, err)
	}
	if s.row, err = distributed.BuildSpec(mesh).R().S(MeshAxis).Done(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDevices, err)
	}
	return s, nil
}

// weightSpec is how HF tensor `name` is split.
func (s *deviceSplit) weightSpec(name string) *distributed.ShardingSpec {
	for _, p := range []string{".q_proj.", ".k_proj.", ".v_proj.", ".gate_proj.", ".up_proj."} {
		if strings.Contains(name, p) {
			return s.column // weight [out, in] and bias [out] alike: axis 0
		}
	}
	for _, p := range []string{".o_proj.weight", ".down_proj.weight"} {
		if strings.HasSuffix(name, p) {
			return s.row
		}
	}
	return s.replicated
}

// Devices is the number of devices the model is split across (1 unless WithDevices).
func (m *Model) Devices() int {
	if m.split == nil {
		return 1
	}
	return m.split.n
}

// Mesh is the device mesh of a model split across devices (axis MeshAxis), nil on one device: a
// context kept split across the same devices (kvcache.NewShardedBackendSlots) is made over it.
func (m *Model) Mesh() *distributed.DeviceMesh {
	if m.split == nil {
		return nil
	}
	return m.split.mesh
}

// shardVariables splits every weight variable per its spec and moves each shard to its device; the
// host keeps no copy.
func (m *Model) shardVariables() error {
	for name, v := range m.vars {
		whole, err := v.Value()
		if err != nil {
			return fmt.Errorf("%w: weight %q: %w", ErrBackend, name, err)
		}
		dt, err := distributed.ShardTensor(m.split.weightSpec(name), whole)
		if err != nil {
			return fmt.Errorf("%w: splitting weight %q %s across %d devices: %w", ErrDevices, name, whole.Shape(), m.split.n, err)
		}
		if err := v.SetDistributedValue(dt); err != nil { // frees the whole tensor
			return fmt.Errorf("%w: weight %q: %w", ErrBackend, name, err)
		}
		for d, shard := range dt.Shards() {
			if err := shard.MaterializeOnDevice(m.backend, true, backends.DeviceNum(d)); err != nil {
				return fmt.Errorf("%w: weight %q to device %d: %w", ErrBackend, name, d, err)
			}
			shard.FinalizeLocal() // a no-op on shared buffers, whose storage is the device's
		}
	}
	return nil
}

// DeviceWeightBytes is, per device, the bytes of the weight buffers that device holds, read from the
// backend's own buffers (their shapes as the backend reports them, and the device each is on). On one
// device it is [WeightBytes()].
func (m *Model) DeviceWeightBytes() ([]int64, error) {
	if m.split == nil {
		return []int64{m.WeightBytes()}, nil
	}
	out := make([]int64, m.split.n)
	for name, v := range m.vars {
		dt, err := v.DistributedValue()
		if err != nil {
			return nil, fmt.Errorf("%w: weight %q: %w", ErrBackend, name, err)
		}
		for d, shard := range dt.Shards() {
			buf, err := shard.Buffer(m.backend, backends.DeviceNum(d)) // no copy: already there
			if err != nil {
				return nil, fmt.Errorf("%w: weight %q on device %d: %w", ErrBackend, name, d, err)
			}
			shape, err := m.backend.BufferShape(buf)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrBackend, err)
			}
			on, err := m.backend.BufferDeviceNum(buf)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrBackend, err)
			}
			out[on] += int64(shape.Memory())
		}
	}
	return out, nil
}

// argLayout is how a graph's inputs are laid out: lead inputs (ids, positions, …), then up to
// contexts contexts, each a mask, K per layer and Vᵀ per layer.
type argLayout struct{ lead, contexts int }

// shardExec makes e run on the model's devices: the lead inputs, the masks and every output
// replicated, each context's K and Vᵀ split on their KV-head axis.
func (m *Model) shardExec(e *mlctx.Exec, args argLayout) error {
	s := m.split
	e.AutoSharding(s.mesh)
	if err := e.SetDefaultShardingSpec(s.replicated); err != nil {
		return fmt.Errorf("%w: %w", ErrBackend, err)
	}
	in := make([]*distributed.ShardingSpec, 0, args.lead+args.contexts*(1+2*m.Config.Layers))
	for range args.lead {
		in = append(in, s.replicated)
	}
	for range args.contexts {
		in = append(in, s.replicated) // the mask
		for range 2 * m.Config.Layers {
			in = append(in, s.column)
		}
	}
	if len(in) == 0 {
		in = append(in, s.replicated)
	}
	e.WithInputShardingSpecs(in...).WithOutputShardingSpecs(s.replicated)
	return nil
}

// execArgs lays out a graph's arguments: lead (ids, positions: Go slices) then the contexts kvs. On
// several devices they are device-major (every argument of device 0, then of device 1, …): each
// device gets its own copy of lead and of the masks, and its shard of K and Vᵀ — the shards a split
// context already holds, or a split of whole tensors made here (freed by release).
func (m *Model) execArgs(lead []any, kvs ...*KV) (args []any, release func(), err error) {
	var releases []func()
	release = func() {
		for _, r := range releases {
			r()
		}
	}
	if m.split == nil {
		for _, kv := range kvs {
			lead = append(lead, kv.args()...)
		}
		return lead, release, nil
	}
	n := m.split.n
	perDevice := make([][]any, n)
	for d := range perDevice {
		perDevice[d] = append([]any{}, lead...)
	}
	for _, kv := range kvs {
		ctxArgs, rel, err := m.splitContext(kv)
		if err != nil {
			release()
			return nil, func() {}, err
		}
		releases = append(releases, rel)
		for d := range perDevice {
			perDevice[d] = append(perDevice[d], ctxArgs[d]...)
		}
	}
	for _, a := range perDevice {
		args = append(args, a...)
	}
	return args, release, nil
}

// splitContext returns each device's context arguments: mask, K per layer, Vᵀ per layer.
func (m *Model) splitContext(kv *KV) (perDevice [][]any, release func(), err error) {
	n := m.split.n
	perDevice = make([][]any, n)
	var made []*tensors.Tensor
	release = func() {
		for _, t := range made {
			_ = t.FinalizeAll()
		}
	}
	if kv.ShardedK != nil {
		for d := range n {
			perDevice[d] = append(perDevice[d], kv.ShardedMask.Shards()[d])
			for _, k := range kv.ShardedK {
				perDevice[d] = append(perDevice[d], k.Shards()[d])
			}
			for _, v := range kv.ShardedV {
				perDevice[d] = append(perDevice[d], v.Shards()[d])
			}
		}
		return perDevice, release, nil
	}
	// Whole tensors: device 0 reads the caller's mask, the others a copy; K and Vᵀ are split here.
	perDevice[0] = append(perDevice[0], kv.Mask)
	for d := 1; d < n; d++ {
		c, err := kv.Mask.LocalClone()
		if err != nil {
			release()
			return nil, func() {}, fmt.Errorf("%w: %w", ErrBackend, err)
		}
		made = append(made, c)
		perDevice[d] = append(perDevice[d], c)
	}
	for _, layers := range [][]*tensors.Tensor{kv.K, kv.V} {
		for _, t := range layers {
			dt, err := distributed.ShardTensor(m.split.column, t)
			if err != nil {
				release()
				return nil, func() {}, fmt.Errorf("%w: splitting the context %s: %w", ErrDevices, t.Shape(), err)
			}
			made = append(made, dt.Shards()...)
			for d, shard := range dt.Shards() {
				perDevice[d] = append(perDevice[d], shard)
			}
		}
	}
	return perDevice, release, nil
}

// firstDevice keeps device 0's copy of a run's replicated outputs and frees the other devices' copies.
func (m *Model) firstDevice(out []*tensors.Tensor) []*tensors.Tensor {
	if m.split == nil {
		return out
	}
	per := len(out) / m.split.n
	for _, t := range out[per:] {
		_ = t.FinalizeAll()
	}
	return out[:per]
}

// validateSplit checks what is particular to a context already split across devices: every part is
// there, K and Vᵀ are split on their KV-head axis and the mask is replicated, on this model's devices.
func (kv *KV) validateSplit(c *Config, devices int) error {
	if devices < 2 {
		return fmt.Errorf("%w: a context split across devices, for a model on one device", ErrInvalidInput)
	}
	if len(kv.ShardedK) != c.Layers || len(kv.ShardedV) != c.Layers {
		return fmt.Errorf("%w: the split context has %d K and %d V layers, model has %d", ErrInvalidInput, len(kv.ShardedK), len(kv.ShardedV), c.Layers)
	}
	if kv.ShardedMask.NumShards() != devices || !kv.ShardedMask.ShardingSpec().IsReplicated() {
		return fmt.Errorf("%w: the split context's mask must be replicated on %d devices, got %s on %d",
			ErrInvalidInput, devices, kv.ShardedMask.ShardingSpec(), kv.ShardedMask.NumShards())
	}
	for l := range c.Layers {
		for _, t := range []*distributed.Tensor{kv.ShardedK[l], kv.ShardedV[l]} {
			if t == nil {
				return fmt.Errorf("%w: split context layer %d is nil", ErrInvalidInput, l)
			}
			if t.NumShards() != devices || t.ShardingSpec().NumDevicesShardingAxis(0) != devices {
				return fmt.Errorf("%w: split context layer %d must be split on its KV-head axis across %d devices, got %s on %d",
					ErrInvalidInput, l, devices, t.ShardingSpec(), t.NumShards())
			}
		}
	}
	return nil
}
