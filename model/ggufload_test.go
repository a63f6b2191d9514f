package model

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/zoomr-go/zoomr/model/gguf"
	"github.com/zoomr-go/zoomr/model/quant"
)

// writeTinyVocab writes a vocabulary-only GGUF of n byte-level tokens (enough for llama.cpp's
// loader and for WriteGGUF's -vocab path).
func writeTinyVocab(t testing.TB, n int) string {
	t.Helper()
	tokens := make([]string, n)
	types := make([]int32, n)
	for i := range tokens {
		tokens[i], types[i] = fmt.Sprintf("t%d", i), 1
	}
	p := filepath.Join(t.TempDir(), "vocab.gguf")
	require.NoError(t, gguf.WriteFile(p, []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: gguf.String("gpt2")},
		{Key: "tokenizer.ggml.pre", Value: gguf.String("gpt-2")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.Strings(tokens)},
		{Key: "tokenizer.ggml.token_type", Value: gguf.Int32s(types)},
		{Key: "tokenizer.ggml.merges", Value: gguf.Strings(nil)},
		{Key: "tokenizer.ggml.bos_token_id", Value: gguf.Uint32(1)},
		{Key: "tokenizer.ggml.eos_token_id", Value: gguf.Uint32(2)},
	}, nil))
	return p
}

// writeRandomGGUF writes a random HF model and converts it; it returns the GGUF path and the HF dir.
func writeRandomGGUF(t testing.TB, spec RandomSpec, typ string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	_, err := WriteRandom(dir, spec)
	require.NoError(t, err)
	ft, err := ParseGGUFFileType(typ)
	require.NoError(t, err)
	vocab := spec.VocabSize
	if vocab == 0 {
		vocab = 256
	}
	out := filepath.Join(t.TempDir(), "m.gguf")
	_, err = WriteGGUF(dir, out, GGUFWriteOptions{Type: ft, Vocab: writeTinyVocab(t, vocab-3)})
	require.NoError(t, err)
	return out, dir
}

var ggufRoundTripSpecs = []RandomSpec{
	{Arch: "llama", Seed: 3, Bias: true, RopeScaling: &RopeScaling{Type: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 64}},
	{Arch: "llama", Seed: 4, Heads: 4, KVHeads: 1, RopeScaling: &RopeScaling{Type: "linear", Factor: 2}},
	{Arch: "mistral", Seed: 5},
	{Arch: "qwen2", Seed: 6, Tie: true},
	{Arch: "qwen3", Seed: 7, HeadDim: 32, Tie: true},
}

// TestGGUFRoundTripF32: an F32 GGUF written from an HF checkpoint reads back as the same config and
// the same tensors, bit for bit (so the llama q/k permutation is inverted exactly).
func TestGGUFRoundTripF32(t *testing.T) {
	for _, spec := range ggufRoundTripSpecs {
		t.Run(fmt.Sprintf("%s-%d", spec.Arch, spec.Seed), func(t *testing.T) {
			path, dir := writeRandomGGUF(t, spec, "f32")
			want, err := LoadConfig(dir)
			require.NoError(t, err)
			got, tensors, closer, err := readGGUFModel(path)
			require.NoError(t, err)
			defer closer.Close()

			if want.Arch == "mistral" {
				want.Arch = "llama" // written and read as llama.cpp's converter does
			}
			want.TorchDType = ""
			bos := 1
			want.BOSTokenID, want.EOSTokenIDs = &bos, []int{2} // from the GGUF's tokenizer
			require.Equal(t, want, got)

			byName, files, err := openWeightFiles(dir)
			require.NoError(t, err)
			defer func() {
				for _, f := range files {
					f.Close()
				}
			}()
			for _, s := range want.ExpectedTensors() {
				qt, ok := tensors[s.Name]
				require.True(t, ok, s.Name)
				require.Equal(t, quant.F32, qt.Type, s.Name)
				require.Equal(t, s.Shape, qt.Shape, s.Name)
				orig := make([]float32, len(qt.Data)/4)
				require.NoError(t, byName[s.Name].ReadFloat32(s.Name, orig))
				require.True(t, bytes.Equal(float32Bytes(orig), qt.Data), "%s differs", s.Name)
			}
			require.Len(t, tensors, len(want.ExpectedTensors()))
		})
	}
}

