package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/zoomr-go/zoomr/internal/oracle"
)

// GGUF goldens (testdata/golden/gguf): llama.cpp's top-20 log-probs and greedy tokens on GGUFs that
// WriteGGUF makes from random models — two architectures × {f16, q8_0, q4_0, q4_k_m}. The GGUFs are
// not committed: writeGGUFGoldenModel rebuilds each one bit for bit (TestGGUFGoldenFiles checks its
// SHA-256 against the one llama.cpp's golden records), so an engine test can load the very file
// llama.cpp ran. Expected agreement of our engine: f16 within 1e-3, quantized within 0.05 (llama.cpp
// rounds activations to 8 bits in its quantized dot products), greedy equal except near ties.

// ggufGoldenModel is one random model of the GGUF goldens.
type ggufGoldenModel struct {
	Name      string
	Spec      RandomSpec
	Tokenizer string // folder under the shared folder with tokenizer.json and tokenizer_config.json
}

// Rows of 256 and 512 so that Q4_K/Q6_K apply without llama-quantize's 32-block fallbacks.
var ggufGoldenModels = []ggufGoldenModel{
	{Name: "llama", Tokenizer: "tokenizers/llama3", Spec: RandomSpec{Arch: "llama", VocabSize: 128256, Hidden: 256,
		Intermediate: 512, Layers: 2, Heads: 4, KVHeads: 2, Seed: 21, BOS: intp(128000), EOS: []int{128001}}},
	{Name: "qwen2", Tokenizer: "tokenizers/qwen3", Spec: RandomSpec{Arch: "qwen2", VocabSize: 151936, Hidden: 256,
		Intermediate: 512, Layers: 2, Heads: 4, KVHeads: 2, Tie: true, Seed: 22, BOS: intp(151643), EOS: []int{151643}}},
}

var ggufGoldenTypes = []string{"f16", "q8_0", "q4_0", "q4_k_m"}

const ggufGoldenDir = "../testdata/golden/gguf"

func ggufGoldenPath(model, typ string) string {
	return filepath.Join(ggufGoldenDir, model+"-"+typ+".json")
}

// sharedFolder is $ZOOMR_SHARED, or the folder that holds the oracle.
func sharedFolder(t testing.TB) string {
	if d := os.Getenv("ZOOMR_SHARED"); d != "" {
		return d
	}
	d, err := oracle.Dir()
	if err != nil {
		t.Skipf("shared folder not found (set ZOOMR_SHARED): %v", err)
	}
	return filepath.Dir(d)
}

// ggufGoldenBuilds holds the golden models built so far by this test binary: building one writes a
// 128k-vocabulary checkpoint and quantizes it (seconds each), and three tests read the same files.
var ggufGoldenBuilds struct {
	sync.Mutex
	root  string            // one temp folder for every build, removed by TestMain
	paths map[string]string // "hf/<model>" or "<model>-<type>" → path
}

// ggufGoldenBuilt returns the path that build wrote under key, running build once per test binary.
func ggufGoldenBuilt(t testing.TB, key string, build func(path string) error) string {
	t.Helper()
	b := &ggufGoldenBuilds
	b.Lock()
	defer b.Unlock()
	if p, ok := b.paths[key]; ok {
		return p
	}
	if b.root == "" {
		root, err := os.MkdirTemp("", "zoomr-gguf-golden-")
		require.NoError(t, err)
		b.root, b.paths = root, map[string]string{}
	}
	p := filepath.Join(b.root, filepath.FromSlash(key))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, build(p))
	b.paths[key] = p
	return p
}

// removeGGUFGoldenBuilds deletes what ggufGoldenBuilt wrote (called by TestMain).
func removeGGUFGoldenBuilds() {
	if r := ggufGoldenBuilds.root; r != "" {
		_ = os.RemoveAll(r)
	}
}

