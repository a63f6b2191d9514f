package model

import (
	"context"
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/distributed"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
)

// KV is the attention context the caller supplies for a step: per-layer key and value regions of a fixed
// capacity C plus a validity mask. The model reads them in place; it never keeps or modifies them.
type KV struct {
	K    []*tensors.Tensor // per layer [KVHeads, C, HeadDim], float32 or bfloat16, post-RoPE keys
	V    []*tensors.Tensor // per layer [KVHeads, HeadDim, C]: TRANSPOSED so both attention products contract on last axes
	Mask *tensors.Tensor   // [C] float32: 1 attend to the slot, 0 skip it (shared by all layers and heads)

	// ShardedK, ShardedV and ShardedMask are, for a model split across devices (WithDevices), the same
	// context already split in the devices' buffers (kvcache.NewShardedBackendSlots), in place of K, V
	// and Mask: K and V split on their KV-head axis across the model's devices, the mask replicated.
	ShardedK, ShardedV []*distributed.Tensor
	ShardedMask        *distributed.Tensor
}

// Capacity is C, or 0 for an empty context.
func (kv *KV) Capacity() int {
	switch {
	case kv == nil:
		return 0
	case kv.Mask != nil:
		return kv.Mask.Shape().Dimensions[0]
	case kv.ShardedMask != nil:
		return kv.ShardedMask.Shape().Dimensions[0]
	}
	return 0
}

// dtype is the context's storage dtype.
func (kv *KV) dtype() dtypes.DType {
	if kv.ShardedK != nil {
		return kv.ShardedK[0].DType()
	}
	return kv.K[0].DType()
}

// validate checks the context against the config: layer count, shapes, dtypes; a split context also
// against the model's devices.
func (kv *KV) validate(c *Config, devices int) error {
	if kv.Mask == nil && kv.ShardedMask != nil {
		if err := kv.validateSplit(c, devices); err != nil {
			return err
		}
		return validateKVShapes(c, kv.ShardedMask.Shape(), shapesOf(kv.ShardedK), shapesOf(kv.ShardedV))
	}
	if kv.Mask == nil {
		return fmt.Errorf("%w: KV.Mask must be a float32 [C] tensor", ErrInvalidInput)
	}
	return validateKVShapes(c, kv.Mask.Shape(), shapesOf(kv.K), shapesOf(kv.V))
}

// validateKVShapes checks a context's shapes and dtypes (nil layers as invalid shapes) against the config.
func validateKVShapes(c *Config, mask shapes.Shape, k, v []shapes.Shape) error {
	if mask.Rank() != 1 || mask.DType != dtypes.Float32 {
		return fmt.Errorf("%w: KV.Mask must be a float32 [C] tensor", ErrInvalidInput)
	}
	capacity := mask.Dimensions[0]
	if capacity < 1 {
		return fmt.Errorf("%w: KV capacity %d must be >= 1", ErrInvalidInput, capacity)
	}
	if len(k) != c.Layers || len(v) != c.Layers {
		return fmt.Errorf("%w: KV has %d K and %d V layers, model has %d", ErrInvalidInput, len(k), len(v), c.Layers)
	}
	dtype := k[0].DType
	if dtype != dtypes.Float32 && dtype != dtypes.BFloat16 {
		return fmt.Errorf("%w: KV dtype %s (want float32 or bfloat16)", ErrInvalidInput, dtype)
	}
	wantK := []int{c.KVHeads, capacity, c.HeadDim}
	wantV := []int{c.KVHeads, c.HeadDim, capacity}
	for l := range c.Layers {
		if !k[l].Ok() || !v[l].Ok() {
			return fmt.Errorf("%w: KV layer %d is nil", ErrInvalidInput, l)
		}
		if got := k[l].Dimensions; !slices.Equal(got, wantK) || k[l].DType != dtype {
			return fmt.Errorf("%w: KV.K[%d] is %s, want %s%v", ErrInvalidInput, l, k[l], dtype, wantK)
		}
		if got := v[l].Dimensions; !slices.Equal(got, wantV) || v[l].DType != dtype {
			return fmt.Errorf("%w: KV.V[%d] is %s, want %s%v", ErrInvalidInput, l, v[l], dtype, wantV)
		}
	}
	return nil
}

