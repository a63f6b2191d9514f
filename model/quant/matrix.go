package quant

import "fmt"

// Matrix is a row-major weight matrix [Rows, Cols] in its stored type: Data holds Rows rows of
// Type.RowBytes(Cols) bytes each, as a GGUF file lays them out (a view, never copied).
type Matrix struct {
	Type       Type
	Rows, Cols int
	Data       []byte
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
