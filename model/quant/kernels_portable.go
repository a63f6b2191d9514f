package quant

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// The portable kernels: plain Go dot products of weight rows with a quantized activation row,
// following ggml's generic C (ggml-cpu/quants.c, vec.cpp): exact integer sums per block, then
// float32 accumulation of d_w·d_x·sum. They run on every platform without assembly, and on amd64
// the tests hold the assembly kernels equal to them.

// rowsKernel computes y[r] = (row r of w) · a for r < len(y); w holds len(y) rows of rowBytes bytes.
type rowsKernel func(y []float32, w []byte, rowBytes int, a *activation)

// eachRow runs dot over the rows of w.
func eachRow(y []float32, w []byte, rowBytes int, a *activation, dot func(w []byte, a *activation) float32) {
	for r := range y {
		y[r] = dot(w[r*rowBytes:(r+1)*rowBytes], a)
	}
}

var portableKernels = map[Type]rowsKernel{
	F32:  func(y []float32, w []byte, rb int, a *activation) { eachRow(y, w, rb, a, dotF32) },
	F16:  func(y []float32, w []byte, rb int, a *activation) { eachRow(y, w, rb, a, dotF16) },
	BF16: func(y []float32, w []byte, rb int, a *activation) { eachRow(y, w, rb, a, dotBF16) },
	Q4_0: func(y []float32, w []byte, rb int, a *activation) { eachRow(y, w, rb, a, dotQ4_0) },
	Q4_1: func(y []float32, w []byte, rb int, a *activation) { eachRow(y, w, rb, a, dotQ4_1) },
	Q5_0: func(y []float32, w []byte, rb int, a *activation) { eachRow(y, w, rb, a, dotQ5_0) },
	Q5_1: func(y []float32, w []byte, rb int, a *activation) { eachRow(y, w, rb, a, dotQ5_1) },
	Q8_0: func(y []float32, w []byte, rb int, a *activation) { eachRow(y, w, rb, a, dotQ8_0) },
	Q4_K: func(y []float32, w []byte, rb int, a *activation) { eachRow(y, w, rb, a, dotQ4_K) },
	Q6_K: func(y []float32, w []byte, rb int, a *activation) { eachRow(y, w, rb, a, dotQ6_K) },
}

// dotF32 reads little-endian float32s: in place where the bytes are 4-aligned (always, for
// allocated or mmapped tensors), otherwise one by one.
func dotF32(w []byte, a *activation) float32 {
	x := a.f
	if uintptr(unsafe.Pointer(unsafe.SliceData(w)))%4 == 0 {
		wf := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(w))), len(w)/4)
		return dotFloats(wf, x)
	}
	var s float32
	for i, v := range x {
		s += float32(math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:])) * v)
	}
	return s
}

