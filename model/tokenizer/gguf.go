package tokenizer

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

// GGUF value types (ggml/docs/gguf.md).
const (
	ggufUint8   = 0
	ggufInt8    = 1
	ggufUint16  = 2
	ggufInt16   = 3
	ggufUint32  = 4
	ggufInt32   = 5
	ggufFloat32 = 6
	ggufBool    = 7
	ggufString  = 8
	ggufArray   = 9
	ggufUint64  = 10
	ggufInt64   = 11
	ggufFloat64 = 12
)

// ggufScalarSize is the encoded size of each fixed-size GGUF type.
var ggufScalarSize = map[uint32]int64{
	ggufUint8: 1, ggufInt8: 1, ggufUint16: 2, ggufInt16: 2, ggufUint32: 4, ggufInt32: 4,
	ggufFloat32: 4, ggufBool: 1, ggufUint64: 8, ggufInt64: 8, ggufFloat64: 8,
}

// ggufValue is one metadata value. Exactly one field group is set, by type:
// integers and bools in Int (bools as 0/1), floats in Float, strings in Str; arrays of those in the
// plural fields. Nested arrays are skipped (Type = ggufArray with no payload): tokenizers never use them.
type ggufValue struct {
	Type    uint32 // GGUF value type
	ArrType uint32 // element type when Type == ggufArray
	Int     int64
	Float   float64
	Str     string
	Ints    []int64
	Floats  []float64
	Strs    []string
}

// ggufMeta is the key/value header of a GGUF file (tensor infos are not read).
type ggufMeta struct {
	Version uint32
	KV      map[string]ggufValue
}

