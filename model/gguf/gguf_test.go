package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// sampleKVs has one value of every type, an array of every element type and a nested array.
func sampleKVs() []KV {
	return []KV{
		{"general.architecture", String("llama")},
		{"u8", Uint8(200)}, {"i8", Int8(-5)}, {"u16", Uint16(60000)}, {"i16", Int16(-30000)},
		{"u32", Uint32(4e9)}, {"i32", Int32(-2e9)}, {"u64", Uint64(math.MaxUint64)}, {"i64", Int64(math.MinInt64)},
		{"f32", Float32(1.5)}, {"f64", Float64(-2.25)}, {"b", Bool(true)}, {"s", String("héllo")},
		{"strs", Strings([]string{"a", "", "▁b"})}, {"i32s", Int32s([]int32{1, -2, 3})},
		{"f32s", Float32s([]float32{0.5, -1})},
		{"nested", Arrays([]Array{*mustArray(Strings([]string{"x"})), *mustArray(Int32s([]int32{7}))})},
	}
}

func mustArray(v Value) *Array {
	a, _ := v.Array()
	return a
}

func sampleTensors() []WriteTensor {
	q := make([]byte, 2*34) // two Q8_0 blocks: one row of 64
	for i := range q {
		q[i] = byte(i)
	}
	f := make([]byte, 3*4)
	binary.LittleEndian.PutUint32(f[4:], math.Float32bits(2.5))
	return []WriteTensor{
		{Name: "a.weight", Type: Q8_0, Dims: []int64{64, 1}, Data: q},
		{Name: "b.weight", Type: F32, Dims: []int64{3}, WriteData: func(w io.Writer) error { _, err := w.Write(f); return err }},
		{Name: "empty", Type: F16, Dims: []int64{0, 4}, Data: nil},
	}
}

func writeSample(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, sampleKVs(), sampleTensors()))
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	b := writeSample(t)
	f, err := Parse(b)
	require.NoError(t, err)
	require.Equal(t, uint32(3), f.Version)
	require.Equal(t, int64(32), f.Alignment)
	require.Len(t, f.KV, len(sampleKVs()))
	for i, kv := range sampleKVs() {
		require.Equal(t, kv.Key, f.KV[i].Key)
		require.Equal(t, kv.Value, f.KV[i].Value, kv.Key)
	}
	u, ok := f.Get("u64")
	require.True(t, ok)
	_, isInt := u.Int()
	require.False(t, isInt, "MaxUint64 does not fit int64")
	n, _ := f.Int("i32")
	require.Equal(t, int64(-2e9), n)
	s, _ := f.String("s")
	require.Equal(t, "héllo", s)
	ints, ok := mustArray(f.KV[14].Value).Ints()
	require.True(t, ok)
	require.Equal(t, []int64{1, -2, 3}, ints)

	for _, want := range sampleTensors() {
		got, ok := f.Tensor(want.Name)
		require.True(t, ok, want.Name)
		require.Equal(t, want.Dims, got.Dims)
		require.Equal(t, want.Type, got.Type)
		require.Zero(t, (f.DataOffset+got.Offset)%32, "aligned")
		if want.Data != nil {
			require.Equal(t, want.Data, got.Data)
		}
	}
	bt, _ := f.Tensor("b.weight")
	require.Equal(t, float32(2.5), math.Float32frombits(binary.LittleEndian.Uint32(bt.Data[4:])))
	require.Equal(t, []int{1, 64}, f.Tensors[0].Shape())

	// Writing what was read gives the same bytes.
	var again bytes.Buffer
	wt := make([]WriteTensor, len(f.Tensors))
	for i, ti := range f.Tensors {
		wt[i] = WriteTensor{Name: ti.Name, Type: ti.Type, Dims: ti.Dims, Data: ti.Data}
	}
	require.NoError(t, Write(&again, f.KV, wt))
	require.Equal(t, b, again.Bytes())
}

