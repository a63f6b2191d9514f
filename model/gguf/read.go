package gguf

import (
	"encoding/binary"
	"math"
	"math/bits"
	"sort"
	"strconv"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the data alignment when general.alignment is absent (llama.cpp's
// GGUF_DEFAULT_ALIGNMENT).
const DefaultAlignment = 32

// KeyAlignment is the metadata key that overrides the alignment.
const KeyAlignment = "general.alignment"

// Limits that llama.cpp's gguf.cpp also enforces.
const (
	maxDims       = 4  // GGML_MAX_DIMS
	maxNameBytes  = 63 // GGML_MAX_NAME - 1: names longer than this do not fit ggml's tensor struct
	maxArrayDepth = 8  // nesting of arrays in metadata; real files use 0 (llama.cpp forbids nesting)
)

// TensorInfo describes one tensor of a GGUF file.
type TensorInfo struct {
	Name string
	// Dims in ggml order: Dims[0] (ne0) is the row length, the innermost and contiguous axis. The
	// Hugging Face shape is the reverse (Shape).
	Dims []int64
	Type TensorType
	// Offset of the data from the start of the data section; Size its length in bytes.
	Offset, Size int64
	// Data is the tensor's bytes: a slice of the file's mapping (or of the bytes given to Parse).
	Data []byte
}

// Elements is the product of the dimensions (1 for zero dimensions).
func (t TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Shape is the row-major shape, outermost axis first ([rows, cols] for a matrix): Dims reversed.
func (t TensorInfo) Shape() []int {
	s := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		s[len(t.Dims)-1-i] = int(d)
	}
	return s
}

// parser decodes little-endian GGUF primitives from b, never past its end: every count and length
// is checked against the bytes left before anything is allocated.
type parser struct {
	b   []byte
	pos int
}

func (p *parser) left() int { return len(p.b) - p.pos }

func (p *parser) take(n int, what string) ([]byte, error) {
	if n < 0 || n > p.left() {
		return nil, invalid(ErrTruncated, "%s needs %d bytes at offset %d, %d left", what, n, p.pos, p.left())
	}
	s := p.b[p.pos : p.pos+n]
	p.pos += n
	return s, nil
}

func (p *parser) u32(what string) (uint32, error) {
	b, err := p.take(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (p *parser) u64(what string) (uint64, error) {
	b, err := p.take(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// count reads a uint64 element count and checks that count elements of at least minSize bytes each
// fit in what is left.
func (p *parser) count(minSize int, what string) (int, error) {
	n, err := p.u64(what)
	if err != nil {
		return 0, err
	}
	if minSize > 0 && n > uint64(p.left()/minSize) {
		return 0, invalid(ErrTruncated, "%s = %d, but %d elements of ≥ %d bytes do not fit the %d bytes left",
			what, n, n, minSize, p.left())
	}
	return int(n), nil
}

func (p *parser) str(what string) (string, error) {
	n, err := p.u64(what + " length")
	if err != nil {
		return "", err
	}
	if n > uint64(p.left()) {
		return "", invalid(ErrTruncated, "%s of %d bytes at offset %d, %d left", what, n, p.pos, p.left())
	}
	b, _ := p.take(int(n), what)
	return string(b), nil
}

func (p *parser) valueType(what string) (ValueType, error) {
	t, err := p.u32(what + " type")
	if err != nil {
		return 0, err
	}
	if !ValueType(t).valid() {
		return 0, invalid(ErrUnknownType, "%s has value type %d (known: 0..12)", what, t)
	}
	return ValueType(t), nil
}

// scalar reads one fixed-size value's raw bits (integers sign-extended; floats in f).
func (p *parser) scalar(t ValueType, what string) (uint64, float64, error) {
	b, err := p.take(t.scalarSize(), what)
	if err != nil {
		return 0, 0, err
	}
	switch t {
	case TypeUint8, TypeBool:
		return uint64(b[0]), 0, nil
	case TypeInt8:
		return uint64(int64(int8(b[0]))), 0, nil
	case TypeUint16:
		return uint64(binary.LittleEndian.Uint16(b)), 0, nil
	case TypeInt16:
		return uint64(int64(int16(binary.LittleEndian.Uint16(b)))), 0, nil
	case TypeUint32:
		return uint64(binary.LittleEndian.Uint32(b)), 0, nil
	case TypeInt32:
		return uint64(int64(int32(binary.LittleEndian.Uint32(b)))), 0, nil
	case TypeUint64, TypeInt64:
		return binary.LittleEndian.Uint64(b), 0, nil
	case TypeFloat32:
		return 0, float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), nil
	default: // TypeFloat64
		return 0, math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
	}
}

func (p *parser) value(t ValueType, what string, depth int) (Value, error) {
	v := Value{Type: t}
	var err error
	switch t {
	case TypeString:
		v.s, err = p.str(what)
	case TypeArray:
		var a Array
		a, err = p.array(what, depth)
		v.arr = &a
	default:
		v.bits, v.f, err = p.scalar(t, what)
	}
	return v, err
}

func (p *parser) array(what string, depth int) (Array, error) {
	if depth >= maxArrayDepth {
		return Array{}, invalid(ErrBadMetadata, "%s nests arrays %d deep (limit %d)", what, depth+1, maxArrayDepth)
	}
	elem, err := p.valueType(what + " element")
	if err != nil {
		return Array{}, err
	}
	n, err := p.count(elem.minEncodedSize(), what+" element count")
	if err != nil {
		return Array{}, err
	}
	a := Array{Elem: elem}
	switch {
	case elem == TypeString:
		a.strs = make([]string, n)
		for i := range a.strs {
			if a.strs[i], err = p.str(what); err != nil {
				return a, err
			}
		}
	case elem == TypeArray:
		a.arrays = make([]Array, n)
		for i := range a.arrays {
			if a.arrays[i], err = p.array(what, depth+1); err != nil {
				return a, err
			}
		}
	case elem.isFloat():
		a.floats = make([]float64, n)
		for i := range a.floats {
			_, a.floats[i], _ = p.scalar(elem, what) // the count check guarantees the bytes
		}
	default:
		a.ints = make([]uint64, n)
		for i := range a.ints {
			a.ints[i], _, _ = p.scalar(elem, what)
		}
	}
	return a, nil
}

// header reads magic, version and the two counts.
func (p *parser) header() (version uint32, nTensors, nKV int, err error) {
	magic, err := p.take(4, "magic")
	if err != nil {
		return 0, 0, 0, err
	}
	if string(magic) != Magic {
		return 0, 0, 0, invalid(ErrBadMagic, "file starts with %q, want %q", magic, Magic)
	}
	if version, err = p.u32("version"); err != nil {
		return 0, 0, 0, err
	}
	if version != 2 && version != 3 {
		return 0, 0, 0, invalid(ErrUnsupportedVersion, "version %d (supported: 2, 3; 0x%08x read byte-swapped is %d)",
			version, version, bits.ReverseBytes32(version))
	}
	// A tensor info takes ≥ 24 bytes (name length, dims count, type, offset); a key/value ≥ 13.
	if nTensors, err = p.count(24, "tensor count"); err != nil {
		return 0, 0, 0, err
	}
	if nKV, err = p.count(13, "key/value count"); err != nil {
		return 0, 0, 0, err
	}
	return version, nTensors, nKV, nil
}

func (p *parser) metadata(f *File, n int) error {
	f.KV = make([]KV, 0, n)
	f.index = make(map[string]int, n)
	for i := range n {
		key, err := p.str("key " + itoa(i))
		if err != nil {
			return err
		}
		if _, dup := f.index[key]; dup {
			return invalid(ErrBadMetadata, "key %q appears twice", key)
		}
		t, err := p.valueType(key)
		if err != nil {
			return err
		}
		v, err := p.value(t, key, 0)
		if err != nil {
			return err
		}
		f.index[key] = len(f.KV)
		f.KV = append(f.KV, KV{Key: key, Value: v})
	}
	return nil
}

// alignment reads general.alignment: a non-zero power of two of type uint32, as llama.cpp requires.
func alignmentOf(f *File) (int64, error) {
	v, ok := f.Get(KeyAlignment)
	if !ok {
		return DefaultAlignment, nil
	}
	a, isInt := v.Uint()
	if v.Type != TypeUint32 || !isInt || a == 0 || a&(a-1) != 0 {
		return 0, invalid(ErrBadMetadata, "%s = %s (%v), want a power of two of type uint32", KeyAlignment, v.Format(), v.Type)
	}
	return int64(a), nil
}

func (p *parser) tensorInfo(i int) (TensorInfo, error) {
	var t TensorInfo
	var err error
	if t.Name, err = p.str("tensor " + itoa(i) + " name"); err != nil {
		return t, err
	}
	if len(t.Name) > maxNameBytes {
		return t, invalid(ErrBadTensor, "tensor %d name of %d bytes (limit %d)", i, len(t.Name), maxNameBytes)
	}
	nd, err := p.u32(t.Name + " dimension count")
	if err != nil {
		return t, err
	}
	if nd > maxDims {
		return t, invalid(ErrBadTensor, "tensor %q has %d dimensions (limit %d)", t.Name, nd, maxDims)
	}
	t.Dims = make([]int64, nd)
	for d := range t.Dims {
		v, err := p.u64(t.Name + " dimension")
		if err != nil {
			return t, err
		}
		if v > math.MaxInt64 {
			return t, invalid(ErrBadTensor, "tensor %q dimension %d = %d", t.Name, d, v)
		}
		t.Dims[d] = int64(v)
	}
	typ, err := p.u32(t.Name + " type")
	if err != nil {
		return t, err
	}
	t.Type = TensorType(typ)
	if !t.Type.Known() {
		return t, invalid(ErrUnknownType, "tensor %q has ggml type %d", t.Name, typ)
	}
	off, err := p.u64(t.Name + " offset")
	if err != nil {
		return t, err
	}
	if off > math.MaxInt64 {
		return t, invalid(ErrBadTensor, "tensor %q offset %d", t.Name, off)
	}
	t.Offset = int64(off)
	t.Size, err = tensorSize(t.Name, t.Type, t.Dims)
	return t, err
}

// tensorSize is the byte size of a tensor, checking that the element count does not overflow and
// that rows are whole blocks.
func tensorSize(name string, typ TensorType, dims []int64) (int64, error) {
	elems := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, invalid(ErrBadTensor, "tensor %q dimensions %v", name, dims)
		}
		hi, lo := bits.Mul64(uint64(elems), uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, invalid(ErrBadTensor, "tensor %q dimensions %v overflow 63 bits", name, dims)
		}
		elems = int64(lo)
	}
	bs := typ.BlockSize()
	if len(dims) > 0 && dims[0]%bs != 0 {
		return 0, invalid(ErrBadTensor, "tensor %q row length %d is not a multiple of %v's block size %d",
			name, dims[0], typ, bs)
	}
	hi, lo := bits.Mul64(uint64(elems/bs), uint64(typ.BlockBytes()))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, invalid(ErrBadTensor, "tensor %q dimensions %v of %v overflow 63 bits of bytes", name, dims, typ)
	}
	return int64(lo), nil
}

// placeTensors checks alignment, bounds and overlap, and slices each tensor's data.
func placeTensors(f *File, data []byte) error {
	seen := make(map[string]bool, len(f.Tensors))
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if seen[t.Name] {
			return invalid(ErrBadTensor, "tensor %q appears twice", t.Name)
		}
		seen[t.Name] = true
		if t.Offset%f.Alignment != 0 {
			return invalid(ErrBadTensor, "tensor %q offset %d is not a multiple of the alignment %d", t.Name, t.Offset, f.Alignment)
		}
		if t.Offset > int64(len(data)) || t.Size > int64(len(data))-t.Offset {
			return invalid(ErrBadTensor, "tensor %q data [%d, %d+%d) runs past the %d-byte data section",
				t.Name, t.Offset, t.Offset, t.Size, len(data))
		}
		t.Data = data[t.Offset : t.Offset+t.Size : t.Offset+t.Size]
	}
	order := make([]*TensorInfo, len(f.Tensors))
	for i := range f.Tensors {
		order[i] = &f.Tensors[i]
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].Offset < order[j].Offset })
	for i := 1; i < len(order); i++ {
		prev, t := order[i-1], order[i]
		if prev.Size > 0 && t.Size > 0 && t.Offset < prev.Offset+prev.Size {
			return invalid(ErrBadTensor, "tensors %q [%d, %d) and %q [%d, %d) overlap", prev.Name, prev.Offset,
				prev.Offset+prev.Size, t.Name, t.Offset, t.Offset+t.Size)
		}
	}
	return nil
}

