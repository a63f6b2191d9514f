package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// ErrWrite is wrapped by the writer's own errors (a bad tensor spec, a callback writing the wrong
// number of bytes); I/O errors are returned as they are.
var ErrWrite = errors.New("gguf: cannot write")

// WriteTensor is one tensor to write. The data come from Data or, to stream a tensor that is
// produced on the fly (quantized row by row, say), from WriteData, which must write exactly the
// tensor's size in bytes.
type WriteTensor struct {
	Name      string
	Type      TensorType
	Dims      []int64 // ggml order: Dims[0] is the row length
	Data      []byte
	WriteData func(w io.Writer) error
}

// Size is the tensor's byte size, or an error when its type or dimensions are impossible.
func (t WriteTensor) Size() (int64, error) {
	if !t.Type.Known() {
		return 0, fmt.Errorf("%w: tensor %q has unknown ggml type %d", ErrWrite, t.Name, uint32(t.Type))
	}
	if len(t.Dims) > maxDims {
		return 0, fmt.Errorf("%w: tensor %q has %d dimensions (limit %d)", ErrWrite, t.Name, len(t.Dims), maxDims)
	}
	n, err := tensorSize(t.Name, t.Type, t.Dims)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrWrite, err)
	}
	return n, nil
}

// WriteFile writes a GGUF v3 file to path: the metadata in the given order, then the tensor infos
// and the data, each tensor aligned to general.alignment (32 unless kvs sets it). Tensor data are
// streamed: at most one tensor's bytes (or none, with WriteData) are in memory at a time.
func WriteFile(path string, kvs []KV, tensors []WriteTensor) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	return Write(f, kvs, tensors)
}

// Write writes a GGUF v3 image to w (see WriteFile).
func Write(w io.Writer, kvs []KV, tensors []WriteTensor) error {
	align := int64(DefaultAlignment)
	seenKey := map[string]bool{}
	for _, kv := range kvs {
		if seenKey[kv.Key] {
			return fmt.Errorf("%w: key %q given twice", ErrWrite, kv.Key)
		}
		seenKey[kv.Key] = true
		if kv.Key == KeyAlignment {
			a, ok := kv.Value.Uint()
			if kv.Value.Type != TypeUint32 || !ok || a == 0 || a&(a-1) != 0 {
				return fmt.Errorf("%w: %s = %s, want a power of two of type uint32", ErrWrite, KeyAlignment, kv.Value.Format())
			}
			align = int64(a)
		}
	}
	offsets, sizes, err := layout(tensors, align)
	if err != nil {
		return err
	}
	cw := &countingWriter{w: bufio.NewWriterSize(w, 1<<20)}
	e := encoder{w: cw}
	e.raw([]byte(Magic))
	e.u32(3)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		e.str(kv.Key)
		if err := e.value(kv.Value, 0); err != nil {
			return err
		}
	}
	for i, t := range tensors {
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(uint64(d))
		}
		e.u32(uint32(t.Type))
		e.u64(uint64(offsets[i]))
	}
	if cw.err != nil {
		return cw.err
	}
	dataStart := alignUp(cw.n, align)
	e.raw(make([]byte, dataStart-cw.n))
	for i, t := range tensors {
		e.raw(make([]byte, dataStart+offsets[i]-cw.n)) // padding of the previous tensor
		if err := writeData(cw, t, sizes[i]); err != nil {
			return err
		}
	}
	if cw.err != nil {
		return cw.err
	}
	return cw.w.(*bufio.Writer).Flush()
}

