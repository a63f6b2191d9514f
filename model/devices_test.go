//go:build xla

package model

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/distributed"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/internal/xlaplugin"
)

// fourDevices skips unless the default backend has at least 4 devices (XLA's CPU plugin simulates 4).
func fourDevices(t *testing.T) {
	t.Helper()
	b, err := DefaultBackend()
	require.NoError(t, err)
	if b.NumDevices() < 4 {
		t.Skipf("backend %q has %d device(s); the tensor-parallel tests need 4 (GOMLX_BACKEND=xla:cpu simulates them)", b.Name(), b.NumDevices())
	}
	t.Logf("backend %s: %d devices", b.Name(), b.NumDevices())
}

// TestDevicesMatchOneDevice: a model split across 4 devices gives the single-device logits within
// 1e-4 — a causal forward pass, decode steps over a whole context split per call (with the attention
// and query outputs), a batch of steps over two contexts — and the same greedy tokens, for GQA (2 query heads per KV head),
// biases, q/k norms and tied embeddings; and each device holds a quarter of the split weights.
func TestDevicesMatchOneDevice(t *testing.T) {
	fourDevices(t)
	for _, spec := range []RandomSpec{
		{Arch: "qwen3", Seed: 3, Heads: 8, KVHeads: 4, HeadDim: 16, VocabSize: 300},
		{Arch: "qwen2", Seed: 4, Heads: 8, KVHeads: 4, VocabSize: 300, Tie: true},
		{Arch: "llama", Seed: 5, Heads: 4, KVHeads: 4, VocabSize: 300, Bias: true},
	} {
		t.Run(spec.Arch, func(t *testing.T) {
			one := writeAndLoad(t, spec, WithEngine(EngineGraph))
			four := writeAndLoad(t, spec, WithDevices(4))
			require.Equal(t, 4, four.Devices())
			require.NotNil(t, four.Mesh())
			ctx := context.Background()
			tokens := []int{1, 5, 9, 200, 3, 7, 11, 13, 17, 19}
			want, err := one.Forward(ctx, tokens)
			require.NoError(t, err)
			got, err := four.Forward(ctx, tokens)
			require.NoError(t, err)
			diff := maxAbsDiff(t, "forward logits", want, got)

			kv := NewSimpleKV(one.Config)
			pre, err := one.Prefill(ctx, tokens, 0, nil, false)
			require.NoError(t, err)
			require.NoError(t, kv.Append(pre.K, pre.V, len(tokens)))
			opts := StepOptions{ReturnAttention: true}
			w, err := one.Step(ctx, 42, len(tokens), kv.KV(), opts)
			require.NoError(t, err)
			g, err := four.Step(ctx, 42, len(tokens), kv.KV(), opts)
			require.NoError(t, err)
			for _, part := range []struct {
				name       string
				want, have []float32
			}{{"step logits", w.Logits, g.Logits}, {"K", w.K, g.K}, {"V", w.V, g.V}, {"Q", w.Q, g.Q}, {"attention", w.Attn, g.Attn}} {
				diff = max(diff, maxAbsDiff(t, part.name, part.want, part.have))
			}
			// A batch of requests over different contexts: the batched step graph.
			kv2 := NewSimpleKV(one.Config)
			pre2, err := one.Prefill(ctx, tokens[:5], 0, nil, false)
			require.NoError(t, err)
			require.NoError(t, kv2.Append(pre2.K, pre2.V, 5))
			batch := []StepRequest{{Token: 42, Pos: len(tokens), KV: kv.KV()}, {Token: 7, Pos: 5, KV: kv2.KV()}, {Token: 9, Pos: len(tokens), KV: kv.KV()}}
			wb, err := one.StepBatch(ctx, batch)
			require.NoError(t, err)
			gb, err := four.StepBatch(ctx, batch)
			require.NoError(t, err)
			for i := range batch {
				diff = max(diff, maxAbsDiff(t, "batched logits", wb[i].Logits, gb[i].Logits), maxAbsDiff(t, "batched K", wb[i].K, gb[i].K))
			}
			t.Logf("max |Δ| one vs four devices: %.2e", diff)
			require.Less(t, diff, 1e-4)

			g1, err := one.GenerateGreedy(ctx, tokens, 24)
			require.NoError(t, err)
			g4, err := four.GenerateGreedy(ctx, tokens, 24)
			require.NoError(t, err)
			require.Equal(t, g1, g4)
			checkDeviceBytes(t, four)
		})
	}
}

