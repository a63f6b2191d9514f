package model

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/zoomr-go/zoomr/model/quant"
)

// The host engine: decode steps and prefill chunks as Go code over the weights as stored (F32, F16,
// BF16 or GGUF blocks), with model/quant's kernels for the weight products (AVX2 assembly on amd64)
// and gonum's BLAS for the attention products, reading the caller's context tensors in place.
//
// Why: a decode step is almost all matrix-vector products, one pass over every weight; it is bound by
// memory bandwidth, so the weights must be streamed in their stored (smallest) form by vectorised
// kernels. The pure-Go backend's graph kernels are scalar Go. The arithmetic is the graph's, in the
// same order per element; the engines differ in float32 rounding of the sums (and, for quantized
// weights, where the host engine follows ggml: activations quantized per product).
//
// One pass handles several sequences at once: rows of tokens grouped in segments, each segment one
// sequence's consecutive tokens over its own context. A decode step is one segment of one row; a
// prefill chunk one segment of n rows; a batched step (several generations sharing a weight pass)
// one segment per sequence. Every weight product runs once over all rows (quant.MatMul reads the
// weights once for them); attention runs per segment.

// hostLayer holds one decoder block's weights.
type hostLayer struct {
	inNorm, postNorm           []float32
	q, k, v, o, gate, up, down quant.Matrix
	qBias, kBias, vBias, oBias []float32 // nil without biases
	gateBias, upBias, downBias []float32
	qNorm, kNorm               []float32 // qwen3 only
}

// hostWeights are the weights the host engine reads: matrices as stored, vectors widened.
type hostWeights struct {
	embed  quant.Matrix // [V, d]
	lmHead quant.Matrix // [V, d]: the embedding itself when tied
	norm   []float32
	layers []hostLayer
	run    *quant.Runner
}

// newHostWeights views the stored weights for the host engine (matrices are not copied).
func newHostWeights(c *Config, s storedWeights) (*hostWeights, error) {
	var firstErr error
	vec := func(name string) []float32 {
		t, ok := s.t[name]
		if !ok {
			return nil
		}
		f, err := floats(t)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return f
	}
	mat := s.matrix
	h := &hostWeights{embed: mat("model.embed_tokens.weight"), norm: vec("model.norm.weight"), run: quant.DefaultRunner()}
	h.lmHead = h.embed
	if !c.TieEmbeddings {
		h.lmHead = mat("lm_head.weight")
	}
	for l := range c.Layers {
		p := layerPrefix(l)
		h.layers = append(h.layers, hostLayer{
			inNorm: vec(p + ".input_layernorm.weight"), postNorm: vec(p + ".post_attention_layernorm.weight"),
			q: mat(p + ".self_attn.q_proj.weight"), k: mat(p + ".self_attn.k_proj.weight"),
			v: mat(p + ".self_attn.v_proj.weight"), o: mat(p + ".self_attn.o_proj.weight"),
			gate: mat(p + ".mlp.gate_proj.weight"), up: mat(p + ".mlp.up_proj.weight"),
			down:  mat(p + ".mlp.down_proj.weight"),
			qBias: vec(p + ".self_attn.q_proj.bias"), kBias: vec(p + ".self_attn.k_proj.bias"),
			vBias: vec(p + ".self_attn.v_proj.bias"), oBias: vec(p + ".self_attn.o_proj.bias"),
			gateBias: vec(p + ".mlp.gate_proj.bias"), upBias: vec(p + ".mlp.up_proj.bias"),
			downBias: vec(p + ".mlp.down_proj.bias"),
			qNorm:    vec(p + ".self_attn.q_norm.weight"), kNorm: vec(p + ".self_attn.k_norm.weight"),
		})
	}
	return h, firstErr
}

// mul sets y [n, w.Rows] = x [n, w.Cols] · wᵀ (+ bias per row).
func (h *hostWeights) mul(y []float32, n int, w quant.Matrix, x, bias []float32) {
	if err := h.run.MatMul(y, w, x, n); err != nil {
		panic(fmt.Errorf("%w: %w", ErrBackend, err)) // shapes are fixed at load: a bug, recovered at the API
	}
	if bias != nil {
		for r := range n {
			row := y[r*w.Rows : (r+1)*w.Rows]
			for i, b := range bias {
				row[i] += b
			}
		}
	}
}

