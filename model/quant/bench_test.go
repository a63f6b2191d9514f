package quant

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// The Qwen2.5-0.5B shapes a decode step multiplies by: gate/up [4864, 896], down [896, 4864], and
// the LM head [151936, 896]. Q4_K/Q6_K need rows of whole 256-blocks, so they only fit [896, 4864]
// (llama.cpp stores such tensors as Q5_0/Q8_0 in a Q4_K_M file).
var benchShapes = []struct {
	name       string
	rows, cols int
}{
	{"4864x896", 4864, 896},
	{"896x4864", 896, 4864},
	{"151936x896", 151936, 896},
}

var benchTypes = []Type{F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q4_K, Q6_K}

// benchMatrix quantizes 64 random rows and repeats them: the kernels' speed does not depend on the
// values, and quantizing 136M values for the LM head would take longer than the benchmark.
func benchMatrix(b testing.TB, typ Type, rows, cols int) Matrix {
	rng := rand.New(rand.NewPCG(5, 6))
	seed := randomMatrix(b, typ, 64, cols, rng)
	data := make([]byte, rows*len(seed.Data)/64)
	for off := 0; off < len(data); off += len(seed.Data) {
		copy(data[off:], seed.Data)
	}
	return Matrix{Type: typ, Rows: rows, Cols: cols, Data: data}
}

// BenchmarkMatVec reports the weight bytes streamed per second (the MB/s column) for each type and
// shape on 1 and 2 threads, and gonum's Sgemv on the F32 matrix as the baseline the host engine used.
func BenchmarkMatVec(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range benchShapes {
		x := randomRows(s.cols, rng)
		y := make([]float32, s.rows)
		for _, typ := range benchTypes {
			if s.cols%typ.BlockSize() != 0 {
				continue
			}
			w := benchMatrix(b, typ, s.rows, s.cols)
			for _, threads := range []int{1, 2} {
				r := NewRunner(threads)
				b.Run(fmt.Sprintf("%s/%v/threads=%d", s.name, typ, threads), func(b *testing.B) {
					b.SetBytes(int64(len(w.Data)))
					b.ReportAllocs()
					for b.Loop() {
						if err := r.MatVec(y, w, x); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			if typ == F32 {
				b.Run(fmt.Sprintf("%s/gonum-sgemv/threads=1", s.name), func(b *testing.B) {
					wf := unsafe.Slice((*float32)(unsafe.Pointer(&w.Data[0])), s.rows*s.cols)
					a := blas32.General{Rows: s.rows, Cols: s.cols, Stride: s.cols, Data: wf}
					xv := blas32.Vector{N: s.cols, Inc: 1, Data: x}
					yv := blas32.Vector{N: s.rows, Inc: 1, Data: y}
					b.SetBytes(int64(len(w.Data)))
					for b.Loop() {
						blas32.Gemv(blas.NoTrans, 1, a, xv, 0, yv)
					}
				})
			}
		}
	}
}

// BenchmarkMatMul multiplies n activation rows by [4864, 896] weights ([896, 4864] for the
// k-quants) on 2 threads; MB/s is weight bytes per second, so n rows for the price of one shows as
// an n-fold rise.
func BenchmarkMatMul(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	r := NewRunner(2)
	for _, typ := range benchTypes {
		rows, cols := 4864, 896
		if typ.BlockSize() == qkK {
			rows, cols = 896, 4864
		}
		w := benchMatrix(b, typ, rows, cols)
		for _, n := range []int{1, 4, 8, 16} {
			x := randomRows(n*cols, rng)
			y := make([]float32, n*rows)
			b.Run(fmt.Sprintf("%v/n=%d", typ, n), func(b *testing.B) {
				b.SetBytes(int64(n * len(w.Data)))
				b.ReportAllocs()
				for b.Loop() {
					if err := r.MatMul(y, w, x, n); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkMatMulHead is a batched decode step's output head: a 151,936 × 256 F32 matrix (a
// Qwen-vocabulary model of hidden 256, where the head dominates the step) times n activation rows
// on two threads. One weight pass serves all n rows, so ns/op should grow much slower than n.
func BenchmarkMatMulHead(b *testing.B) {
	rng := rand.New(rand.NewPCG(11, 12))
	r := NewRunner(2)
	const rows, cols = 151936, 256
	w := benchMatrix(b, F32, rows, cols)
	for _, n := range []int{1, 2, 3, 4, 5, 6, 7, 8} {
		x := randomRows(n*cols, rng)
		y := make([]float32, n*rows)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := r.MatMul(y, w, x, n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
