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

// The host step: on the pure-Go backend the decode step runs as Go code over the same weights and
// the same caller-owned context tensors, with the weight products done by gonum's BLAS (SIMD
// assembly on amd64 and arm64).
//
// Why: a decode step is almost all matrix-vector products, one pass over every weight. The pure-Go
// backend's kernels are scalar Go (≈1.5 GFLOP/s on two cores for this shape, even in the blocked
// layout), gonum's Sgemv streams a row-major matrix at ≈12 GFLOP/s on one core of the same machine.
// The graph path stays for every other backend (XLA on a GPU compiles the same step into a few fused
// kernels) and for bfloat16 contexts; tests check the two paths agree (hoststep_test.go).
//
// The arithmetic is the graph's, in the same order of operations per element, so the two paths
// differ only in float32 rounding of the sums.

// matrix is a row-major [rows, cols] float32 matrix.
type matrix struct {
	data       []float32
	rows, cols int
}

// hostLayer holds one decoder block's weights in Hugging Face layout.
type hostLayer struct {
	inNorm, postNorm           []float32
	q, k, v, o, gate, up, down matrix
	qBias, kBias, vBias, oBias []float32 // nil without biases
	gateBias, upBias, downBias []float32
	qNorm, kNorm               []float32 // qwen3 only
}

// hostWeights are the weights the host step reads: copies of the checkpoint's tensors, made once.
type hostWeights struct {
	embed  matrix // [V, d]
	lmHead matrix // [V, d]: the embedding itself when tied
	norm   []float32
	layers []hostLayer
}

// newHostWeights copies the weights the decode step needs out of the HF-layout tensors.
func newHostWeights(c *Config, weights map[string]*tensors.Tensor) *hostWeights {
	vec := func(name string) []float32 {
		t, ok := weights[name]
		if !ok {
			return nil
		}
		return tensors.MustCopyFlatData[float32](t)
	}
	mat := func(name string) matrix {
		t := weights[name]
		dims := t.Shape().Dimensions
		return matrix{data: tensors.MustCopyFlatData[float32](t), rows: dims[0], cols: dims[1]}
	}
	h := &hostWeights{embed: mat("model.embed_tokens.weight"), norm: vec("model.norm.weight")}
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
	return h
}

// parallelRows is the matrix size (rows × cols) from which a product is split across goroutines:
// below it a goroutine hand-off costs more than the product.
const parallelRows = 1 << 16

// mulVec sets y = m·x (+ bias), splitting the rows across the CPUs for large matrices.
func mulVec(y []float32, m matrix, x, bias []float32) {
	workers := min(runtime.GOMAXPROCS(0), m.rows*m.cols/parallelRows)
	if workers <= 1 {
		gemvRows(y, m, x, 0, m.rows)
	} else {
		var wg sync.WaitGroup
		per := (m.rows + workers - 1) / workers
		for lo := 0; lo < m.rows; lo += per {
			hi := min(lo+per, m.rows)
			wg.Go(func() { gemvRows(y, m, x, lo, hi) })
		}
		wg.Wait()
	}
	if bias != nil {
		for i, b := range bias {
			y[i] += b
		}
	}
}