// hostSeg is one sequence's rows in a host pass: n consecutive tokens from position pos0 (rows
// [row0, row0+n) of the pass), attending causally to each other and to the sequence's context.
type hostSeg struct {
	row0, n, pos0 int
	kv            *KV       // nil: no context
	mask          []float32 // [C] a copy of the context's mask (nil without context)
	runs          []span    // its valid runs
	attn          []float32 // [L, H, C]: the last row's attention probabilities, or nil
	ctxK, ctxVT   []float32 // this layer's context, float32 (read in place, or converted from bfloat16)
	convK, convVT []float32 // conversion buffers of a bfloat16 context
}

// hostPass is one host forward pass over the rows of its segments. Buffers are row-major.
type hostPass struct {
	m             *Model
	w             *hostWeights
	segs          []hostSeg
	rows          int
	x, h, o, down []float32 // [rows, d]
	q, attnOut    []float32 // [rows, H·D]
	k, v          []float32 // [rows, KVH·D]: this layer's keys (post-RoPE) and values
	gate, up      []float32 // [rows, I]
	cos, sin      []float32 // [rows, D/2]
	scratch       [][]float32
	layer         int
	scale         float32
	emit          func(l int) // copies this layer's q/k/v out once RoPE is applied (set by the caller)
}

// newHostPass prepares a pass over the segments (rows and positions set; contexts validated by the
// caller).
func (m *Model) newHostPass(segs []hostSeg) *hostPass {
	c := m.Config
	rows := 0
	maxC := 0
	for i := range segs {
		segs[i].row0 = rows
		rows += segs[i].n
		maxC = max(maxC, segs[i].kv.Capacity())
	}
	d, H, KVH, D, I := c.Hidden, c.Heads, c.KVHeads, c.HeadDim, c.Intermediate
	p := &hostPass{
		m: m, w: m.host, segs: segs, rows: rows,
		x: make([]float32, rows*d), h: make([]float32, rows*d), o: make([]float32, rows*d), down: make([]float32, rows*d),
		q: make([]float32, rows*H*D), attnOut: make([]float32, rows*H*D),
		k: make([]float32, rows*KVH*D), v: make([]float32, rows*KVH*D),
		gate: make([]float32, rows*I), up: make([]float32, rows*I),
		cos: make([]float32, rows*D/2), sin: make([]float32, rows*D/2),
		scale: float32(1 / math.Sqrt(float64(D))),
	}
	maxN := 0
	for _, s := range segs {
		maxN = max(maxN, s.n)
	}
	// One attention scratch per worker: one token's query group's scores over a context and a chunk.
	for range max(1, min(rows*KVH, runtime.GOMAXPROCS(0))) {
		p.scratch = append(p.scratch, make([]float32, c.GroupSize()*(maxC+maxN)))
	}
	half := len(m.invFreq)
	for _, s := range segs {
		for t := range s.n {
			pos := float32(s.pos0 + t)
			r := s.row0 + t
			for i, f := range m.invFreq {
				angle := float64(pos * f)
				p.cos[r*half+i], p.sin[r*half+i] = float32(math.Cos(angle)), float32(math.Sin(angle))
			}
		}
	}
	return p
}

// run embeds the tokens (one per row) and runs every block; p.x then holds the last hidden states.
func (p *hostPass) run(tokens []int) error {
	d := p.m.Config.Hidden
	for r, id := range tokens {
		if err := quant.DequantizeRow(p.w.embed, id, p.x[r*d:(r+1)*d]); err != nil {
			return fmt.Errorf("%w: embedding row %d: %w", ErrBackend, id, err)
		}
	}
	for i := range p.segs {
		if err := p.segs[i].readMask(); err != nil {
			return err
		}
	}
	for l, lw := range p.w.layers {
		p.layer = l
		p.attentionInputs(lw)
		p.emit(l)
		if err := p.attendLayer(l); err != nil {
			return err
		}
		p.finishBlock(lw)
	}
	return nil
}

// readMask copies the segment's context mask and finds its valid runs.
func (s *hostSeg) readMask() error {
	if s.kv == nil || s.kv.Capacity() == 0 {
		s.kv = nil
		return nil
	}
	err := tensors.ConstFlatData(s.kv.Mask, func(mask []float32) {
		s.mask = append(s.mask[:0], mask...)
	})
	if err != nil {
		return fmt.Errorf("%w: reading the context mask: %w", ErrInvalidInput, err)
	}
	s.runs = validRuns(s.runs, s.mask)
	return nil
}

