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
