package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The reference quantizers: Go ports of ggml's quantize_row_*_ref (ggml-quants.c), the functions
// llama-quantize runs when it has no importance matrix, so a file written with them holds the same
// bytes llama.cpp would write (TestQuantizeMatchesGGML checks golden bytes made by ggml itself).
//
// ggml-quants.c is compiled without FMA contraction, so every product here that feeds an addition is
// wrapped in float32(...): Go may fuse x*y+z into one FMA on arm64 and other targets, and an explicit
// conversion forbids that. The float-to-int conversions follow C's: truncation for the (int8_t) casts,
// nearest_int (round half to even) where ggml uses it, roundf (half away from zero) for Q8_0.

// Quantize quantizes src, rows of cols elements back to back, into t's blocks (ggml's reference
// quantizers; F32/F16/BF16 are plain conversions). cols must be a positive multiple of t's block size
// and len(src) a multiple of cols.
func Quantize(t Type, src []float32, cols int) ([]byte, error) {
	if cols <= 0 || len(src)%cols != 0 {
		return nil, fmt.Errorf("%w: %d values are not whole rows of %d", ErrShape, len(src), cols)
	}
	rowBytes, err := t.RowBytes(cols)
	if err != nil {
		return nil, err
	}
	dst := make([]byte, len(src)/cols*rowBytes)
	if err := QuantizeInto(t, dst, src); err != nil {
		return nil, err
	}
	return dst, nil
}

// QuantizeInto quantizes src into dst, which must hold exactly RowBytes(len(src)) bytes. Every type
// here quantizes block by block with no state across blocks, so rows need not be known.
func QuantizeInto(t Type, dst []byte, src []float32) error {
	need, err := t.RowBytes(len(src))
	if err != nil {
		return err
	}
	if len(dst) != need {
		return fmt.Errorf("%w: %d %v values need %d bytes, dst has %d", ErrShape, len(src), t, need, len(dst))
	}
	quantizeBlocks(t, dst, src)
	return nil
}

// blockQuantizers quantize one block of t.BlockSize() values into t.BlockBytes() bytes.
var blockQuantizers = map[Type]func(dst []byte, x []float32){
	Q4_0: quantizeBlockQ4_0,
	Q4_1: quantizeBlockQ4_1,
	Q5_0: quantizeBlockQ5_0,
	Q5_1: quantizeBlockQ5_1,
	Q8_0: quantizeBlockQ8_0,
	Q8_1: quantizeBlockQ8_1,
	Q4_K: quantizeBlockQ4_K,
	Q6_K: quantizeBlockQ6_K,
	Q8_K: quantizeBlockQ8_K,
}

func quantizeBlocks(t Type, dst []byte, src []float32) {
	switch t {
	case F32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
		return
	case F16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], float32ToFP16(v))
		}
		return
	case BF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], float32ToBF16(v))
		}
		return
	}
	qk, bb, quantize := t.BlockSize(), t.BlockBytes(), blockQuantizers[t]
	for b := 0; b < len(src)/qk; b++ {
		quantize(dst[b*bb:(b+1)*bb], src[b*qk:(b+1)*qk])
	}
}

func putFP16(dst []byte, f float32) { binary.LittleEndian.PutUint16(dst, float32ToFP16(f)) }

func getFP16(src []byte) float32 { return fp16ToFloat32(binary.LittleEndian.Uint16(src)) }

func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

// nearestInt is ggml's nearest_int: round half to even through the 1.5·2^23 trick, valid for
// |f| ≤ 4194303 (larger values give garbage, as in ggml, never a panic).
func nearestInt(f float32) int {
	val := f + 12582912
	return int(math.Float32bits(val)&0x007fffff) - 0x00400000
}

// absMaxSigned returns the largest |x[i]| and the signed value it came from (the first one on ties).
func absMaxSigned(x []float32) (amax, signedMax float32) {
	for _, v := range x {
		if a := abs32(v); amax < a {
			amax, signedMax = a, v
		}
	}
	return amax, signedMax
}

func minMax(x []float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}

func inverse(d float32) float32 {
	if d != 0 {
		return 1 / d
	}
	return 0
}

// quantizeBlockQ4_0: d = max/-8 (max the signed value of largest magnitude), q = x/d + 8 in [0, 15];
// low nibbles hold elements 0..15, high nibbles 16..31.
func quantizeBlockQ4_0(dst []byte, x []float32) {
	_, signedMax := absMaxSigned(x)
	d := signedMax / -8
	id := inverse(d)
	putFP16(dst, d)
	for j := range 16 {
		x0 := float32(x[j] * id)
		x1 := float32(x[j+16] * id)
		dst[2+j] = uint8(min(15, int8(x0+8.5))) | uint8(min(15, int8(x1+8.5)))<<4
	}
}

