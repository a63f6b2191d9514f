package model

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// maskedScore is added to attention scores of slots the caller masked out: exp(maskedScore - max) is exactly 0
// in float32, and it stays finite so sums never produce NaN.
const maskedScore = -1e9

// builder assembles the decoder graph. Every graph forward — the decode step, the prefill chunk and
// the training pass — is forward() over the same block(); they differ only in the attention they
// plug in. train switches matmuls to the fast custom-gradient form (see fastDot) and keeps every op
// differentiable.
type builder struct {
	m     *Model
	g     *Graph
	train bool
}

// attention is one variant of a block's attention: it gets layer l's post-RoPE queries q
// [lead..., H, D] and the new keys and values k, v [lead..., KVH, D] (lead: the token axes, e.g. [T] or
// [B, T]) and returns the attention output [lead..., H*D].
type attention func(l int, q, k, v *Node) *Node

// forward embeds tokens [lead...] at positions [T] (the last lead axis) and runs every decoder block
// with the given attention: the hidden states [lead..., d] before the final norm.
func (b *builder) forward(tokens, positions *Node, attend attention) *Node {
	cos, sin := b.ropeTables(positions)
	x := b.embed(tokens)
	for l := range b.m.Config.Layers {
		x = b.block(l, x, cos, sin, attend)
	}
	return x
}

// block is decoder layer l on x [lead..., d]:
//
//	x ─ RMSNorm ─ q,k,v projections (+bias: qwen2) ─ q/k RMSNorm (qwen3) ─ RoPE ─ attention ─ o_proj ─ + x
//	  ─ RMSNorm ─ SwiGLU ─ + x
func (b *builder) block(l int, x, cos, sin *Node, attend attention) *Node {
	c, p := b.m.Config, layerPrefix(l)
	h := b.rmsNorm(x, b.w(p+".input_layernorm.weight"))
	q, k, v := b.qkv(h, p, cos, sin)
	x = Add(x, b.linear(attend(l, q, k, v), p+".self_attn.o_proj", c.HasOBias()))
	return Add(x, b.mlp(b.rmsNorm(x, b.w(p+".post_attention_layernorm.weight")), p))
}

// w returns the graph node of weight `name` (HF tensor name, HF shape).
func (b *builder) w(name string) *Node {
	v, ok := b.m.vars[name]
	if !ok {
		panic(fmt.Errorf("%w: weight %q not loaded", ErrWeightMismatch, name))
	}
	return v.ValueGraph(b.g)
}

// dot contracts the last axis of lhs with the last axis of rhs, with the first nBatch axes of both as batch
// axes: lhs [batch..., m..., k] · rhs [batch..., n..., k] -> [batch..., m..., n...]. Contracting on the last
// axis of both operands is the pure-Go backend's fast layout (docs/DESIGN.md, Engines).
func (b *builder) dot(lhs, rhs *Node, nBatch int) *Node {
	if b.train {
		return fastDot(lhs, rhs, nBatch)
	}
	return dotLast(lhs, rhs, nBatch)
}

func dotLast(lhs, rhs *Node, nBatch int) *Node {
	batch := make([]int, nBatch)
	for i := range batch {
		batch[i] = i
	}
	return DotGeneral(lhs, []int{lhs.Rank() - 1}, batch, rhs, []int{rhs.Rank() - 1}, batch)
}

// linear applies HF weight `prefix.weight` [out, in] (and `prefix.bias` [out] if present) to x [..., in].
func (b *builder) linear(x *Node, prefix string, bias bool) *Node {
	y := b.dot(x, b.w(prefix+".weight"), 0)
	if bias {
		y = Add(y, toRank(b.w(prefix+".bias"), y.Rank()))
	}
	return y
}

// rmsNorm normalises x [..., d] over its last axis and scales by weight [d]. 1/Sqrt rather than Rsqrt,
// because v0.26's Rsqrt has no gradient.
func (b *builder) rmsNorm(x, weight *Node) *Node {
	ms := ReduceAndKeep(Square(x), ReduceMean, -1)
	denom := Sqrt(AddScalar(ms, b.m.Config.RMSNormEps))
	return Mul(Div(x, denom), toRank(weight, x.Rank()))
}

// toRank prepends unit axes so that x broadcasts against a tensor of the given rank (v0.26 binary ops need
// equal ranks).
func toRank(x *Node, rank int) *Node {
	if x.Rank() >= rank {
		return x
	}
	return ExpandLeftToRank(x, rank)
}