// shapesOf is the shapes of tensors (an invalid shape for a nil one).
func shapesOf[T interface {
	comparable
	Shape() shapes.Shape
}](ts []T) []shapes.Shape {
	out := make([]shapes.Shape, len(ts))
	var none T
	for i, t := range ts {
		if t != none {
			out[i] = t.Shape()
		}
	}
	return out
}

func (kv *KV) args() []any {
	out := make([]any, 0, 1+2*len(kv.K))
	out = append(out, kv.Mask)
	for _, t := range kv.K {
		out = append(out, t)
	}
	for _, t := range kv.V {
		out = append(out, t)
	}
	return out
}

// StepOptions select optional outputs of Step.
type StepOptions struct {
	// ReturnAttention fills StepResult.Attn (for attention-based policies such as H2O). It uses a second
	// compiled graph.
	ReturnAttention bool
	// Greedy returns the most likely next token in StepResult.Next and leaves Logits nil: the graph
	// engine picks it where the logits are (on the device) instead of copying the vocabulary's logits
	// back. The host engine computes the logits anyway and returns both.
	Greedy bool
	// SkipQueries leaves StepResult.Q nil (the graph engine does not copy the queries back): a decoder
	// needs them only at re-selection points.
	SkipQueries bool
}

// StepResult is what one decode step produces.
type StepResult struct {
	Logits []float32 // [Vocab] (nil with StepOptions.Greedy on the graph engine)
	// Next is the argmax of the logits (ties: the lowest id): the greedy next token.
	Next int
	K, V []float32 // [Layers, KVHeads, HeadDim]: the new token's post-RoPE key and its value
	Q    []float32 // [Layers, Heads, HeadDim]: post-RoPE queries (a selector scores summaries with them); nil with SkipQueries
	Attn []float32 // [Layers, Heads, C]: attention probabilities over the context slots (ReturnAttention only)
	// TransferBytes is what the step copied between the host and the backend's buffers: inputs not
	// already there, outputs read back (0 on the host engine, whose data never leaves Go memory).
	TransferBytes int64
}

func (m *Model) checkToken(token int) error {
	if token < 0 || token >= m.Config.VocabSize {
		return fmt.Errorf("%w: token id %d outside [0, %d)", ErrInvalidInput, token, m.Config.VocabSize)
	}
	return nil
}

// StepRequest is one sequence's decode step: its token at absolute position Pos over its context KV
// (in which the token itself is not: the step attends to it separately).
type StepRequest struct {
	Token, Pos int
	KV         KV
	Options    StepOptions
}

