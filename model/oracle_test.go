package model

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/internal/oracle"
)

var updateGoldens = flag.Bool("update", false, "rewrite testdata goldens from the llama.cpp oracle")

// oracleCase is one random model checked against llama.cpp.
type oracleCase struct {
	Name   string
	Vocab  string // oracle vocabulary name
	Spec   RandomSpec
	Prompt []int
}

func intp(v int) *int { return &v }

// oracleCases covers each architecture with a real vocabulary size, tied and untied embeddings, GQA and
// plain multi-head attention, biases, explicit head_dim and llama3 rope scaling.
var oracleCases = []oracleCase{
	{Name: "llama-bpe-gqa", Vocab: "llama-bpe", Prompt: []int{128000, 791, 4062, 14198, 39935, 35308, 927, 279, 16053, 5679, 13, 578},
		Spec: RandomSpec{Arch: "llama", VocabSize: 128256, Heads: 4, KVHeads: 2, Seed: 11, BOS: intp(128000), EOS: []int{128001}}},
	{Name: "llama-spm-mha-tied", Vocab: "llama-spm", Prompt: []int{1, 450, 4996, 17354, 1701, 29916, 432, 975, 278, 17366, 11203, 29889},
		Spec: RandomSpec{Arch: "llama", VocabSize: 32000, Heads: 4, KVHeads: 4, Tie: true, Seed: 12, BOS: intp(1), EOS: []int{2}}},
	{Name: "llama-bpe-bias-rope-llama3", Vocab: "llama-bpe", Prompt: []int{128000, 9906, 11, 1917, 0, 1115, 374, 264, 1296, 315, 279, 8446, 13, 220},
		Spec: RandomSpec{Arch: "llama", VocabSize: 128256, Heads: 4, KVHeads: 1, Bias: true, Seed: 13, BOS: intp(128000), EOS: []int{128001},
			RopeTheta: 500000, RopeScaling: &RopeScaling{Type: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 16}}},
	{Name: "qwen2-gqa-tied", Vocab: "qwen2", Prompt: []int{785, 3974, 13876, 38835, 34208, 916, 279, 15678, 5562, 13, 576, 2097},
		Spec: RandomSpec{Arch: "qwen2", VocabSize: 151936, Heads: 4, KVHeads: 2, Tie: true, Seed: 14, EOS: []int{151643}}},
	{Name: "qwen3-mha-headdim", Vocab: "qwen3", Prompt: []int{151644, 872, 198, 3838, 374, 220, 17, 10, 17, 30, 151645, 198, 151667, 198},
		Spec: RandomSpec{Arch: "qwen3", VocabSize: 151936, Heads: 4, KVHeads: 4, HeadDim: 32, Seed: 15, EOS: []int{151645}}},
	{Name: "qwen3-gqa-tied", Vocab: "qwen3", Prompt: []int{785, 3974, 13876, 38835, 34208, 916, 279, 15678, 5562, 13, 576, 2097},
		Spec: RandomSpec{Arch: "qwen3", VocabSize: 151936, Heads: 4, KVHeads: 2, Tie: true, Seed: 17, RopeTheta: 1000000, EOS: []int{151645}}},
}

const goldenGen = 32

// golden is the part of the oracle's golden file (format zoomr-oracle-golden/1) the tests read.
type golden struct {
	Format  string `json:"format"`
	Prompts []struct {
		IDs       []int `json:"ids"`
		Greedy    []int `json:"greedy"`
		Positions []struct {
			Pos         int        `json:"pos"`
			Next        int        `json:"next"`
			NextLogprob *float64   `json:"next_logprob"`
			TopIDs      []int      `json:"top_ids"`
			TopLogprobs []*float64 `json:"top_logprobs"`
		} `json:"positions"`
	} `json:"prompts"`
}

func goldenPath(name string) string {
	return filepath.Join("..", "testdata", "golden", "model-"+name+".json")
}

// runOracle writes the case's model to a temp dir and asks llama.cpp for its golden file.
func runOracle(t *testing.T, c oracleCase) []byte {
	dir := t.TempDir()
	_, err := WriteRandom(dir, c.Spec)
	require.NoError(t, err)
	prompts, _ := json.Marshal([]any{map[string]any{"name": c.Name, "ids": c.Prompt}})
	promptPath := filepath.Join(dir, "prompts.json")
	require.NoError(t, os.WriteFile(promptPath, prompts, 0o644))
	outPath := filepath.Join(dir, "golden.json")
	_, err = oracle.Run(context.Background(), "reference.mjs", "logits", "--model", dir, "--vocab", c.Vocab,
		"--prompts", promptPath, "--out", outPath, "--top-k", "20", "--n-gen", fmt.Sprint(goldenGen),
		"--kv-type", "f32", "--flash-attn", "off")
	require.NoError(t, err)
	data, err := os.ReadFile(outPath)
	require.NoError(t, err)
	return data
}

