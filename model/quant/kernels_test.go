package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// kernelTypes are the weight types with product kernels.
var kernelTypes = []Type{F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q6_K}

// usePortable makes the package run its portable kernels until the test ends.
func usePortable(t *testing.T) {
	t.Helper()
	saved, saved4, savedAsm := kernels, kernels4, asmEnabled
	kernels, kernels4, asmEnabled = portableKernels, map[Type]rowsKernel4{}, false
	t.Cleanup(func() { kernels, kernels4, asmEnabled = saved, saved4, savedAsm })
}

// ggmlLayout writes a split-format activation row back into ggml's blocks, to compare with ggml's.
func ggmlLayout(kind actKind, a activation) []byte {
	var out []byte
	switch kind {
	case actQ8_0, actQ8_1:
		for ib, d := range a.d {
			out = binary.LittleEndian.AppendUint16(out, float32ToFP16(d))
			if kind == actQ8_1 {
				out = binary.LittleEndian.AppendUint16(out, float32ToFP16(a.s[ib]))
			}
			for _, q := range a.q[32*ib : 32*ib+32] {
				out = append(out, uint8(q))
			}
		}
	case actQ8_K:
		for ib, d := range a.d {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(d))
			for _, q := range a.q[qkK*ib : qkK*ib+qkK] {
				out = append(out, uint8(q))
			}
			for _, s := range a.bsums[16*ib : 16*ib+16] {
				out = binary.LittleEndian.AppendUint16(out, uint16(s))
			}
		}
	}
	return out
}

// TestActivationMatchesGGML: the activation quantizers, assembly and Go, give the bytes of ggml's
// x86 AVX2 ones.
func TestActivationMatchesGGML(t *testing.T) {
	g := loadGolden(t)
	rows := append(floatsLE(hexBytes(t, g.Input)), floatsLE(hexBytes(t, g.Activation))...)
	for _, c := range []struct {
		name  string
		kind  actKind
		useGo bool
	}{{"q8_0", actQ8_0, false}, {"q8_1", actQ8_1, false}, {"q8_K", actQ8_K, false}, {"q8_0", actQ8_0, true}, {"q8_1", actQ8_1, true}, {"q8_K", actQ8_K, true}} {
		name, kind := c.name, c.kind
		t.Run(fmt.Sprintf("%s/go=%v", name, c.useGo), func(t *testing.T) {
			if c.useGo {
				usePortable(t)
			}
			var b actBatch
			b.quantize(kind, rows, g.Rows+1, g.Cols)
			want := hexBytes(t, g.ActivationQuantized[name])
			var got []byte
			for j := range g.Rows + 1 {
				got = append(got, ggmlLayout(kind, b.row(j))...)
			}
			require.Equal(t, len(want), len(got))
			rb := len(want) / (g.Rows + 1)
			for j := range g.Rows + 1 {
				require.Equal(t, want[j*rb:(j+1)*rb], got[j*rb:(j+1)*rb], "row %d", j)
			}
		})
	}
}

// exactDot is Σ w·x in float64 over the dequantized weights and the activation as the kernel sees
// it (rounded to the activation format), with Σ|w·x|, the scale of the rounding errors.
func exactDot(t *testing.T, w Matrix, r int, x []float32) (dot, mag float64) {
	t.Helper()
	wr := make([]float32, w.Cols)
	require.NoError(t, DequantizeRow(w, r, wr))
	var b actBatch
	b.quantize(activationKind(w.Type), x, 1, w.Cols)
	a := b.row(0)
	xr := dequantizedActivation(b.kind, a, x)
	rowBytes, err := w.Type.RowBytes(w.Cols)
	require.NoError(t, err)
	row := w.Data[r*rowBytes : (r+1)*rowBytes]
	for i := range wr {
		p := float64(wr[i]) * float64(xr[i])
		if b.kind == actQ8_1 { // the kernel sees m·s, s the half-rounded d·Σq, not Σ m·x
			ib := i / 32
			m := float64(getFP16(row[ib*w.Type.BlockBytes()+2:]))
			p -= m * float64(xr[i])
			if i%32 == 0 {
				p += m * float64(a.s[ib])
			}
		}
		dot += p
		mag += math.Abs(p)
	}
	return dot, mag
}

