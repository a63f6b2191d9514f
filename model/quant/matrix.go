package quant

import (
	"fmt"
	"unsafe"
)

// Matrix is a row-major weight matrix [Rows, Cols] in its stored type: Data holds Rows rows of
// Type.RowBytes(Cols) bytes each, as a GGUF file lays them out (a view, never copied).
type Matrix struct {
	Type       Type
	Rows, Cols int
	Data       []byte
	// ExactActivations, for F16 and BF16 weights, multiplies them by the float32 activations as
	// they are (each weight widened exactly), as a float32 framework would; by default the
	// activations are rounded to the weights' type first, as ggml does.
	ExactActivations bool
}

// check validates the matrix and returns its row size in bytes.
func (w Matrix) check() (int, error) {
	if w.Rows < 0 {
		return 0, fmt.Errorf("%w: %d rows", ErrShape, w.Rows)
	}
	rowBytes, err := w.Type.RowBytes(w.Cols)
	if err != nil {
		return 0, err
	}
	if len(w.Data) != w.Rows*rowBytes {
		return 0, fmt.Errorf("%w: %v matrix [%d, %d] needs %d bytes, has %d", ErrShape, w.Type, w.Rows, w.Cols, w.Rows*rowBytes, len(w.Data))
	}
	return rowBytes, nil
}

// F32Matrix views row-major float32 weights [rows, cols] as an F32 Matrix without copying (the
// little-endian bytes of data; every platform Go runs on is little-endian except s390x/ppc64/mips,
// where it copies).
func F32Matrix(data []float32, rows, cols int) (Matrix, error) {
	if rows < 0 || cols < 0 || len(data) != rows*cols {
		return Matrix{}, fmt.Errorf("%w: %d values for an F32 matrix [%d, %d]", ErrShape, len(data), rows, cols)
	}
	if len(data) == 0 {
		return Matrix{Type: F32, Rows: rows, Cols: cols, Data: []byte{}}, nil
	}
	if !littleEndian {
		b, err := Quantize(F32, data, cols)
		return Matrix{Type: F32, Rows: rows, Cols: cols, Data: b}, err
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(data))), 4*len(data))
	return Matrix{Type: F32, Rows: rows, Cols: cols, Data: b}, nil
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()
