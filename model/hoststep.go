package model

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// hostPass is one host forward pass over n consecutive tokens at positions pos0.., attending to a
// caller's context (maybe empty) and causally to each other: a decode step is n = 1, a prefill chunk
// any n. Buffers are row-major over the tokens.
type hostPass struct {
	m             *Model
	n, pos0       int
	x, h, o, down []float32 // [n, d]
	q, attnOut    []float32 // [n, H·D]
	k, v          []float32 // [n, KVH·D]: this layer's keys (post-RoPE) and values of the n tokens
	gate, up      []float32 // [n, I]
	cos, sin      []float32 // [n, D/2]
	mask          []float32 // [C], nil without a context
	runs          []span
	ctxK, ctxVT   []float32 // this layer's context, read in place
	scratch       [][]float32
	attn          []float32 // [L, H, C]: the last token's attention probabilities, or nil
	layer         int
	scale         float32
	emit          func(l int) // copies this layer's q/k/v out once RoPE is applied (set by the caller)
}

// newHostPass returns a pass for n tokens over a context of capacity C; decode-step passes (n = 1)
// come from a pool, so a decoding loop allocates only its results.
func (m *Model) newHostPass(n, pos0, C int) *hostPass {
	c := m.Config
	if n == 1 {
		if p, _ := m.hostPool.Get().(*hostPass); p != nil && len(p.scratch[0]) >= c.GroupSize()*(C+1) {
			p.pos0 = pos0
			p.setRope()
			return p
		}
	}
	d, H, KVH, D, I := c.Hidden, c.Heads, c.KVHeads, c.HeadDim, c.Intermediate
	p := &hostPass{
		m: m, n: n, pos0: pos0,
		x: make([]float32, n*d), h: make([]float32, n*d), o: make([]float32, n*d), down: make([]float32, n*d),
		q: make([]float32, n*H*D), attnOut: make([]float32, n*H*D),
		k: make([]float32, n*KVH*D), v: make([]float32, n*KVH*D),
		gate: make([]float32, n*I), up: make([]float32, n*I),
		cos: make([]float32, n*D/2), sin: make([]float32, n*D/2),
		scale: float32(1 / math.Sqrt(float64(D))),
	}
	// One attention scratch per worker: the scores of one token's query group over the context and
	// the chunk.
	for range max(1, min(n*KVH, runtime.GOMAXPROCS(0))) {
		p.scratch = append(p.scratch, make([]float32, c.GroupSize()*(C+n)))
	}
	p.setRope()
	return p
}

// release returns a decode-step pass to the pool, dropping its references to the caller's data.
func (p *hostPass) release() {
	if p.n == 1 {
		p.ctxK, p.ctxVT, p.mask, p.attn = nil, nil, nil, nil
		p.emit = nil
		p.m.hostPool.Put(p)
	}
}

// setRope fills the cos/sin tables of the pass's positions.
func (p *hostPass) setRope() {
	half := len(p.m.invFreq)
	for t := range p.n {
		pos := float32(p.pos0 + t)
		for i, f := range p.m.invFreq {
			angle := float64(pos * f)
			p.cos[t*half+i], p.sin[t*half+i] = float32(math.Cos(angle)), float32(math.Sin(angle))
		}
	}
}

// run embeds the tokens and runs every block; p.x then holds the last hidden states.
func (p *hostPass) run(tokens []int, kv *KV) error {
	c, w := p.m.Config, p.m.host
	d := c.Hidden
	for t, id := range tokens {
		copy(p.x[t*d:(t+1)*d], w.embed.data[id*d:(id+1)*d])
	}
	if kv == nil {
		return p.layers(nil)
	}
	var err error
	if mErr := tensors.ConstFlatData(kv.Mask, func(mask []float32) {
		p.mask, p.runs = mask, validRuns(p.runs, mask)
		err = p.layers(kv)
	}); mErr != nil {
		return fmt.Errorf("%w: reading the context mask: %w", ErrInvalidInput, mErr)
	}
	return err
}