// checkDeviceBytes: every device holds the replicated weights plus a quarter of the split ones, as
// the backend's buffers report them.
func checkDeviceBytes(t *testing.T, m *Model) {
	t.Helper()
	var split, replicated int64
	for _, s := range m.Config.ExpectedTensors() {
		if v := m.vars[s.Name]; v != nil {
			if m.split.weightSpec(s.Name).IsReplicated() {
				replicated += int64(v.Shape().Memory())
			} else {
				split += int64(v.Shape().Memory())
			}
		}
	}
	perDevice, err := m.DeviceWeightBytes()
	require.NoError(t, err)
	require.Len(t, perDevice, 4)
	for d, b := range perDevice {
		require.Equal(t, replicated+split/4, b, "device %d", d)
	}
	t.Logf("weights %d B (split %d B, replicated %d B); per device %v: split share %.4f of the split weights",
		m.WeightBytes(), split, replicated, perDevice, float64(perDevice[0]-replicated)/float64(split))
}

// TestOracleGoldensOnDevices: the llama.cpp goldens hold on a model split across devices — 4 for the
// models with 4 KV heads, 2 for those with 2 (the one with a single KV head cannot be split).
func TestOracleGoldensOnDevices(t *testing.T) {
	if testing.Short() {
		t.Skip("150k-vocabulary models on simulated devices")
	}
	fourDevices(t)
	for _, c := range oracleCases {
		n := 4
		for c.Spec.KVHeads%n != 0 {
			n /= 2
		}
		if n == 1 {
			continue
		}
		t.Run(fmt.Sprintf("%s/devices=%d", c.Name, n), func(t *testing.T) { checkGolden(t, c, WithDevices(n)) })
	}
}

// TestDevicesErrors: what cannot be split is an ErrDevices that says why; a split context given to a
// model on one device is an ErrInvalidInput.
func TestDevicesErrors(t *testing.T) {
	fourDevices(t)
	gqa := RandomSpec{Heads: 4, KVHeads: 2}
	for _, tc := range []struct {
		name string
		spec RandomSpec
		opts []Option
	}{
		{"KV heads not divisible", gqa, []Option{WithDevices(4)}},
		{"MLP width not divisible", RandomSpec{Heads: 4, KVHeads: 4, Intermediate: 130}, []Option{WithDevices(4)}},
		{"more than the backend has", gqa, []Option{WithDevices(64)}},
		{"negative", gqa, []Option{WithDevices(-1)}},
		{"host engine", gqa, []Option{WithDevices(2), WithEngine(EngineHost)}},
		{"training layout", gqa, []Option{WithDevices(2), WithTrainingLayout()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := WriteRandom(dir, tc.spec)
			require.NoError(t, err)
			_, err = Load(context.Background(), dir, tc.opts...)
			require.ErrorIs(t, err, ErrDevices)
			t.Log(err)
		})
	}
	two := writeAndLoad(t, gqa, WithDevices(2))
	mask, err := distributed.ShardTensor(two.split.replicated, tensors.FromShape(shapes.Make(dtypes.Float32, 4)))
	require.NoError(t, err)
	one := writeAndLoad(t, gqa, WithEngine(EngineGraph))
	_, err = one.Step(context.Background(), 1, 0, KV{ShardedMask: mask}, StepOptions{})
	require.ErrorIs(t, err, ErrInvalidInput)
	_, err = two.Step(context.Background(), 1, 0, KV{ShardedMask: mask}, StepOptions{})
	require.ErrorIs(t, err, ErrInvalidInput, "a split context without its layers")
}

// TestForcedDeviceCount: XLA_FLAGS' --xla_force_host_platform_device_count sets the CPU plugin's
// devices (the plugin ignores the flag itself).
func TestForcedDeviceCount(t *testing.T) {
	for _, tc := range []struct {
		flags string
		n     int
		ok    bool
		err   bool
	}{
		{"", 0, false, false},
		{"--xla_dump_to=/tmp/x", 0, false, false},
		{"--xla_dump_to=/tmp/x --xla_force_host_platform_device_count=8", 8, true, false},
		{"--xla_force_host_platform_device_count=0", 0, false, true},
		{"--xla_force_host_platform_device_count=four", 0, false, true},
	} {
		n, ok, err := forcedDeviceCount(tc.flags)
		require.Equal(t, tc.err, err != nil, tc.flags)
		require.Equal(t, tc.n, n, tc.flags)
		require.Equal(t, tc.ok, ok, tc.flags)
	}
	resolved, plugin, err := resolveXLAConfig("xla:cpu", xlaplugin.Installed, os.LookupEnv, goXLAHasCPUPlugin)
	if err != nil || plugin == "" {
		t.Skip("the XLA CPU plugin is not installed: go run ./examples/install-xla")
	}
	b, err := newXLABackend(resolved, plugin, "--xla_force_host_platform_device_count=2")
	require.NoError(t, err)
	defer b.Finalize()
	require.Equal(t, 2, b.NumDevices())
}
