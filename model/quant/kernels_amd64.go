//go:build amd64 && !purego

package quant

import "golang.org/x/sys/cpu"

// Assembly kernels for amd64 CPUs with AVX2, FMA and F16C (kernels_amd64.s), chosen at init. The
// purego build tag leaves them out.

//go:noescape
func dotQ8_0AVX2(w *byte, rowBytes, rows int, xq *int8, xd *float32, nb int, y *float32)

//go:noescape
func dotQ4_0AVX2(w *byte, rowBytes, rows int, xq *int8, xd *float32, nb int, y *float32)

//go:noescape
func dotQ5_0AVX2(w *byte, rowBytes, rows int, xq *int8, xd *float32, nb int, y *float32)

//go:noescape
func dotQ4_1AVX2(w *byte, rowBytes, rows int, xq *int8, xd, xs *float32, nb int, y *float32)

//go:noescape
func dotQ5_1AVX2(w *byte, rowBytes, rows int, xq *int8, xd, xs *float32, nb int, y *float32)

//go:noescape
func dotQ4_KAVX2(w *byte, rowBytes, rows int, xq *int8, xd *float32, bsums *int16, nb int, y *float32)

//go:noescape
func dotQ6_KAVX2(w *byte, rowBytes, rows int, xq *int8, xd *float32, bsums *int16, nb int, y *float32)

//go:noescape
func dotF32AVX2(w *byte, rowBytes, rows int, x *float32, n int, y *float32)

//go:noescape
func dotF16AVX2(w *byte, rowBytes, rows int, x *float32, n int, y *float32)

//go:noescape
func dotBF16AVX2(w *byte, rowBytes, rows int, x *float32, n int, y *float32)

//go:noescape
func dotQ8_0x4AVX2(w *byte, rowBytes, rows int, xq *int8, xqStride int, xd *float32, xdStride, nb int, y *float32, yStride int)

//go:noescape
func dotQ4_0x4AVX2(w *byte, rowBytes, rows int, xq *int8, xqStride int, xd *float32, xdStride, nb int, y *float32, yStride int)

//go:noescape
func dotQ5_0x4AVX2(w *byte, rowBytes, rows int, xq *int8, xqStride int, xd *float32, xdStride, nb int, y *float32, yStride int)

//go:noescape
func dotQ4_Kx4AVX2(w *byte, rowBytes, rows int, xq *int8, xd *float32, bsums *int16, nb int, y *float32, yStride int)

//go:noescape
func dotQ6_Kx4AVX2(w *byte, rowBytes, rows int, xq *int8, xd *float32, bsums *int16, nb int, y *float32, yStride int)

//go:noescape
func dotF32x4AVX2(w *byte, rowBytes, rows int, x *float32, xStride, n int, y *float32, yStride int)

//go:noescape
func dotF16x4AVX2(w *byte, rowBytes, rows int, x *float32, xStride, n int, y *float32, yStride int)

//go:noescape
func dotBF16x4AVX2(w *byte, rowBytes, rows int, x *float32, xStride, n int, y *float32, yStride int)

//go:noescape
func dotF32w2x4AVX2(w *byte, rowBytes, rows int, x *float32, xStride, n int, y *float32, yStride int)

//go:noescape
func dotF16w2x4AVX2(w *byte, rowBytes, rows int, x *float32, xStride, n int, y *float32, yStride int)

//go:noescape
func dotBF16w2x4AVX2(w *byte, rowBytes, rows int, x *float32, xStride, n int, y *float32, yStride int)

func cpuidF16C() bool

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpuidF16C() {
		useAsm()
	}
}