// TestGGUFQuantizedTypes: the per-tensor types follow llama-quantize, and dequantized weights stay
// close to the originals.
func TestGGUFQuantizedTypes(t *testing.T) {
	big := RandomSpec{Arch: "llama", Seed: 8, Hidden: 256, Intermediate: 512, Layers: 8, Heads: 4, KVHeads: 2}
	tests := []struct {
		spec  RandomSpec
		typ   string
		types map[string]quant.Type // by HF name; "attn_v@N"-style entries are listed explicitly
	}{
		{big, "q4_k_m", map[string]quant.Type{
			"model.embed_tokens.weight": quant.Q4_K, "lm_head.weight": quant.Q6_K, "model.norm.weight": quant.F32,
			"model.layers.0.self_attn.v_proj.weight": quant.Q6_K, "model.layers.1.self_attn.v_proj.weight": quant.Q4_K,
			"model.layers.3.self_attn.v_proj.weight": quant.Q6_K, "model.layers.7.mlp.down_proj.weight": quant.Q6_K,
			"model.layers.2.mlp.down_proj.weight": quant.Q4_K, "model.layers.2.self_attn.q_proj.weight": quant.Q4_K,
			"model.layers.2.input_layernorm.weight": quant.F32}},
		{RandomSpec{Arch: "qwen2", Seed: 9, Tie: true}, "q4_k_m", map[string]quant.Type{ // rows of 64: fallbacks
			"model.embed_tokens.weight": quant.Q8_0, "model.layers.0.self_attn.q_proj.weight": quant.Q5_0,
			"model.layers.0.self_attn.v_proj.weight": quant.Q5_0, "model.layers.1.self_attn.v_proj.weight": quant.Q8_0,
			"model.layers.0.self_attn.q_proj.bias": quant.F32}},
		{RandomSpec{Arch: "llama", Seed: 10}, "q4_0", map[string]quant.Type{
			"model.embed_tokens.weight": quant.Q4_0, "lm_head.weight": quant.Q8_0, "model.layers.1.mlp.up_proj.weight": quant.Q4_0}},
		{big, "q8_0", map[string]quant.Type{"lm_head.weight": quant.Q8_0, "model.layers.0.self_attn.v_proj.weight": quant.Q8_0}},
		{RandomSpec{Arch: "qwen3", Seed: 11}, "f16", map[string]quant.Type{
			"model.embed_tokens.weight": quant.F16, "model.layers.0.self_attn.q_norm.weight": quant.F32}},
		{RandomSpec{Arch: "qwen3", Seed: 11}, "bf16", map[string]quant.Type{"model.layers.0.mlp.up_proj.weight": quant.BF16}},
		{RandomSpec{Arch: "llama", Seed: 12}, "q4_1", map[string]quant.Type{"model.layers.0.mlp.up_proj.weight": quant.Q4_1}},
	}
	for _, tc := range tests {
		t.Run(tc.spec.Arch+"-"+tc.typ, func(t *testing.T) {
			path, dir := writeRandomGGUF(t, tc.spec, tc.typ)
			_, tensors, closer, err := readGGUFModel(path)
			require.NoError(t, err)
			defer closer.Close()
			for name, want := range tc.types {
				require.Equal(t, want, tensors[name].Type, name)
			}
			byName, files, err := openWeightFiles(dir)
			require.NoError(t, err)
			defer func() {
				for _, f := range files {
					f.Close()
				}
			}()
			for name, qt := range tensors {
				orig := make([]float32, qt.Elements())
				require.NoError(t, byName[name].ReadFloat32(name, orig))
				got := make([]float32, len(orig))
				require.NoError(t, quant.Dequantize(qt.Type, qt.Data, got))
				require.Less(t, relRMS(got, orig), 0.15, "%s (%v)", name, qt.Type) // Q4: ~0.1 of the weights' RMS
			}
		})
	}
}

