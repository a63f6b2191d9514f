package model

import (
	"cmp"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/zoomr-go/zoomr/model/gguf"
)

// TestLoadGGUFEngines loads one quantized GGUF through Load on both engines (the file itself, and the
// directory holding it) and checks that they compute the same function: the host engine on the
// blocks as stored, the graph engine on the weights dequantized at load. They differ only by the
// host engine's 8-bit rounding of the activations: measured 0.05–0.06 on these hidden-64 models (a
// wrong weight mapping gives O(1)).
func TestLoadGGUFEngines(t *testing.T) {
	ctx := context.Background()
	for _, spec := range []RandomSpec{{Arch: "llama", Seed: 31, Bias: true}, {Arch: "qwen2", Seed: 32, Tie: true}} {
		t.Run(spec.Arch, func(t *testing.T) {
			path, _ := writeRandomGGUF(t, spec, "q8_0")
			host, err := Load(ctx, path, WithEngine(EngineHost))
			require.NoError(t, err)
			defer host.Close()
			graph, err := Load(ctx, filepath.Dir(path), WithEngine(EngineGraph))
			require.NoError(t, err)
			defer graph.Close()
			require.Equal(t, host.Config, graph.Config)

			info, err := os.Stat(path)
			require.NoError(t, err)
			require.Greater(t, host.WeightBytes(), info.Size()*9/10, "the host engine holds the blocks as stored")
			require.Less(t, host.WeightBytes(), info.Size())
			require.Greater(t, graph.WeightBytes(), 3*info.Size(), "the graph engine holds float32")

			prompt := []int{1, 5, 9, 33, 7, 100, 2, 64}
			a, err := host.Forward(ctx, prompt)
			require.NoError(t, err)
			b, err := graph.Forward(ctx, prompt)
			require.NoError(t, err)
			V := host.Config.VocabSize
			maxDiff := 0.0
			for p := range prompt {
				la, lb := logSoftmax(a[p*V:(p+1)*V]), logSoftmax(b[p*V:(p+1)*V])
				for _, i := range topK(lb, 20) {
					maxDiff = math.Max(maxDiff, math.Abs(la[i]-lb[i]))
				}
			}
			t.Logf("host (Q8 activations) vs graph (float32 activations): max |Δ log-prob| %.2e over the top 20", maxDiff)
			require.Less(t, maxDiff, 0.1)
		})
	}
}

func TestFindGGUF(t *testing.T) {
	gguf1, hfDir := writeRandomGGUF(t, RandomSpec{Seed: 33}, "f32")
	two := t.TempDir()
	for _, name := range []string{"a.gguf", "b.gguf"} {
		require.NoError(t, os.WriteFile(filepath.Join(two, name), []byte("GGUF"), 0o644))
	}
	withConfig := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(withConfig, "config.json"), []byte("{}"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(withConfig, "m.gguf"), []byte("GGUF"), 0o644))
	tests := []struct {
		name, path, want string
		err              error
	}{
		{"a GGUF file", gguf1, gguf1, nil},
		{"a directory holding one", filepath.Dir(gguf1), gguf1, nil},
		{"a Hugging Face directory", hfDir, "", nil},
		{"config.json wins", withConfig, "", nil},
		{"a safetensors file", filepath.Join(hfDir, "model.safetensors"), "", nil},
		{"two GGUF files", two, "", ErrInvalidConfig},
		{"missing", filepath.Join(hfDir, "nothing"), "", ErrInvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FindGGUF(tc.path)
			require.ErrorIs(t, err, tc.err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestLoadBadGGUF: corrupt files through Load give typed errors (a model sentinel, and the GGUF
// reader's specific cause where there is one).
func TestLoadBadGGUF(t *testing.T) {
	good, _ := writeRandomGGUF(t, RandomSpec{Arch: "llama", Seed: 34}, "q4_0")
	raw, err := os.ReadFile(good)
	require.NoError(t, err)
	file := func(b []byte) string { return writeTinyFile(t, b) }
	flip := func(at int) []byte {
		b := append([]byte(nil), raw...)
		b[at] ^= 0xff
		return b
	}
	tests := []struct {
		name string
		path string
		want []error
	}{
		{"truncated data", file(raw[:len(raw)-1]), []error{ErrInvalidGGUF, gguf.ErrInvalidFile}},
		{"truncated header", file(raw[:40]), []error{ErrInvalidGGUF, gguf.ErrTruncated}},
		{"magic only", file([]byte("GGUF")), []error{ErrInvalidGGUF, gguf.ErrInvalidFile}},
		{"bad version", file(flip(4)), []error{ErrInvalidGGUF, gguf.ErrUnsupportedVersion}},
		{"unsupported architecture", rewriteGGUF(t, good, func(kvs []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor) {
			return setKV(kvs, "general.architecture", gguf.String("mamba")), ts
		}), []error{ErrUnsupportedArchitecture}},
		{"missing tensor", rewriteGGUF(t, good, func(kvs []gguf.KV, ts []gguf.WriteTensor) ([]gguf.KV, []gguf.WriteTensor) {
			return kvs, ts[1:]
		}), []error{ErrWeightMismatch}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(context.Background(), tc.path)
			require.Nil(t, m)
			for _, want := range tc.want {
				require.ErrorIs(t, err, want)
			}
		})
	}
}

// modelSentinels are the errors every failure of Load wraps one of.
var modelSentinels = []error{ErrUnsupportedArchitecture, ErrInvalidConfig, ErrInvalidSafetensors, ErrWeightMismatch,
	ErrInvalidGGUF}

// FuzzLoadGGUF: any bytes given to Load as a GGUF file either load a model that then runs a prefill
// chunk and a decode step, or fail with a model sentinel; never a panic. Seeds are small real models
// of several tensor types.
func FuzzLoadGGUF(f *testing.F) {
	for i, typ := range []string{"f32", "f16", "q8_0", "q4_0", "q4_1"} {
		spec := RandomSpec{Arch: []string{"llama", "qwen2", "qwen3"}[i%3], VocabSize: 64, Hidden: 32, Intermediate: 64,
			Layers: 1, Heads: 2, KVHeads: 1, Seed: uint64(40 + i), Tie: i%2 == 0}
		path, _ := writeRandomGGUF(f, spec, typ)
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "m.gguf")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := Load(context.Background(), path, WithEngine(EngineHost))
		if err != nil {
			for _, s := range modelSentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("untyped error: %v", err)
		}
		defer m.Close()
		if m.Config.Layers*m.Config.Hidden > 1<<16 || m.Config.VocabSize > 1<<12 {
			return // a valid but large model: running it tests nothing new and is slow
		}
		ctx := context.Background()
		pre, err := m.Prefill(ctx, []int{0, m.Config.VocabSize - 1}, 0, nil, false)
		if err != nil {
			t.Fatalf("prefill of a loaded model: %v", err)
		}
		cache := NewSimpleKV(m.Config)
		if err := cache.Append(pre.K, pre.V, 2); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Step(ctx, 0, 2, cache.KV(), StepOptions{}); err != nil {
			t.Fatalf("step of a loaded model: %v", err)
		}
	})
}

// topK returns the indices of the k largest values.
func topK(x []float64, k int) []int {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(x[b], x[a]) })
	return idx[:min(k, len(idx))]
}
