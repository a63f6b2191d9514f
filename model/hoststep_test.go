package model

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"unsafe"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"
)

// randomContext is a float32 context of capacity C with random keys/values and every third slot masked.
func randomContext(c *Config, C int, seed uint64) KV {
	rng := rand.New(rand.NewPCG(seed, 3))
	kv := KV{Mask: tensors.FromShape(shapes.Make(dtypes.Float32, C))}
	tensors.MustMutableFlatData(kv.Mask, func(m []float32) {
		for i := range m {
			if i%3 != 1 {
				m[i] = 1
			}
		}
	})
	fill := func(t *tensors.Tensor) *tensors.Tensor {
		tensors.MustMutableFlatData(t, func(x []float32) {
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
		})
		return t
	}
	for range c.Layers {
		kv.K = append(kv.K, fill(tensors.FromShape(shapes.Make(dtypes.Float32, c.KVHeads, C, c.HeadDim))))
		kv.V = append(kv.V, fill(tensors.FromShape(shapes.Make(dtypes.Float32, c.KVHeads, c.HeadDim, C))))
	}
	return kv
}

// loadHostAndGraph loads one random model twice: on the host engine (the pure-Go backend's default)
// and on the graph engine.
func loadHostAndGraph(t *testing.T, spec RandomSpec) (host, graph *Model) {
	t.Helper()
	dir := t.TempDir()
	_, err := WriteRandom(dir, spec)
	require.NoError(t, err)
	host, err = Load(context.Background(), dir, WithEngine(EngineHost))
	require.NoError(t, err)
	require.Equal(t, EngineHost, host.Engine())
	graph, err = Load(context.Background(), dir, WithEngine(EngineGraph))
	require.NoError(t, err)
	require.Equal(t, EngineGraph, graph.Engine())
	require.Nil(t, graph.host)
	return host, graph
}

