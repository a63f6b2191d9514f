package quant

import "math"

// Half-precision conversions, written out rather than taken from a library because the quantizers must
// round exactly as ggml does: ggml's fp32→fp16 (ggml_compute_fp32_to_fp16, ported below bit for bit) is
// round-to-nearest-even with every NaN mapped to 0x7E00, and its fp32→bf16 rounds to nearest even with
// NaNs forced quiet.

// fp16ToFloat32 widens an IEEE binary16 value exactly (ggml_compute_fp16_to_fp32; F16C's VCVTPH2PS
// gives the same bits, NaN payloads included).
func fp16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // Inf or NaN: keep the payload
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// subnormal: mant × 2^-24, exact in float32
	v := float32(mant) * (1.0 / (1 << 24))
	return math.Float32frombits(sign | math.Float32bits(v))
}

// float32ToFP16 rounds to the nearest binary16, ties to even (ggml_compute_fp32_to_fp16).
func float32ToFP16(f float32) uint16 {
	const scaleToInf = float32(0x1.0p+112)
	const scaleToZero = float32(0x1.0p-110)
	abs := float32(math.Abs(float64(f)))
	base := float32(abs*scaleToInf) * scaleToZero
	w := math.Float32bits(f)
	shl1w := w + w
	sign := w & 0x80000000
	bias := shl1w & 0xff000000
	if bias < 0x71000000 {
		bias = 0x71000000
	}
	base = math.Float32frombits(bias>>1+0x07800000) + base
	bits := math.Float32bits(base)
	expBits := (bits >> 13) & 0x00007c00
	mantBits := bits & 0x00000fff
	nonsign := expBits + mantBits
	if shl1w > 0xff000000 {
		nonsign = 0x7e00
	}
	return uint16(sign>>16 | nonsign)
}

// roundFP16 is f rounded to binary16 and widened back: the value ggml computes with after storing f
// as a half.
func roundFP16(f float32) float32 { return fp16ToFloat32(float32ToFP16(f)) }

// bf16ToFloat32 widens a bfloat16 value exactly.
func bf16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// float32ToBF16 rounds to the nearest bfloat16, ties to even, NaNs made quiet
// (ggml_compute_fp32_to_bf16).
func float32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 64
	}
	return uint16((u + (0x7fff + ((u >> 16) & 1))) >> 16)
}
