package model

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"
)

// stImage builds a safetensors image from a header object and a data section.
func stImage(t testing.TB, header any, data []byte) []byte {
	hb, err := json.Marshal(header)
	require.NoError(t, err)
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, uint64(len(hb)))
	buf.Write(hb)
	buf.Write(data)
	return buf.Bytes()
}

func entry(dtype string, shape []int, begin, end int) map[string]any {
	return map[string]any{"dtype": dtype, "shape": shape, "data_offsets": []int{begin, end}}
}

func TestSafetensorsHeaderErrors(t *testing.T) {
	eight := make([]byte, 8)
	cases := []struct {
		name  string
		image []byte
		want  string
	}{
		{"empty", nil, "shorter than"},
		{"truncated length", []byte{1, 2, 3}, "shorter than"},
		{"header longer than file", append(binary.LittleEndian.AppendUint64(nil, 1000), '{', '}'), "does not fit"},
		{"huge header length", binary.LittleEndian.AppendUint64(nil, 1<<62), "does not fit"},
		{"not json", append(binary.LittleEndian.AppendUint64(nil, 3), 'a', 'b', 'c'), "header JSON"},
		{"unknown dtype", stImage(t, map[string]any{"a": entry("Q4", []int{2}, 0, 8)}, eight), "unknown dtype"},
		{"offsets past end", stImage(t, map[string]any{"a": entry("F32", []int{4}, 0, 16)}, eight), "outside"},
		{"offsets reversed", stImage(t, map[string]any{"a": entry("F32", []int{0}, 8, 0)}, eight), "outside"},
		{"negative offset", stImage(t, map[string]any{"a": entry("F32", []int{1}, -4, 0)}, eight), "outside"},
		{"shape/size mismatch", stImage(t, map[string]any{"a": entry("F32", []int{3}, 0, 8)}, eight), "needs 12 bytes"},
		{"negative dim", stImage(t, map[string]any{"a": entry("F32", []int{-2}, 0, 8)}, eight), "dimension"},
		{"overlap", stImage(t, map[string]any{"a": entry("F32", []int{2}, 0, 8), "b": entry("F32", []int{1}, 4, 8)}, eight), "overlap"},
		{"one offset", stImage(t, map[string]any{"a": map[string]any{"dtype": "F32", "shape": []int{1}, "data_offsets": []int{0}}}, eight), "data_offsets"},
		{"shape overflow", stImage(t, map[string]any{"a": entry("F32", []int{1 << 30, 1 << 30, 1 << 30}, 0, 8)}, eight), "more bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseSafetensorsHeader(bytes.NewReader(c.image), int64(len(c.image)))
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalidSafetensors)
			require.Contains(t, err.Error(), c.want)
		})
	}
}

func TestHalfToFloat32(t *testing.T) {
	for _, c := range []struct {
		h    uint16
		want float32
	}{{0x3c00, 1}, {0xc000, -2}, {0x0001, 5.960464477539063e-08}, {0x7bff, 65504}, {0x0000, 0}, {0x3555, 0.33325195}} {
		require.Equal(t, c.want, halfToFloat32(c.h), "half %#04x", c.h)
	}
}

// corruptModel writes a random model, then lets mutate damage it.
func corruptModel(t *testing.T, mutate func(dir string)) error {
	dir := t.TempDir()
	_, err := WriteRandom(dir, RandomSpec{Seed: 3, VocabSize: 64, Hidden: 16, Heads: 2, KVHeads: 1, Layers: 1})
	require.NoError(t, err)
	mutate(dir)
	_, err = Load(context.Background(), dir)
	return err
}

func rewriteConfig(t *testing.T, dir string, edit func(map[string]any)) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var cfg map[string]any
	require.NoError(t, json.Unmarshal(data, &cfg))
	edit(cfg)
	data, _ = json.Marshal(cfg)
	require.NoError(t, os.WriteFile(path, data, 0o644))
}

// rewriteTensors rewrites model.safetensors after edit changes the tensor list.
func rewriteTensors(t *testing.T, dir string, edit func(map[string]NamedTensor)) {
	path := filepath.Join(dir, "model.safetensors")
	f, err := OpenSafetensors(path)
	require.NoError(t, err)
	all := map[string]NamedTensor{}
	for name, info := range f.Tensors {
		data := make([]float32, info.NumElements())
		require.NoError(t, f.ReadFloat32(name, data))
		all[name] = NamedTensor{Name: name, Shape: info.Shape, Data: data}
	}
	f.Close()
	edit(all)
	var list []NamedTensor
	for _, nt := range all {
		list = append(list, nt)
	}
	require.NoError(t, WriteSafetensors(path, list, false))
}