// Step runs one token at absolute position pos over the context kv, in which the token itself is not
// (the step attends to it separately). The caller appends the returned K/V to its cache.
func (m *Model) Step(ctx context.Context, token, pos int, kv KV, opts StepOptions) (*StepResult, error) {
	res, err := m.StepBatch(ctx, []StepRequest{{Token: token, Pos: pos, KV: kv, Options: opts}})
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// StepBatch runs one decode step for each request, each over its own context: several generations
// sharing a pass over the weights. The host engine multiplies all the requests' rows by each weight
// matrix at once (the weights are read once per step, not once per request); the graph engine runs
// the requests whose contexts have the same capacity and dtype as one batched step graph (batch sizes
// in powers of two, compiled once per size). Results are in request order and equal what Step gives
// for each alone (up to float32 rounding of the batched products).
func (m *Model) StepBatch(ctx context.Context, reqs []StepRequest) (res []*StepResult, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(reqs) == 0 {
		return nil, fmt.Errorf("%w: an empty batch", ErrInvalidInput)
	}
	for i := range reqs {
		if err := m.checkStep(&reqs[i]); err != nil {
			if len(reqs) > 1 {
				err = fmt.Errorf("request %d: %w", i, err)
			}
			return nil, err
		}
	}
	defer recoverBackend(&err)
	if m.engine == EngineHost {
		return m.hostSteps(reqs)
	}
	return m.graphSteps(reqs)
}

// checkStep validates one step request.
func (m *Model) checkStep(r *StepRequest) error {
	if err := m.checkToken(r.Token); err != nil {
		return err
	}
	if r.Pos < 0 || r.Pos >= 1<<30 {
		return fmt.Errorf("%w: position %d", ErrInvalidInput, r.Pos)
	}
	return r.KV.validate(m.Config, m.Devices())
}

// recoverBackend turns a panic in a kernel or a graph into ErrBackend at the API boundary.
func recoverBackend(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %v", ErrBackend, r)
	}
}

// hostSteps runs the requests as one host pass, one segment (one row) each.
func (m *Model) hostSteps(reqs []StepRequest) ([]*StepResult, error) {
	c := m.Config
	L, H, KVH, D := c.Layers, c.Heads, c.KVHeads, c.HeadDim
	segs := make([]hostSeg, len(reqs))
	res := make([]*StepResult, len(reqs))
	tokens := make([]int, len(reqs))
	rows := make([]int, len(reqs))
	for i := range reqs {
		r := &reqs[i]
		segs[i] = hostSeg{n: 1, pos0: r.Pos, kv: &r.KV}
		res[i] = &StepResult{K: make([]float32, L*KVH*D), V: make([]float32, L*KVH*D), Q: make([]float32, L*H*D)}
		if r.Options.ReturnAttention {
			res[i].Attn = make([]float32, L*H*r.KV.Capacity())
			segs[i].attn = res[i].Attn
		}
		tokens[i], rows[i] = r.Token, i
	}
	p := m.newHostPass(segs)
	p.emit = func(l int) {
		for i, r := range res {
			copy(r.K[l*KVH*D:(l+1)*KVH*D], p.k[i*KVH*D:])
			copy(r.V[l*KVH*D:(l+1)*KVH*D], p.v[i*KVH*D:])
			copy(r.Q[l*H*D:(l+1)*H*D], p.q[i*H*D:])
		}
	}
	if err := p.run(tokens); err != nil {
		return nil, err
	}
	V := c.VocabSize
	logits := make([]float32, len(reqs)*V)
	p.logits(logits, rows)
	for i, r := range res {
		r.Logits = logits[i*V : (i+1)*V : (i+1)*V]
		r.Next = Argmax(r.Logits)
		if reqs[i].Options.SkipQueries {
			r.Q = nil
		}
	}
	return res, nil
}

