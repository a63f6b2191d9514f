package gguf

import (
	"fmt"
	"math"
)

// Value is one metadata value. The accessors (Int, Uint, Float, Bool, String, Array) report whether
// the value has that kind, so a reader never has to switch on Type for the common cases.
type Value struct {
	Type ValueType
	bits uint64  // integers (signed ones as two's complement) and bools
	f    float64 // float32 and float64
	s    string
	arr  *Array
}

// KV is one metadata key and its value.
type KV struct {
	Key   string
	Value Value
}

// Array is an array value: Len elements of type Elem, kept in typed slices (one of them is set).
type Array struct {
	Elem   ValueType
	ints   []uint64 // integer and bool elements, as in Value.bits
	floats []float64
	strs   []string
	arrays []Array // nested arrays
}

// Scalar constructors, for writing.

func Uint8(v uint8) Value     { return Value{Type: TypeUint8, bits: uint64(v)} }
func Int8(v int8) Value       { return Value{Type: TypeInt8, bits: uint64(int64(v))} }
func Uint16(v uint16) Value   { return Value{Type: TypeUint16, bits: uint64(v)} }
func Int16(v int16) Value     { return Value{Type: TypeInt16, bits: uint64(int64(v))} }
func Uint32(v uint32) Value   { return Value{Type: TypeUint32, bits: uint64(v)} }
func Int32(v int32) Value     { return Value{Type: TypeInt32, bits: uint64(int64(v))} }
func Uint64(v uint64) Value   { return Value{Type: TypeUint64, bits: v} }
func Int64(v int64) Value     { return Value{Type: TypeInt64, bits: uint64(v)} }
func Float32(v float32) Value { return Value{Type: TypeFloat32, f: float64(v)} }
func Float64(v float64) Value { return Value{Type: TypeFloat64, f: v} }
func String(v string) Value   { return Value{Type: TypeString, s: v} }
func Bool(v bool) Value {
	var b uint64
	if v {
		b = 1
	}
	return Value{Type: TypeBool, bits: b}
}

// ArrayValue wraps an array as a value.
func ArrayValue(a Array) Value { return Value{Type: TypeArray, arr: &a} }

// Strings is a string array value.
func Strings(v []string) Value { return ArrayValue(Array{Elem: TypeString, strs: v}) }

// Float32s is a float32 array value.
func Float32s(v []float32) Value {
	a := Array{Elem: TypeFloat32, floats: make([]float64, len(v))}
	for i, x := range v {
		a.floats[i] = float64(x)
	}
	return ArrayValue(a)
}

// Int32s is an int32 array value.
func Int32s(v []int32) Value {
	a := Array{Elem: TypeInt32, ints: make([]uint64, len(v))}
	for i, x := range v {
		a.ints[i] = uint64(int64(x))
	}
	return ArrayValue(a)
}

// Arrays is an array of arrays (elements of any types).
func Arrays(v []Array) Value { return ArrayValue(Array{Elem: TypeArray, arrays: v}) }

// Int returns an integer value (any integer type) as int64; false for other types and for uint64
// values above MaxInt64.
func (v Value) Int() (int64, bool) {
	if !v.Type.isInteger() || (v.Type == TypeUint64 && v.bits > math.MaxInt64) {
		return 0, false
	}
	return int64(v.bits), true
}

// Uint returns a non-negative integer value as uint64; false for other types and negative values.
func (v Value) Uint() (uint64, bool) {
	if !v.Type.isInteger() || (v.Type != TypeUint64 && int64(v.bits) < 0) {
		return 0, false
	}
	return v.bits, true
}

// Float returns a float32 or float64 value.
func (v Value) Float() (float64, bool) { return v.f, v.Type.isFloat() }

// Bool returns a bool value.
func (v Value) Bool() (bool, bool) { return v.bits != 0, v.Type == TypeBool }

// String returns a string value; for other types it returns "" and false. (Use Format to print any
// value.)
func (v Value) String() (string, bool) { return v.s, v.Type == TypeString }

// Array returns an array value.
func (v Value) Array() (*Array, bool) {
	if v.Type != TypeArray || v.arr == nil {
		return nil, false
	}
	return v.arr, true
}

// Format renders the value for humans; arrays show their type and length only.
func (v Value) Format() string {
	switch {
	case v.Type == TypeString:
		return fmt.Sprintf("%q", v.s)
	case v.Type == TypeArray && v.arr != nil:
		return fmt.Sprintf("[%d × %v]", v.arr.Len(), v.arr.Elem)
	case v.Type == TypeBool:
		return fmt.Sprint(v.bits != 0)
	case v.Type.isFloat():
		return fmt.Sprint(v.f)
	case v.Type == TypeUint64:
		return fmt.Sprint(v.bits)
	case v.Type.isInteger():
		return fmt.Sprint(int64(v.bits))
	}
	return v.Type.String()
}

// Len is the number of elements.
func (a *Array) Len() int {
	switch {
	case a.Elem == TypeString:
		return len(a.strs)
	case a.Elem == TypeArray:
		return len(a.arrays)
	case a.Elem.isFloat():
		return len(a.floats)
	}
	return len(a.ints)
}

// Strings returns the elements of a string array (the slice is the array's own: do not modify).
func (a *Array) Strings() ([]string, bool) { return a.strs, a.Elem == TypeString }

// Ints returns the elements of an integer or bool array as int64 (a copy); false for other element
// types and for uint64 elements above MaxInt64.
func (a *Array) Ints() ([]int64, bool) {
	if !a.Elem.isInteger() && a.Elem != TypeBool {
		return nil, false
	}
	out := make([]int64, len(a.ints))
	for i, b := range a.ints {
		if a.Elem == TypeUint64 && b > math.MaxInt64 {
			return nil, false
		}
		out[i] = int64(b)
	}
	return out, true
}

// Floats returns the elements of a float array as float64 (the array's own slice: do not modify).
func (a *Array) Floats() ([]float64, bool) { return a.floats, a.Elem.isFloat() }

// Arrays returns the elements of an array of arrays.
func (a *Array) Arrays() ([]Array, bool) { return a.arrays, a.Elem == TypeArray }
