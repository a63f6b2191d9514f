package model

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
)

// maxStepBatch is the largest batch one step graph takes; larger groups run in several.
const maxStepBatch = 16

// graphSteps runs the requests on the graph engine: a request asking for attention runs alone (the
// single-step graph); the others are grouped by context capacity, dtype and outputs, and each group
// runs as batched step graphs of a power-of-two size (padded by repeating its last request).
func (m *Model) graphSteps(reqs []StepRequest) ([]*StepResult, error) {
	res := make([]*StepResult, len(reqs))
	groups := map[string][]int{}
	var order []string
	for i, r := range reqs {
		if r.Options.ReturnAttention || len(reqs) == 1 {
			var err error
			if res[i], err = m.graphStep(r); err != nil {
				return nil, err
			}
			continue
		}
		key := fmt.Sprintf("C=%d,%s,%+v", r.KV.Capacity(), r.KV.dtype(), r.Options)
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], i)
	}
	for _, key := range order {
		idx := groups[key]
		for len(idx) > 0 {
			n := min(len(idx), maxStepBatch)
			batch := make([]StepRequest, n)
			for j, i := range idx[:n] {
				batch[j] = reqs[i]
			}
			out, err := m.graphStepBatch(batch)
			if err != nil {
				return nil, err
			}
			for j, i := range idx[:n] {
				res[i] = out[j]
			}
			idx = idx[n:]
		}
	}
	return res, nil
}

// graphStepBatch runs requests of one capacity, dtype and options as one batched step graph.
func (m *Model) graphStepBatch(reqs []StepRequest) ([]*StepResult, error) {
	c, L := m.Config, m.Config.Layers
	B := 1
	for B < len(reqs) {
		B *= 2
	}
	o := reqs[0].Options
	outs := stepOutputs{greedy: o.Greedy, queries: !o.SkipQueries}
	kind := fmt.Sprintf("stepBatch%+v", outs)
	per := 1 + 2*L // inputs per sequence: mask, K, V
	e, err := m.exec(kind, fmt.Sprintf("B=%d,C=%d,%s", B, reqs[0].KV.Capacity(), reqs[0].KV.dtype()), argLayout{lead: 2, contexts: maxStepBatch}, func(_ *mlctx.Context, in []*Node) []*Node {
		// The exec is shared by every batch size (one graph per input shapes): read B from the inputs.
		b := &builder{m: m, g: in[0].Graph()}
		var ctxs []stepContext
		for s := range in[0].Shape().Dimensions[0] {
			x := in[2+s*per:]
			ctxs = append(ctxs, stepContext{mask: x[0], k: x[1 : 1+L], vt: x[1+L : 1+2*L]})
		}
		return b.stepBatchGraph(in[0], in[1], ctxs, outs)
	})
	if err != nil {
		return nil, err
	}
	tokens, positions := make([]int32, B), make([]int32, B)
	kvs := make([]*KV, B)
	for s := range B {
		r := &reqs[min(s, len(reqs)-1)] // padding repeats the last request
		tokens[s], positions[s], kvs[s] = int32(r.Token), int32(r.Pos), &r.KV
	}
	args, release, err := m.execArgs([]any{tokens, positions}, kvs...)
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
	device := !m.backend.HasSharedBuffers()
	var moved int64
	read := func(t *tensors.Tensor) []float32 {
		x := m.flat(t)
		if device {
			moved += int64(4 * len(x))
		}
		return x
	}
	res := make([]*StepResult, len(reqs))
	for i := range res {
		res[i] = &StepResult{}
	}
	if outs.greedy {
		next := tensors.MustCopyFlatData[int32](out[0])
		out[0].FinalizeAll()
		for i, r := range res {
			r.Next = int(next[i])
		}
		if device {
			moved += int64(4 * B)
		}
	} else {
		logits, V := read(out[0]), c.VocabSize
		for i, r := range res {
			r.Logits = logits[i*V : (i+1)*V : (i+1)*V]
			r.Next = Argmax(r.Logits)
		}
	}
	split := func(x []float32, dst func(*StepResult) *[]float32) {
		n := len(x) / B
		for i, r := range res {
			*dst(r) = x[i*n : (i+1)*n : (i+1)*n]
		}
	}
	split(read(out[1]), func(r *StepResult) *[]float32 { return &r.K })
	split(read(out[2]), func(r *StepResult) *[]float32 { return &r.V })
	if outs.queries {
		split(read(out[3]), func(r *StepResult) *[]float32 { return &r.Q })
	}
	// The batch's transfer is shared evenly by its requests.
	each := (up + moved) / int64(len(reqs))
	for _, r := range res {
		r.TransferBytes = each
	}
	m.transfer.Add(up + moved)
	return res, nil
}

// stepContext is one sequence's context inside a batched step graph.
type stepContext struct {
	mask  *Node
	k, vt []*Node
}

// stepBatchGraph is B decode steps at once: token b at position pos[b] over context ctxs[b]. The rows
// share every weight product (forward over [B] rows, each at its own position); attention runs per
// row over its own context.
//
//	tokens [B] int32, pos [B] int32, ctxs[b]: mask [C], K[l] [KVH, C, D], VT[l] [KVH, D, C]
//	-> logits [B, V] (or, greedy, the argmaxes [B] int32), K, V [B, L, KVH, D], and q [B, L, H, D] if asked
func (b *builder) stepBatchGraph(tokens, positions *Node, ctxs []stepContext, outs stepOutputs) []*Node {
	c := b.m.Config
	B := len(ctxs)
	biases := make([]*Node, B)
	for s, cx := range ctxs {
		biases[s] = maskBias(cx.mask)
	}
	var ks, vs, qs []*Node // per layer [B, KVH, D], [B, KVH, D], [B, H, D]
	x := b.forward(tokens, positions, func(l int, q, k, v *Node) *Node {
		var os []*Node
		for s, cx := range ctxs {
			qs1 := Reshape(Slice(q, AxisRange(s, s+1)), c.KVHeads, c.GroupSize(), c.HeadDim)
			ks1 := Reshape(Slice(k, AxisRange(s, s+1)), c.KVHeads, 1, c.HeadDim)
			vs1 := Reshape(Slice(v, AxisRange(s, s+1)), c.KVHeads, 1, c.HeadDim)
			o, _ := b.attendStep(qs1, ks1, vs1, cx.k[l], cx.vt[l], biases[s])
			os = append(os, Reshape(o, 1, c.Heads*c.HeadDim))
		}
		ks, vs, qs = append(ks, k), append(vs, v), append(qs, q)
		return Concatenate(os, 0) // [B, H*D]
	})
	logits := b.lmHead(x) // [B, V]
	if outs.greedy {
		logits = ArgMax(logits, 1, dtypes.Int32)
	}
	out := []*Node{logits, Stack(ks, 1), Stack(vs, 1)} // [B, L, KVH, D]
	if outs.queries {
		out = append(out, Stack(qs, 1)) // [B, L, H, D]
	}
	return out
}