func maxAbsDiff(t *testing.T, what string, a, b []float32) float64 {
	t.Helper()
	require.Len(t, a, len(b), what)
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestHostStepMatchesGraph: the host step and the graph step give the same logits, K/V, queries and
// attention probabilities over a masked context, for every architecture feature (GQA, MHA, biases,
// q/k norms, tied and untied heads, llama3 RoPE scaling).
func TestHostStepMatchesGraph(t *testing.T) {
	ctx := context.Background()
	for _, spec := range []RandomSpec{
		{Arch: "llama", Seed: 21},
		{Arch: "qwen2", Seed: 22, Tie: true},
		{Arch: "qwen3", Seed: 23, Heads: 4, KVHeads: 4, HeadDim: 32},
		{Arch: "llama", Seed: 24, Bias: true, KVHeads: 1, RopeScaling: &RopeScaling{Type: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 64}},
		{Arch: "llama", Seed: 26, Hidden: 256, Heads: 4, KVHeads: 2}, // products and heads split across goroutines
	} {
		t.Run(spec.Arch, func(t *testing.T) {
			host, graph := loadHostAndGraph(t, spec)
			for i, C := range []int{1, 37, 300, 1100} {
				kv := randomContext(host.Config, C, uint64(i))
				token, pos := 7*i+3, 1000*i+C
				want, err := graph.Step(ctx, token, pos, kv, StepOptions{ReturnAttention: true})
				require.NoError(t, err)
				got, err := host.Step(ctx, token, pos, kv, StepOptions{ReturnAttention: true})
				require.NoError(t, err)
				for _, c := range []struct {
					name      string
					got, want []float32
				}{{"logits", got.Logits, want.Logits}, {"K", got.K, want.K}, {"V", got.V, want.V}, {"Q", got.Q, want.Q}, {"attn", got.Attn, want.Attn}} {
					d := maxAbsDiff(t, c.name, c.got, c.want)
					require.Less(t, d, 2e-5, "%s differs at C=%d", c.name, C)
					if C == 1100 {
						t.Logf("C=%d: max |host - graph| %s %.2g", C, c.name, d)
					}
				}
				// A context with every slot masked: the token attends to itself only.
				empty := KV{K: kv.K, V: kv.V, Mask: tensors.FromShape(shapes.Make(dtypes.Float32, C))}
				wantEmpty, err := graph.Step(ctx, token, pos, empty, StepOptions{})
				require.NoError(t, err)
				gotEmpty, err := host.Step(ctx, token, pos, empty, StepOptions{})
				require.NoError(t, err)
				require.Less(t, maxAbsDiff(t, "logits", gotEmpty.Logits, wantEmpty.Logits), 2e-5)
				plain, err := host.Step(ctx, token, pos, kv, StepOptions{})
				require.NoError(t, err)
				require.Nil(t, plain.Attn)
				require.Equal(t, got.Logits, plain.Logits)
			}
			require.Zero(t, host.GraphBuilds(), "the host step compiles no graph")
		})
	}
}

// TestHostStepBFloat16: a bfloat16 context is read by the host engine (converted per layer) as the
// graph reads it natively.
func TestHostStepBFloat16(t *testing.T) {
	ctx := context.Background()
	host, graph := loadHostAndGraph(t, RandomSpec{Seed: 25})
	c := host.Config
	f32 := randomContext(c, 40, 9)
	kv := KV{Mask: f32.Mask}
	for l := range c.Layers {
		kv.K = append(kv.K, toBF16Tensor(f32.K[l]))
		kv.V = append(kv.V, toBF16Tensor(f32.V[l]))
	}
	want, err := graph.Step(ctx, 3, 40, kv, StepOptions{ReturnAttention: true})
	require.NoError(t, err)
	got, err := host.Step(ctx, 3, 40, kv, StepOptions{ReturnAttention: true})
	require.NoError(t, err)
	require.Less(t, maxAbsDiff(t, "logits", got.Logits, want.Logits), 2e-5)
	require.Less(t, maxAbsDiff(t, "attn", got.Attn, want.Attn), 2e-5)
	require.Zero(t, host.GraphBuilds())
}

func toBF16Tensor(t *tensors.Tensor) *tensors.Tensor {
	vals := tensors.MustCopyFlatData[float32](t)
	out := make([]bfloat16.BFloat16, len(vals))
	for i, v := range vals {
		out[i] = bfloat16.FromFloat32(v)
	}
	return tensors.FromFlatDataAndDimensions(out, t.Shape().Dimensions...)
}

// TestHostPrefillMatchesGraph: host and graph prefill agree on every token's logits and the chunk's
// K/V, without a context and over a masked one (chunked prefill).
func TestHostPrefillMatchesGraph(t *testing.T) {
	ctx := context.Background()
	for _, spec := range []RandomSpec{
		{Arch: "llama", Seed: 31},
		{Arch: "qwen3", Seed: 32, Heads: 4, KVHeads: 2, HeadDim: 32, Tie: true},
		{Arch: "qwen2", Seed: 33, Hidden: 256, Heads: 4, KVHeads: 2},
	} {
		t.Run(spec.Arch, func(t *testing.T) {
			host, graph := loadHostAndGraph(t, spec)
			rng := rand.New(rand.NewPCG(spec.Seed, 1))
			for _, n := range []int{1, 5, 40} {
				for _, C := range []int{0, 50} {
					tokens := make([]int, n)
					for i := range tokens {
						tokens[i] = rng.IntN(host.Config.VocabSize)
					}
					var kv *KV
					if C > 0 {
						c := randomContext(host.Config, C, uint64(n))
						kv = &c
					}
					want, err := graph.Prefill(ctx, tokens, C+3, kv, true)
					require.NoError(t, err)
					got, err := host.Prefill(ctx, tokens, C+3, kv, true)
					require.NoError(t, err)
					for _, c := range []struct {
						name      string
						got, want []float32
					}{{"logits", got.Logits, want.Logits}, {"K", got.K, want.K}, {"V", got.V, want.V}} {
						require.Less(t, maxAbsDiff(t, c.name, c.got, c.want), 2e-5, "%s differs at n=%d C=%d", c.name, n, C)
					}
					last, err := host.Prefill(ctx, tokens, C+3, kv, false)
					require.NoError(t, err)
					require.Less(t, maxAbsDiff(t, "last logits", got.Logits[(n-1)*host.Config.VocabSize:], last.Logits), 1e-5)
				}
			}
			require.Zero(t, host.GraphBuilds())
		})
	}
}

// TestHostWeightsAreHeldOnce: the host engine reads the weights a model is built from in place, so a
// loaded model holds them once: building it grows the heap by far less than the weights' size, and
// the engine's matrices are the tensors' own memory.
func TestHostWeightsAreHeldOnce(t *testing.T) {
	spec := RandomSpec{Hidden: 256, Layers: 4, Intermediate: 1024, VocabSize: 1024, Seed: 27}
	data, err := json.Marshal(spec.Config())
	require.NoError(t, err)
	cfg, err := ParseConfig(data)
	require.NoError(t, err)
	weights := RandomWeights(cfg, 27)
	var weightBytes uint64
	for _, w := range weights {
		weightBytes += uint64(w.Memory())
	}

	before := heapAlloc()
	m, err := New(cfg, weights, WithEngine(EngineHost))
	require.NoError(t, err)
	grown := int64(heapAlloc()) - int64(before)
	require.Equal(t, EngineHost, m.Engine())
	require.EqualValues(t, weightBytes, m.WeightBytes())
	t.Logf("weights %.1f MiB, heap grew %.1f MiB building the model", float64(weightBytes)/(1<<20), float64(grown)/(1<<20))
	require.Less(t, grown, int64(weightBytes/4), "the host engine must not copy the weights")

	same := func(name string, data []byte) {
		tensors.MustConstFlatData(weights[name], func(v []float32) {
			require.Equal(t, unsafe.Pointer(&v[0]), unsafe.Pointer(&data[0]), name)
		})
	}
	same("model.embed_tokens.weight", m.host.embed.Data)
	same("model.layers.3.mlp.down_proj.weight", m.host.layers[3].down.Data)

	graph, err := New(cfg, weights, WithEngine(EngineGraph))
	require.NoError(t, err)
	kv := randomContext(cfg, 16, 5)
	hostRes, err := m.Step(context.Background(), 3, 16, kv, StepOptions{})
	require.NoError(t, err)
	graphRes, err := graph.Step(context.Background(), 3, 16, kv, StepOptions{})
	require.NoError(t, err)
	require.Less(t, maxAbsDiff(t, "logits", hostRes.Logits, graphRes.Logits), 1e-4)
	runtime.KeepAlive(weights)
}

func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestHostBF16CheckpointIsExact: a bfloat16 Hugging Face checkpoint runs on the host engine as
// stored (half the memory of float32) with float32 activations, as the graph engine's float32
// variables compute it: the same numbers up to the order of additions.
func TestHostBF16CheckpointIsExact(t *testing.T) {
	ctx := context.Background()
	src := writeAndLoad(t, RandomSpec{Arch: "qwen3", Seed: 28, Hidden: 128, Heads: 4, KVHeads: 2, HeadDim: 32}, WithEngine(EngineGraph))
	dir := t.TempDir()
	require.NoError(t, src.Save(dir, true))
	host, err := Load(ctx, dir, WithEngine(EngineHost))
	require.NoError(t, err)
	graph, err := Load(ctx, dir, WithEngine(EngineGraph))
	require.NoError(t, err)
	require.EqualValues(t, graph.WeightBytes()/2, host.WeightBytes(), "bfloat16 as stored")
	kv := randomContext(host.Config, 64, 3)
	want, err := graph.Step(ctx, 5, 64, kv, StepOptions{})
	require.NoError(t, err)
	got, err := host.Step(ctx, 5, 64, kv, StepOptions{})
	require.NoError(t, err)
	require.Less(t, maxAbsDiff(t, "logits", got.Logits, want.Logits), 2e-5)
}

// TestStepOptionsGreedyAndQueries: with Greedy the graph engine returns the argmax (not the logits)
// and with SkipQueries no queries; the host engine returns the same token; both report the bytes a
// step moved (none on the host engine or a backend sharing Go memory).
func TestStepOptionsGreedyAndQueries(t *testing.T) {
	ctx := context.Background()
	host, graph := loadHostAndGraph(t, RandomSpec{Seed: 29})
	kv := randomContext(host.Config, 24, 4)
	full, err := graph.Step(ctx, 5, 24, kv, StepOptions{})
	require.NoError(t, err)
	require.Equal(t, Argmax(full.Logits), full.Next)
	for _, m := range []*Model{host, graph} {
		res, err := m.Step(ctx, 5, 24, kv, StepOptions{Greedy: true, SkipQueries: true})
		require.NoError(t, err)
		require.Equal(t, full.Next, res.Next, m.Engine())
		require.Nil(t, res.Q, m.Engine())
		require.Len(t, res.K, len(full.K))
		if m.Engine() == EngineGraph {
			require.Nil(t, res.Logits)
		}
		if m.Backend().HasSharedBuffers() || m.Engine() == EngineHost {
			require.Zero(t, res.TransferBytes)
		}
	}
}
