//go:build amd64 && !purego

package quant

//go:noescape
func quantizeQ8AVX2(x *float32, nb int, q *int8, d, s *float32)

//go:noescape
func quantizeQ8KAVX2(x *float32, nb int, q *int8, d *float32, bsums *int16)

//go:noescape
func roundF16AVX2(dst, src *float32, n int)

//go:noescape
func roundBF16AVX2(dst, src *float32, n int)

func init() {
	actAsm.q8 = func(x []float32, q []int8, d, s []float32) {
		quantizeQ8AVX2(&x[0], len(d), &q[0], &d[0], &s[0])
	}
	actAsm.q8K = func(x []float32, q []int8, d []float32, bsums []int16) {
		quantizeQ8KAVX2(&x[0], len(d), &q[0], &d[0], &bsums[0])
	}
	actAsm.roundF16 = func(dst, src []float32) { roundF16AVX2(&dst[0], &src[0], len(dst)) }
	actAsm.roundBF16 = func(dst, src []float32) { roundBF16AVX2(&dst[0], &src[0], len(dst)) }
}
