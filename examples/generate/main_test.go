package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/kvcache"
	"github.com/zoomr-go/zoomr/model"
)

// TestCLICoveringZoomREqualsFull: through the command line, -cache zoomr with budgets that cover
// everything prints the same 256 greedy tokens as -cache full, on random llama, qwen2 and qwen3 models.
func TestCLICoveringZoomREqualsFull(t *testing.T) {
	if testing.Short() {
		t.Skip("3 × 2 generations of 256 tokens")
	}
	for _, arch := range []string{"llama", "qwen2", "qwen3"} {
		t.Run(arch, func(t *testing.T) {
			dir := t.TempDir()
			_, err := model.WriteRandom(dir, model.RandomSpec{Arch: arch, VocabSize: 300, Seed: 5, Tie: arch == "qwen2"})
			require.NoError(t, err)
			gen := func(cache string) ([]int, map[string]any) {
				var out bytes.Buffer
				args := []string{"-model", dir, "-prompt-ids", "1,2,3,4,5,6,7", "-max-tokens", "256", "-greedy", "-json",
					"-ignore-eos", "-segmenter", "paragraph", "-max-thought", "20", "-window", "512", "-cache", cache}
				require.NoError(t, run(t.Context(), args, &out))
				var res struct {
					PromptIDs []int          `json:"prompt_ids"`
					Tokens    []int          `json:"tokens"`
					Stats     map[string]any `json:"stats"`
				}
				require.NoError(t, json.Unmarshal(out.Bytes(), &res))
				require.Equal(t, []int{1, 2, 3, 4, 5, 6, 7}, res.PromptIDs)
				require.Len(t, res.Tokens, 256)
				for _, key := range []string{"tokens_per_s", "peak_resident_bytes", "peak_host_bytes", "graph_builds", "devices"} {
					require.Contains(t, res.Stats, key)
				}
				return res.Tokens, res.Stats
			}
			full, _ := gen("full")
			zoom, stats := gen("zoomr")
			require.Equal(t, full, zoom)
			require.Greater(t, stats["reselections"].(float64), 5.0)
		})
	}
}

func TestCLIErrors(t *testing.T) {
	var out bytes.Buffer
	ctx := t.Context()
	require.ErrorIs(t, run(ctx, []string{"-h"}, &out), flag.ErrHelp) // cli.Main exits 0 on it
	require.ErrorContains(t, run(ctx, []string{"-prompt", "x"}, &out), "-model")
	dir := t.TempDir()
	_, err := model.WriteRandom(dir, model.RandomSpec{Seed: 5})
	require.NoError(t, err)
	require.ErrorContains(t, run(ctx, []string{"-model", dir, "-prompt", "hello"}, &out), "tokenizer")
	require.ErrorContains(t, run(ctx, []string{"-model", dir, "-prompt-ids", "1,x"}, &out), "bad token id")
	require.ErrorContains(t, run(ctx, []string{"-model", dir, "-prompt-ids", "1,2", "-segmenter", "summary"}, &out), "summary")
	require.ErrorContains(t, run(ctx, []string{"-model", dir, "-prompt-ids", "1,2", "-cache", "lru"}, &out), "Policy")
	require.ErrorIs(t, run(ctx, []string{"-model", dir, "-prompt-ids", "1,2", "-devices", "3"}, &out), model.ErrDevices)
}

// TestCLIDefaultsWithoutTokenizer: a model without a tokenizer or summary markers runs from prompt ids
// with default flags under every registered policy.
func TestCLIDefaultsWithoutTokenizer(t *testing.T) {
	dir := t.TempDir()
	_, err := model.WriteRandom(dir, model.RandomSpec{Seed: 5})
	require.NoError(t, err)
	for _, p := range kvcache.PolicyNames() {
		var out bytes.Buffer
		require.NoError(t, run(t.Context(), []string{"-model", dir, "-prompt-ids", "1,2,3", "-max-tokens", "40", "-ignore-eos", "-json", "-cache", p}, &out), p)
		var res struct{ Tokens []int }
		require.NoError(t, json.Unmarshal(out.Bytes(), &res))
		require.Len(t, res.Tokens, 40, p)
	}
}
