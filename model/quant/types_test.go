package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTypeGeometry(t *testing.T) {
	tests := []struct {
		typ              Type
		name             string
		blockSize, bytes int
		cols, rowBytes   int
	}{
		{F32, "f32", 1, 4, 896, 3584},
		{F16, "f16", 1, 2, 896, 1792},
		{BF16, "bf16", 1, 2, 896, 1792},
		{Q4_0, "q4_0", 32, 18, 896, 504},
		{Q4_1, "q4_1", 32, 20, 896, 560},
		{Q5_0, "q5_0", 32, 22, 896, 616},
		{Q5_1, "q5_1", 32, 24, 896, 672},
		{Q8_0, "q8_0", 32, 34, 896, 952},
		{Q8_1, "q8_1", 32, 36, 896, 1008},
		{Q4_K, "q4_K", 256, 144, 4864, 2736},
		{Q6_K, "q6_K", 256, 210, 4864, 3990},
		{Q8_K, "q8_K", 256, 292, 4864, 5548},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.name, tc.typ.String())
			require.Equal(t, tc.blockSize, tc.typ.BlockSize())
			require.Equal(t, tc.bytes, tc.typ.BlockBytes())
			got, err := tc.typ.RowBytes(tc.cols)
			require.NoError(t, err)
			require.Equal(t, tc.rowBytes, got)
			parsed, err := ParseType(tc.name)
			require.NoError(t, err)
			require.Equal(t, tc.typ, parsed)
			if tc.blockSize > 1 {
				_, err := tc.typ.RowBytes(tc.cols + 1)
				require.ErrorIs(t, err, ErrShape)
			}
		})
	}
	_, err := ParseType("Q8_0")
	require.NoError(t, err)
	_, err = ParseType("q3_K")
	require.ErrorIs(t, err, ErrType)
	_, err = Type(99).RowBytes(32)
	require.ErrorIs(t, err, ErrType)
	require.Equal(t, "type(99)", Type(99).String())
}

// roundTripBound is the largest error decode(encode(x)) may make on one value, relative to the
// block's largest magnitude (its range for Q4_1/Q5_1): half a quantization step with 20% slack for
// the half-precision scale and the k-quants' sub-scales — except Q4_0/Q5_0, whose d = max/-8 (-16)
// leaves the opposite extreme one full step short (q clips at 15/31).
var roundTripBound = map[Type]float64{
	F32: 0, F16: 1.0 / 2048, BF16: 1.0 / 256,
	Q4_0: 1.0 / 8, Q4_1: 0.6 / 15, Q5_0: 1.0 / 16, Q5_1: 0.6 / 31,
	Q8_0: 0.6 / 127, Q8_1: 0.6 / 127, Q8_K: 0.6 / 127,
	Q4_K: 0.6 / 8, Q6_K: 0.6 / 32,
}

func TestRoundTripError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const cols = 512
	x := make([]float32, 4*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for typ, bound := range roundTripBound {
		t.Run(typ.String(), func(t *testing.T) {
			data, err := Quantize(typ, x, cols)
			require.NoError(t, err)
			require.Len(t, data, 4*mustRowBytes(t, typ, cols))
			y := make([]float32, len(x))
			require.NoError(t, Dequantize(typ, data, y))
			qk := max(typ.BlockSize(), 32)
			var worst float64
			for b := 0; b < len(x)/qk; b++ {
				xs, ys := x[b*qk:(b+1)*qk], y[b*qk:(b+1)*qk]
				lo, hi := minMax(xs)
				scale := math.Max(math.Abs(float64(lo)), math.Abs(float64(hi)))
				if typ == Q4_1 || typ == Q5_1 {
					scale = float64(hi - lo)
				}
				for i := range xs {
					e := math.Abs(float64(xs[i]-ys[i])) / scale
					worst = math.Max(worst, e)
					require.LessOrEqual(t, e, bound, "block %d value %d: %g decoded as %g", b, i, xs[i], ys[i])
				}
			}
			t.Logf("%v: worst error %.4f of the block's scale (bound %.4f)", typ, worst, bound)
		})
	}
}