// gemvRows sets y[lo:hi] = m[lo:hi]·x.
func gemvRows(y []float32, m matrix, x []float32, lo, hi int) {
	a := blas32.General{Rows: hi - lo, Cols: m.cols, Stride: m.cols, Data: m.data[lo*m.cols : hi*m.cols]}
	blas32.Gemv(blas.NoTrans, 1, a, blas32.Vector{N: m.cols, Inc: 1, Data: x}, 0, blas32.Vector{N: hi - lo, Inc: 1, Data: y[lo:hi]})
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

// hostScratch is one step's working memory, pooled so a decoding loop allocates only its results.
type hostScratch struct {
	x, h, attnOut, o, gate, up, down []float32
	scores                           []float32
	cos, sin                         []float32
	runs                             []span
}

// hostStep runs Step on the host. kv is validated and float32; res is filled in.
func (m *Model) hostStep(token, pos int, kv KV, withAttn bool) (*StepResult, error) {
	c, w := m.Config, m.host
	d, D, H, KVH := c.Hidden, c.HeadDim, c.Heads, c.KVHeads
	C := kv.Capacity()
	s, _ := m.hostPool.Get().(*hostScratch)
	if s == nil || len(s.scores) < H*C {
		s = &hostScratch{
			x: make([]float32, d), h: make([]float32, d), attnOut: make([]float32, H*D), o: make([]float32, d),
			gate: make([]float32, c.Intermediate), up: make([]float32, c.Intermediate), down: make([]float32, d),
			scores: make([]float32, H*C), cos: make([]float32, D/2), sin: make([]float32, D/2),
		}
	}
	defer m.hostPool.Put(s)
	res := &StepResult{
		Logits: make([]float32, c.VocabSize),
		K:      make([]float32, c.Layers*KVH*D), V: make([]float32, c.Layers*KVH*D), Q: make([]float32, c.Layers*H*D),
	}
	if withAttn {
		res.Attn = make([]float32, c.Layers*H*C)
	}
	for i, f := range m.invFreq {
		angle := float64(float32(pos) * f)
		s.cos[i], s.sin[i] = float32(math.Cos(angle)), float32(math.Sin(angle))
	}
	copy(s.x, w.embed.data[token*d:(token+1)*d])
	var err error
	if mErr := tensors.ConstFlatData(kv.Mask, func(mask []float32) { err = m.hostLayers(s, res, kv, mask, withAttn) }); mErr != nil {
		return nil, fmt.Errorf("%w: reading the context mask: %w", ErrInvalidInput, mErr)
	}
	if err != nil {
		return nil, err
	}
	rmsNormInto(s.h, s.x, w.norm, c.RMSNormEps)
	mulVec(res.Logits, w.lmHead, s.h, nil)
	return res, nil
}

// hostLayers runs the decoder blocks on s.x, filling res.Q, res.K, res.V (and res.Attn).
func (m *Model) hostLayers(s *hostScratch, res *StepResult, kv KV, mask []float32, withAttn bool) error {
	c, w := m.Config, m.host
	D, H, KVH, G := c.HeadDim, c.Heads, c.KVHeads, c.GroupSize()
	C := len(mask)
	s.runs = validRuns(s.runs, mask)
	scale := float32(1 / math.Sqrt(float64(D)))
	for l, lw := range w.layers {
		q, k, v := res.Q[l*H*D:(l+1)*H*D], res.K[l*KVH*D:(l+1)*KVH*D], res.V[l*KVH*D:(l+1)*KVH*D]
		rmsNormInto(s.h, s.x, lw.inNorm, c.RMSNormEps)
		mulVec(q, lw.q, s.h, lw.qBias)
		mulVec(k, lw.k, s.h, lw.kBias)
		mulVec(v, lw.v, s.h, lw.vBias)
		if lw.qNorm != nil {
			for hd := 0; hd < len(q); hd += D {
				rmsNormInto(q[hd:hd+D], q[hd:hd+D], lw.qNorm, c.RMSNormEps)
			}
			for hd := 0; hd < len(k); hd += D {
				rmsNormInto(k[hd:hd+D], k[hd:hd+D], lw.kNorm, c.RMSNormEps)
			}
		}
		ropeInPlace(q, D, s.cos, s.sin)
		ropeInPlace(k, D, s.cos, s.sin)
		var attn []float32
		if withAttn {
			attn = res.Attn[l*H*C : (l+1)*H*C]
		}
		err := withContext(kv.K[l], kv.V[l], func(ctxK, ctxVT []float32) {
			attendHead := func(kh int) {
				var probs []float32
				if attn != nil {
					probs = attn[kh*G*C : (kh+1)*G*C]
				}
				attendGroup(s.attnOut[kh*G*D:(kh+1)*G*D], q[kh*G*D:(kh+1)*G*D], k[kh*D:(kh+1)*D], v[kh*D:(kh+1)*D],
					ctxK[kh*C*D:(kh+1)*C*D], ctxVT[kh*D*C:(kh+1)*D*C], mask, s.runs, scale, s.scores[kh*G*C:(kh+1)*G*C], probs)
			}
			if KVH == 1 || G*C*D < parallelRows {
				for kh := range KVH {
					attendHead(kh)
				}
				return
			}
			var wg sync.WaitGroup
			for kh := range KVH {
				wg.Go(func() { attendHead(kh) })
			}
			wg.Wait()
		})
		if err != nil {
			return err
		}
		mulVec(s.o, lw.o, s.attnOut, lw.oBias)
		for i := range s.x {
			s.x[i] += s.o[i]
		}
		rmsNormInto(s.h, s.x, lw.postNorm, c.RMSNormEps)
		mulVec(s.gate, lw.gate, s.h, lw.gateBias)
		mulVec(s.up, lw.up, s.h, lw.upBias)
		for i, g := range s.gate {
			s.gate[i] = g * float32(1/(1+math.Exp(-float64(g)))) * s.up[i]
		}
		mulVec(s.down, lw.down, s.gate, lw.downBias)
		for i := range s.x {
			s.x[i] += s.down[i]
		}
	}
	return nil
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

// attendGroup is attendStep for the G query heads that share one KV head: for each query head,
// out = softmax([q·K/√D + mask bias, q·k/√D]) · [Vᵀ, v], the softmax taken over the context slots
// and the token itself. q, out: [G, D]; k, v: [D]; ctxK [C, D]; ctxVT [D, C]. Only the slots in
// runs (the mask's valid spans, see validRuns) are read; scores is [G, C] scratch; probs, when not
// nil, receives the context slots' probabilities [G, C] (0 for masked slots). The products are
// matrix-matrix over the group, so each run of the context is read once.
func attendGroup(out, q, k, v, ctxK, ctxVT, mask []float32, runs []span, scale float32, scores, probs []float32) {
	D, C := len(k), len(mask)
	G := len(q) / D
	qm := blas32.General{Rows: G, Cols: D, Stride: D, Data: q}
	for _, r := range runs {
		blas32.Gemm(blas.NoTrans, blas.Trans, scale, qm, blas32.General{Rows: r.n(), Cols: D, Stride: D, Data: ctxK[r.lo*D:]},
			0, blas32.General{Rows: G, Cols: r.n(), Stride: C, Data: scores[r.lo:]})
	}
	eSelf := make([]float32, G) // G is small: the token's own weight per head, normalised
	for g := range G {
		row := scores[g*C : (g+1)*C]
		var self float32
		for i, kv := range k {
			self += q[g*D+i] * kv
		}
		self *= scale
		maxScore := self
		for _, r := range runs {
			for i := r.lo; i < r.hi; i++ {
				if mask[i] != 0 && row[i] > maxScore {
					maxScore = row[i]
				}
			}
		}
		denom := float32(math.Exp(float64(self - maxScore)))
		eSelf[g] = denom
		for _, r := range runs {
			for i := r.lo; i < r.hi; i++ {
				e := float32(0)
				if mask[i] != 0 {
					e = float32(math.Exp(float64(row[i] - maxScore)))
				}
				row[i] = e
				denom += e
			}
		}
		inv := 1 / denom
		for _, r := range runs {
			for i := r.lo; i < r.hi; i++ {
				row[i] *= inv
			}
		}
		eSelf[g] *= inv
		if probs != nil {
			p := probs[g*C : (g+1)*C]
			clear(p)
			for _, r := range runs {
				copy(p[r.lo:r.hi], row[r.lo:r.hi])
			}
		}
	}
	om := blas32.General{Rows: G, Cols: D, Stride: D, Data: out}
	for g := range G {
		for i := range D {
			out[g*D+i] = eSelf[g] * v[i]
		}
	}
	for _, r := range runs {
		blas32.Gemm(blas.NoTrans, blas.Trans, 1, blas32.General{Rows: G, Cols: r.n(), Stride: C, Data: scores[r.lo:]},
			blas32.General{Rows: D, Cols: r.n(), Stride: C, Data: ctxVT[r.lo:]}, 1, om)
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

// useHostStep reports whether a step over kv runs on the host.
func (m *Model) useHostStep(kv KV) bool {
	return m.host != nil && kv.K[0].DType() == dtypes.Float32
}
