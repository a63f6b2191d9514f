package model

import (
	"context"
	"math"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/stretchr/testify/require"
)

func causalMask(B, T int) [][][]float32 {
	m := make([][][]float32, B)
	for b := range m {
		m[b] = make([][]float32, T)
		for i := range T {
			m[b][i] = make([]float32, T)
			for j := 0; j <= i; j++ {
				m[b][i][j] = 1
			}
		}
	}
	return m
}

// TestTrainLogitsMatchForward: the differentiable training graph computes the same function as inference.
func TestTrainLogitsMatchForward(t *testing.T) {
	for _, spec := range []RandomSpec{{Arch: "llama", Seed: 21}, {Arch: "qwen2", Seed: 22, Tie: true}, {Arch: "qwen3", Seed: 23, HeadDim: 8}} {
		t.Run(spec.Arch, func(t *testing.T) {
			m := writeAndLoad(t, spec, WithTrainingLayout())
			tokens := [][]int32{{1, 2, 3, 4, 5, 6, 7, 8}, {9, 10, 11, 12, 13, 14, 15, 16}}
			e, err := mlctx.NewExec(m.Backend(), m.Context().Reuse(), func(_ *mlctx.Context, tok, mask *Node) *Node {
				return m.TrainLogits(tok, mask)
			})
			require.NoError(t, err)
			out, err := e.Exec(tokens, causalMask(2, 8))
			require.NoError(t, err)
			got := tensors.MustCopyFlatData[float32](out[0])
			V := m.Config.VocabSize
			for b, row := range tokens {
				ids := make([]int, len(row))
				for i, v := range row {
					ids[i] = int(v)
				}
				want, err := m.Forward(context.Background(), ids)
				require.NoError(t, err)
				maxDiff := 0.0
				for i := range want {
					maxDiff = math.Max(maxDiff, math.Abs(float64(want[i]-got[b*8*V+i])))
				}
				require.Less(t, maxDiff, 1e-4)
			}
		})
	}
}

func TestExtendVocabAndSave(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg, err := WriteRandom(dir, RandomSpec{Seed: 31, VocabSize: 40, Hidden: 16, Heads: 2, KVHeads: 1, Layers: 1})
	require.NoError(t, err)
	w := floatWeights(t, dir, cfg)
	w2, err := ExtendVocab(cfg, w, 42, 1)
	require.NoError(t, err)
	require.Equal(t, 42, cfg.VocabSize)
	m, err := New(cfg, w2)
	require.NoError(t, err)
	out := t.TempDir()
	require.NoError(t, m.Save(out, false))
	m2, err := Load(ctx, out)
	require.NoError(t, err)
	a, err := m.Forward(ctx, []int{1, 41, 40})
	require.NoError(t, err)
	b, err := m2.Forward(ctx, []int{1, 41, 40})
	require.NoError(t, err)
	require.Equal(t, a, b)
	_, err = ExtendVocab(cfg, w2, 10, 1)
	require.ErrorIs(t, err, ErrInvalidInput)
}

// TestTrainForwardQK: the queries and keys TrainForward exposes are the ones the decode step returns.
func TestTrainForwardQK(t *testing.T) {
	m := writeAndLoad(t, RandomSpec{Arch: "qwen3", Seed: 41, Heads: 4, KVHeads: 2, HeadDim: 16}, WithTrainingLayout())
	c := m.Config
	tokens := [][]int32{{3, 1, 4, 1, 5, 9}}
	e, err := mlctx.NewExec(m.Backend(), m.Context().Reuse(), func(_ *mlctx.Context, tok, mask *Node) []*Node {
		o := m.TrainForward(tok, mask)
		// Logits stay an output: v0.26's pure-Go executor fails ("index out of range") on graphs with
		// nodes no output depends on.
		return []*Node{o.Q[1], o.K[1], o.Logits}
	})
	require.NoError(t, err)
	out, err := e.Exec(tokens, causalMask(1, 6))
	require.NoError(t, err)
	q := tensors.MustCopyFlatData[float32](out[0]) // [1, H, T, D]
	k := tensors.MustCopyFlatData[float32](out[1]) // [1, KVH, T, D]
	ctx := context.Background()
	pre, err := m.Prefill(ctx, []int{3, 1, 4, 1, 5}, 0, nil, false)
	require.NoError(t, err)
	cache := NewSimpleKV(c)
	require.NoError(t, cache.Append(pre.K, pre.V, 5))
	res, err := m.Step(ctx, 9, 5, cache.KV(), StepOptions{})
	require.NoError(t, err)
	D, T := c.HeadDim, 6
	for h := range c.Heads {
		for d := range D {
			require.InDelta(t, res.Q[(1*c.Heads+h)*D+d], q[(h*T+5)*D+d], 1e-4)
		}
	}
	for h := range c.KVHeads {
		for d := range D {
			require.InDelta(t, res.K[(1*c.KVHeads+h)*D+d], k[(h*T+5)*D+d], 1e-4)
		}
	}
}

// floatWeights reads a model directory's weights as float32 tensors (what a trainer holds).
func floatWeights(t *testing.T, dir string, cfg *Config) map[string]*tensors.Tensor {
	t.Helper()
	s, err := loadStored(dir, cfg)
	require.NoError(t, err)
	w := map[string]*tensors.Tensor{}
	for name, st := range s.t {
		f, err := floats(st)
		require.NoError(t, err)
		w[name] = tensors.FromFlatDataAndDimensions(f, st.Shape...)
	}
	return w
}