func dequantizedActivation(kind actKind, a activation, x []float32) []float32 {
	switch kind {
	case actF32:
		return x
	case actF16, actBF16:
		return a.f
	}
	out := make([]float32, len(a.q))
	bl := kind.blockLen()
	for i, q := range a.q {
		out[i] = float32(q) * a.d[i/bl]
	}
	return out
}

// TestDotMatchesGGML: our products of ggml's quantized rows with the activation equal ggml's AVX2
// vec_dot results: bit for bit with the assembly kernels (same operations in the same order), and
// up to float32 rounding of the accumulation with the portable ones (the integer block sums are
// exact; only the order of float32 additions differs: bounded by 1e-6·Σ|w·x|).
func TestDotMatchesGGML(t *testing.T) {
	g := loadGolden(t)
	input := floatsLE(hexBytes(t, g.Input))
	act := floatsLE(hexBytes(t, g.Activation))
	for _, portable := range []bool{false, true} {
		for name, want := range g.Dot {
			typ, err := ParseType(name)
			require.NoError(t, err)
			t.Run(name+map[bool]string{false: "", true: "/portable"}[portable], func(t *testing.T) {
				if portable {
					usePortable(t)
				}
				data, err := Quantize(typ, input, g.Cols)
				require.NoError(t, err)
				w := Matrix{Type: typ, Rows: g.Rows, Cols: g.Cols, Data: data}
				y := make([]float32, g.Rows)
				require.NoError(t, MatVec(y, w, act))
				if asmEnabled {
					require.Equal(t, want, y, "assembly kernels differ from ggml's")
				}
				for r := range g.Rows {
					exact, mag := exactDot(t, w, r, act)
					require.InDelta(t, want[r], y[r], 1e-6*mag+1e-30, "row %d: ggml %g, ours %g", r, want[r], y[r])
					require.InDelta(t, exact, float64(y[r]), 1e-6*mag+1e-30, "row %d: exact %g, ours %g", r, exact, y[r])
				}
			})
		}
	}
}

func randomMatrix(t testing.TB, typ Type, rows, cols int, rng *rand.Rand) Matrix {
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64()) * 0.05
	}
	data, err := Quantize(typ, x, cols)
	require.NoError(t, err)
	return Matrix{Type: typ, Rows: rows, Cols: cols, Data: data}
}

func randomRows(n int, rng *rand.Rand) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// TestMatMulEqualsMatVec: a product of n rows equals n products of one row bit for bit, for every
// type and for runners of 1 and 3 threads (the kernels and their order of work are the same); float
// types also at a width that is not a whole number of the four-row kernels' 32-value blocks.
func TestMatMulEqualsMatVec(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const rows, n = 600, 9
	one, three := NewRunner(1), NewRunner(3)
	var cases []struct {
		typ  Type
		cols int
	}
	for _, typ := range kernelTypes {
		cases = append(cases, struct {
			typ  Type
			cols int
		}{typ, 512})
		if typ.BlockSize() == 1 {
			cases = append(cases, struct {
				typ  Type
				cols int
			}{typ, 525})
		}
	}
	for _, c := range cases {
		typ, cols := c.typ, c.cols
		t.Run(fmt.Sprintf("%v/cols=%d", typ, cols), func(t *testing.T) {
			w := randomMatrix(t, typ, rows, cols, rng)
			x := randomRows(n*cols, rng)
			y1 := make([]float32, n*rows)
			require.NoError(t, one.MatMul(y1, w, x, n))
			y3 := make([]float32, n*rows)
			require.NoError(t, three.MatMul(y3, w, x, n))
			require.Equal(t, y1, y3)
			yv := make([]float32, rows)
			for j := range n {
				require.NoError(t, one.MatVec(yv, w, x[j*cols:(j+1)*cols]))
				require.Equal(t, y1[j*rows:(j+1)*rows], yv, "row %d", j)
			}
			for r := range rows {
				exact, mag := exactDot(t, w, r, x[:cols])
				require.InDelta(t, exact, float64(y1[r]), 1e-6*mag)
			}
		})
	}
}

