package model

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func writeAndLoad(t testing.TB, spec RandomSpec, opts ...Option) *Model {
	t.Helper()
	dir := t.TempDir()
	_, err := WriteRandom(dir, spec)
	require.NoError(t, err)
	m, err := Load(context.Background(), dir, opts...)
	require.NoError(t, err)
	return m
}

// TestStepMatchesForward: decoding token by token over a growing cache equals one causal forward pass.
func TestStepMatchesForward(t *testing.T) {
	for _, spec := range []RandomSpec{
		{Arch: "llama", Seed: 1},
		{Arch: "qwen2", Seed: 2, Tie: true},
		{Arch: "qwen3", Seed: 3, Heads: 4, KVHeads: 4, HeadDim: 32},
		{Arch: "llama", Seed: 4, Bias: true, RopeScaling: &RopeScaling{Type: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 64}},
	} {
		t.Run(spec.Arch, func(t *testing.T) {
			ctx := context.Background()
			m := writeAndLoad(t, spec)
			tokens := []int{1, 5, 9, 200, 3, 17, 42, 99, 7, 8, 250, 0, 11, 12, 13, 14, 15, 16, 30, 31}
			full, err := m.Forward(ctx, tokens)
			require.NoError(t, err)
			V := m.Config.VocabSize
			// Prefill the first 3, then step the rest.
			pre, err := m.Prefill(ctx, tokens[:3], 0, nil, true)
			require.NoError(t, err)
			got := append([]float32{}, pre.Logits...)
			cache := NewSimpleKV(m.Config)
			require.NoError(t, cache.Append(pre.K, pre.V, 3))
			for i := 3; i < len(tokens); i++ {
				res, err := m.Step(ctx, tokens[i], i, cache.KV(), StepOptions{})
				require.NoError(t, err)
				got = append(got, res.Logits...)
				require.NoError(t, cache.Append(res.K, res.V, 1))
			}
			require.Len(t, got, len(tokens)*V)
			maxDiff := 0.0
			for i := range got {
				maxDiff = math.Max(maxDiff, math.Abs(float64(got[i]-full[i])))
			}
			t.Logf("max |step - forward| = %.3g", maxDiff)
			require.Less(t, maxDiff, 1e-5)
		})
	}
}