func TestLoadBadInput(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(t *testing.T, dir string)
		target error
		want   string
	}{
		{"truncated weights", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model.safetensors")
			st, _ := os.Stat(p)
			require.NoError(t, os.Truncate(p, st.Size()-100))
		}, ErrInvalidSafetensors, "outside"},
		{"no weights file", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, "model.safetensors")))
		}, ErrInvalidSafetensors, "no such file"},
		{"invalid config json", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte("{not json"), 0o644))
		}, ErrInvalidConfig, "config.json"},
		{"unknown architecture", func(t *testing.T, dir string) {
			rewriteConfig(t, dir, func(c map[string]any) { c["model_type"] = "gpt2" })
		}, ErrUnsupportedArchitecture, `"gpt2"`},
		{"zero layers", func(t *testing.T, dir string) {
			rewriteConfig(t, dir, func(c map[string]any) { c["num_hidden_layers"] = 0 })
		}, ErrInvalidConfig, "num_hidden_layers = 0"},
		{"negative hidden", func(t *testing.T, dir string) {
			rewriteConfig(t, dir, func(c map[string]any) { c["hidden_size"] = -16 })
		}, ErrInvalidConfig, "hidden_size = -16"},
		{"heads not multiple of kv heads", func(t *testing.T, dir string) {
			rewriteConfig(t, dir, func(c map[string]any) { c["num_key_value_heads"] = 3; c["num_attention_heads"] = 4 })
		}, ErrInvalidConfig, "multiple"},
		{"unsupported rope scaling", func(t *testing.T, dir string) {
			rewriteConfig(t, dir, func(c map[string]any) { c["rope_scaling"] = map[string]any{"rope_type": "yarn", "factor": 4} })
		}, ErrUnsupportedArchitecture, "yarn"},
		{"vocab disagrees with embedding", func(t *testing.T, dir string) {
			rewriteConfig(t, dir, func(c map[string]any) { c["vocab_size"] = 65 })
		}, ErrWeightMismatch, "[64 16]"},
		{"missing tensor", func(t *testing.T, dir string) {
			rewriteTensors(t, dir, func(m map[string]NamedTensor) { delete(m, "model.layers.0.mlp.up_proj.weight") })
		}, ErrWeightMismatch, "model.layers.0.mlp.up_proj.weight"},
		{"wrong shape", func(t *testing.T, dir string) {
			rewriteTensors(t, dir, func(m map[string]NamedTensor) {
				m["model.norm.weight"] = NamedTensor{Name: "model.norm.weight", Shape: []int{4, 4}, Data: make([]float32, 16)}
			})
		}, ErrWeightMismatch, "[4 4]"},
		{"unexpected tensor", func(t *testing.T, dir string) {
			rewriteTensors(t, dir, func(m map[string]NamedTensor) {
				m["model.layers.0.self_attn.o_proj.bias"] = NamedTensor{Name: "model.layers.0.self_attn.o_proj.bias", Shape: []int{16}, Data: make([]float32, 16)}
			})
		}, ErrWeightMismatch, "unexpected"},
		{"wrong dtype", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model.safetensors")
			data, _ := os.ReadFile(p)
			data = bytes.Replace(data, []byte(`"dtype":"F32","shape":[16]`), []byte(`"dtype":"I32","shape":[16]`), 1)
			require.NoError(t, os.WriteFile(p, data, 0o644))
		}, ErrWeightMismatch, "I32"},
		{"index names missing shard", func(t *testing.T, dir string) {
			idx := `{"weight_map": {"model.norm.weight": "model-00002-of-00002.safetensors"}}`
			require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(idx), 0o644))
		}, ErrInvalidSafetensors, "model-00002-of-00002"},
		{"index escapes directory", func(t *testing.T, dir string) {
			idx := `{"weight_map": {"model.norm.weight": "../x.safetensors"}}`
			require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(idx), 0o644))
		}, ErrInvalidSafetensors, "outside"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := corruptModel(t, func(dir string) { c.mutate(t, dir) })
			require.Error(t, err)
			require.True(t, errors.Is(err, c.target), "error %v is not %v", err, c.target)
			require.Contains(t, err.Error(), c.want)
		})
	}
}

