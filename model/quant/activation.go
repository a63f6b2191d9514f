package quant

import (
	"math"
)

// Before a dot product with quantized weights ggml quantizes the activation row once, to the
// weight type's "vec_dot_type": Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for Q4_K/Q6_K, and
// F16/BF16 for F16/BF16 weights (F32 stays F32). The quantizers here reproduce what ggml's x86 CPU
// backend does (ggml-cpu/arch/x86/quants.c, the AVX2 build) rather than the reference ones: its
// quantize_row_q8_0/q8_1 multiply by 127/amax and round half to even, where the reference
// quantizers divide by d and round half away from zero. (Q8_K is the reference quantizer on every
// platform.) TestActivationMatchesGGML holds them equal to ggml's bytes.
//
// The quantized row is kept split into arrays rather than in ggml's interleaved blocks, so the
// kernels load quants with aligned strides and scales as ready float32s; the values are the same:
// d is the half ggml stores, widened.

// actKind is the format an activation row is quantized to.
type actKind uint8

const (
	actF32  actKind = iota // the row as it is
	actF16                 // each value rounded to a half (F16 weights), kept as float32
	actBF16                // each value rounded to a bfloat16 (BF16 weights), kept as float32
	actQ8_0                // int8 quants per 32, half scale d
	actQ8_1                // Q8_0 plus s = d·Σq per 32 (a half in ggml)
	actQ8_K                // int8 quants per 256, float32 scale, int16 sums per 16
)

// activationKind is the activation format ggml pairs with weights of type t.
func activationKind(t Type) actKind {
	switch t {
	case F16:
		return actF16
	case BF16:
		return actBF16
	case Q4_0, Q5_0, Q8_0:
		return actQ8_0
	case Q4_1, Q5_1:
		return actQ8_1
	case Q4_K, Q6_K:
		return actQ8_K
	}
	return actF32
}

// activation is one quantized row of cols values (a view into an actBatch's arrays).
type activation struct {
	f     []float32 // actF32/actF16/actBF16: [cols]
	q     []int8    // Q8 kinds: [cols]
	d     []float32 // Q8 kinds: [cols/32] (Q8_0, Q8_1) or [cols/256] (Q8_K)
	s     []float32 // Q8_1: [cols/32]
	bsums []int16   // Q8_K: [cols/16]
}