// layout assigns each tensor an aligned offset in the data section.
func layout(tensors []WriteTensor, align int64) (offsets, sizes []int64, err error) {
	seen := map[string]bool{}
	var off int64
	for _, t := range tensors {
		if len(t.Name) > maxNameBytes {
			return nil, nil, fmt.Errorf("%w: tensor name %q of %d bytes (limit %d)", ErrWrite, t.Name, len(t.Name), maxNameBytes)
		}
		if seen[t.Name] {
			return nil, nil, fmt.Errorf("%w: tensor %q given twice", ErrWrite, t.Name)
		}
		seen[t.Name] = true
		size, err := t.Size()
		if err != nil {
			return nil, nil, err
		}
		if t.WriteData == nil && int64(len(t.Data)) != size {
			return nil, nil, fmt.Errorf("%w: tensor %q %v %v needs %d bytes, Data has %d", ErrWrite, t.Name, t.Type, t.Dims, size, len(t.Data))
		}
		offsets, sizes = append(offsets, off), append(sizes, size)
		off = alignUp(off+size, align)
	}
	return offsets, sizes, nil
}

func writeData(cw *countingWriter, t WriteTensor, size int64) error {
	if t.WriteData == nil {
		cw.Write(t.Data)
		return cw.err
	}
	start := cw.n
	if err := t.WriteData(cw); err != nil {
		return fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if cw.err != nil {
		return cw.err
	}
	if got := cw.n - start; got != size {
		return fmt.Errorf("%w: tensor %q: WriteData wrote %d bytes, the tensor takes %d", ErrWrite, t.Name, got, size)
	}
	return nil
}

// countingWriter counts bytes and remembers the first error, so the encoder can write freely and
// check once.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.err = err
	return n, err
}

type encoder struct {
	w   *countingWriter
	buf [8]byte
}

func (e *encoder) raw(b []byte) { e.w.Write(b) }
func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:4], v)
	e.w.Write(e.buf[:4])
}
func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], v)
	e.w.Write(e.buf[:])
}
func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	io.WriteString(e.w, s)
}

// scalar writes one fixed-size value from its bits or float.
func (e *encoder) scalar(t ValueType, bits uint64, f float64) {
	switch t.scalarSize() {
	case 1:
		e.w.Write([]byte{byte(bits)})
	case 2:
		binary.LittleEndian.PutUint16(e.buf[:2], uint16(bits))
		e.w.Write(e.buf[:2])
	case 4:
		if t == TypeFloat32 {
			bits = uint64(math.Float32bits(float32(f)))
		}
		e.u32(uint32(bits))
	case 8:
		if t == TypeFloat64 {
			bits = math.Float64bits(f)
		}
		e.u64(bits)
	}
}

func (e *encoder) value(v Value, depth int) error {
	if !v.Type.valid() {
		return fmt.Errorf("%w: value type %d", ErrWrite, uint32(v.Type))
	}
	e.u32(uint32(v.Type))
	switch v.Type {
	case TypeString:
		e.str(v.s)
	case TypeArray:
		if v.arr == nil {
			return fmt.Errorf("%w: array value without an array", ErrWrite)
		}
		return e.array(v.arr, depth)
	default:
		e.scalar(v.Type, v.bits, v.f)
	}
	return nil
}

func (e *encoder) array(a *Array, depth int) error {
	if depth >= maxArrayDepth {
		return fmt.Errorf("%w: arrays nested %d deep (limit %d)", ErrWrite, depth+1, maxArrayDepth)
	}
	if !a.Elem.valid() {
		return fmt.Errorf("%w: array element type %d", ErrWrite, uint32(a.Elem))
	}
	e.u32(uint32(a.Elem))
	e.u64(uint64(a.Len()))
	switch {
	case a.Elem == TypeString:
		for _, s := range a.strs {
			e.str(s)
		}
	case a.Elem == TypeArray:
		for i := range a.arrays {
			if err := e.array(&a.arrays[i], depth+1); err != nil {
				return err
			}
		}
	case a.Elem.isFloat():
		for _, f := range a.floats {
			e.scalar(a.Elem, 0, f)
		}
	default:
		for _, b := range a.ints {
			e.scalar(a.Elem, b, 0)
		}
	}
	return nil
}
