package quant

import (
	"errors"
	"testing"
)

// FuzzDequantize feeds arbitrary type ids, lengths and bytes to RowBytes, Dequantize and Tensor:
// they must either succeed or fail with ErrType/ErrShape, never panic.
func FuzzDequantize(f *testing.F) {
	f.Add(uint32(Q4_K), 256, make([]byte, 144))
	f.Add(uint32(Q8_0), 32, []byte{0xff, 0x7f, 1, 2, 3})
	f.Add(uint32(Q6_K), 512, make([]byte, 420))
	f.Add(uint32(F16), 3, []byte{0, 0x7c, 0xff, 0xff, 1, 0})
	f.Add(uint32(99), 32, []byte{})
	f.Fuzz(func(t *testing.T, typ uint32, n int, data []byte) {
		tt := Type(typ)
		rowBytes, err := tt.RowBytes(n)
		if err != nil && !errors.Is(err, ErrType) && !errors.Is(err, ErrShape) {
			t.Fatalf("RowBytes: untyped error %v", err)
		}
		if n < 0 || n > 1<<16 {
			return
		}
		dst := make([]float32, n)
		err = Dequantize(tt, data, dst)
		switch {
		case err == nil && rowBytes != len(data):
			t.Fatalf("Dequantize accepted %d bytes for %d %v values (%d needed)", len(data), n, tt, rowBytes)
		case err != nil && !errors.Is(err, ErrType) && !errors.Is(err, ErrShape):
			t.Fatalf("Dequantize: untyped error %v", err)
		}
		tensor := Tensor{Type: tt, Shape: []int{2, n / 2}, Data: data}
		if _, err := tensor.Float32(); err != nil && !errors.Is(err, ErrType) && !errors.Is(err, ErrShape) {
			t.Fatalf("Tensor.Float32: untyped error %v", err)
		}
		if w, err := tensor.Matrix(); err == nil && w.Rows > 0 {
			row := make([]float32, w.Cols)
			if err := DequantizeRow(w, w.Rows-1, row); err != nil {
				t.Fatalf("DequantizeRow of a valid matrix: %v", err)
			}
			for i := range row {
				row[i] = float32(i%5) - 2
			}
			y := make([]float32, w.Rows)
			err := MatVec(y, w, row) // any bytes are valid blocks: NaN/Inf scales give NaN/Inf, no panic
			if err != nil && !errors.Is(err, ErrType) {
				t.Fatalf("MatVec of a valid matrix: %v", err)
			}
		}
	})
}