var asmKernels = map[Type]rowsKernel{
	Q8_0: func(y []float32, w []byte, rb int, a *activation) {
		dotQ8_0AVX2(&w[0], rb, len(y), &a.q[0], &a.d[0], len(a.d), &y[0])
	},
	Q4_0: func(y []float32, w []byte, rb int, a *activation) {
		dotQ4_0AVX2(&w[0], rb, len(y), &a.q[0], &a.d[0], len(a.d), &y[0])
	},
	Q5_0: func(y []float32, w []byte, rb int, a *activation) {
		dotQ5_0AVX2(&w[0], rb, len(y), &a.q[0], &a.d[0], len(a.d), &y[0])
	},
	F32: func(y []float32, w []byte, rb int, a *activation) {
		dotF32AVX2(&w[0], rb, len(y), &a.f[0], len(a.f), &y[0])
	},
	F16: func(y []float32, w []byte, rb int, a *activation) {
		dotF16AVX2(&w[0], rb, len(y), &a.f[0], len(a.f), &y[0])
	},
	BF16: func(y []float32, w []byte, rb int, a *activation) {
		dotBF16AVX2(&w[0], rb, len(y), &a.f[0], len(a.f), &y[0])
	},
	Q4_K: func(y []float32, w []byte, rb int, a *activation) {
		dotQ4_KAVX2(&w[0], rb, len(y), &a.q[0], &a.d[0], &a.bsums[0], len(a.d), &y[0])
	},
	Q6_K: func(y []float32, w []byte, rb int, a *activation) {
		dotQ6_KAVX2(&w[0], rb, len(y), &a.q[0], &a.d[0], &a.bsums[0], len(a.d), &y[0])
	},
	Q4_1: func(y []float32, w []byte, rb int, a *activation) {
		dotQ4_1AVX2(&w[0], rb, len(y), &a.q[0], &a.d[0], &a.s[0], len(a.d), &y[0])
	},
	Q5_1: func(y []float32, w []byte, rb int, a *activation) {
		dotQ5_1AVX2(&w[0], rb, len(y), &a.q[0], &a.d[0], &a.s[0], len(a.d), &y[0])
	},
}

// asmKernels4 multiply a tile by four activation rows at once (MatMul), decoding each weight block
// once; their per-row results equal the one-row kernels' bit for bit.
var asmKernels4 = map[Type]rowsKernel4{
	Q8_0: x4(dotQ8_0x4AVX2),
	Q4_0: x4(dotQ4_0x4AVX2),
	Q5_0: x4(dotQ5_0x4AVX2),
	Q4_K: kx4(dotQ4_Kx4AVX2),
	Q6_K: kx4(dotQ6_Kx4AVX2),
	F32:  fx4(F32, dotF32w2x4AVX2, dotF32x4AVX2),
	F16:  fx4(F16, dotF16w2x4AVX2, dotF16x4AVX2),
	BF16: fx4(BF16, dotBF16w2x4AVX2, dotBF16x4AVX2),
}

// floatX4 is a float kernel over four activation rows (strides in bytes).
type floatX4 func(w *byte, rowBytes, rows int, x *float32, xStride, n int, y *float32, yStride int)

// fx4 wraps the four-row float kernels: pairs of weight rows by w2, an odd last row by one. Why: a
// float product with n > 1 otherwise reads each tile of weights from cache once per activation
// row, one load of weights per FMA; an output head of a large vocabulary (151,936 × 256 in F32)
// spent most of a batched step there. The kernels need whole 32-value blocks; other widths run the
// one-row kernel per row (the same results).
func fx4(typ Type, w2, one floatX4) rowsKernel4 {
	return func(y []float32, yRows int, w []byte, rowBytes, rows int, b *actBatch, i int) {
		c := b.cols
		if c%32 != 0 {
			k := kernels[typ]
			for j := range 4 {
				k(y[j*yRows:j*yRows+rows], w, rowBytes, &b.rows[i+j])
			}
			return
		}
		x := b.f
		if b.kind == actF32 {
			x = b.x
		}
		if even := rows &^ 1; even > 0 {
			w2(&w[0], rowBytes, even, &x[i*c], 4*c, c, &y[0], 4*yRows)
		}
		if rows&1 == 1 {
			one(&w[(rows-1)*rowBytes], rowBytes, 1, &x[i*c], 4*c, c, &y[rows-1], 4*yRows)
		}
	}
}

// kx4 wraps a four-row k-quant kernel: it reads the batch's interleaved groups (interleave4).
func kx4(f func(w *byte, rowBytes, rows int, xq *int8, xd *float32, bsums *int16, nb int, y *float32, yStride int)) rowsKernel4 {
	return func(y []float32, yRows int, w []byte, rowBytes, rows int, b *actBatch, i int) {
		nb := b.cols / qkK
		g := i / 4
		f(&w[0], rowBytes, rows, &b.q4x[g*4*b.cols], &b.d4x[g*4*nb], &b.bs4x[g*4*b.cols/16], nb, &y[0], 4*yRows)
	}
}

func x4(f func(w *byte, rowBytes, rows int, xq *int8, xqStride int, xd *float32, xdStride, nb int, y *float32, yStride int)) rowsKernel4 {
	return func(y []float32, yRows int, w []byte, rowBytes, rows int, b *actBatch, i int) {
		c, nb := b.cols, b.cols/32
		f(&w[0], rowBytes, rows, &b.q[i*c], c, &b.d[i*nb], 4*nb, nb, &y[0], 4*yRows)
	}
}