// ropeTables returns cos and sin [T, D] for positions [T] (int32): the HF rotate-half layout, where
// dimension i and i+D/2 share the angle pos*invFreq[i].
func (b *builder) ropeTables(positions *Node) (cos, sin *Node) {
	invFreq := Const(b.g, b.m.invFreq) // [D/2]
	angles := Mul(ExpandAxes(ConvertDType(positions, dtypes.Float32), -1), ExpandAxes(invFreq, 0))
	angles = Concatenate([]*Node{angles, angles}, -1) // [T, D]
	return Cos(angles), Sin(angles)
}

// rotateHalfMatrix is the constant R [D, D] with (x·Rᵀ) = rotate_half(x) = [-x2, x1]. A matmul instead of
// slices keeps RoPE differentiable on the pure-Go backend (Slice's gradient needs Pad).
func (b *builder) rotateHalfMatrix() *Node {
	d := b.m.Config.HeadDim
	half := d / 2
	r := make([][]float32, d)
	for j := range r {
		r[j] = make([]float32, d)
		if j < half {
			r[j][j+half] = -1
		} else {
			r[j][j-half] = 1
		}
	}
	return Const(b.g, r)
}

// rope rotates x [..., T, heads, D] with cos/sin [T, D] (broadcast over heads).
func (b *builder) rope(x, cos, sin *Node) *Node {
	cos = toRank(ExpandAxes(cos, -2), x.Rank()) // [..., T, 1, D]
	sin = toRank(ExpandAxes(sin, -2), x.Rank())
	rot := dotLast(x, b.rotateHalfMatrix(), 0) // constant operand: no custom gradient needed
	return Add(Mul(x, cos), Mul(rot, sin))
}

// qkv projects the normalised hidden state h [..., T, d] to post-RoPE q [..., T, H, D], k [..., T, KVH, D]
// and v [..., T, KVH, D] for layer prefix p.
func (b *builder) qkv(h *Node, p string, cos, sin *Node) (q, k, v *Node) {
	c := b.m.Config
	bias := c.HasQKVBias()
	lead := h.Shape().Dimensions[:h.Rank()-1]
	q = Reshape(b.linear(h, p+".self_attn.q_proj", bias), append(append([]int{}, lead...), c.Heads, c.HeadDim)...)
	k = Reshape(b.linear(h, p+".self_attn.k_proj", bias), append(append([]int{}, lead...), c.KVHeads, c.HeadDim)...)
	v = Reshape(b.linear(h, p+".self_attn.v_proj", bias), append(append([]int{}, lead...), c.KVHeads, c.HeadDim)...)
	if c.HasQKNorm() {
		q = b.rmsNorm(q, b.w(p+".self_attn.q_norm.weight"))
		k = b.rmsNorm(k, b.w(p+".self_attn.k_norm.weight"))
	}
	return b.rope(q, cos, sin), b.rope(k, cos, sin), v
}

// mlp is the SwiGLU feed-forward block on x [..., d].
func (b *builder) mlp(x *Node, p string) *Node {
	bias := b.m.Config.MLPBias
	gate := b.linear(x, p+".mlp.gate_proj", bias)
	up := b.linear(x, p+".mlp.up_proj", bias)
	return b.linear(Mul(Mul(gate, Sigmoid(gate)), up), p+".mlp.down_proj", bias)
}

// embed looks token ids [...] up in the embedding table -> [..., d].
func (b *builder) embed(tokens *Node) *Node {
	return Gather(b.w("model.embed_tokens.weight"), ExpandAxes(tokens, -1))
}

// lmHead applies the final norm and the output projection: x [..., d] -> logits [..., vocab].
func (b *builder) lmHead(x *Node) *Node {
	x = b.rmsNorm(x, b.w("model.norm.weight"))
	name := "lm_head.weight"
	if b.m.Config.TieEmbeddings {
		name = "model.embed_tokens.weight"
	}
	return b.dot(x, b.w(name), 0)
}

func layerPrefix(i int) string { return fmt.Sprintf("model.layers.%d", i) }

// maskBias turns a {1 attend, 0 skip} float mask into an additive score bias.
func maskBias(mask *Node) *Node {
	return MulScalar(OneMinus(mask), maskedScore)
}

// attnScale is 1/sqrt(head_dim).
func (b *builder) attnScale() float64 { return 1 / math.Sqrt(float64(b.m.Config.HeadDim)) }

// stepOutputs selects what a decode-step graph returns besides the new K/V.
type stepOutputs struct {
	attn    bool // attention probabilities over the context [L, H, C]
	greedy  bool // the argmax token [1] int32 instead of the logits [V]
	queries bool // the queries [L, H, D]
}