// Parse decodes a whole GGUF image held in b. Tensor data are slices of b (nothing is copied);
// metadata strings are copied. Every error wraps ErrInvalidFile.
func Parse(b []byte) (*File, error) {
	p := &parser{b: b}
	f := &File{}
	var nTensors, nKV int
	var err error
	if f.Version, nTensors, nKV, err = p.header(); err != nil {
		return nil, err
	}
	if err := p.metadata(f, nKV); err != nil {
		return nil, err
	}
	if f.Alignment, err = alignmentOf(f); err != nil {
		return nil, err
	}
	f.Tensors = make([]TensorInfo, nTensors)
	f.tensorIndex = make(map[string]int, nTensors)
	for i := range f.Tensors {
		if f.Tensors[i], err = p.tensorInfo(i); err != nil {
			return nil, err
		}
		f.tensorIndex[f.Tensors[i].Name] = i
	}
	f.DataOffset = alignUp(int64(p.pos), f.Alignment)
	if f.DataOffset > int64(len(b)) {
		if nTensors > 0 {
			return nil, invalid(ErrTruncated, "data section at offset %d starts past the end of the %d-byte file", f.DataOffset, len(b))
		}
		f.DataOffset = int64(len(b)) // a vocabulary-only file may end right after its metadata
	}
	if err := placeTensors(f, b[f.DataOffset:]); err != nil {
		return nil, err
	}
	return f, nil
}

func alignUp(n, a int64) int64 { return (n + a - 1) / a * a }

func itoa(i int) string { return strconv.Itoa(i) }