func mustRowBytes(t *testing.T, typ Type, cols int) int {
	t.Helper()
	n, err := typ.RowBytes(cols)
	require.NoError(t, err)
	return n
}

// TestHandVerifiedBlocks decodes blocks whose values were worked out by hand from the format.
func TestHandVerifiedBlocks(t *testing.T) {
	x := make([]float32, 32)
	for i := range x {
		x[i] = float32(i-16) / 2 // -8 .. 7.5: largest magnitude -8 at i=0
	}
	q40, err := Quantize(Q4_0, x, 32)
	require.NoError(t, err)
	// d = max/-8 = -8/-8 = 1 (half 0x3C00), and q = trunc(x/d + 8.5).
	require.Equal(t, []byte{0x00, 0x3c}, q40[:2])
	// q_i = trunc(x_i + 8.5): element 0 (-8) → 0, element 16 (0) → 8, so byte 0 is 0x80.
	require.Equal(t, byte(0x80), q40[2])
	// element 1 = -7.5 → trunc(1.0) = 1, element 17 = 0.5 → trunc(9.0) = 9: byte 1 is 0x91.
	require.Equal(t, byte(0x91), q40[3])

	q80, err := Quantize(Q8_0, x, 32)
	require.NoError(t, err)
	// d = 8/127; element 0 → -127, element 1 → roundf(-7.5·127/8) = roundf(-119.0625) = -119.
	require.Equal(t, int8(-127), int8(q80[2]))
	require.Equal(t, int8(-119), int8(q80[3]))
	require.Equal(t, float32ToFP16(8.0/127), uint16(q80[0])|uint16(q80[1])<<8)
	back := make([]float32, 32)
	require.NoError(t, Dequantize(Q8_0, q80, back))
	require.Equal(t, -127*roundFP16(8.0/127), back[0])
}

func TestHalfConversions(t *testing.T) {
	tests := []struct {
		f    float32
		bits uint16
	}{
		{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, // 65520 rounds up to Inf
		{float32(math.Inf(-1)), 0xfc00}, {5.960464477539063e-08, 0x0001}, // smallest subnormal
		{1 + 1.0/2048, 0x3c00}, // tie: rounds to even
		{1 + 3.0/2048, 0x3c02},
	}
	for _, tc := range tests {
		require.Equal(t, tc.bits, float32ToFP16(tc.f), "%g", tc.f)
	}
	for h := range 1 << 16 {
		f := fp16ToFloat32(uint16(h))
		if f != f {
			continue
		}
		require.Equal(t, uint16(h), float32ToFP16(f), "half %#04x", h)
	}
	require.Equal(t, uint16(0x3f80), float32ToBF16(1))
	require.Equal(t, uint16(0x3f80), float32ToBF16(math.Float32frombits(0x3f808000))) // tie to even
	require.Equal(t, uint16(0x3f82), float32ToBF16(math.Float32frombits(0x3f818000)))
	require.Equal(t, uint16(0x7fc0), float32ToBF16(float32(math.NaN()))&0x7fc0)
}

func ExampleQuantize() {
	weights := make([]float32, 2*32) // 2 rows of 32
	for i := range weights {
		weights[i] = float32(i%32-16) / 16
	}
	data, _ := Quantize(Q8_0, weights, 32)
	back := make([]float32, len(weights))
	_ = Dequantize(Q8_0, data, back)
	fmt.Println(len(data), "bytes;", weights[5], "→", back[5])
	// Output: 68 bytes; -0.6875 → -0.68499756
}

func ExampleMatVec() {
	const rows, cols = 3, 64
	weights := make([]float32, rows*cols)
	for i := range weights {
		weights[i] = float32(i%7-3) / 4
	}
	data, _ := Quantize(Q8_0, weights, cols)
	w := Matrix{Type: Q8_0, Rows: rows, Cols: cols, Data: data}
	x := make([]float32, cols)
	for i := range x {
		x[i] = 1
	}
	y := make([]float32, rows)
	if err := MatVec(y, w, x); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%.3f\n", y) // exactly -0.75, -0.5, -0.25 before 8-bit rounding
	// Output: [-0.750 -0.502 -0.248]
}