// ggufGoldenHFDir returns the model's HF directory, with its real tokenizer (built once).
func ggufGoldenHFDir(t testing.TB, m ggufGoldenModel) string {
	t.Helper()
	src := filepath.Join(sharedFolder(t), m.Tokenizer)
	if _, err := os.Stat(filepath.Join(src, "tokenizer.json")); err != nil {
		t.Skipf("tokenizer %s not available (set ZOOMR_SHARED): %v", src, err)
	}
	return ggufGoldenBuilt(t, "hf/"+m.Name, func(dir string) error {
		if _, err := WriteRandom(dir, m.Spec); err != nil {
			return err
		}
		for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
			b, err := os.ReadFile(filepath.Join(src, f))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeGGUFGoldenModel returns the GGUF of a golden (model × type), rebuilt from the model's HF
// directory (ggufGoldenHFDir) once per test binary; callers only read it.
func writeGGUFGoldenModel(t testing.TB, dir string, m ggufGoldenModel, typ string) string {
	t.Helper()
	ft, err := ParseGGUFFileType(typ)
	require.NoError(t, err)
	return ggufGoldenBuilt(t, m.Name+"-"+typ+".gguf", func(out string) error {
		_, err := WriteGGUF(dir, out, GGUFWriteOptions{Type: ft, Name: "zoomr-gguf-golden-" + m.Name})
		return err
	})
}

func fileSHA256(t testing.TB, path string) string {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestGGUFGoldenFiles rebuilds every golden's GGUF and requires the bytes llama.cpp ran on (same
// SHA-256), then reads it back with readGGUFModel.
func TestGGUFGoldenFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: writes and quantizes 150k-vocabulary models")
	}
	for _, m := range ggufGoldenModels {
		dir := ggufGoldenHFDir(t, m)
		for _, typ := range ggufGoldenTypes {
			t.Run(m.Name+"-"+typ, func(t *testing.T) {
				path := writeGGUFGoldenModel(t, dir, m, typ)
				b, err := os.ReadFile(ggufGoldenPath(m.Name, typ))
				require.NoError(t, err, "golden missing: go test ./model -run TestGGUFGoldensOracle -update")
				var g struct {
					Model struct {
						SHA256 string `json:"gguf_sha256"`
					} `json:"model"`
				}
				require.NoError(t, json.Unmarshal(b, &g))
				require.Equal(t, g.Model.SHA256, fileSHA256(t, path), "WriteGGUF no longer writes the file the golden was made from")
				c, tensors, closer, err := readGGUFModel(path)
				require.NoError(t, err)
				defer closer.Close()
				require.Equal(t, m.Spec.Arch, c.Arch)
				require.Len(t, tensors, len(c.ExpectedTensors()))
			})
		}
	}
}

// TestGGUFGoldensOracle asks llama.cpp again on each rebuilt GGUF and requires the committed golden
// (with -update it rewrites it).
func TestGGUFGoldensOracle(t *testing.T) {
	if *updateGoldens {
		oracle.SkipUnlessAvailable(t)
	} else {
		oracle.SkipUnlessLive(t)
	}
	prompts, err := filepath.Abs(filepath.Join(ggufGoldenDir, "prompts.json"))
	require.NoError(t, err)
	for _, m := range ggufGoldenModels {
		dir := ggufGoldenHFDir(t, m)
		for _, typ := range ggufGoldenTypes {
			t.Run(m.Name+"-"+typ, func(t *testing.T) {
				path := writeGGUFGoldenModel(t, dir, m, typ)
				out := filepath.Join(t.TempDir(), "golden.json")
				_, err := oracle.Run(context.Background(), "reference.mjs", "logits", "--model", path, "--prompts", prompts,
					"--out", out, "--top-k", "20", "--positions", "last", "--kv-type", "f32", "--flash-attn", "off")
				require.NoError(t, err, "llama.cpp could not load %s", path)
				data, err := os.ReadFile(out)
				require.NoError(t, err)
				if *updateGoldens {
					require.NoError(t, os.MkdirAll(ggufGoldenDir, 0o755))
					require.NoError(t, os.WriteFile(ggufGoldenPath(m.Name, typ), data, 0o644))
					return
				}
				committed, err := os.ReadFile(ggufGoldenPath(m.Name, typ))
				require.NoError(t, err)
				var want, got golden
				require.NoError(t, json.Unmarshal(committed, &want))
				require.NoError(t, json.Unmarshal(data, &got))
				maxDiff := compareLastGoldens(t, want, got)
				t.Logf("regenerated llama.cpp golden: max |Δ log-prob| %.2e", maxDiff)
				require.Less(t, maxDiff, 1e-5)
			})
		}
	}
}

// compareLastGoldens is compareGoldens for goldens made with --positions last (entries from the last
// prompt position on): same ids and positions, greedy equal while llama.cpp's top-2 margin is clear;
// it returns the largest log-prob difference over shared top ids.
func compareLastGoldens(t *testing.T, want, got golden) float64 {
	require.Equal(t, want.Format, got.Format)
	require.Len(t, got.Prompts, len(want.Prompts))
	maxDiff := 0.0
	for i, wp := range want.Prompts {
		gp := got.Prompts[i]
		require.Equal(t, wp.IDs, gp.IDs)
		require.Len(t, gp.Positions, len(wp.Positions))
		for k, w := range wp.Positions {
			g := gp.Positions[k]
			require.Equal(t, w.Pos, g.Pos)
			lp := map[int]float64{}
			for j, id := range g.TopIDs {
				if g.TopLogprobs[j] != nil {
					lp[id] = *g.TopLogprobs[j]
				}
			}
			for j, id := range w.TopIDs {
				if v, ok := lp[id]; ok && w.TopLogprobs[j] != nil {
					maxDiff = math.Max(maxDiff, math.Abs(v-*w.TopLogprobs[j]))
				}
			}
		}
		for k := range wp.Greedy {
			if k >= len(wp.Positions) || nearTie(wp.Positions[k].TopLogprobs) {
				break
			}
			require.Equal(t, wp.Greedy[k], gp.Greedy[k], "greedy step %d", k)
		}
	}
	return maxDiff
}