// graphStep runs one step graph.
func (m *Model) graphStep(r StepRequest) (*StepResult, error) {
	L := m.Config.Layers
	outs := stepOutputs{attn: r.Options.ReturnAttention, greedy: r.Options.Greedy, queries: !r.Options.SkipQueries}
	kind := fmt.Sprintf("step%+v", outs)
	e, err := m.exec(kind, fmt.Sprintf("C=%d,%s", r.KV.Capacity(), r.KV.dtype()), argLayout{lead: 2, contexts: 1}, func(_ *mlctx.Context, in []*Node) []*Node {
		b := &builder{m: m, g: in[0].Graph()}
		return b.stepGraph(in[0], in[1], in[2], in[3:3+L], in[3+L:3+2*L], outs)
	})
	if err != nil {
		return nil, err
	}
	args, release, err := m.execArgs([]any{[]int32{int32(r.Token)}, []int32{int32(r.Pos)}}, &r.KV)
	if err != nil {
		return nil, err
	}
	defer release()
	up := m.uploads(args)
	out, err := run(e, args...)
	if err != nil {
		return nil, err
	}
	out = m.firstDevice(out)
	res := &StepResult{TransferBytes: up}
	device := !m.backend.HasSharedBuffers() // reading an output copies it from the device
	read := func(t *tensors.Tensor) []float32 {
		x := m.flat(t)
		if device {
			res.TransferBytes += int64(4 * len(x))
		}
		return x
	}
	if outs.greedy {
		next := tensors.MustCopyFlatData[int32](out[0])
		out[0].FinalizeAll()
		res.Next = int(next[0])
		if device {
			res.TransferBytes += 4
		}
	} else {
		res.Logits = read(out[0])
		res.Next = Argmax(res.Logits)
	}
	res.K, res.V = read(out[1]), read(out[2])
	rest := out[3:]
	if outs.queries {
		res.Q, rest = read(rest[0]), rest[1:]
	}
	if outs.attn {
		res.Attn = read(rest[0])
	}
	m.transfer.Add(res.TransferBytes)
	return res, nil
}

// uploads is what running a graph on args (device-major on several devices) will copy to the
// backend: the values that are not already in its buffers (none on a backend that shares Go memory).
func (m *Model) uploads(args []any) int64 {
	if m.backend.HasSharedBuffers() {
		return 0
	}
	var n int64
	perDevice := len(args) / m.Devices()
	for i, a := range args {
		switch x := a.(type) {
		case *tensors.Tensor:
			if !x.IsOnDevice(backends.DeviceNum(i / perDevice)) {
				n += int64(x.Memory())
			}
		case []int32:
			n += int64(4 * len(x))
		}
	}
	return n
}

// PrefillResult is what Prefill produces for n tokens.
type PrefillResult struct {
	N      int
	Logits []float32 // [N, Vocab] with allLogits, else [Vocab] for the last token
	K, V   []float32 // [Layers, KVHeads, N, HeadDim]
}

// minChunk is the smallest padded chunk length of the graph engine; chunks are padded to powers of two
// so that prompts of similar length share a compiled graph.
const minChunk = 16

// Prefill runs tokens at positions startPos, startPos+1, ... causally, attending also to kv when it is
// non-nil (chunked prefill over a cache). With allLogits it returns every position's logits (used to check
// the model against references), otherwise only the last one's.
func (m *Model) Prefill(ctx context.Context, tokens []int, startPos int, kv *KV, allLogits bool) (res *PrefillResult, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := len(tokens)
	if n == 0 {
		return nil, fmt.Errorf("%w: empty token list", ErrInvalidInput)
	}
	if startPos < 0 || startPos+n >= 1<<30 {
		return nil, fmt.Errorf("%w: positions [%d, %d)", ErrInvalidInput, startPos, startPos+n)
	}
	for i, t := range tokens {
		if err := m.checkToken(t); err != nil {
			return nil, fmt.Errorf("token %d: %w", i, err)
		}
	}
	if kv != nil && kv.Capacity() == 0 {
		kv = nil
	}
	if kv != nil {
		if err := kv.validate(m.Config, m.Devices()); err != nil {
			return nil, err
		}
	}
	defer recoverBackend(&err)
	if m.engine == EngineHost {
		return m.hostPrefill(tokens, startPos, kv, allLogits)
	}
	return m.graphPrefill(tokens, startPos, kv, allLogits)
}