func TestMatMulErrors(t *testing.T) {
	w := Matrix{Type: Q8_0, Rows: 2, Cols: 32, Data: make([]byte, 68)}
	require.ErrorIs(t, MatVec(make([]float32, 2), w, make([]float32, 31)), ErrShape)
	require.ErrorIs(t, MatVec(make([]float32, 3), w, make([]float32, 32)), ErrShape)
	require.ErrorIs(t, MatMul(make([]float32, 4), w, make([]float32, 64), 0), ErrShape)
	bad := w
	bad.Data = bad.Data[:67]
	require.ErrorIs(t, MatVec(make([]float32, 2), bad, make([]float32, 32)), ErrShape)
	q8k := Matrix{Type: Q8_K, Rows: 1, Cols: 256, Data: make([]byte, 292)}
	require.ErrorIs(t, MatVec(make([]float32, 1), q8k, make([]float32, 256)), ErrType)
	require.NoError(t, MatVec(make([]float32, 2), w, make([]float32, 32)))
}

// exactCaseMatrix makes weights and an activation row whose products are exact in float32 in any
// order of summation: unit scales, zero minimums, integer activations with 127 in every block (so
// the activation scale is exactly 1), small k-quant sub-scales. Any difference between two
// kernels on it is a difference in the integer arithmetic, not in rounding.
func exactCaseMatrix(t *testing.T, typ Type, rows, cols int, rng *rand.Rand) (Matrix, []float32) {
	rowBytes := mustRowBytes(t, typ, cols)
	data := make([]byte, rows*rowBytes)
	for i := range data {
		data[i] = uint8(rng.Uint32())
	}
	one := float32ToFP16(1)
	put := func(b []byte, h uint16) { binary.LittleEndian.PutUint16(b, h) }
	bb := typ.BlockBytes()
	for off := 0; off < len(data); off += bb {
		b := data[off : off+bb]
		switch typ {
		case F32:
			binary.LittleEndian.PutUint32(b, math.Float32bits(float32(rng.IntN(17)-8)))
		case F16:
			put(b, float32ToFP16(float32(rng.IntN(17)-8)))
		case BF16:
			put(b, float32ToBF16(float32(rng.IntN(17)-8)))
		case Q4_0, Q5_0, Q8_0:
			put(b, one)
		case Q4_1, Q5_1:
			put(b, one)
			put(b[2:], 0)
		case Q4_K:
			put(b, one)
			put(b[2:], one)
			for j := 4; j < 16; j++ { // 6-bit scales and mins of 0..3
				b[j] &= 0x33
			}
		case Q6_K:
			put(b[208:], one)
			for j := 192; j < 208; j++ {
				b[j] = uint8(int8(rng.IntN(5) - 2))
			}
		}
	}
	x := make([]float32, cols)
	for i := range x {
		x[i] = float32(rng.IntN(255) - 127)
		if typ.BlockSize() > 1 && i%32 == 7 {
			x[i] = 127
		}
		if typ.BlockSize() == 1 {
			x[i] = float32(rng.IntN(17) - 8)
		}
	}
	return Matrix{Type: typ, Rows: rows, Cols: cols, Data: data}, x
}