// layers runs the decoder blocks.
func (p *hostPass) layers(kv *KV) error {
	c, n := p.m.Config, p.n
	D, H, KVH := c.HeadDim, c.Heads, c.KVHeads
	for l, lw := range p.m.host.layers {
		p.layer = l
		p.rmsNormRows(p.h, p.x, lw.inNorm)
		mulRows(p.q, n, lw.q, p.h, lw.qBias)
		mulRows(p.k, n, lw.k, p.h, lw.kBias)
		mulRows(p.v, n, lw.v, p.h, lw.vBias)
		if lw.qNorm != nil {
			for i := 0; i < n*H*D; i += D {
				rmsNormInto(p.q[i:i+D], p.q[i:i+D], lw.qNorm, c.RMSNormEps)
			}
			for i := 0; i < n*KVH*D; i += D {
				rmsNormInto(p.k[i:i+D], p.k[i:i+D], lw.kNorm, c.RMSNormEps)
			}
		}
		half := D / 2
		for t := range n {
			cos, sin := p.cos[t*half:(t+1)*half], p.sin[t*half:(t+1)*half]
			ropeInPlace(p.q[t*H*D:(t+1)*H*D], D, cos, sin)
			ropeInPlace(p.k[t*KVH*D:(t+1)*KVH*D], D, cos, sin)
		}
		p.emit(l)
		if err := p.attendLayer(kv, l); err != nil {
			return err
		}
		p.finishBlock(lw)
	}
	return nil
}

// finishBlock is the rest of a block after attention: output projection, residual, MLP, residual.
func (p *hostPass) finishBlock(lw hostLayer) {
	n := p.n
	mulRows(p.o, n, lw.o, p.attnOut, lw.oBias)
	addInto(p.x, p.o)
	p.rmsNormRows(p.h, p.x, lw.postNorm)
	mulRows(p.gate, n, lw.gate, p.h, lw.gateBias)
	mulRows(p.up, n, lw.up, p.h, lw.upBias)
	for i, g := range p.gate {
		p.gate[i] = g * float32(1/(1+math.Exp(-float64(g)))) * p.up[i]
	}
	mulRows(p.down, n, lw.down, p.gate, lw.downBias)
	addInto(p.x, p.down)
}

func addInto(dst, x []float32) {
	for i, v := range x {
		dst[i] += v
	}
}

// rmsNormRows normalises each row of x [n, d] into dst.
func (p *hostPass) rmsNormRows(dst, x, w []float32) {
	d := len(w)
	for t := range p.n {
		rmsNormInto(dst[t*d:(t+1)*d], x[t*d:(t+1)*d], w, p.m.Config.RMSNormEps)
	}
}

// attendLayer fills p.attnOut with every token's attention over the context and the chunk so far.
func (p *hostPass) attendLayer(kv *KV, l int) error {
	if kv == nil {
		p.attendTokens()
		return nil
	}
	return withContext(kv.K[l], kv.V[l], func(ctxK, ctxVT []float32) {
		p.ctxK, p.ctxVT = ctxK, ctxVT
		p.attendTokens()
	})
}

// attendTokens runs the attention of every (token, KV head) pair, spread over the workers.
func (p *hostPass) attendTokens() {
	c := p.m.Config
	KVH := c.KVHeads
	jobs := p.n * KVH
	C := len(p.mask)
	if jobs == 1 || (p.n == 1 && c.GroupSize()*C*c.HeadDim < parallelRows) {
		for j := range jobs {
			p.attendOne(j/KVH, j%KVH, p.scratch[0])
		}
		return
	}
	// Workers take jobs in turn; a decode step (n = 1) splits its KV heads over goroutines.
	workers := min(jobs, len(p.scratch))
	var wg sync.WaitGroup
	for wkr := range workers {
		scratch := p.scratch[wkr]
		wg.Go(func() {
			for j := wkr; j < jobs; j += workers {
				p.attendOne(j/KVH, j%KVH, scratch)
			}
		})
	}
	wg.Wait()
}