// readGGUFMetaFile reads the metadata of the GGUF file at path.
func readGGUFMetaFile(path string) (*ggufMeta, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	m, err := readGGUFMeta(bufio.NewReaderSize(f, 1<<20), st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ggufReader decodes little-endian GGUF primitives and never reads more than the declared size,
// so corrupt lengths fail with ErrInvalidGGUF instead of huge allocations.
type ggufReader struct {
	r    io.Reader
	left int64 // bytes of the file not yet consumed
	buf  [8]byte
}

func (g *ggufReader) need(n int64, what string) error {
	if n < 0 || n > g.left {
		return fmt.Errorf("%w: %s needs %d bytes, %d left", ErrInvalidGGUF, what, n, g.left)
	}
	return nil
}

func (g *ggufReader) read(n int, what string) ([]byte, error) {
	if err := g.need(int64(n), what); err != nil {
		return nil, err
	}
	b := g.buf[:n]
	if _, err := io.ReadFull(g.r, b); err != nil {
		return nil, fmt.Errorf("%w: reading %s: %v", ErrInvalidGGUF, what, err)
	}
	g.left -= int64(n)
	return b, nil
}

func (g *ggufReader) u32(what string) (uint32, error) {
	b, err := g.read(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (g *ggufReader) u64(what string) (uint64, error) {
	b, err := g.read(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (g *ggufReader) str(what string) (string, error) {
	n, err := g.u64(what + " length")
	if err != nil {
		return "", err
	}
	if n > uint64(g.left) {
		return "", fmt.Errorf("%w: %s of %d bytes, %d left", ErrInvalidGGUF, what, n, g.left)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(g.r, b); err != nil {
		return "", fmt.Errorf("%w: reading %s: %v", ErrInvalidGGUF, what, err)
	}
	g.left -= int64(n)
	return string(b), nil
}

// scalar reads one fixed-size value into v (Int or Float).
func (g *ggufReader) scalar(typ uint32, v *ggufValue, what string) error {
	size, ok := ggufScalarSize[typ]
	if !ok {
		return fmt.Errorf("%w: %s has unknown value type %d", ErrInvalidGGUF, what, typ)
	}
	b, err := g.read(int(size), what)
	if err != nil {
		return err
	}
	switch typ {
	case ggufUint8, ggufBool:
		v.Int = int64(b[0])
	case ggufInt8:
		v.Int = int64(int8(b[0]))
	case ggufUint16:
		v.Int = int64(binary.LittleEndian.Uint16(b))
	case ggufInt16:
		v.Int = int64(int16(binary.LittleEndian.Uint16(b)))
	case ggufUint32:
		v.Int = int64(binary.LittleEndian.Uint32(b))
	case ggufInt32:
		v.Int = int64(int32(binary.LittleEndian.Uint32(b)))
	case ggufUint64:
		v.Int = int64(binary.LittleEndian.Uint64(b))
	case ggufInt64:
		v.Int = int64(binary.LittleEndian.Uint64(b))
	case ggufFloat32:
		v.Float = float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
	case ggufFloat64:
		v.Float = math.Float64frombits(binary.LittleEndian.Uint64(b))
	}
	return nil
}

// value reads a value of the given type; depth guards against nested arrays.
func (g *ggufReader) value(typ uint32, what string, depth int) (ggufValue, error) {
	v := ggufValue{Type: typ}
	switch typ {
	case ggufString:
		s, err := g.str(what)
		v.Str = s
		return v, err
	case ggufArray:
		at, err := g.u32(what + " element type")
		if err != nil {
			return v, err
		}
		n, err := g.u64(what + " element count")
		if err != nil {
			return v, err
		}
		v.ArrType = at
		return v, g.array(&v, n, what, depth)
	default:
		return v, g.scalar(typ, &v, what)
	}
}

func (g *ggufReader) array(v *ggufValue, n uint64, what string, depth int) error {
	minSize, fixed := ggufScalarSize[v.ArrType]
	switch {
	case v.ArrType == ggufString:
		minSize = 8
	case v.ArrType == ggufArray:
		minSize = 12
	case !fixed:
		return fmt.Errorf("%w: %s has unknown element type %d", ErrInvalidGGUF, what, v.ArrType)
	}
	if n > uint64(g.left/minSize) {
		return fmt.Errorf("%w: %s declares %d elements, only %d bytes left", ErrInvalidGGUF, what, n, g.left)
	}
	switch v.ArrType {
	case ggufString:
		v.Strs = make([]string, n)
		for i := range v.Strs {
			s, err := g.str(what)
			if err != nil {
				return err
			}
			v.Strs[i] = s
		}
	case ggufArray:
		if depth > 2 {
			return fmt.Errorf("%w: %s nests arrays too deeply", ErrInvalidGGUF, what)
		}
		for range n { // read and drop: no tokenizer key uses nested arrays
			if _, err := g.value(ggufArray, what, depth+1); err != nil {
				return err
			}
		}
	case ggufFloat32, ggufFloat64:
		v.Floats = make([]float64, n)
		var s ggufValue
		for i := range v.Floats {
			if err := g.scalar(v.ArrType, &s, what); err != nil {
				return err
			}
			v.Floats[i] = s.Float
		}
	default:
		v.Ints = make([]int64, n)
		var s ggufValue
		for i := range v.Ints {
			if err := g.scalar(v.ArrType, &s, what); err != nil {
				return err
			}
			v.Ints[i] = s.Int
		}
	}
	return nil
}

// readGGUFMeta decodes the header and key/value section of a GGUF stream of the given total size.
func readGGUFMeta(r io.Reader, size int64) (*ggufMeta, error) {
	g := &ggufReader{r: r, left: size}
	magic, err := g.read(4, "magic")
	if err != nil {
		return nil, err
	}
	if string(magic) != "GGUF" {
		return nil, fmt.Errorf("%w: bad magic %q", ErrInvalidGGUF, magic)
	}
	m := &ggufMeta{KV: map[string]ggufValue{}}
	if m.Version, err = g.u32("version"); err != nil {
		return nil, err
	}
	if m.Version != 2 && m.Version != 3 {
		return nil, fmt.Errorf("%w: version %d (want 2 or 3)", ErrInvalidGGUF, m.Version)
	}
	if _, err := g.u64("tensor count"); err != nil {
		return nil, err
	}
	nkv, err := g.u64("key/value count")
	if err != nil {
		return nil, err
	}
	if nkv > uint64(g.left/12) {
		return nil, fmt.Errorf("%w: %d keys in %d bytes", ErrInvalidGGUF, nkv, g.left)
	}
	for i := range nkv {
		key, err := g.str(fmt.Sprintf("key %d", i))
		if err != nil {
			return nil, err
		}
		typ, err := g.u32(key + " type")
		if err != nil {
			return nil, err
		}
		v, err := g.value(typ, key, 0)
		if err != nil {
			return nil, err
		}
		m.KV[key] = v
	}
	return m, nil
}

// String returns a string value and whether key holds one.
func (m *ggufMeta) String(key string) (string, bool) {
	v, ok := m.KV[key]
	if !ok || v.Type != ggufString {
		return "", false
	}
	return v.Str, true
}

// Int returns an integer value and whether key holds one.
func (m *ggufMeta) Int(key string) (int64, bool) {
	v, ok := m.KV[key]
	if !ok {
		return 0, false
	}
	switch v.Type {
	case ggufUint8, ggufInt8, ggufUint16, ggufInt16, ggufUint32, ggufInt32, ggufUint64, ggufInt64:
		return v.Int, true
	}
	return 0, false
}

// Bool returns a bool value and whether key holds one.
func (m *ggufMeta) Bool(key string) (bool, bool) {
	v, ok := m.KV[key]
	if !ok || v.Type != ggufBool {
		return false, false
	}
	return v.Int != 0, true
}
