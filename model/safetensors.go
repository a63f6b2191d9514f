package model

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"unsafe"
)

// The safetensors format: 8 bytes little-endian header length N, N bytes of JSON mapping tensor names to
// {dtype, shape, data_offsets:[begin,end]} (offsets relative to the end of the header), then the raw data.

// maxHeaderBytes bounds the JSON header we are willing to parse (real files: KBs to a few MBs).
const maxHeaderBytes = 100 << 20

// TensorInfo describes one tensor of a safetensors file.
type TensorInfo struct {
	Name  string
	DType string // "F32", "BF16", "F16", "F64", ...
	Shape []int
	// Begin and End are absolute byte offsets in the file.
	Begin, End int64
}

// NumElements is the product of the shape (1 for a scalar).
func (t TensorInfo) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

var dtypeSize = map[string]int{
	"F64": 8, "F32": 4, "F16": 2, "BF16": 2,
	"I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
}

// SafetensorsFile is an open safetensors file whose header has been checked. Tensor data is read on demand,
// so a model loads without a second full copy of its weights in memory.
type SafetensorsFile struct {
	Path    string
	Tensors map[string]TensorInfo
	f       *os.File
}

// OpenSafetensors opens path and validates its header against the file size.
func OpenSafetensors(path string) (*SafetensorsFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSafetensors, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %w", ErrInvalidSafetensors, err)
	}
	infos, err := ParseSafetensorsHeader(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &SafetensorsFile{Path: path, Tensors: infos, f: f}, nil
}

// Close releases the file.
func (s *SafetensorsFile) Close() error { return s.f.Close() }

// ParseSafetensorsHeader reads and validates the header of a safetensors image of the given total size:
// the length must fit, the JSON must parse, dtypes must be known, shapes non-negative, every tensor's byte
// range must match its shape and lie inside the data section, and no two tensors may overlap.
func ParseSafetensorsHeader(r io.ReaderAt, size int64) (map[string]TensorInfo, error) {
	var lenBuf [8]byte
	if size < 8 {
		return nil, fmt.Errorf("%w: file of %d bytes is shorter than the 8-byte header length", ErrInvalidSafetensors, size)
	}
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("%w: reading header length: %w", ErrInvalidSafetensors, err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxHeaderBytes || int64(n) > size-8 {
		return nil, fmt.Errorf("%w: header length %d does not fit a file of %d bytes", ErrInvalidSafetensors, n, size)
	}
	header := make([]byte, n)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, fmt.Errorf("%w: reading %d-byte header: %w", ErrInvalidSafetensors, n, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return nil, fmt.Errorf("%w: header JSON: %w", ErrInvalidSafetensors, err)
	}
	dataStart := 8 + int64(n)
	dataLen := size - dataStart
	infos := make(map[string]TensorInfo, len(raw))
	for name, msg := range raw {
		if name == "__metadata__" {
			continue
		}
		info, err := parseTensorEntry(name, msg, dataStart, dataLen)
		if err != nil {
			return nil, err
		}
		infos[name] = info
	}
	if err := checkNoOverlap(infos); err != nil {
		return nil, err
	}
	return infos, nil
}

func parseTensorEntry(name string, msg json.RawMessage, dataStart, dataLen int64) (TensorInfo, error) {
	var e struct {
		DType       string  `json:"dtype"`
		Shape       []int64 `json:"shape"`
		DataOffsets []int64 `json:"data_offsets"`
	}
	if err := json.Unmarshal(msg, &e); err != nil {
		return TensorInfo{}, fmt.Errorf("%w: tensor %q: %w", ErrInvalidSafetensors, name, err)
	}
	elemSize, ok := dtypeSize[e.DType]
	if !ok {
		return TensorInfo{}, fmt.Errorf("%w: tensor %q has unknown dtype %q", ErrInvalidSafetensors, name, e.DType)
	}
	if len(e.DataOffsets) != 2 {
		return TensorInfo{}, fmt.Errorf("%w: tensor %q needs 2 data_offsets, got %d", ErrInvalidSafetensors, name, len(e.DataOffsets))
	}
	begin, end := e.DataOffsets[0], e.DataOffsets[1]
	if begin < 0 || end < begin || end > dataLen {
		return TensorInfo{}, fmt.Errorf("%w: tensor %q data_offsets [%d,%d] outside the %d-byte data section",
			ErrInvalidSafetensors, name, begin, end, dataLen)
	}
	shape := make([]int, len(e.Shape))
	elems := int64(1)
	for i, d := range e.Shape {
		if d < 0 || d > math.MaxInt32 {
			return TensorInfo{}, fmt.Errorf("%w: tensor %q has dimension %d = %d", ErrInvalidSafetensors, name, i, d)
		}
		shape[i] = int(d)
		elems *= d
		if elems > dataLen {
			// Keeps the product from overflowing and already proves the size cannot match.
			return TensorInfo{}, fmt.Errorf("%w: tensor %q shape %v needs more bytes than the file has",
				ErrInvalidSafetensors, name, e.Shape)
		}
	}
	if elems*int64(elemSize) != end-begin {
		return TensorInfo{}, fmt.Errorf("%w: tensor %q shape %v %s needs %d bytes, data_offsets give %d",
			ErrInvalidSafetensors, name, e.Shape, e.DType, elems*int64(elemSize), end-begin)
	}
	return TensorInfo{Name: name, DType: e.DType, Shape: shape, Begin: dataStart + begin, End: dataStart + end}, nil
}

func checkNoOverlap(infos map[string]TensorInfo) error {
	list := make([]TensorInfo, 0, len(infos))
	for _, t := range infos {
		if t.End > t.Begin {
			list = append(list, t)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Begin < list[j].Begin })
	for i := 1; i < len(list); i++ {
		if list[i].Begin < list[i-1].End {
			return fmt.Errorf("%w: tensors %q and %q overlap", ErrInvalidSafetensors, list[i-1].Name, list[i].Name)
		}
	}
	return nil
}

// ReadFloat32 reads tensor name into dst (len = number of elements), widening BF16/F16/F64 to float32.
// It reads in bounded chunks, never the whole file.
func (s *SafetensorsFile) ReadFloat32(name string, dst []float32) error {
	info, ok := s.Tensors[name]
	if !ok {
		return fmt.Errorf("%w: tensor %q not in %s", ErrWeightMismatch, name, s.Path)
	}
	if info.NumElements() != len(dst) {
		return fmt.Errorf("%w: tensor %q has %d elements, destination %d", ErrWeightMismatch, name, info.NumElements(), len(dst))
	}
	return readConverted(s.f, info, dst)
}

const readChunk = 1 << 20 // elements per read for converted dtypes

func readConverted(r io.ReaderAt, info TensorInfo, dst []float32) error {
	if len(dst) == 0 {
		return nil
	}
	switch info.DType {
	case "F32":
		// Read straight into dst's memory: no intermediate copy of the tensor.
		b := unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), len(dst)*4)
		if _, err := r.ReadAt(b, info.Begin); err != nil {
			return fmt.Errorf("%w: reading %q: %w", ErrInvalidSafetensors, info.Name, err)
		}
		if !littleEndianHost {
			for i := range dst {
				dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
		}
		return nil
	case "BF16", "F16", "F64":
	default:
		return fmt.Errorf("%w: tensor %q has dtype %s, want a float type", ErrWeightMismatch, info.Name, info.DType)
	}
	size := int64(dtypeSize[info.DType])
	buf := make([]byte, min(len(dst), readChunk)*int(size))
	for start := 0; start < len(dst); start += readChunk {
		n := min(readChunk, len(dst)-start)
		b := buf[:n*int(size)]
		if _, err := r.ReadAt(b, info.Begin+int64(start)*size); err != nil {
			return fmt.Errorf("%w: reading %q: %w", ErrInvalidSafetensors, info.Name, err)
		}
		out := dst[start : start+n]
		switch info.DType {
		case "BF16":
			for i := range out {
				out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
			}
		case "F16":
			for i := range out {
				out[i] = halfToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
			}
		case "F64":
			for i := range out {
				out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
			}
		}
	}
	return nil
}