// actBatch holds n quantized rows; its buffers grow and are reused (pooled by the runner).
type actBatch struct {
	kind  actKind
	n     int
	cols  int
	x     []float32 // actF32: the caller's rows, not copied
	f     []float32 // actF16/actBF16: owned, reused
	q     []int8
	d     []float32
	s     []float32
	bsums []int16
	rows  []activation // views of the n rows, made once per quantize so kernels get stable pointers
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// blockLen is the number of values per scale of kind k.
func (k actKind) blockLen() int {
	if k == actQ8_K {
		return qkK
	}
	return 32
}

// quantize fills the batch with the n rows of x ([n, cols]) in format kind. For actF32 it keeps a
// reference to x instead of copying.
func (b *actBatch) quantize(kind actKind, x []float32, n, cols int) {
	b.fill(kind, x, n, cols)
	b.rows = grow(b.rows, n)
	for j := range n {
		b.rows[j] = b.row(j)
	}
}

func (b *actBatch) fill(kind actKind, x []float32, n, cols int) {
	b.kind, b.n, b.cols = kind, n, cols
	switch kind {
	case actF32:
		b.x = x[:n*cols]
		return
	case actF16, actBF16:
		b.f = grow(b.f, n*cols)
		fast, round := actAsm.roundF16, roundFP16
		if kind == actBF16 {
			fast, round = actAsm.roundBF16, roundBF16
		}
		done := 0
		if asmEnabled && fast != nil {
			done = n * cols / 8 * 8
			if done > 0 {
				fast(b.f[:done], x[:done])
			}
		}
		for i := done; i < n*cols; i++ {
			b.f[i] = round(x[i])
		}
		return
	}
	nb := n * cols / kind.blockLen()
	b.q = grow(b.q, n*cols)
	b.d = grow(b.d, nb)
	switch kind {
	case actQ8_0, actQ8_1:
		b.s = grow(b.s, nb)
		if asmEnabled && actAsm.q8 != nil {
			actAsm.q8(x[:n*cols], b.q, b.d, b.s)
			return
		}
		for i := range nb {
			quantizeActQ8(b.q[32*i:32*i+32], &b.d[i], &b.s[i], x[32*i:32*i+32])
		}
	case actQ8_K:
		b.bsums = grow(b.bsums, n*cols/16)
		if asmEnabled && actAsm.q8K != nil {
			actAsm.q8K(x[:n*cols], b.q, b.d, b.bsums)
			return
		}
		for i := range nb {
			quantizeActQ8K(b.q[qkK*i:qkK*(i+1)], &b.d[i], b.bsums[16*i:16*i+16], x[qkK*i:qkK*(i+1)])
		}
	}
}

// row is the j-th quantized row.
func (b *actBatch) row(j int) activation {
	c := b.cols
	switch b.kind {
	case actF32:
		return activation{f: b.x[j*c : (j+1)*c]}
	case actF16, actBF16:
		return activation{f: b.f[j*c : (j+1)*c]}
	case actQ8_K:
		nb := c / qkK
		return activation{q: b.q[j*c : (j+1)*c], d: b.d[j*nb : (j+1)*nb], bsums: b.bsums[j*c/16 : (j+1)*c/16]}
	}
	nb := c / 32
	return activation{q: b.q[j*c : (j+1)*c], d: b.d[j*nb : (j+1)*nb], s: b.s[j*nb : (j+1)*nb]}
}

// actAsm holds the assembly activation quantizers where there are some (activation_amd64.go);
// they produce exactly what the Go ones below do, faster.
var actAsm struct {
	q8                  func(x []float32, q []int8, d, s []float32)
	q8K                 func(x []float32, q []int8, d []float32, bsums []int16)
	roundF16, roundBF16 func(dst, src []float32)
}

func roundBF16(f float32) float32 { return bf16ToFloat32(float32ToBF16(f)) }

// quantizeActQ8 is ggml's AVX2 quantize_row_q8_1 for one block (quantize_row_q8_0 is the same
// without s): d = amax/127 stored as a half, q = round-half-even(x·127/amax), s = half(d·Σq) with
// the unrounded d.
func quantizeActQ8(q []int8, dOut, sOut *float32, x []float32) {
	var amax float32
	for _, v := range x {
		amax = maxps(amax, abs32(v))
	}
	d := amax / 127
	var id float32
	if amax != 0 {
		id = 127 / amax
	}
	sum := 0
	for j, v := range x {
		r := int(math.RoundToEven(float64(float32(v * id))))
		q[j] = int8(max(-128, min(127, r))) // the AVX2 packs saturate
		sum += int(q[j])
	}
	*dOut = roundFP16(d)
	*sOut = roundFP16(float32(d * float32(sum)))
}

// maxps is _mm256_max_ps's choice: a when a > b, else b (so a NaN in a is dropped).
func maxps(a, b float32) float32 {
	if a > b {
		return a
	}
	return b
}

// quantizeActQ8K is quantize_row_q8_K_ref for one block, writing the split format.
func quantizeActQ8K(q []int8, dOut *float32, bsums []int16, x []float32) {
	amax, signedMax := absMaxSigned(x)
	if amax == 0 {
		*dOut = 0
		clear(q)
		clear(bsums)
		return
	}
	iscale := -127 / signedMax
	for j, v := range x {
		q[j] = int8(min(127, nearestInt(float32(iscale*v))))
	}
	for j := range bsums {
		sum := 0
		for _, v := range q[16*j : 16*j+16] {
			sum += int(v)
		}
		bsums[j] = int16(sum)
	}
	*dOut = 1 / iscale
}