// stepGraph is one decode step for a single token at position pos over a caller-supplied context.
//
//	token [1] int32, pos [1] int32, mask [C] float32, ctxK[l] [KVH, C, D], ctxVT[l] [KVH, D, C]
//	-> logits [V] (or, greedy, the argmax [1] int32), newK [L, KVH, D], newV [L, KVH, D],
//	   and as asked q [L, H, D], attn [L, H, C]
func (b *builder) stepGraph(token, pos, mask *Node, ctxK, ctxVT []*Node, outs stepOutputs) []*Node {
	c := b.m.Config
	bias := maskBias(mask) // [C]
	var ks, vs, qs, attns []*Node
	x := b.forward(token, pos, func(l int, q, k, v *Node) *Node {
		q = Reshape(q, c.KVHeads, c.GroupSize(), c.HeadDim) // [KVH, G, D]
		k = Reshape(k, c.KVHeads, 1, c.HeadDim)
		v = Reshape(v, c.KVHeads, 1, c.HeadDim)
		o, attn := b.attendStep(q, k, v, ctxK[l], ctxVT[l], bias)
		ks, vs, qs = append(ks, k), append(vs, v), append(qs, q)
		if outs.attn {
			attns = append(attns, Reshape(attn, c.Heads, -1))
		}
		return Reshape(o, 1, c.Heads*c.HeadDim)
	})
	logits := Reshape(b.lmHead(x), c.VocabSize)
	if outs.greedy {
		logits = Reshape(ArgMax(logits, 0, dtypes.Int32), 1)
	}
	out := []*Node{
		logits,
		Reshape(Stack(ks, 0), c.Layers, c.KVHeads, c.HeadDim),
		Reshape(Stack(vs, 0), c.Layers, c.KVHeads, c.HeadDim),
	}
	if outs.queries {
		out = append(out, Reshape(Stack(qs, 0), c.Layers, c.Heads, c.HeadDim))
	}
	if outs.attn {
		out = append(out, Stack(attns, 0))
	}
	return out
}

// attendStep attends one query group q [KVH, G, D] over the context (ctxK [KVH, C, D], ctxVT [KVH, D, C],
// bias [C]) plus the new token itself (k, v [KVH, 1, D]). The softmax is split in two parts so that the
// context tensors are read in place, never concatenated. Returns o [KVH, G, D] and the attention
// probabilities over the context slots [KVH, G, C].
func (b *builder) attendStep(q, k, v, ctxK, ctxVT, bias *Node) (o, attn *Node) {
	scale := b.attnScale()
	ctxK = ConvertDType(ctxK, dtypes.Float32)
	ctxVT = ConvertDType(ctxVT, dtypes.Float32)
	sCtx := Add(MulScalar(dotLast(q, ctxK, 1), scale), toRank(bias, 3)) // [KVH, G, C]
	sSelf := MulScalar(ReduceAndKeep(Mul(q, k), ReduceSum, -1), scale)  // [KVH, G, 1]
	m := Max(ReduceAndKeep(sCtx, ReduceMax, -1), sSelf)
	eCtx := Exp(Sub(sCtx, m))
	eSelf := Exp(Sub(sSelf, m))
	denom := Add(ReduceAndKeep(eCtx, ReduceSum, -1), eSelf) // [KVH, G, 1]
	o = Add(dotLast(eCtx, ctxVT, 1), Mul(eSelf, v))         // [KVH, G, D]
	o = Div(o, denom)
	return o, Div(eCtx, denom)
}

// chunkGraph runs n (padded to T) tokens at consecutive positions, causally, optionally over a context.
//
//	tokens [T] int32, positions [T] int32, [mask [C], ctxK[l] [KVH, C, D], ctxVT[l] [KVH, D, C]],
//	lastIdx [1] int32 (row whose logits to return when !allLogits)
//	-> logits [T, V] or [1, V]; K, V [L, KVH, T, D]
func (b *builder) chunkGraph(tokens, positions, mask *Node, ctxK, ctxVT []*Node, lastIdx *Node, allLogits bool) []*Node {
	c := b.m.Config
	T := tokens.Shape().Dimensions[0]
	causal := causalBias(b.g, T) // [T, T]
	var ctxBias *Node
	if mask != nil {
		ctxBias = maskBias(mask)
	}
	var ks, vs []*Node
	x := b.forward(tokens, positions, func(l int, q, k, v *Node) *Node {
		qg := TransposeAllAxes(Reshape(q, T, c.KVHeads, c.GroupSize(), c.HeadDim), 1, 2, 0, 3) // [KVH, G, T, D]
		kt := TransposeAllAxes(k, 1, 0, 2)                                                     // [KVH, T, D]
		vt := TransposeAllAxes(v, 1, 2, 0)                                                     // [KVH, D, T]
		var cK, cV *Node
		if mask != nil {
			cK, cV = ctxK[l], ctxVT[l]
		}
		o := b.attendChunk(ExpandAxes(qg, 0), ExpandAxes(kt, 0), ExpandAxes(vt, 0), causal, cK, cV, ctxBias)
		ks, vs = append(ks, kt), append(vs, TransposeAllAxes(v, 1, 0, 2))
		return Reshape(TransposeAllAxes(Reshape(o, c.KVHeads, c.GroupSize(), T, c.HeadDim), 2, 0, 1, 3), T, c.Heads*c.HeadDim)
	})
	if !allLogits {
		x = Gather(x, ExpandAxes(lastIdx, -1)) // [1, d]
	}
	return []*Node{b.lmHead(x), Stack(ks, 0), Stack(vs, 0)}
}

