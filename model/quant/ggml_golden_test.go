package quant

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// testdata/ggml_golden.json.gz holds vectors computed by ggml itself. They were made once by a small
// C program (not kept in the repository) compiled with gcc against the ggml sources of the llama.cpp
// snapshot that node-llama-cpp ships (llama/gitRelease.bundle, commit 80fb11a): ggml-quants.c built
// as ggml-base is (-O2, no FMA) for the reference quantizers and dequantizers, and the x86 CPU
// backend (ggml-cpu/arch/x86/quants.c, ggml-cpu/vec.cpp, built -O2 -mavx2 -mfma -mf16c) for the
// activation quantizers and dot products. Its inputs: 14 rows of 768 values from a xorshift
// generator — gaussians, outliers, a 1/8 grid (exact rounding ties), zero / constant / single-spike
// blocks, tiny (1e-6: subnormal half scales) and large (1e3) values, all-positive, all-negative,
// offset rows — and one activation row. It printed:
//   - quantized: quantize_row_<type>_ref of every row (hex);
//   - converted_sha256: SHA-256 of ggml_compute_fp32_to_fp16 / _to_bf16 of every value;
//   - dequantized_sha256: SHA-256 of dequantize_row_<type> of the quantized rows (float32 LE);
//   - activation_quantized: quantize_row_q8_0/q8_1/q8_K (the AVX2 versions) of every row, then the
//     activation row;
//   - dot: ggml_vec_dot_<type>_q8_<x> of each quantized row with the quantized activation, and
//     ggml_vec_dot_f32/f16/bf16 with both operands converted to the weight type.
type ggmlGolden struct {
	Cols, Rows          int
	Input, Activation   string
	Quantized           map[string]string
	ConvertedSHA256     map[string]string `json:"converted_sha256"`
	DequantizedSHA256   map[string]string `json:"dequantized_sha256"`
	ActivationQuantized map[string]string `json:"activation_quantized"`
	Dot                 map[string][]float32
}

func loadGolden(t *testing.T) *ggmlGolden {
	t.Helper()
	f, err := os.Open("testdata/ggml_golden.json.gz")
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	var g ggmlGolden
	require.NoError(t, json.NewDecoder(zr).Decode(&g))
	return &g
}

func hexBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func floatsLE(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func bytesLE(f []float32) []byte {
	out := make([]byte, 4*len(f))
	for i, v := range f {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
	}
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestQuantizeMatchesGGML: our reference quantizers give ggml's bytes, and our dequantizers ggml's
// floats, bit for bit.
func TestQuantizeMatchesGGML(t *testing.T) {
	g := loadGolden(t)
	input := floatsLE(hexBytes(t, g.Input))
	require.Len(t, input, g.Rows*g.Cols)
	for name, want := range g.Quantized {
		t.Run(name, func(t *testing.T) {
			typ, err := ParseType(name)
			require.NoError(t, err)
			got, err := Quantize(typ, input, g.Cols)
			require.NoError(t, err)
			wantBytes := hexBytes(t, want)
			require.Len(t, got, len(wantBytes))
			bb := typ.BlockBytes()
			for b := 0; b < len(got)/bb; b++ {
				require.Equal(t, wantBytes[b*bb:(b+1)*bb], got[b*bb:(b+1)*bb], "block %d (row %d)", b, b*typ.BlockSize()/g.Cols)
			}
			wantDeq, ok := g.DequantizedSHA256[name]
			if !ok {
				return
			}
			deq := make([]float32, len(input))
			require.NoError(t, Dequantize(typ, wantBytes, deq))
			require.Equal(t, wantDeq, sha(bytesLE(deq)), "dequantized values differ from ggml's")
		})
	}
	for name, want := range g.ConvertedSHA256 {
		typ, err := ParseType(name)
		require.NoError(t, err)
		got, err := Quantize(typ, input, g.Cols)
		require.NoError(t, err)
		require.Equal(t, want, sha(got), name)
	}
}