func relRMS(got, want []float32) float64 {
	var num, den float64
	for i := range got {
		d := float64(got[i] - want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	return math.Sqrt(num / max(den, 1e-30))
}

// rewriteGGUF copies src to a new file after edit changes its metadata or tensors.
func rewriteGGUF(t *testing.T, src string, edit func(kvs []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor)) string {
	t.Helper()
	f, err := gguf.Open(src)
	require.NoError(t, err)
	defer f.Close()
	kvs := slices.Clone(f.KV)
	ts := make([]gguf.WriteTensor, len(f.Tensors))
	for i, ti := range f.Tensors {
		ts[i] = gguf.WriteTensor{Name: ti.Name, Type: ti.Type, Dims: ti.Dims, Data: ti.Data}
	}
	kvs, ts = edit(kvs, ts)
	p := filepath.Join(t.TempDir(), "edited.gguf")
	require.NoError(t, gguf.WriteFile(p, kvs, ts))
	return p
}

func setKV(kvs []gguf.KV, key string, v gguf.Value) []gguf.KV {
	for i := range kvs {
		if kvs[i].Key == key {
			kvs[i].Value = v
			return kvs
		}
	}
	return append(kvs, gguf.KV{Key: key, Value: v})
}

func TestGGUFBadModels(t *testing.T) {
	good, _ := writeRandomGGUF(t, RandomSpec{Arch: "llama", Seed: 13}, "q8_0")
	raw, err := os.ReadFile(good)
	require.NoError(t, err)
	kvEdit := func(key string, v gguf.Value) string {
		return rewriteGGUF(t, good, func(kvs []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor) {
			return setKV(kvs, key, v), ts
		})
	}
	tensorEdit := func(edit func(ts []gguf.WriteTensor) []gguf.WriteTensor) string {
		return rewriteGGUF(t, good, func(kvs []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor) {
			return kvs, edit(ts)
		})
	}
	truncated := filepath.Join(t.TempDir(), "short.gguf")
	require.NoError(t, os.WriteFile(truncated, raw[:len(raw)-100], 0o644))
	tests := []struct {
		name string
		path string
		want error
	}{
		{"truncated", truncated, gguf.ErrInvalidFile},
		{"not a gguf", writeTinyFile(t, []byte("PK\x03\x04 zip")), gguf.ErrBadMagic},
		{"unsupported architecture", kvEdit("general.architecture", gguf.String("gemma2")), ErrUnsupportedArchitecture},
		{"yarn", kvEdit("llama.rope.scaling.type", gguf.String("yarn")), ErrUnsupportedArchitecture},
		{"per-layer heads", kvEdit("llama.attention.head_count", gguf.Int32s([]int32{4, 4})), ErrInvalidConfig},
		{"missing block count", rewriteGGUF(t, good, func(kvs []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor) {
			return slices.DeleteFunc(kvs, func(kv gguf.KV) bool { return kv.Key == "llama.block_count" }), ts
		}), ErrInvalidConfig},
		{"wrong vocab_size", kvEdit("llama.vocab_size", gguf.Uint32(999)), ErrInvalidConfig},
		{"quant type without kernels", tensorEdit(func(ts []gguf.WriteTensor) []gguf.WriteTensor {
			for i := range ts {
				if ts[i].Name == "blk.0.ffn_up.weight" {
					ts[i].Type, ts[i].Data = gguf.IQ4_NL, ts[i].Data[:len(ts[i].Data)/34*18]
				}
			}
			return ts
		}), quant.ErrType},
		{"wrong shape", tensorEdit(func(ts []gguf.WriteTensor) []gguf.WriteTensor {
			for i := range ts {
				if ts[i].Name == "blk.1.ffn_down.weight" {
					ts[i].Dims = []int64{ts[i].Dims[1] / 2, ts[i].Dims[0] * 2} // same bytes, transposed-ish shape
				}
			}
			return ts
		}), ErrWeightMismatch},
		{"missing tensor", tensorEdit(func(ts []gguf.WriteTensor) []gguf.WriteTensor {
			return slices.DeleteFunc(ts, func(w gguf.WriteTensor) bool { return w.Name == "blk.1.attn_k.weight" })
		}), ErrWeightMismatch},
		{"unexpected tensor", tensorEdit(func(ts []gguf.WriteTensor) []gguf.WriteTensor {
			return append(ts, gguf.WriteTensor{Name: "blk.0.ffn_gate_inp.weight", Type: gguf.F32, Dims: []int64{1}, Data: make([]byte, 4)})
		}), ErrWeightMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, closer, err := readGGUFModel(tc.path)
			require.Nil(t, closer)
			require.Error(t, err)
			require.True(t, errors.Is(err, tc.want), "%v", err)
		})
	}
}

func writeTinyFile(t *testing.T, b []byte) string {
	p := filepath.Join(t.TempDir(), "x.gguf")
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

func TestPermuteHeadRowsInverts(t *testing.T) {
	src := make([]byte, 3*8*5) // 3 heads × head dim 8, rows of 5 bytes
	for i := range src {
		src[i] = byte(i)
	}
	mid, back := make([]byte, len(src)), make([]byte, len(src))
	require.NoError(t, permuteHeadRows(mid, src, 5, 3, true))
	require.NoError(t, permuteHeadRows(back, mid, 5, 3, false))
	require.Equal(t, src, back)
	require.Equal(t, src[4*5:5*5], mid[1*5:2*5], "interleaved row 1 is rotate-half row hd/2 = 4")
	require.ErrorIs(t, permuteHeadRows(mid, src, 5, 2*3*8, true), ErrWeightMismatch) // odd head size
}

func TestGGUFNames(t *testing.T) {
	for _, name := range []string{"model.embed_tokens.weight", "lm_head.weight", "model.layers.12.mlp.down_proj.bias",
		"model.layers.0.self_attn.k_norm.weight"} {
		g, ok := ggufNameFromHF(name)
		require.True(t, ok, name)
		back, ok := hfNameFromGGUF(g)
		require.True(t, ok, g)
		require.Equal(t, name, back)
	}
	for _, bad := range []string{"blk.x.attn_q.weight", "blk.01.attn_q.weight", "blk.-1.attn_q.weight", "blk.0.attn_qkv.weight", "rope_freqs.weight"} {
		_, ok := hfNameFromGGUF(bad)
		require.False(t, ok, bad)
	}
}

// TestSmolLM2GGUF maps a real llama.cpp file: SmolLM2-135M-Instruct, Q4_1 with a Q8_0 embedding,
// tied. It skips when the file is absent ($ZOOMR_SMOLLM2_GGUF, or `go run ./examples/fetch-model
// smollm2`, which puts it in the user cache).
func TestSmolLM2GGUF(t *testing.T) {
	const file = "SmolLM2-135M-Instruct.Q4_1.gguf"
	path := os.Getenv("ZOOMR_SMOLLM2_GGUF")
	if cache, err := os.UserCacheDir(); path == "" && err == nil {
		for _, pattern := range []string{file, "*/" + file} {
			if m, _ := filepath.Glob(filepath.Join(cache, "zoomr", "models", pattern)); len(m) > 0 {
				path = m[0]
			}
		}
	}
	if path == "" {
		t.Skipf("%s not found: run `go run ./examples/fetch-model smollm2` or set ZOOMR_SMOLLM2_GGUF", file)
	}
	c, tensors, closer, err := readGGUFModel(path)
	require.NoError(t, err)
	defer closer.Close()
	bos := 1
	require.Equal(t, &Config{Arch: "llama", VocabSize: 49152, Hidden: 576, Intermediate: 1536, Layers: 30, Heads: 9,
		KVHeads: 3, HeadDim: 64, MaxPositions: 8192, RMSNormEps: 1e-5, RopeTheta: 100000, TieEmbeddings: true,
		HiddenAct: "silu", BOSTokenID: &bos, EOSTokenIDs: []int{2}}, c)
	require.Len(t, tensors, len(c.ExpectedTensors()))
	require.Equal(t, quant.Q8_0, tensors["model.embed_tokens.weight"].Type)
	require.Equal(t, quant.Q4_1, tensors["model.layers.29.mlp.down_proj.weight"].Type)
	require.Equal(t, []int{192, 576}, tensors["model.layers.0.self_attn.k_proj.weight"].Shape)
	// Weights are used in place: their bytes are the file's mapping, not copies (except llama's
	// un-permuted q/k).
	f := closer.(*gguf.File)
	for g, hf := range map[string]string{"token_embd.weight": "model.embed_tokens.weight", "blk.3.ffn_up.weight": "model.layers.3.mlp.up_proj.weight"} {
		ti, _ := f.Tensor(g)
		require.Same(t, &ti.Data[0], &tensors[hf].Data[0], g)
	}
	q, _ := f.Tensor("blk.0.attn_q.weight")
	require.NotSame(t, &q.Data[0], &tensors["model.layers.0.self_attn.q_proj.weight"].Data[0])
}