func TestOpenMapsTensorData(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.gguf")
	require.NoError(t, WriteFile(p, sampleKVs(), sampleTensors()))
	f, err := Open(p)
	require.NoError(t, err)
	a, _ := f.Tensor("a.weight")
	require.Equal(t, sampleTensors()[0].Data, a.Data)
	require.NoError(t, f.Close())
	require.NoError(t, f.Close())
	_, err = Open(filepath.Join(t.TempDir(), "missing.gguf"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestAlignmentKey(t *testing.T) {
	kvs := append(sampleKVs(), KV{KeyAlignment, Uint32(64)})
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, kvs, sampleTensors()))
	f, err := Parse(buf.Bytes())
	require.NoError(t, err)
	require.Equal(t, int64(64), f.Alignment)
	for _, ti := range f.Tensors {
		require.Zero(t, (f.DataOffset+ti.Offset)%64)
	}
	require.ErrorIs(t, Write(&buf, append(sampleKVs(), KV{KeyAlignment, Uint32(48)}), nil), ErrWrite)
}

// put overwrites 4 or 8 bytes at off.
func put(b []byte, off int, v uint64, n int) []byte {
	c := bytes.Clone(b)
	if n == 4 {
		binary.LittleEndian.PutUint32(c[off:], uint32(v))
	} else {
		binary.LittleEndian.PutUint64(c[off:], v)
	}
	return c
}

// build writes a file with the given kvs and raw tensor infos (name, dims, type, offset) and
// dataLen bytes of data, bypassing the writer's checks.
func build(kvs []KV, infos []rawInfo, dataLen int) []byte {
	var buf bytes.Buffer
	cw := &countingWriter{w: &buf}
	e := encoder{w: cw}
	e.raw([]byte(Magic))
	e.u32(3)
	e.u64(uint64(len(infos)))
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		e.str(kv.Key)
		e.value(kv.Value, 0)
	}
	for _, ti := range infos {
		e.str(ti.name)
		e.u32(uint32(len(ti.dims)))
		for _, d := range ti.dims {
			e.u64(d)
		}
		e.u32(ti.typ)
		e.u64(ti.off)
	}
	e.raw(make([]byte, alignUp(cw.n, 32)-cw.n+int64(dataLen)))
	return buf.Bytes()
}

type rawInfo struct {
	name string
	dims []uint64
	typ  uint32
	off  uint64
}

func TestBadFiles(t *testing.T) {
	good := writeSample(t)
	header := build(nil, nil, 0)
	tests := []struct {
		name string
		b    []byte
		kind error
	}{
		{"empty", nil, ErrTruncated},
		{"bad magic", append([]byte("GGML"), good[4:]...), ErrBadMagic},
		{"version 1", put(good, 4, 1, 4), ErrUnsupportedVersion},
		{"big-endian version", put(good, 4, 3<<24, 4), ErrUnsupportedVersion},
		{"absurd tensor count", put(header, 8, 1<<60, 8), ErrTruncated},
		{"absurd kv count", put(header, 16, math.MaxUint64, 8), ErrTruncated},
		{"truncated metadata", good[:100], ErrTruncated},
		{"truncated data", good[:len(good)-1], ErrBadTensor},
		{"string length past the end", build([]KV{{"k", String("v")}}, nil, 0)[:30], ErrTruncated},
		{"unknown value type", put(build([]KV{{"k", Uint8(1)}}, nil, 0), 24+8+1, 13, 4), ErrUnknownType},
		{"unknown array element type", put(build([]KV{{"k", Int32s([]int32{1})}}, nil, 0), 24+8+1+4, 99, 4), ErrUnknownType},
		{"absurd array count", put(build([]KV{{"k", Int32s([]int32{1})}}, nil, 0), 24+8+1+8, 1<<62, 8), ErrTruncated},
		{"duplicate key", build([]KV{{"k", Uint8(1)}, {"k", Uint8(2)}}, nil, 0), ErrBadMetadata},
		{"alignment not a power of two", build([]KV{{KeyAlignment, Uint32(24)}}, nil, 0), ErrBadMetadata},
		{"alignment of the wrong type", build([]KV{{KeyAlignment, Uint64(32)}}, nil, 0), ErrBadMetadata},
		{"deep nesting", build([]KV{{"k", nest(9)}}, nil, 0), ErrBadMetadata},
		{"unknown tensor type", build(nil, []rawInfo{{"t", []uint64{4}, 4, 0}}, 32), ErrUnknownType},
		{"five dimensions", build(nil, []rawInfo{{"t", []uint64{1, 1, 1, 1, 1}, 0, 0}}, 32), ErrBadTensor},
		{"dims overflow", build(nil, []rawInfo{{"t", []uint64{1 << 32, 1 << 32}, 0, 0}}, 32), ErrBadTensor},
		{"negative dim", build(nil, []rawInfo{{"t", []uint64{math.MaxUint64}, 0, 0}}, 32), ErrBadTensor},
		{"bytes overflow", build(nil, []rawInfo{{"t", []uint64{1 << 31, 1 << 31}, 0, 0}}, 32), ErrBadTensor},
		{"row not whole blocks", build(nil, []rawInfo{{"t", []uint64{33}, uint32(Q8_0), 0}}, 64), ErrBadTensor},
		{"data past the end", build(nil, []rawInfo{{"t", []uint64{16}, 0, 0}}, 32), ErrBadTensor},
		{"offset past the end", build(nil, []rawInfo{{"t", []uint64{1}, 0, 1 << 62}}, 32), ErrBadTensor},
		{"misaligned offset", build(nil, []rawInfo{{"t", []uint64{1}, 0, 4}}, 64), ErrBadTensor},
		{"overlap", build(nil, []rawInfo{{"a", []uint64{16}, 0, 0}, {"b", []uint64{8}, 0, 32}}, 96), ErrBadTensor},
		{"duplicate tensor", build(nil, []rawInfo{{"a", []uint64{8}, 0, 0}, {"a", []uint64{8}, 0, 32}}, 64), ErrBadTensor},
		{"long name", build(nil, []rawInfo{{string(make([]byte, 64)), []uint64{8}, 0, 0}}, 32), ErrBadTensor},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.b)
			require.ErrorIs(t, err, ErrInvalidFile)
			require.ErrorIs(t, err, tc.kind, "%v", err)
		})
	}
}