// attendOne is token t's attention for the G query heads of KV head kh.
func (p *hostPass) attendOne(t, kh int, scratch []float32) {
	c := p.m.Config
	D, H, KVH, G := c.HeadDim, c.Heads, c.KVHeads, c.GroupSize()
	C := len(p.mask)
	ctx := hostContext{mask: p.mask, runs: p.runs}
	if C > 0 {
		ctx.k, ctx.vt = p.ctxK[kh*C*D:(kh+1)*C*D], p.ctxVT[kh*D*C:(kh+1)*D*C]
	}
	// The chunk's own tokens 0..t, rows of [n, KVH, D] at this head.
	own := hostOwn{
		k: blas32.General{Rows: t + 1, Cols: D, Stride: KVH * D, Data: p.k[kh*D:]},
		v: blas32.General{Rows: t + 1, Cols: D, Stride: KVH * D, Data: p.v[kh*D:]},
	}
	var probs []float32
	if p.attn != nil && t == p.n-1 {
		probs = p.attn[(p.layer*H+kh*G)*C : (p.layer*H+(kh+1)*G)*C]
	}
	q := p.q[t*H*D+kh*G*D : t*H*D+(kh+1)*G*D]
	out := p.attnOut[t*H*D+kh*G*D : t*H*D+(kh+1)*G*D]
	attendGroup(out, q, own, ctx, p.scale, scratch[:G*C], scratch[G*C:G*(C+t+1)], probs)
}

// hostContext is one KV head's context: keys [C, D], transposed values [D, C], the mask and its runs.
type hostContext struct {
	k, vt, mask []float32
	runs        []span
}

// hostOwn is the keys and values [m, D] a token attends to besides the context: itself and, in a
// prefill chunk, the chunk's earlier tokens.
type hostOwn struct{ k, v blas32.General }

// hostStep runs Step on the host; kv is validated and float32.
func (m *Model) hostStep(token, pos int, kv KV, withAttn bool) (*StepResult, error) {
	c := m.Config
	L, H, KVH, D, C := c.Layers, c.Heads, c.KVHeads, c.HeadDim, kv.Capacity()
	p := m.newHostPass(1, pos, C)
	defer p.release()
	res := &StepResult{
		Logits: make([]float32, c.VocabSize),
		K:      make([]float32, L*KVH*D), V: make([]float32, L*KVH*D), Q: make([]float32, L*H*D),
	}
	p.emit = func(l int) {
		copy(res.K[l*KVH*D:], p.k)
		copy(res.V[l*KVH*D:], p.v)
		copy(res.Q[l*H*D:], p.q)
	}
	if withAttn {
		res.Attn = make([]float32, L*H*C)
		p.attn = res.Attn
	}
	if err := p.run([]int{token}, &kv); err != nil {
		return nil, err
	}
	p.logits(res.Logits, false)
	return res, nil
}

// hostPrefill runs Prefill on the host: tokens are checked, kv (nil for none) validated and float32.
func (m *Model) hostPrefill(tokens []int, startPos int, kv *KV, allLogits bool) *PrefillResult {
	c := m.Config
	n, L, KVH, D := len(tokens), c.Layers, c.KVHeads, c.HeadDim
	p := m.newHostPass(n, startPos, kv.Capacity())
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
	if kv != nil && kv.Capacity() == 0 {
		kv = nil
	}
	_ = p.run(tokens, kv) // only a context read can fail, and the context was validated
	if allLogits {
		res.Logits = make([]float32, n*c.VocabSize)
	} else {
		res.Logits = make([]float32, c.VocabSize)
	}
	p.logits(res.Logits, allLogits)
	return res
}

// logits applies the final norm and the LM head to the last token (or to every token).
func (p *hostPass) logits(dst []float32, all bool) {
	w, d := p.m.host, p.m.Config.Hidden
	p.rmsNormRows(p.h, p.x, w.norm)
	if all {
		mulRows(dst, p.n, w.lmHead, p.h, nil)
		return
	}
	mulVec(dst, w.lmHead, p.h[(p.n-1)*d:], nil)
}

// withContext reads one layer's context keys [KVH, C, D] and transposed values [KVH, D, C] in place.
func withContext(k, vt *tensors.Tensor, f func(ctxK, ctxVT []float32)) error {
	var inner error
	err := tensors.ConstFlatData(k, func(kFlat []float32) {
		inner = tensors.ConstFlatData(vt, func(vFlat []float32) { f(kFlat, vFlat) })
	})
	if err == nil {
		err = inner
	}
	if err != nil {
		return fmt.Errorf("%w: reading the context: %w", ErrInvalidInput, err)
	}
	return nil
}