var littleEndianHost = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// halfToFloat32 widens an IEEE 754 binary16 value exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal half: value = mant * 2^-24.
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	default:
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	}
}

// NamedTensor is a float32 tensor to write to a safetensors file.
type NamedTensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// WriteSafetensors writes tensors as F32 (or BF16 when bf16 is true), names sorted, to path.
func WriteSafetensors(path string, tensors []NamedTensor, bf16 bool) error {
	sorted := slices.Clone(tensors)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	elem, dtype := int64(4), "F32"
	if bf16 {
		elem, dtype = 2, "BF16"
	}
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var offset int64
	for _, t := range sorted {
		n := int64(1)
		for _, d := range t.Shape {
			n *= int64(d)
		}
		if n != int64(len(t.Data)) {
			return fmt.Errorf("%w: tensor %q shape %v has %d elements, data %d", ErrWeightMismatch, t.Name, t.Shape, n, len(t.Data))
		}
		header[t.Name] = map[string]any{"dtype": dtype, "shape": t.Shape, "data_offsets": []int64{offset, offset + n*elem}}
		offset += n * elem
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(hb)%8 != 0 { // keep the data section 8-byte aligned, as the reference writer does
		hb = append(hb, ' ')
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hb)))
	w.Write(lenBuf[:])
	w.Write(hb)
	var scratch [4]byte
	for _, t := range sorted {
		for _, v := range t.Data {
			if bf16 {
				binary.LittleEndian.PutUint16(scratch[:2], float32ToBF16(v))
				w.Write(scratch[:2])
			} else {
				binary.LittleEndian.PutUint32(scratch[:], math.Float32bits(v))
				w.Write(scratch[:])
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// float32ToBF16 rounds to nearest even.
func float32ToBF16(v float32) uint16 {
	b := math.Float32bits(v)
	if b&0x7fffffff > 0x7f800000 { // NaN: keep it a NaN
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}