// hostPrefill runs a prefill chunk as one host pass (one segment of n rows).
func (m *Model) hostPrefill(tokens []int, startPos int, kv *KV, allLogits bool) (*PrefillResult, error) {
	c := m.Config
	n, L, KVH, D := len(tokens), c.Layers, c.KVHeads, c.HeadDim
	p := m.newHostPass([]hostSeg{{n: n, pos0: startPos, kv: kv}})
	res := &PrefillResult{N: n, K: make([]float32, L*KVH*n*D), V: make([]float32, L*KVH*n*D)}
	// [n, KVH, D] rows -> [L, KVH, n, D]
	transposeOut := func(dst, src []float32, l int) {
		for t := range n {
			for h := range KVH {
				copy(dst[((l*KVH+h)*n+t)*D:((l*KVH+h)*n+t+1)*D], src[(t*KVH+h)*D:(t*KVH+h+1)*D])
			}
		}
	}
	p.emit = func(l int) {
		transposeOut(res.K, p.k, l)
		transposeOut(res.V, p.v, l)
	}
	if err := p.run(tokens); err != nil {
		return nil, err
	}
	rows := []int{n - 1}
	if allLogits {
		rows = make([]int, n)
		for i := range rows {
			rows[i] = i
		}
	}
	res.Logits = make([]float32, len(rows)*c.VocabSize)
	p.logits(res.Logits, rows)
	return res, nil
}

// graphPrefill runs a prefill chunk graph (tokens padded to a power of two).
func (m *Model) graphPrefill(tokens []int, startPos int, kv *KV, allLogits bool) (*PrefillResult, error) {
	n, L := len(tokens), m.Config.Layers
	T := minChunk
	for T < n {
		T *= 2
	}
	ids := make([]int32, T)
	positions := make([]int32, T)
	for i := range T {
		if i < n {
			ids[i] = int32(tokens[i])
		}
		positions[i] = int32(startPos + i) // padding continues the positions; causality hides it
	}
	withCtx := kv != nil
	kind := fmt.Sprintf("chunk(ctx=%v,all=%v)", withCtx, allLogits)
	sig := fmt.Sprintf("T=%d", T)
	layout := argLayout{lead: 3}
	if withCtx {
		sig += fmt.Sprintf(",C=%d,%s", kv.Capacity(), kv.dtype())
		layout.contexts = 1
	}
	e, err := m.exec(kind, sig, layout, func(_ *mlctx.Context, in []*Node) []*Node {
		b := &builder{m: m, g: in[0].Graph()}
		var mask *Node
		var ks, vs []*Node
		if withCtx {
			mask, ks, vs = in[3], in[4:4+L], in[4+L:4+2*L]
		}
		return b.chunkGraph(in[0], in[1], mask, ks, vs, in[2], allLogits)
	})
	if err != nil {
		return nil, err
	}
	var kvs []*KV
	if withCtx {
		kvs = append(kvs, kv)
	}
	args, release, err := m.execArgs([]any{ids, positions, []int32{int32(n - 1)}}, kvs...)
	if err != nil {
		return nil, err
	}
	defer release()
	m.transfer.Add(m.uploads(args))
	out, err := run(e, args...)
	if err != nil {
		return nil, err
	}
	out = m.firstDevice(out)
	res := &PrefillResult{N: n, Logits: m.flat(out[0])}
	if allLogits {
		res.Logits = res.Logits[:n*m.Config.VocabSize]
	}
	res.K = unpad(m.flat(out[1]), L*m.Config.KVHeads, T, n, m.Config.HeadDim)
	res.V = unpad(m.flat(out[2]), L*m.Config.KVHeads, T, n, m.Config.HeadDim)
	return res, nil
}

// unpad keeps the first n of T rows in each of `outer` blocks of [T, d].
func unpad(x []float32, outer, T, n, d int) []float32 {
	if T == n {
		return x
	}
	out := make([]float32, 0, outer*n*d)
	for o := range outer {
		out = append(out, x[o*T*d:o*T*d+n*d]...)
	}
	return out
}

// Forward runs one causal pass over tokens from position 0 and returns logits [len(tokens), Vocab].
func (m *Model) Forward(ctx context.Context, tokens []int) ([]float32, error) {
	res, err := m.Prefill(ctx, tokens, 0, nil, true)
	if err != nil {
		return nil, err
	}
	return res.Logits, nil
}