// nest builds arrays nested depth deep.
func nest(depth int) Value {
	a := *mustArray(Int32s([]int32{1}))
	for range depth - 1 {
		a = *mustArray(Arrays([]Array{a}))
	}
	return ArrayValue(a)
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name string
		kvs  []KV
		ts   []WriteTensor
	}{
		{"duplicate key", []KV{{"a", Uint8(1)}, {"a", Uint8(1)}}, nil},
		{"data size", nil, []WriteTensor{{Name: "t", Type: F32, Dims: []int64{4}, Data: make([]byte, 15)}}},
		{"unknown type", nil, []WriteTensor{{Name: "t", Type: 5, Dims: []int64{4}}}},
		{"row not whole blocks", nil, []WriteTensor{{Name: "t", Type: Q4_0, Dims: []int64{16}}}},
		{"duplicate tensor", nil, []WriteTensor{{Name: "t", Type: F32, Dims: []int64{1}, Data: make([]byte, 4)}, {Name: "t", Type: F32, Dims: []int64{1}, Data: make([]byte, 4)}}},
		{"short stream", nil, []WriteTensor{{Name: "t", Type: F32, Dims: []int64{2}, WriteData: func(w io.Writer) error { _, err := w.Write(make([]byte, 4)); return err }}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(io.Discard, tc.kvs, tc.ts)
			require.ErrorIs(t, err, ErrWrite)
		})
	}
	p := filepath.Join(t.TempDir(), "x.gguf")
	require.Error(t, WriteFile(p, nil, tests[1].ts))
	_, err := os.Stat(p)
	require.True(t, errors.Is(err, os.ErrNotExist), "a failed write leaves no file")
}

// realVocab is a vocabulary-only GGUF written by llama.cpp's tools (committed for the tokenizer).
const realVocab = "../../testdata/tokenizer/ggml-vocab-llama-spm.gguf"

func TestRealFile(t *testing.T) {
	f, err := Open(realVocab)
	require.NoError(t, err)
	defer f.Close()
	model, _ := f.String("tokenizer.ggml.model")
	require.Equal(t, "llama", model)
	tokens, ok := f.Array("tokenizer.ggml.tokens")
	require.True(t, ok)
	strs, _ := tokens.Strings()
	require.Len(t, strs, 32000)
	require.Equal(t, "<s>", strs[1])
	scores, _ := f.Array("tokenizer.ggml.scores")
	fl, ok := scores.Floats()
	require.True(t, ok)
	require.Len(t, fl, 32000)
}
