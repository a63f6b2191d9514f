package model

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStepBatchEqualsSteps: a batch of steps over different contexts (two capacities, so two
// groups, one padded to a power of two) gives each request what Step gives it alone, on both engines;
// the graph engine builds one batched graph per group size.
func TestStepBatchEqualsSteps(t *testing.T) {
	ctx := context.Background()
	host, graph := loadHostAndGraph(t, RandomSpec{Arch: "qwen3", Seed: 35, Heads: 4, KVHeads: 2, HeadDim: 16})
	var reqs []StepRequest
	for i, C := range []int{24, 24, 24, 40, 40} {
		reqs = append(reqs, StepRequest{Token: 3 + 7*i, Pos: C + i, KV: randomContext(host.Config, C, uint64(i))})
	}
	for _, m := range []*Model{host, graph} {
		for _, opts := range []StepOptions{{}, {Greedy: true, SkipQueries: true}} {
			for i := range reqs {
				reqs[i].Options = opts
			}
			batch, err := m.StepBatch(ctx, reqs)
			require.NoError(t, err)
			require.Len(t, batch, len(reqs))
			for i, r := range reqs {
				alone, err := m.Step(ctx, r.Token, r.Pos, r.KV, opts)
				require.NoError(t, err)
				require.Equal(t, alone.Next, batch[i].Next, "%s request %d", m.Engine(), i)
				require.Less(t, maxAbsDiff(t, "K", batch[i].K, alone.K), 1e-5)
				require.Less(t, maxAbsDiff(t, "V", batch[i].V, alone.V), 1e-5)
				if !opts.Greedy {
					require.Less(t, maxAbsDiff(t, "logits", batch[i].Logits, alone.Logits), 1e-5, "%s request %d", m.Engine(), i)
					require.Less(t, maxAbsDiff(t, "Q", batch[i].Q, alone.Q), 1e-5)
				}
			}
		}
	}
	require.Zero(t, host.GraphBuilds())
	_, err := graph.StepBatch(ctx, nil)
	require.ErrorIs(t, err, ErrInvalidInput)
	bad := append([]StepRequest(nil), reqs...)
	bad[2].Token = -1
	_, err = graph.StepBatch(ctx, bad)
	require.ErrorIs(t, err, ErrInvalidInput)
	require.ErrorContains(t, err, "request 2")
}
