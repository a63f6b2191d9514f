package gguf

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzParse: arbitrary bytes either parse into a file whose tensors lie inside the input and which
// writes back to an equal file, or fail with a typed error. Never a panic.
func FuzzParse(f *testing.F) {
	var buf bytes.Buffer
	if err := Write(&buf, sampleKVs(), sampleTensors()); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(build([]KV{{KeyAlignment, Uint32(64)}, {"k", nest(3)}}, []rawInfo{{"a", []uint64{32, 2}, uint32(Q4_K), 0}}, 512))
	f.Add([]byte("GGUF\x02\x00\x00\x00"))
	if real, err := os.ReadFile(realVocab); err == nil {
		f.Add(real[:16<<10]) // a real header: llama.cpp's key names and a 32000-token array, cut short
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidFile) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		ts := make([]WriteTensor, len(g.Tensors))
		for i, ti := range g.Tensors {
			if int64(len(ti.Data)) != ti.Size || g.DataOffset+ti.Offset+ti.Size > int64(len(b)) {
				t.Fatalf("tensor %q: %d bytes at %d+%d in a %d-byte file", ti.Name, len(ti.Data), g.DataOffset, ti.Offset, len(b))
			}
			ts[i] = WriteTensor{Name: ti.Name, Type: ti.Type, Dims: ti.Dims, Data: ti.Data}
		}
		var out bytes.Buffer
		if err := Write(&out, g.KV, ts); err != nil {
			t.Fatalf("cannot write back a parsed file: %v", err)
		}
		h, err := Parse(out.Bytes())
		if err != nil {
			t.Fatalf("written file does not parse: %v", err)
		}
		if len(h.KV) != len(g.KV) || len(h.Tensors) != len(g.Tensors) {
			t.Fatalf("round trip: %d/%d keys, %d/%d tensors", len(h.KV), len(g.KV), len(h.Tensors), len(g.Tensors))
		}
		for i, ti := range h.Tensors {
			if ti.Name != g.Tensors[i].Name || !bytes.Equal(ti.Data, g.Tensors[i].Data) {
				t.Fatalf("round trip changed tensor %d %q", i, ti.Name)
			}
		}
	})
}