// attentionInputs computes this layer's post-RoPE q, k and v for every row.
func (p *hostPass) attentionInputs(lw hostLayer) {
	c, n := p.m.Config, p.rows
	D, H, KVH := c.HeadDim, c.Heads, c.KVHeads
	p.rmsNormRows(p.h, p.x, lw.inNorm)
	p.w.mul(p.q, n, lw.q, p.h, lw.qBias)
	p.w.mul(p.k, n, lw.k, p.h, lw.kBias)
	p.w.mul(p.v, n, lw.v, p.h, lw.vBias)
	if lw.qNorm != nil {
		for i := 0; i < n*H*D; i += D {
			rmsNormInto(p.q[i:i+D], p.q[i:i+D], lw.qNorm, c.RMSNormEps)
		}
		for i := 0; i < n*KVH*D; i += D {
			rmsNormInto(p.k[i:i+D], p.k[i:i+D], lw.kNorm, c.RMSNormEps)
		}
	}
	half := D / 2
	for r := range n {
		cos, sin := p.cos[r*half:(r+1)*half], p.sin[r*half:(r+1)*half]
		ropeInPlace(p.q[r*H*D:(r+1)*H*D], D, cos, sin)
		ropeInPlace(p.k[r*KVH*D:(r+1)*KVH*D], D, cos, sin)
	}
}

// finishBlock is the rest of a block after attention: output projection, residual, MLP, residual.
func (p *hostPass) finishBlock(lw hostLayer) {
	n := p.rows
	p.w.mul(p.o, n, lw.o, p.attnOut, lw.oBias)
	addInto(p.x, p.o)
	p.rmsNormRows(p.h, p.x, lw.postNorm)
	p.w.mul(p.gate, n, lw.gate, p.h, lw.gateBias)
	p.w.mul(p.up, n, lw.up, p.h, lw.upBias)
	for i, g := range p.gate {
		p.gate[i] = g * float32(1/(1+math.Exp(-float64(g)))) * p.up[i]
	}
	p.w.mul(p.down, n, lw.down, p.gate, lw.downBias)
	addInto(p.x, p.down)
}

func addInto(dst, x []float32) {
	for i, v := range x {
		dst[i] += v
	}
}

// rmsNormRows normalises each row of x [rows, d] into dst.
func (p *hostPass) rmsNormRows(dst, x, w []float32) {
	d := len(w)
	for r := range len(x) / d {
		rmsNormInto(dst[r*d:(r+1)*d], x[r*d:(r+1)*d], w, p.m.Config.RMSNormEps)
	}
}

// attendLayer fills p.attnOut with every row's attention over its segment's context and chunk. The
// segments' context tensors are opened (read in place, or converted from bfloat16) for the whole
// layer, and the (segment, row, KV head) jobs spread over the workers.
func (p *hostPass) attendLayer(l int) error {
	return p.withContexts(0, l, func() { p.attendJobs() })
}

// withContexts opens segment i's context tensors of layer l (and the next segments', recursively)
// and runs f with all of them readable.
func (p *hostPass) withContexts(i, l int, f func()) error {
	if i == len(p.segs) {
		f()
		return nil
	}
	s := &p.segs[i]
	if s.kv == nil {
		s.ctxK, s.ctxVT = nil, nil
		return p.withContexts(i+1, l, f)
	}
	var inner error
	err := s.kv.K[l].ConstFlatData(func(kFlat any) {
		inner = s.kv.V[l].ConstFlatData(func(vFlat any) {
			s.ctxK, s.convK = contextFloats(kFlat, s.convK)
			s.ctxVT, s.convVT = contextFloats(vFlat, s.convVT)
			inner = p.withContexts(i+1, l, f)
		})
	})
	if err == nil {
		err = inner
	}
	if err != nil {
		return fmt.Errorf("%w: reading the context: %w", ErrInvalidInput, err)
	}
	return nil
}

// contextFloats returns a context tensor's values as float32: the tensor's own storage when it is
// float32, else converted into buf (bfloat16 contexts; buf is returned for reuse).
func contextFloats(flat any, buf []float32) (vals, reuse []float32) {
	switch x := flat.(type) {
	case []float32:
		return x, buf
	case []bfloat16.BFloat16:
		if cap(buf) < len(x) {
			buf = make([]float32, len(x))
		}
		buf = buf[:len(x)]
		for i, b := range x {
			buf[i] = b.Float32()
		}
		return buf, buf
	}
	return nil, buf
}