// TestShardedAndConverted loads the same weights split over two shards in BF16 and F16 and checks the
// logits against the F32 single-file model (within bf16 rounding of the weights).
func TestShardedAndConverted(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	spec := RandomSpec{Seed: 9, VocabSize: 64, Hidden: 32, Heads: 2, KVHeads: 1, Layers: 2}
	_, err := WriteRandom(dir, spec)
	require.NoError(t, err)
	ref, err := Load(ctx, dir)
	require.NoError(t, err)

	f, err := OpenSafetensors(filepath.Join(dir, "model.safetensors"))
	require.NoError(t, err)
	var first, second []NamedTensor
	index := map[string]string{}
	for name, info := range f.Tensors {
		data := make([]float32, info.NumElements())
		require.NoError(t, f.ReadFloat32(name, data))
		nt := NamedTensor{Name: name, Shape: info.Shape, Data: data}
		if strings.Contains(name, "layers.1") {
			second = append(second, nt)
			index[name] = "model-00002-of-00002.safetensors"
		} else {
			first = append(first, nt)
			index[name] = "model-00001-of-00002.safetensors"
		}
	}
	f.Close()
	shardDir := t.TempDir()
	cfg, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	require.NoError(t, os.WriteFile(filepath.Join(shardDir, "config.json"), cfg, 0o644))
	require.NoError(t, WriteSafetensors(filepath.Join(shardDir, "model-00001-of-00002.safetensors"), first, true))
	require.NoError(t, WriteSafetensors(filepath.Join(shardDir, "model-00002-of-00002.safetensors"), second, true))
	idx, _ := json.Marshal(map[string]any{"weight_map": index})
	require.NoError(t, os.WriteFile(filepath.Join(shardDir, "model.safetensors.index.json"), idx, 0o644))
	sharded, err := Load(ctx, shardDir)
	require.NoError(t, err)

	tokens := []int{1, 2, 3, 4, 5}
	a, err := ref.Forward(ctx, tokens)
	require.NoError(t, err)
	b, err := sharded.Forward(ctx, tokens)
	require.NoError(t, err)
	maxDiff := float32(0)
	for i := range a {
		maxDiff = max(maxDiff, abs32(a[i]-b[i]))
	}
	t.Logf("bf16 sharded vs f32: max logit diff %.3g", maxDiff)
	require.Less(t, maxDiff, float32(0.1))
	require.Greater(t, maxDiff, float32(0), "bf16 rounding should change something")
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

func TestStepBadInput(t *testing.T) {
	ctx := context.Background()
	m := writeAndLoad(t, RandomSpec{Seed: 5, VocabSize: 64, Hidden: 16, Heads: 2, KVHeads: 1, Layers: 2})
	cache := NewSimpleKV(m.Config)
	pre, err := m.Prefill(ctx, []int{1, 2}, 0, nil, false)
	require.NoError(t, err)
	require.NoError(t, cache.Append(pre.K, pre.V, 2))
	good := cache.KV()

	wrongShape := good
	wrongShape.K = append([]*tensors.Tensor{tensors.FromShape(shapes.Make(dtypes.Float32, 1, 3, 8))}, good.K[1:]...)
	oneLayer := good
	oneLayer.K = good.K[:1]
	f64 := good
	f64.Mask = tensors.FromShape(shapes.Make(dtypes.Float64, good.Capacity()))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()

	cases := []struct {
		name  string
		ctx   context.Context
		token int
		pos   int
		kv    KV
		want  error
	}{
		{"token too large", ctx, 64, 2, good, ErrInvalidInput},
		{"negative token", ctx, -1, 2, good, ErrInvalidInput},
		{"negative position", ctx, 3, -1, good, ErrInvalidInput},
		{"wrong K shape", ctx, 3, 2, wrongShape, ErrInvalidInput},
		{"layer count", ctx, 3, 2, oneLayer, ErrInvalidInput},
		{"mask dtype", ctx, 3, 2, f64, ErrInvalidInput},
		{"no mask", ctx, 3, 2, KV{K: good.K, V: good.V}, ErrInvalidInput},
		{"cancelled", cancelled, 3, 2, good, context.Canceled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.Step(c.ctx, c.token, c.pos, c.kv, StepOptions{})
			require.ErrorIs(t, err, c.want)
		})
	}
	_, err = m.Prefill(ctx, nil, 0, nil, false)
	require.ErrorIs(t, err, ErrInvalidInput)
	_, err = m.Prefill(ctx, []int{1, 99}, 0, nil, false)
	require.ErrorIs(t, err, ErrInvalidInput)
	require.Contains(t, err.Error(), "99")
}

// FuzzSafetensorsHeader: any byte string either parses to tensors that lie inside the data section and do
// not overlap, or fails with ErrInvalidSafetensors; it never panics.
func FuzzSafetensorsHeader(f *testing.F) {
	eight := make([]byte, 8)
	f.Add(stImage(f, map[string]any{"a": entry("F32", []int{2}, 0, 8)}, eight))
	f.Add(stImage(f, map[string]any{"__metadata__": map[string]string{"format": "pt"}, "w": entry("BF16", []int{2, 2}, 0, 8)}, eight))
	f.Add(stImage(f, map[string]any{"a": entry("F32", []int{1}, 0, 4), "b": entry("F16", []int{2}, 4, 8)}, eight))
	f.Add([]byte{})
	f.Add(binary.LittleEndian.AppendUint64(nil, 2))
	f.Fuzz(func(t *testing.T, image []byte) {
		infos, err := ParseSafetensorsHeader(bytes.NewReader(image), int64(len(image)))
		if err != nil {
			if !errors.Is(err, ErrInvalidSafetensors) {
				t.Fatalf("error %v does not wrap ErrInvalidSafetensors", err)
			}
			return
		}
		for name, info := range infos {
			if info.Begin < 8 || info.End > int64(len(image)) || info.End < info.Begin {
				t.Fatalf("tensor %q range [%d,%d) outside image of %d bytes", name, info.Begin, info.End, len(image))
			}
			if int64(info.NumElements()*dtypeSize[info.DType]) != info.End-info.Begin {
				t.Fatalf("tensor %q size mismatch", name)
			}
		}
	})
}
