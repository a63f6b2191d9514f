package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The dequantizers: Go ports of ggml's dequantize_row_* (ggml-quants.c), same operations in the same
// order, so they reproduce ggml's floats exactly.

// Dequantize widens data, len(dst) values of type t back to back, into dst. It fails with ErrType for
// an unknown type and ErrShape when len(dst) is not a whole number of blocks or data is not exactly
// their size.
func Dequantize(t Type, data []byte, dst []float32) error {
	need, err := t.RowBytes(len(dst))
	if err != nil {
		return err
	}
	if len(data) != need {
		return fmt.Errorf("%w: %d %v values take %d bytes, data has %d", ErrShape, len(dst), t, need, len(data))
	}
	dequantizeBlocks(t, data, dst)
	return nil
}

// DequantizeRow widens row r of w into dst (len w.Cols): the row gather an embedding lookup needs.
func DequantizeRow(w Matrix, r int, dst []float32) error {
	rowBytes, err := w.check()
	if err != nil {
		return err
	}
	if r < 0 || r >= w.Rows {
		return fmt.Errorf("%w: row %d of a %d-row matrix", ErrShape, r, w.Rows)
	}
	if len(dst) != w.Cols {
		return fmt.Errorf("%w: dst has %d values for a row of %d", ErrShape, len(dst), w.Cols)
	}
	dequantizeBlocks(w.Type, w.Data[r*rowBytes:(r+1)*rowBytes], dst)
	return nil
}

var blockDequantizers = map[Type]func(y []float32, b []byte){
	Q4_0: dequantizeBlockQ4_0,
	Q4_1: dequantizeBlockQ4_1,
	Q5_0: dequantizeBlockQ5_0,
	Q5_1: dequantizeBlockQ5_1,
	Q8_0: dequantizeBlockQ8_0,
	Q8_1: dequantizeBlockQ8_1,
	Q4_K: dequantizeBlockQ4_K,
	Q6_K: dequantizeBlockQ6_K,
	Q8_K: dequantizeBlockQ8_K,
}

func dequantizeBlocks(t Type, data []byte, dst []float32) {
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		return
	case F16:
		for i := range dst {
			dst[i] = fp16ToFloat32(binary.LittleEndian.Uint16(data[2*i:]))
		}
		return
	case BF16:
		for i := range dst {
			dst[i] = bf16ToFloat32(binary.LittleEndian.Uint16(data[2*i:]))
		}
		return
	}
	qk, bb, dequantize := t.BlockSize(), t.BlockBytes(), blockDequantizers[t]
	for b := 0; b < len(dst)/qk; b++ {
		dequantize(dst[b*qk:(b+1)*qk], data[b*bb:(b+1)*bb])
	}
}

func dequantizeBlockQ4_0(y []float32, b []byte) {
	d := getFP16(b)
	for j, q := range b[2:18] {
		y[j] = float32(int(q&0x0f)-8) * d
		y[j+16] = float32(int(q>>4)-8) * d
	}
}

func dequantizeBlockQ4_1(y []float32, b []byte) {
	d, m := getFP16(b), getFP16(b[2:])
	for j, q := range b[4:20] {
		y[j] = float32(float32(q&0x0f)*d) + m
		y[j+16] = float32(float32(q>>4)*d) + m
	}
}

func dequantizeBlockQ5_0(y []float32, b []byte) {
	d := getFP16(b)
	qh := binary.LittleEndian.Uint32(b[2:])
	for j, q := range b[6:22] {
		h0 := uint8(qh>>j<<4) & 0x10
		h1 := uint8(qh>>(j+12)) & 0x10
		y[j] = float32(int(q&0x0f|h0)-16) * d
		y[j+16] = float32(int(q>>4|h1)-16) * d
	}
}

func dequantizeBlockQ5_1(y []float32, b []byte) {
	d, m := getFP16(b), getFP16(b[2:])
	qh := binary.LittleEndian.Uint32(b[4:])
	for j, q := range b[8:24] {
		h0 := uint8(qh>>j<<4) & 0x10
		h1 := uint8(qh>>(j+12)) & 0x10
		y[j] = float32(float32(q&0x0f|h0)*d) + m
		y[j+16] = float32(float32(q>>4|h1)*d) + m
	}
}

func dequantizeBlockQ8_0(y []float32, b []byte) {
	d := getFP16(b)
	for j, q := range b[2:34] {
		y[j] = float32(int8(q)) * d
	}
}

func dequantizeBlockQ8_1(y []float32, b []byte) {
	d := getFP16(b)
	for j, q := range b[4:36] {
		y[j] = float32(int8(q)) * d
	}
}

func dequantizeBlockQ8_K(y []float32, b []byte) {
	d := math.Float32frombits(binary.LittleEndian.Uint32(b))
	for j, q := range b[4 : 4+qkK] {
		y[j] = d * float32(int8(q))
	}
}

func dequantizeBlockQ4_K(y []float32, b []byte) {
	d, dmin := getFP16(b), getFP16(b[2:])
	scales, mins := kScalesQ4(b[4:16])
	q := b[16:]
	for j := range 4 {
		d1, m1 := float32(d*float32(scales[2*j])), float32(dmin*float32(mins[2*j]))
		d2, m2 := float32(d*float32(scales[2*j+1])), float32(dmin*float32(mins[2*j+1]))
		for l := range 32 {
			y[64*j+l] = float32(d1*float32(q[32*j+l]&0xf)) - m1
			y[64*j+32+l] = float32(d2*float32(q[32*j+l]>>4)) - m2
		}
	}
}

func dequantizeBlockQ6_K(y []float32, b []byte) {
	d := getFP16(b[208:])
	ql, qh, sc := b[0:128], b[128:192], b[192:208]
	for n := 0; n < qkK; n += 128 {
		for l := range 32 {
			is := l / 16
			q1 := int8(ql[l]&0xf|(qh[l]>>0&3)<<4) - 32
			q2 := int8(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
			q3 := int8(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
			q4 := int8(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
			y[n+l] = float32(d*float32(int8(sc[is]))) * float32(q1)
			y[n+l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
			y[n+l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
			y[n+l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
		}
		ql, qh, sc = ql[64:], qh[32:], sc[8:]
	}
}
