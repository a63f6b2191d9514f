package quant

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Type is a ggml tensor type id, the number a GGUF file stores for each tensor.
type Type uint32

// The ggml type ids this package knows. Q8_1 and Q8_K are the activation formats ggml quantizes a
// row to before a dot product with Q4_1 (Q8_1) or Q4_K/Q6_K (Q8_K) weights; they can be quantized
// and dequantized here too, though no GGUF model stores them.
const (
	F32  Type = 0
	F16  Type = 1
	Q4_0 Type = 2
	Q4_1 Type = 3
	Q5_0 Type = 6
	Q5_1 Type = 7
	Q8_0 Type = 8
	Q8_1 Type = 9
	Q4_K Type = 12
	Q6_K Type = 14
	Q8_K Type = 15
	BF16 Type = 30
)

var (
	// ErrType reports a type id or name this package does not handle.
	ErrType = errors.New("quant: unsupported type")
	// ErrShape reports lengths that do not fit a type's blocks or each other.
	ErrShape = errors.New("quant: shape mismatch")
)

// typeInfo is one type's ggml name and block geometry: elements per block and bytes per block.
type typeInfo struct {
	name       string
	blockSize  int
	blockBytes int
}

// qkK is ggml's QK_K, the super-block size of the k-quants.
const qkK = 256

var typeInfos = map[Type]typeInfo{
	F32:  {"f32", 1, 4},
	F16:  {"f16", 1, 2},
	BF16: {"bf16", 1, 2},
	Q4_0: {"q4_0", 32, 2 + 16},
	Q4_1: {"q4_1", 32, 2 + 2 + 16},
	Q5_0: {"q5_0", 32, 2 + 4 + 16},
	Q5_1: {"q5_1", 32, 2 + 2 + 4 + 16},
	Q8_0: {"q8_0", 32, 2 + 32},
	Q8_1: {"q8_1", 32, 2 + 2 + 32},
	Q4_K: {"q4_K", qkK, 2 + 2 + 12 + qkK/2},
	Q6_K: {"q6_K", qkK, qkK/2 + qkK/4 + qkK/16 + 2},
	Q8_K: {"q8_K", qkK, 4 + qkK + 2*qkK/16},
}

// Known reports whether t is one of the types this package handles.
func (t Type) Known() bool {
	_, ok := typeInfos[t]
	return ok
}

// String is ggml's name for the type ("q8_0", "q4_K", "f16"), or "type(N)" for an unknown id.
func (t Type) String() string {
	if info, ok := typeInfos[t]; ok {
		return info.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize is the number of elements one block holds (1 for F32/F16/BF16), 0 for an unknown type.
func (t Type) BlockSize() int { return typeInfos[t].blockSize }

// BlockBytes is the number of bytes one block takes, 0 for an unknown type.
func (t Type) BlockBytes() int { return typeInfos[t].blockBytes }

// RowBytes is the number of bytes a row of cols elements takes. It fails with ErrType for an unknown
// type and ErrShape when cols is negative or not a multiple of the block size.
func (t Type) RowBytes(cols int) (int, error) {
	info, ok := typeInfos[t]
	if !ok {
		return 0, fmt.Errorf("%w: %v", ErrType, t)
	}
	if cols < 0 || cols%info.blockSize != 0 {
		return 0, fmt.Errorf("%w: %d elements is not a whole number of %v blocks of %d", ErrShape, cols, t, info.blockSize)
	}
	return cols / info.blockSize * info.blockBytes, nil
}

// ParseType reads a ggml type name, case-insensitively: "q8_0", "Q4_K", "f16", "BF16", ...
func ParseType(s string) (Type, error) {
	for t, info := range typeInfos {
		if strings.EqualFold(s, info.name) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("%w: %q", ErrType, s)
}

// Tensor is a tensor in its stored type. Shape is in Hugging Face order ([rows, cols] for a
// matrix), row-major; Data holds the rows' blocks back to back, as in a GGUF file.
type Tensor struct {
	Type  Type
	Shape []int
	Data  []byte
}

// Elements is the product of the shape's dimensions.
func (t Tensor) Elements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Validate checks that the type is known, the last dimension is a whole number of blocks and Data
// holds exactly the shape's bytes.
func (t Tensor) Validate() error {
	if len(t.Shape) == 0 {
		return fmt.Errorf("%w: %v tensor without dimensions", ErrShape, t.Type)
	}
	n := 1
	for _, d := range t.Shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return fmt.Errorf("%w: dimensions %v out of range", ErrShape, t.Shape)
		}
		n *= d
	}
	cols := t.Shape[len(t.Shape)-1]
	rowBytes, err := t.Type.RowBytes(cols)
	if err != nil {
		return err
	}
	rows := 1
	if cols > 0 {
		rows = t.Elements() / cols
	}
	if want := rows * rowBytes; want != len(t.Data) {
		return fmt.Errorf("%w: %v tensor of shape %v needs %d bytes, has %d", ErrShape, t.Type, t.Shape, want, len(t.Data))
	}
	return nil
}

// Matrix views a 2-D tensor as a Matrix (a 1-D tensor as one row).
func (t Tensor) Matrix() (Matrix, error) {
	if err := t.Validate(); err != nil {
		return Matrix{}, err
	}
	switch len(t.Shape) {
	case 1:
		return Matrix{Type: t.Type, Rows: 1, Cols: t.Shape[0], Data: t.Data}, nil
	case 2:
		return Matrix{Type: t.Type, Rows: t.Shape[0], Cols: t.Shape[1], Data: t.Data}, nil
	}
	return Matrix{}, fmt.Errorf("%w: a matrix needs 1 or 2 dimensions, shape is %v", ErrShape, t.Shape)
}

// Float32 dequantizes the whole tensor into a new slice.
func (t Tensor) Float32() ([]float32, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	dst := make([]float32, t.Elements())
	return dst, Dequantize(t.Type, t.Data, dst)
}