// TestAsmMatchesPortable: the assembly kernels equal the portable ones exactly where the sums are
// exact (so the integer arithmetic is the same), and within float32 accumulation error on random
// data, for row counts that exercise the two-row loops and their one-row tails and float rows
// with leftovers past the last 32 values.
func TestAsmMatchesPortable(t *testing.T) {
	if !asmEnabled {
		t.Skipf("no assembly kernels here (kernels: %s)", KernelName())
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, typ := range kernelTypes {
		for _, rows := range []int{1, 2, 7} {
			cols := 512
			if typ.BlockSize() == 1 {
				cols = 512 + 13
			}
			t.Run(fmt.Sprintf("%v/rows=%d", typ, rows), func(t *testing.T) {
				w, x := exactCaseMatrix(t, typ, rows, cols, rng)
				asm := make([]float32, rows)
				require.NoError(t, NewRunner(1).MatVec(asm, w, x))
				portable := make([]float32, rows)
				usePortable(t)
				require.NoError(t, NewRunner(1).MatVec(portable, w, x))
				require.Equal(t, portable, asm, "exact case")

				kernels, kernels4, asmEnabled = asmKernelsInstalled()
				w = randomMatrix(t, typ, rows, cols, rng)
				x = randomRows(cols, rng)
				require.NoError(t, NewRunner(1).MatVec(asm, w, x))
				usePortable(t)
				require.NoError(t, NewRunner(1).MatVec(portable, w, x))
				for r := range rows {
					_, mag := exactDot(t, w, r, x)
					require.InDelta(t, portable[r], asm[r], 1e-6*mag, "random case, row %d", r)
				}
			})
		}
	}
}

// asmKernelsInstalled is the kernel tables with the assembly kernels in them.
func asmKernelsInstalled() (map[Type]rowsKernel, map[Type]rowsKernel4, bool) {
	saved, saved4, savedAsm := kernels, kernels4, asmEnabled
	useAsm()
	k, k4, a := kernels, kernels4, asmEnabled
	kernels, kernels4, asmEnabled = saved, saved4, savedAsm
	return k, k4, a
}

// TestActivationAsmMatchesGo: the assembly activation quantizers equal the Go ones bit for bit,
// on random rows with blocks of zeros, exact rounding ties, subnormals, huge values and a repeated
// extreme of both signs (the reference keeps the first).
func TestActivationAsmMatchesGo(t *testing.T) {
	if !asmEnabled {
		t.Skipf("no assembly here (kernels: %s)", KernelName())
	}
	rng := rand.New(rand.NewPCG(13, 14))
	const n, cols = 3, 1024
	x := randomRows(n*cols, rng)
	for i := range 32 {
		x[64+i] = 0                      // a zero Q8_0 block
		x[256+i] = float32(i-16) / 2     // ties at .5 after scaling by 127/8·...: exact halves
		x[512+i] = float32(i) * 1e-39    // subnormals
		x[1024+i] = float32(i-16) * 1e30 // huge
	}
	x[2048+5], x[2048+9] = -7, 7      // equal magnitudes of both signs: the first wins
	clear(x[2*cols+256 : 2*cols+512]) // a zero Q8_K block
	x[cols-1] = 126.5
	for _, kind := range []actKind{actF16, actBF16, actQ8_0, actQ8_1, actQ8_K} {
		t.Run(fmt.Sprint(kind), func(t *testing.T) {
			var asm, goq actBatch
			asm.quantize(kind, x, n, cols)
			usePortable(t)
			goq.quantize(kind, x, n, cols)
			require.Equal(t, goq.f, asm.f)
			require.Equal(t, goq.q, asm.q)
			require.Equal(t, goq.d, asm.d)
			if kind != actQ8_K {
				require.Equal(t, goq.s, asm.s)
			}
			require.Equal(t, goq.bsums, asm.bsums)
		})
	}
}

func TestF32Matrix(t *testing.T) {
	data := []float32{1, 2, 3, 4, 5, 6}
	w, err := F32Matrix(data, 2, 3)
	require.NoError(t, err)
	y := make([]float32, 2)
	require.NoError(t, MatVec(y, w, []float32{1, 0, -1}))
	require.Equal(t, []float32{-2, -2}, y)
	_, err = F32Matrix(data, 4, 2)
	require.ErrorIs(t, err, ErrShape)
}

// TestRunnerConcurrentCallers: products issued from several goroutines on one Runner (helpers
// joining each) give the same results as on a one-thread runner.
func TestRunnerConcurrentCallers(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	w := randomMatrix(t, Q8_0, 2048, 512, rng) // 1.1 MB: split across the helpers
	x := randomRows(4*512, rng)
	want := make([]float32, 4*2048)
	require.NoError(t, NewRunner(1).MatMul(want, w, x, 4))
	r := NewRunner(3)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := g % 4
			y := make([]float32, 2048)
			for range 20 {
				if err := r.MatVec(y, w, x[j*512:(j+1)*512]); err != nil {
					errs <- err
					return
				}
				for i := range y {
					if y[i] != want[j*2048+i] {
						errs <- fmt.Errorf("goroutine %d: y[%d] = %g, want %g", g, i, y[i], want[j*2048+i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestHelpersExit: a Runner's helper goroutines are gone shortly after its last product.
func TestHelpersExit(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	w := randomMatrix(t, Q8_0, 2048, 512, rng)
	y := make([]float32, 2048)
	r := NewRunner(2)
	require.NoError(t, r.MatVec(y, w, randomRows(512, rng)))
	require.Equal(t, int32(1), r.live.Load(), "the product should have started a helper")
	goleak.VerifyNone(t)
}