// attendGroup is the attention of one token's G query heads that share a KV head, over the context
// and the token's own keys (itself, and the earlier tokens of a prefill chunk): for each head,
// out = softmax([q·Kᵀ·scale + mask bias, q·ownKᵀ·scale]) · [V, ownV], one softmax over both parts.
// q, out: [G, D]. Only the slots in ctx.runs (the mask's valid spans, see validRuns) are read.
// scores [G, C] and ownScores [G, m] are scratch; probs, when not nil, receives the context slots'
// probabilities [G, C] (0 for masked slots). The products are matrix-matrix over the group, so each
// run of the context is read once.
func attendGroup(out, q []float32, own hostOwn, ctx hostContext, scale float32, scores, ownScores, probs []float32) {
	D, C, M := own.k.Cols, len(ctx.mask), own.k.Rows
	G := len(q) / D
	qm := blas32.General{Rows: G, Cols: D, Stride: D, Data: q}
	for _, r := range ctx.runs {
		blas32.Gemm(blas.NoTrans, blas.Trans, scale, qm, blas32.General{Rows: r.n(), Cols: D, Stride: D, Data: ctx.k[r.lo*D:]},
			0, blas32.General{Rows: G, Cols: r.n(), Stride: C, Data: scores[r.lo:]})
	}
	ownM := blas32.General{Rows: G, Cols: M, Stride: M, Data: ownScores}
	blas32.Gemm(blas.NoTrans, blas.Trans, scale, qm, own.k, 0, ownM)
	for g := range G {
		softmaxRow(scores[g*C:(g+1)*C], ownScores[g*M:(g+1)*M], ctx)
		if probs != nil {
			p := probs[g*C : (g+1)*C]
			clear(p)
			for _, r := range ctx.runs {
				copy(p[r.lo:r.hi], scores[g*C+r.lo:g*C+r.hi])
			}
		}
	}
	om := blas32.General{Rows: G, Cols: D, Stride: D, Data: out}
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, ownM, own.v, 0, om)
	for _, r := range ctx.runs {
		blas32.Gemm(blas.NoTrans, blas.Trans, 1, blas32.General{Rows: G, Cols: r.n(), Stride: C, Data: scores[r.lo:]},
			blas32.General{Rows: D, Cols: r.n(), Stride: C, Data: ctx.vt[r.lo:]}, 1, om)
	}
}

// softmaxRow turns one head's scores over the context runs (row, masked slots skipped) and its own
// keys (own) into probabilities, in place: one softmax over both.
func softmaxRow(row, own []float32, ctx hostContext) {
	maxScore := own[0]
	for _, s := range own {
		maxScore = max(maxScore, s)
	}
	for _, r := range ctx.runs {
		for i := r.lo; i < r.hi; i++ {
			if ctx.mask[i] != 0 && row[i] > maxScore {
				maxScore = row[i]
			}
		}
	}
	var denom float32
	for i, s := range own {
		own[i] = float32(math.Exp(float64(s - maxScore)))
		denom += own[i]
	}
	for _, r := range ctx.runs {
		for i := r.lo; i < r.hi; i++ {
			e := float32(0)
			if ctx.mask[i] != 0 {
				e = float32(math.Exp(float64(row[i] - maxScore)))
			}
			row[i] = e
			denom += e
		}
	}
	inv := 1 / denom
	for i := range own {
		own[i] *= inv
	}
	for _, r := range ctx.runs {
		for i := r.lo; i < r.hi; i++ {
			row[i] *= inv
		}
	}
}

// span is the slot range [lo, hi).
type span struct{ lo, hi int }

func (s span) n() int { return s.hi - s.lo }

// maxRuns bounds the runs attendGroup takes one by one; a more fragmented mask (a cache that evicts
// single slots) is read as one span from its first to its last valid slot, masked slot by slot.
const maxRuns = 32

// validRuns appends to dst the spans of consecutive valid (non-zero) mask slots.
func validRuns(dst []span, mask []float32) []span {
	dst = dst[:0]
	for i := 0; i < len(mask); {
		if mask[i] == 0 {
			i++
			continue
		}
		lo := i
		for i < len(mask) && mask[i] != 0 {
			i++
		}
		dst = append(dst, span{lo, i})
	}
	if len(dst) > maxRuns {
		dst = append(dst[:0], span{dst[0].lo, dst[len(dst)-1].hi})
	}
	return dst
}

// useHostPath reports whether a step or prefill over kv (nil for none) runs on the host.
func (m *Model) useHostPath(kv *KV) bool {
	return m.host != nil && (kv == nil || kv.Capacity() == 0 || kv.K[0].DType() == dtypes.Float32)
}