// quantizeBlockQ4_1: d = (max-min)/15, m = min, q = (x-min)/d in [0, 15].
func quantizeBlockQ4_1(dst []byte, x []float32) {
	mn, mx := minMax(x)
	d := (mx - mn) / 15
	id := inverse(d)
	putFP16(dst, d)
	putFP16(dst[2:], mn)
	for j := range 16 {
		x0 := float32((x[j] - mn) * id)
		x1 := float32((x[j+16] - mn) * id)
		dst[4+j] = uint8(min(15, int8(x0+0.5))) | uint8(min(15, int8(x1+0.5)))<<4
	}
}

// quantizeBlockQ5_0: as Q4_0 with 5 bits, d = max/-16; the fifth bits go to the 32-bit qh.
func quantizeBlockQ5_0(dst []byte, x []float32) {
	_, signedMax := absMaxSigned(x)
	d := signedMax / -16
	id := inverse(d)
	putFP16(dst, d)
	var qh uint32
	for j := range 16 {
		x0 := float32(x[j] * id)
		x1 := float32(x[j+16] * id)
		xi0 := uint8(min(31, int8(x0+16.5)))
		xi1 := uint8(min(31, int8(x1+16.5)))
		dst[6+j] = xi0&0x0f | (xi1&0x0f)<<4
		qh |= uint32(xi0&0x10) >> 4 << j
		qh |= uint32(xi1&0x10) >> 4 << (j + 16)
	}
	binary.LittleEndian.PutUint32(dst[2:], qh)
}

// quantizeBlockQ5_1: as Q4_1 with 5 bits, d = (max-min)/31.
func quantizeBlockQ5_1(dst []byte, x []float32) {
	mn, mx := minMax(x)
	d := (mx - mn) / 31
	id := inverse(d)
	putFP16(dst, d)
	putFP16(dst[2:], mn)
	var qh uint32
	for j := range 16 {
		x0 := float32((x[j] - mn) * id)
		x1 := float32((x[j+16] - mn) * id)
		xi0 := uint8(x0 + 0.5)
		xi1 := uint8(x1 + 0.5)
		dst[8+j] = xi0&0x0f | (xi1&0x0f)<<4
		qh |= uint32(xi0&0x10) >> 4 << j
		qh |= uint32(xi1&0x10) >> 4 << (j + 16)
	}
	binary.LittleEndian.PutUint32(dst[4:], qh)
}

func absMax(x []float32) float32 {
	var amax float32
	for _, v := range x {
		if a := abs32(v); !(amax > a) { // C's MAX(amax, a), NaN behaviour included
			amax = a
		}
	}
	return amax
}

// roundAway is C's roundf: halves away from zero.
func roundAway(f float32) float32 { return float32(math.Round(float64(f))) }

// quantizeBlockQ8_0: d = amax/127, q = roundf(x/d).
func quantizeBlockQ8_0(dst []byte, x []float32) {
	d := absMax(x) / 127
	id := inverse(d)
	putFP16(dst, d)
	for j, v := range x {
		dst[2+j] = uint8(int8(roundAway(float32(v * id))))
	}
}

// quantizeBlockQ8_1: Q8_0 plus s = d·Σq, the sum the Q4_1 dot product needs for its offset.
func quantizeBlockQ8_1(dst []byte, x []float32) {
	d := absMax(x) / 127
	id := inverse(d)
	putFP16(dst, d)
	sum := 0
	for j, v := range x {
		q := int8(roundAway(float32(v * id)))
		dst[4+j] = uint8(q)
		sum += int(q)
	}
	putFP16(dst[2:], float32(sum)*d)
}

// quantizeBlockQ8_K: d = max/-127 as a float32 (not a half), q = nearest(x/d), plus the sums of
// every 16 quants.
func quantizeBlockQ8_K(dst []byte, x []float32) {
	amax, signedMax := absMaxSigned(x)
	qs := dst[4 : 4+qkK]
	if amax == 0 {
		clear(dst)
		return
	}
	iscale := -127 / signedMax
	for j, v := range x {
		qs[j] = uint8(int8(min(127, nearestInt(float32(iscale*v)))))
	}
	for j := range qkK / 16 {
		sum := 0
		for _, q := range qs[16*j : 16*j+16] {
			sum += int(int8(q))
		}
		binary.LittleEndian.PutUint16(dst[4+qkK+2*j:], uint16(int16(sum)))
	}
	binary.LittleEndian.PutUint32(dst, math.Float32bits(1/iscale))
}
