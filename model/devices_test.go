//go:build xla

package model

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// fourDevices returns the default backend when it has at least 4 devices (XLA's CPU plugin simulates
// them), and skips otherwise.
func fourDevices(t *testing.T) {
	t.Helper()
	b, err := DefaultBackend()
	require.NoError(t, err)
	if b.NumDevices() < 4 {
		t.Skipf("backend %q has %d device(s); the tensor-parallel tests need 4 (GOMLX_BACKEND=xla:cpu simulates them)", b.Name(), b.NumDevices())
	}
	t.Logf("backend %s: %d devices", b.Name(), b.NumDevices())
}

func TestDevicesForwardMatchesOneDevice(t *testing.T) {
	fourDevices(t)
	spec := RandomSpec{Arch: "qwen3", Seed: 3, Heads: 8, KVHeads: 4, HeadDim: 16, VocabSize: 300}
	one := writeAndLoad(t, spec, WithEngine(EngineGraph))
	four := writeAndLoad(t, spec, WithDevices(4))
	require.Equal(t, 4, four.Devices())
	ctx := context.Background()
	tokens := []int{1, 5, 9, 200, 3, 7, 11, 13}
	want, err := one.Forward(ctx, tokens)
	require.NoError(t, err)
	got, err := four.Forward(ctx, tokens)
	require.NoError(t, err)
	t.Logf("max |Δ logit| %.2e", maxAbsDiff(t, "logits", want, got))
	require.Less(t, maxAbsDiff(t, "logits", want, got), 1e-4)
	g1, err := one.GenerateGreedy(ctx, tokens, 16)
	require.NoError(t, err)
	g4, err := four.GenerateGreedy(ctx, tokens, 16)
	require.NoError(t, err)
	require.Equal(t, g1, g4)
	bytes, err := four.DeviceWeightBytes()
	require.NoError(t, err)
	t.Logf("weights %d bytes; per device %v", four.WeightBytes(), bytes)
}
