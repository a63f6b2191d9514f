package gguf

import "fmt"

// ValueType is the type tag of a metadata value (gguf.md's gguf_metadata_value_type).
type ValueType uint32

// The metadata value types.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool",
	"string", "array", "uint64", "int64", "float64"}

// String is the type's name in gguf.md ("uint32", "array", ...).
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("value_type(%d)", uint32(t))
}

// valid reports whether t is one of the 13 defined value types.
func (t ValueType) valid() bool { return t <= TypeFloat64 }

// scalarSize is the encoded size of a fixed-size type; 0 for string and array.
func (t ValueType) scalarSize() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// minEncodedSize is the fewest bytes a value of type t takes in a file: what bounds an array's count
// by the bytes left, so a lying count fails before anything is allocated.
func (t ValueType) minEncodedSize() int {
	switch t {
	case TypeString:
		return 8 // the length
	case TypeArray:
		return 12 // element type + count
	}
	return t.scalarSize()
}

func (t ValueType) isInteger() bool {
	switch t {
	case TypeUint8, TypeInt8, TypeUint16, TypeInt16, TypeUint32, TypeInt32, TypeUint64, TypeInt64:
		return true
	}
	return false
}

func (t ValueType) isFloat() bool { return t == TypeFloat32 || t == TypeFloat64 }

// TensorType is a ggml tensor type id (ggml.h's enum ggml_type), the number a GGUF stores per tensor.
// This package knows the block geometry of every type a current GGUF can hold, so that it can bound
// any file; which types a model can compute with is decided by the model loader.
type TensorType uint32

// ggml type ids with their names, as in ggml.c's type_traits. Ids 4, 5 and 31–33, 36–38 were removed
// from ggml (Q4_2, Q4_3, the Q4_0_x_x and IQ4_NL_x_x repacks): files with them are rejected. The
// table follows the llama.cpp build the project's oracle pins (ggml-common.h's block structs).
const (
	F32     TensorType = 0
	F16     TensorType = 1
	Q4_0    TensorType = 2
	Q4_1    TensorType = 3
	Q5_0    TensorType = 6
	Q5_1    TensorType = 7
	Q8_0    TensorType = 8
	Q8_1    TensorType = 9
	Q2_K    TensorType = 10
	Q3_K    TensorType = 11
	Q4_K    TensorType = 12
	Q5_K    TensorType = 13
	Q6_K    TensorType = 14
	Q8_K    TensorType = 15
	IQ2_XXS TensorType = 16
	IQ2_XS  TensorType = 17
	IQ3_XXS TensorType = 18
	IQ1_S   TensorType = 19
	IQ4_NL  TensorType = 20
	IQ3_S   TensorType = 21
	IQ2_S   TensorType = 22
	IQ4_XS  TensorType = 23
	I8      TensorType = 24
	I16     TensorType = 25
	I32     TensorType = 26
	I64     TensorType = 27
	F64     TensorType = 28
	IQ1_M   TensorType = 29
	BF16    TensorType = 30
	TQ1_0   TensorType = 34
	TQ2_0   TensorType = 35
	MXFP4   TensorType = 39
	NVFP4   TensorType = 40
	Q1_0    TensorType = 41
	Q2_0    TensorType = 42
)

// tensorTypeInfo is a type's name, elements per block and bytes per block (ggml's blck_size and
// type_size).
type tensorTypeInfo struct {
	name       string
	blockSize  int64
	blockBytes int64
}

const qkK = 256 // ggml's QK_K, the k-quants' super-block

var tensorTypes = map[TensorType]tensorTypeInfo{
	F32: {"f32", 1, 4}, F16: {"f16", 1, 2}, BF16: {"bf16", 1, 2}, F64: {"f64", 1, 8},
	I8: {"i8", 1, 1}, I16: {"i16", 1, 2}, I32: {"i32", 1, 4}, I64: {"i64", 1, 8},
	Q4_0: {"q4_0", 32, 18}, Q4_1: {"q4_1", 32, 20}, Q5_0: {"q5_0", 32, 22}, Q5_1: {"q5_1", 32, 24},
	Q8_0: {"q8_0", 32, 34}, Q8_1: {"q8_1", 32, 36},
	Q2_K: {"q2_K", qkK, 84}, Q3_K: {"q3_K", qkK, 110}, Q4_K: {"q4_K", qkK, 144}, Q5_K: {"q5_K", qkK, 176},
	Q6_K: {"q6_K", qkK, 210}, Q8_K: {"q8_K", qkK, 292},
	IQ2_XXS: {"iq2_xxs", qkK, 66}, IQ2_XS: {"iq2_xs", qkK, 74}, IQ3_XXS: {"iq3_xxs", qkK, 98},
	IQ1_S: {"iq1_s", qkK, 50}, IQ4_NL: {"iq4_nl", 32, 18}, IQ3_S: {"iq3_s", qkK, 110},
	IQ2_S: {"iq2_s", qkK, 82}, IQ4_XS: {"iq4_xs", qkK, 136}, IQ1_M: {"iq1_m", qkK, 56},
	TQ1_0: {"tq1_0", qkK, 54}, TQ2_0: {"tq2_0", qkK, 66}, MXFP4: {"mxfp4", 32, 17},
	NVFP4: {"nvfp4", 64, 36}, Q1_0: {"q1_0", 128, 18}, Q2_0: {"q2_0", 64, 18},
}

// Known reports whether t is a ggml type this package knows the block geometry of.
func (t TensorType) Known() bool {
	_, ok := tensorTypes[t]
	return ok
}

// String is ggml's name for the type ("q8_0", "q4_K"), or "ggml_type(N)".
func (t TensorType) String() string {
	if info, ok := tensorTypes[t]; ok {
		return info.name
	}
	return fmt.Sprintf("ggml_type(%d)", uint32(t))
}

// BlockSize is the number of elements in one block (1 for plain types), 0 if unknown.
func (t TensorType) BlockSize() int64 { return tensorTypes[t].blockSize }

// BlockBytes is the size of one block in bytes, 0 if unknown.
func (t TensorType) BlockBytes() int64 { return tensorTypes[t].blockBytes }
