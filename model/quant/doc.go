// Package quant holds ggml's tensor types — F32, F16, BF16 and the block-quantized Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0, Q4_K and Q6_K (plus the activation formats Q8_1 and Q8_K) — and the kernels that
// multiply by weights kept in them, so a model's weights stay in memory at their file size and a
// decode step streams them at close to memory bandwidth.
//
// # Formats
//
// Type is the ggml type id a GGUF file stores; BlockSize, BlockBytes and RowBytes give the geometry.
// Quantize runs ggml's reference quantizers (quantize_row_*_ref, what llama-quantize uses without
// an importance matrix) and Dequantize ggml's dequantizers; both are ported operation for operation
// and give ggml's bytes and floats exactly (TestQuantizeMatchesGGML, golden vectors made by ggml).
//
// Block layouts (little-endian; d, m, dmin are IEEE halves):
//
//	Q4_0  32 values,  18 B: d, qs[16]            x = d·(q-8), q in nibbles (low: 0..15, high: 16..31)
//	Q4_1  32 values,  20 B: d, m, qs[16]         x = d·q + m
//	Q5_0  32 values,  22 B: d, qh[4], qs[16]     x = d·(q-16), the fifth bits in qh
//	Q5_1  32 values,  24 B: d, m, qh[4], qs[16]  x = d·q + m
//	Q8_0  32 values,  34 B: d, qs[32]            x = d·q
//	Q4_K 256 values, 144 B: d, dmin, scales[12], qs[128]  x = d·sc_j·q - dmin·m_j, 6-bit sc/m per 32
//	Q6_K 256 values, 210 B: ql[128], qh[64], scales[16], d  x = d·sc_j·(q-32), int8 sc per 16
//
// Q8_1 (Q8_0 plus s = d·Σq) and Q8_K (float32 d, 256 int8 quants, int16 sums of each 16) are what
// ggml quantizes an activation row to before it meets Q4_1/Q5_1 or Q4_K/Q6_K weights.
//
// # Products
//
// MatVec(y, w, x) computes y = w·x for a Matrix w [Rows, Cols] in any type above except the
// activation formats; MatMul(y, w, x, n) does n activation rows at once ([n, Cols] → [n, Rows])
// reading the weights once. Both run on a Runner (DefaultRunner: GOMAXPROCS threads), which
// splits the rows into chunks claimed by the calling goroutine and helper goroutines, and
// allocates nothing in steady state.
//
// The arithmetic is ggml's CPU backend's, so a model's outputs can be compared with llama.cpp's:
// the activation row is quantized once per product to the weights' "vec_dot_type" (Q8_0 for
// Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for Q4_K/Q6_K; rounded to f16/bf16 for F16/BF16
// weights), exactly as ggml's x86 AVX2 build does, and blocks are multiplied in integers and
// accumulated in float32. On amd64 with AVX2, FMA and F16C the kernels are hand-written Go
// assembly (kernels_amd64.s, chosen at init; KernelName reports which) that repeat ggml's AVX2
// instruction sequences and give its vec_dot results bit for bit (TestDotMatchesGGML). Elsewhere,
// or with the purego build tag, portable Go kernels run; they differ from the assembly only in
// the order of float32 additions (TestAsmMatchesPortable).
package quant