// dotFloats sums with four accumulators, the simplest order that is not one long dependency chain.
func dotFloats(w, x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float32(w[i] * x[i])
		s1 += float32(w[i+1] * x[i+1])
		s2 += float32(w[i+2] * x[i+2])
		s3 += float32(w[i+3] * x[i+3])
	}
	for ; i < len(x); i++ {
		s0 += float32(w[i] * x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func dotF16(w []byte, a *activation) float32 {
	var s0, s1 float32
	x := a.f
	i := 0
	for ; i+2 <= len(x); i += 2 {
		s0 += float32(fp16ToFloat32(binary.LittleEndian.Uint16(w[2*i:])) * x[i])
		s1 += float32(fp16ToFloat32(binary.LittleEndian.Uint16(w[2*i+2:])) * x[i+1])
	}
	for ; i < len(x); i++ {
		s0 += float32(fp16ToFloat32(binary.LittleEndian.Uint16(w[2*i:])) * x[i])
	}
	return s0 + s1
}

func dotBF16(w []byte, a *activation) float32 {
	var s0, s1 float32
	x := a.f
	i := 0
	for ; i+2 <= len(x); i += 2 {
		s0 += float32(bf16ToFloat32(binary.LittleEndian.Uint16(w[2*i:])) * x[i])
		s1 += float32(bf16ToFloat32(binary.LittleEndian.Uint16(w[2*i+2:])) * x[i+1])
	}
	for ; i < len(x); i++ {
		s0 += float32(bf16ToFloat32(binary.LittleEndian.Uint16(w[2*i:])) * x[i])
	}
	return s0 + s1
}

func dotQ8_0(w []byte, a *activation) float32 {
	var sum float32
	for ib, d := range a.d {
		b := w[34*ib : 34*ib+34]
		q := a.q[32*ib : 32*ib+32]
		sumi := int32(0)
		for j, v := range b[2:34] {
			sumi += int32(int8(v)) * int32(q[j])
		}
		sum += float32(float32(sumi) * float32(getFP16(b)*d))
	}
	return sum
}

func dotQ4_0(w []byte, a *activation) float32 {
	var sum float32
	for ib, d := range a.d {
		b := w[18*ib : 18*ib+18]
		q := a.q[32*ib : 32*ib+32]
		sumi := int32(0)
		for j, v := range b[2:18] {
			sumi += (int32(v&0xf)-8)*int32(q[j]) + (int32(v>>4)-8)*int32(q[j+16])
		}
		sum += float32(float32(sumi) * float32(getFP16(b)*d))
	}
	return sum
}

func dotQ4_1(w []byte, a *activation) float32 {
	var sum float32
	for ib, d := range a.d {
		b := w[20*ib : 20*ib+20]
		q := a.q[32*ib : 32*ib+32]
		sumi := int32(0)
		for j, v := range b[4:20] {
			sumi += int32(v&0xf)*int32(q[j]) + int32(v>>4)*int32(q[j+16])
		}
		sum += float32(float32(getFP16(b)*d)*float32(sumi)) + float32(getFP16(b[2:])*a.s[ib])
	}
	return sum
}

func dotQ5_0(w []byte, a *activation) float32 {
	var sum float32
	for ib, d := range a.d {
		b := w[22*ib : 22*ib+22]
		q := a.q[32*ib : 32*ib+32]
		qh := binary.LittleEndian.Uint32(b[2:])
		sumi := int32(0)
		for j, v := range b[6:22] {
			h0 := int32(qh>>j<<4) & 0x10
			h1 := int32(qh>>(j+12)) & 0x10
			sumi += (int32(v&0xf)|h0-16)*int32(q[j]) + (int32(v>>4)|h1-16)*int32(q[j+16])
		}
		sum += float32(float32(sumi) * float32(getFP16(b)*d))
	}
	return sum
}

func dotQ5_1(w []byte, a *activation) float32 {
	var sum float32
	for ib, d := range a.d {
		b := w[24*ib : 24*ib+24]
		q := a.q[32*ib : 32*ib+32]
		qh := binary.LittleEndian.Uint32(b[4:])
		sumi := int32(0)
		for j, v := range b[8:24] {
			h0 := int32(qh>>j<<4) & 0x10
			h1 := int32(qh>>(j+12)) & 0x10
			sumi += (int32(v&0xf)|h0)*int32(q[j]) + (int32(v>>4)|h1)*int32(q[j+16])
		}
		sum += float32(float32(getFP16(b)*d)*float32(sumi)) + float32(getFP16(b[2:])*a.s[ib])
	}
	return sum
}

// dotQ4_K: per super-block, Σ_j sc_j·(q4·q8 over sub-block j) in int32, minus the mins' share
// dmin·Σ_j m_j·(q8 sum over sub-block j), which the Q8_K sums give without touching the quants.
func dotQ4_K(w []byte, a *activation) float32 {
	var sum, sumMins float32
	for ib, dy := range a.d {
		b := w[144*ib : 144*ib+144]
		q8 := a.q[qkK*ib : qkK*(ib+1)]
		bs := a.bsums[16*ib : 16*ib+16]
		scales, mins := kScalesQ4(b[4:16])
		q4 := b[16:144]
		sumi, summ := int32(0), int32(0)
		for j := range 4 {
			lo, hi := int32(0), int32(0)
			for l := range 32 {
				v := q4[32*j+l]
				lo += int32(v&0xf) * int32(q8[64*j+l])
				hi += int32(v>>4) * int32(q8[64*j+32+l])
			}
			sumi += int32(scales[2*j])*lo + int32(scales[2*j+1])*hi
		}
		for j := range 8 {
			summ += int32(mins[j]) * (int32(bs[2*j]) + int32(bs[2*j+1]))
		}
		sum += float32(float32(dy*getFP16(b)) * float32(sumi))
		sumMins += float32(float32(dy*getFP16(b[2:])) * float32(summ))
	}
	return sum - sumMins
}

// dotQ6_K: Σ_j sc_j·((q6-32)·q8 over sub-block j of 16), computed as ggml's AVX2 kernel does, with
// the -32 folded into the Q8_K sums.
func dotQ6_K(w []byte, a *activation) float32 {
	var sum float32
	for ib, dy := range a.d {
		b := w[210*ib : 210*ib+210]
		q8 := a.q[qkK*ib : qkK*(ib+1)]
		bs := a.bsums[16*ib : 16*ib+16]
		ql, qh, sc := b[0:128], b[128:192], b[192:208]
		sumi := int32(0)
		for n := range 2 { // two halves of 128
			for l := range 32 {
				h := qh[32*n+l]
				q1 := int32(ql[64*n+l]&0xf | (h&3)<<4)
				q2 := int32(ql[64*n+32+l]&0xf | (h>>2&3)<<4)
				q3 := int32(ql[64*n+l]>>4 | (h>>4&3)<<4)
				q4 := int32(ql[64*n+32+l]>>4 | (h>>6&3)<<4)
				is := 8*n + l/16
				base := 128*n + l
				sumi += int32(int8(sc[is]))*q1*int32(q8[base]) +
					int32(int8(sc[is+2]))*q2*int32(q8[base+32]) +
					int32(int8(sc[is+4]))*q3*int32(q8[base+64]) +
					int32(int8(sc[is+6]))*q4*int32(q8[base+96])
			}
		}
		for j := range 16 {
			sumi -= 32 * int32(int8(sc[j])) * int32(bs[j])
		}
		sum += float32(float32(dy*getFP16(b[208:])) * float32(sumi))
	}
	return sum
}