// TestOracleGoldensRegenerate re-runs llama.cpp on every case and requires the committed goldens to
// agree with it (run with -update to rewrite them): the same prompts and positions, log-probs of the
// same token ids within 1e-5, the same greedy tokens while the top-2 margin is clear. Bit-equality is
// not asked for: another llama.cpp build or CPU (SIMD width, thread count) rounds differently. Skips
// when node or the oracle is not installed.
func TestOracleGoldensRegenerate(t *testing.T) {
	if *updateGoldens {
		oracle.SkipUnlessAvailable(t)
	} else {
		oracle.SkipUnlessLive(t)
	}
	for _, c := range oracleCases {
		t.Run(c.Name, func(t *testing.T) {
			data := runOracle(t, c)
			if *updateGoldens {
				require.NoError(t, os.MkdirAll(filepath.Dir(goldenPath(c.Name)), 0o755))
				require.NoError(t, os.WriteFile(goldenPath(c.Name), data, 0o644))
				return
			}
			committed, err := os.ReadFile(goldenPath(c.Name))
			require.NoError(t, err, "golden missing: run go test ./model -run TestOracleGoldensRegenerate -update")
			var want, got golden
			require.NoError(t, json.Unmarshal(committed, &want))
			require.NoError(t, json.Unmarshal(data, &got))
			maxDiff := compareGoldens(t, want, got)
			t.Logf("regenerated llama.cpp golden: max |Δ log-prob| %.2e", maxDiff)
			require.Less(t, maxDiff, 1e-5, "llama.cpp output drifted from the committed golden %s", goldenPath(c.Name))
		})
	}
}

// compareGoldens checks two goldens of one case for the same structure and greedy tokens (while the
// choice is clear) and returns the largest log-prob difference over the token ids both list.
func compareGoldens(t *testing.T, want, got golden) float64 {
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
			entry := wp.Positions[len(wp.IDs)-1+k]
			if nearTie(entry.TopLogprobs) {
				break
			}
			require.Equal(t, wp.Greedy[k], gp.Greedy[k], "greedy step %d", k)
		}
	}
	return maxDiff
}

// TestOracleGoldens checks our graph against the committed llama.cpp goldens: the top-20 log-probs at every
// position within 1e-4, and the same greedy tokens up to the first step where llama.cpp's top-2 margin is
// under 1e-3. It always runs (no node needed).
func TestOracleGoldens(t *testing.T) {
	for _, c := range oracleCases {
		t.Run(c.Name, func(t *testing.T) { checkGolden(t, c) })
	}
}

// checkGolden checks case c's model, loaded with opts, against its committed llama.cpp golden.
func checkGolden(t *testing.T, c oracleCase, opts ...Option) {
	t.Helper()
	data, err := os.ReadFile(goldenPath(c.Name))
	require.NoError(t, err)
	var g golden
	require.NoError(t, json.Unmarshal(data, &g))
	require.Equal(t, "zoomr-oracle-golden/1", g.Format)
	require.Len(t, g.Prompts, 1)
	p := g.Prompts[0]
	require.Equal(t, c.Prompt, p.IDs)

	m := writeAndLoad(t, c.Spec, opts...)
	ctx := context.Background()
	seq := append(append([]int{}, p.IDs...), p.Greedy[:len(p.Greedy)-1]...)
	logits, err := m.Forward(ctx, seq)
	require.NoError(t, err)
	V := m.Config.VocabSize
	maxDiff := 0.0
	for _, pos := range p.Positions {
		lp := logSoftmax(logits[pos.Pos*V : (pos.Pos+1)*V])
		for i, id := range pos.TopIDs {
			if pos.TopLogprobs[i] == nil {
				continue
			}
			maxDiff = math.Max(maxDiff, math.Abs(lp[id]-*pos.TopLogprobs[i]))
		}
		if pos.NextLogprob != nil {
			maxDiff = math.Max(maxDiff, math.Abs(lp[pos.Next]-*pos.NextLogprob))
		}
	}
	t.Logf("max |log-prob - llama.cpp| over %d positions × top-20: %.2e", len(p.Positions), maxDiff)
	require.Less(t, maxDiff, 1e-4)

	// Greedy decoding through the step API, compared while llama.cpp's choice is clear.
	gen, err := m.GenerateGreedy(ctx, p.IDs, len(p.Greedy))
	require.NoError(t, err)
	compared := 0
	for k := range p.Greedy {
		entry := p.Positions[len(p.IDs)-1+k]
		if nearTie(entry.TopLogprobs) {
			break
		}
		require.Equal(t, p.Greedy[k], gen[k], "greedy step %d", k)
		compared++
	}
	t.Logf("greedy tokens equal for %d/%d steps", compared, len(p.Greedy))
	require.Greater(t, compared, 8)
}

// nearTie reports whether llama.cpp's top-2 log-probs at a position are within 1e-3: greedy choices
// past such a step may differ by rounding alone.
func nearTie(top []*float64) bool {
	return len(top) >= 2 && top[0] != nil && top[1] != nil && *top[0]-*top[1] < 1e-3
}

func logSoftmax(x []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, float64(v))
	}
	sum := 0.0
	for _, v := range x {
		sum += math.Exp(float64(v) - mx)
	}
	lse := mx + math.Log(sum)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) - lse
	}
	return out
}