// job is one row's attention for the query heads of one KV head.
type job struct{ seg, t, kh int }

// attendJobs runs every (segment, row, KV head) job, spread over the workers.
func (p *hostPass) attendJobs() {
	KVH := p.m.Config.KVHeads
	var jobs []job
	work := 0
	for si, s := range p.segs {
		for t := range s.n {
			for kh := range KVH {
				jobs = append(jobs, job{si, t, kh})
			}
		}
		work += s.n * KVH * (len(s.mask) + s.n)
	}
	if len(jobs) == 1 || work*p.m.Config.GroupSize()*p.m.Config.HeadDim < parallelWork {
		for _, j := range jobs {
			p.attendOne(j, p.scratch[0])
		}
		return
	}
	workers := min(len(jobs), len(p.scratch))
	var wg sync.WaitGroup
	for wkr := range workers {
		scratch := p.scratch[wkr]
		wg.Go(func() {
			for i := wkr; i < len(jobs); i += workers {
				p.attendOne(jobs[i], scratch)
			}
		})
	}
	wg.Wait()
}

// parallelWork is the attention work (multiply-adds) from which a layer's jobs are split across
// goroutines: below it a hand-off costs more than the work.
const parallelWork = 1 << 16

// attendOne is row t of segment j.seg attending with the G query heads of KV head j.kh.
func (p *hostPass) attendOne(j job, scratch []float32) {
	c := p.m.Config
	D, H, KVH, G := c.HeadDim, c.Heads, c.KVHeads, c.GroupSize()
	s := &p.segs[j.seg]
	C := len(s.mask)
	ctx := hostContext{mask: s.mask, runs: s.runs}
	if C > 0 {
		ctx.k, ctx.vt = s.ctxK[j.kh*C*D:(j.kh+1)*C*D], s.ctxVT[j.kh*D*C:(j.kh+1)*D*C]
	}
	r := s.row0 + j.t
	// The segment's own tokens 0..t, rows of [rows, KVH, D] at this head.
	own := hostOwn{
		k: gemmView(j.t+1, D, KVH*D, p.k[(s.row0*KVH+j.kh)*D:]),
		v: gemmView(j.t+1, D, KVH*D, p.v[(s.row0*KVH+j.kh)*D:]),
	}
	var probs []float32
	if s.attn != nil && j.t == s.n-1 {
		probs = s.attn[(p.layer*H+j.kh*G)*C : (p.layer*H+(j.kh+1)*G)*C]
	}
	q := p.q[r*H*D+j.kh*G*D : r*H*D+(j.kh+1)*G*D]
	out := p.attnOut[r*H*D+j.kh*G*D : r*H*D+(j.kh+1)*G*D]
	attendGroup(out, q, own, ctx, p.scale, scratch[:G*C], scratch[G*C:G*(C+j.t+1)], probs)
}

// logits applies the final norm and the LM head to the listed rows, into dst [len(rows), V].
func (p *hostPass) logits(dst []float32, rows []int) {
	d := p.m.Config.Hidden
	x := make([]float32, len(rows)*d)
	for i, r := range rows {
		rmsNormInto(x[i*d:(i+1)*d], p.x[r*d:(r+1)*d], p.w.norm, p.m.Config.RMSNormEps)
	}
	p.w.mul(dst, len(rows), p.w.lmHead, x, nil)
}

// rmsNormInto sets dst = x / sqrt(mean(x²) + eps) · w.
func rmsNormInto(dst, x, w []float32, eps float64) {
	var ss float32
	for _, v := range x {
		ss += v * v
	}
	inv := float32(1 / math.Sqrt(float64(ss/float32(len(x)))+eps))
	for i, v := range x {
		dst[i] = v * inv * w[i]
	}
}

// ropeInPlace rotates each head of x [heads, D] by the angles pos·invFreq (HF rotate-half layout).
func ropeInPlace(x []float32, headDim int, cos, sin []float32) {
	half := headDim / 2
	for h := 0; h < len(x); h += headDim {
		a, b := x[h:h+half], x[h+half:h+headDim]
		for i := range half {
			x1, x2 := a[i], b[i]
			a[i] = x1*cos[i] - x2*sin[i]
			b[i] = x2*cos[i] + x1*sin[i]
		}
	}
}
