package model

import (
	"math"
	"runtime"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// The host path: on the pure-Go backend decode steps and prefill chunks run as Go code over the same
// weights and the same caller-owned context tensors, with the products done by gonum's BLAS (SIMD
// assembly on amd64 and arm64). This file holds its weights and kernels; hoststep.go the pass.
//
// Why: a decode step is almost all matrix-vector products, one pass over every weight. The pure-Go
// backend's kernels are scalar Go (≈1.5 GFLOP/s on two cores for this shape, even in the blocked
// layout), gonum's Sgemv streams a row-major matrix at ≈12 GFLOP/s on one core of the same machine.
// The graphs stay for every other backend (XLA on a GPU compiles the same step into a few fused
// kernels), for training and for bfloat16 contexts; tests check the two paths agree
// (hoststep_test.go).
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

// hostWeights are the weights the host path reads: views of the graph variables' storage where the
// backend shares its buffers with Go (the pure-Go backend does), copies otherwise.
type hostWeights struct {
	embed  matrix // [V, d]
	lmHead matrix // [V, d]: the embedding itself when tied
	norm   []float32
	layers []hostLayer
}

// newHostWeights gives the host path the HF-layout float32 values of the graph variables vars.
func newHostWeights(c *Config, vars map[string]*mlctx.Variable, b backends.Backend) *hostWeights {
	vec := func(name string) []float32 {
		v, ok := vars[name]
		if !ok {
			return nil
		}
		return hostData(v.MustValue(), b)
	}
	mat := func(name string) matrix {
		t := vars[name].MustValue()
		dims := t.Shape().Dimensions
		return matrix{data: hostData(t, b), rows: dims[0], cols: dims[1]}
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

// hostData returns a variable value t's float32 data for the host path without a second copy when
// it can: t is moved into a buffer the backend shares with Go (the buffer the graphs read too; its
// local copy is freed) and the host path reads that buffer in place. The variable keeps the buffer
// alive, and an inference model never replaces its variables' values. Backends without shared
// buffers, or a tensor already bound elsewhere, get a copy.
func hostData(t *tensors.Tensor, b backends.Backend) []float32 {
	if b.HasSharedBuffers() && t.MaterializeOnDevice(b, true, 0) == nil && t.IsShared() {
		var flat []float32
		if t.ConstFlatData(func(f any) { flat, _ = f.([]float32) }) == nil && len(flat) == t.Size() {
			return flat
		}
	}
	return tensors.MustCopyFlatData[float32](t)
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

// mulRows sets y [n, m.rows] = x [n, m.cols] · mᵀ (+ bias per row). One row is a matrix-vector
// product split across the CPUs (mulVec); more rows are one matrix product (gonum parallelises it).
func mulRows(y []float32, n int, m matrix, x, bias []float32) {
	if n == 1 {
		mulVec(y, m, x, bias)
		return
	}
	blas32.Gemm(blas.NoTrans, blas.Trans, 1, blas32.General{Rows: n, Cols: m.cols, Stride: m.cols, Data: x},
		blas32.General{Rows: m.rows, Cols: m.cols, Stride: m.cols, Data: m.data}, 0, blas32.General{Rows: n, Cols: m.rows, Stride: m.rows, Data: y})
	if bias != nil {
		for r := range n {
			row := y[r*m.rows : (r+1)*m.rows]
			for i, b := range bias {
				row[i] += b
			}
		}
	}
}