// causalBias is the additive [T, T] bias: 0 where key <= query, maskedScore above the diagonal.
func causalBias(g *Graph, T int) *Node {
	rows := Iota(g, shapes.Make(dtypes.Int32, T, T), 0)
	cols := Iota(g, shapes.Make(dtypes.Int32, T, T), 1)
	return Where(GreaterOrEqual(rows, cols), Zeros(g, shapes.Make(dtypes.Float32, T, T)),
		MulScalar(Ones(g, shapes.Make(dtypes.Float32, T, T)), maskedScore))
}

// attendChunk is batched attention of T queries over T keys of the same chunk (with additive bias
// [B or 1, 1, 1, T, T] / [T, T]) and, optionally, over a context (ctxK [KVH, C, D], ctxVT [KVH, D, C], ctxBias [C],
// only with B = 1).
//
//	q [B, KVH, G, T, D], k [B, KVH, T, D], vt [B, KVH, D, T] -> o [B, KVH, G, T, D]
func (b *builder) attendChunk(q, k, vt, bias, ctxK, ctxVT, ctxBias *Node) *Node {
	scale := b.attnScale()
	s := Add(MulScalar(b.dot(q, k, 2), scale), toRank(bias, 5)) // [B, KVH, G, T, T]
	m := StopGradient(ReduceAndKeep(s, ReduceMax, -1))
	var sCtx *Node
	if ctxK != nil {
		ctxK = ExpandAxes(ConvertDType(ctxK, dtypes.Float32), 0)
		ctxVT = ExpandAxes(ConvertDType(ctxVT, dtypes.Float32), 0)
		sCtx = Add(MulScalar(dotLast(q, ctxK, 2), scale), toRank(ctxBias, 5)) // [1, KVH, G, T, C]
		m = Max(m, ReduceAndKeep(sCtx, ReduceMax, -1))
	}
	e := Exp(Sub(s, m))
	denom := ReduceAndKeep(e, ReduceSum, -1)
	o := b.dot(e, vt, 2) // [B, KVH, G, T, D]
	if sCtx != nil {
		eCtx := Exp(Sub(sCtx, m))
		denom = Add(denom, ReduceAndKeep(eCtx, ReduceSum, -1))
		o = Add(o, dotLast(eCtx, ctxVT, 2))
	}
	return Div(o, denom)
}

// trainForward is the training pass: tokens [B, T] at positions 0..T-1, attnMask [B, T, T] (1 where query
// row may attend key column) -> TrainOutputs (logits [B, T, V], per-layer Q [B, H, T, D] and K
// [B, KVH, T, D]).
func (b *builder) trainForward(tokens, attnMask *Node) TrainOutputs {
	c := b.m.Config
	dims := tokens.Shape().Dimensions
	B, T := dims[0], dims[1]
	positions := Iota(b.g, shapes.Make(dtypes.Int32, T), 0)
	bias := ExpandAxes(maskBias(attnMask), 1, 2) // [B, 1, 1, T, T]
	var out TrainOutputs
	x := b.forward(tokens, positions, func(l int, q, k, v *Node) *Node {
		qg := TransposeAllAxes(Reshape(q, B, T, c.KVHeads, c.GroupSize(), c.HeadDim), 0, 2, 3, 1, 4) // [B, KVH, G, T, D]
		kt := TransposeAllAxes(k, 0, 2, 1, 3)                                                        // [B, KVH, T, D]
		vt := TransposeAllAxes(v, 0, 2, 3, 1)                                                        // [B, KVH, D, T]
		out.Q = append(out.Q, Reshape(qg, B, c.Heads, T, c.HeadDim))
		out.K = append(out.K, kt)
		o := b.attendChunk(qg, kt, vt, bias, nil, nil, nil) // [B, KVH, G, T, D]
		return Reshape(TransposeAllAxes(o, 0, 3, 1, 2, 4), B, T, c.Heads*c.HeadDim)
	})
	out.Logits = b.lmHead(x)
	return out
}
