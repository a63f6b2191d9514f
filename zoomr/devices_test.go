package zoomr

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model"
)

// TestCoveringZoomREqualsFullOnFourDevices: on a model split across 4 devices (4 KV heads, one per
// device, the active context split the same way), ZoomR with a covering budget gives the full cache's
// 256 greedy tokens through seals, votes and zooms (the zoom copies go into the split context), and the
// full cache gives the single-device model's tokens. Skips on a backend with fewer than 4 devices.
func TestCoveringZoomREqualsFullOnFourDevices(t *testing.T) {
	b, err := model.DefaultBackend()
	require.NoError(t, err)
	if b.NumDevices() < 4 {
		t.Skipf("backend %q has %d device(s); this test needs 4 (GOMLX_BACKEND=xla:cpu simulates them)", b.Name(), b.NumDevices())
	}
	dir := t.TempDir()
	_, err = model.WriteRandom(dir, model.RandomSpec{Arch: "llama", VocabSize: 256, Hidden: 64, Layers: 2, Heads: 4, KVHeads: 4, Seed: 77})
	require.NoError(t, err)
	ctx := context.Background()
	one, err := model.Load(ctx, dir, model.WithEngine(model.EngineGraph))
	require.NoError(t, err)
	four, err := model.Load(ctx, dir, model.WithDevices(4))
	require.NoError(t, err)
	require.Equal(t, 4, four.Devices())

	base := Config{MaxTokens: 256, IgnoreEOS: true, NewSegmenter: scripted()}
	full := base
	full.Policy = PolicyFull
	run := func(m *model.Model, cfg Config) ([]int, Stats) {
		d, err := New(m, nil, cfg)
		require.NoError(t, err)
		return generate(t, d, testPrompt)
	}
	want, _ := run(one, full)
	got, _ := run(four, full)
	require.Equal(t, want, got, "the full cache on 4 devices against 1")

	covering := base
	covering.Window, covering.SummaryCap, covering.ZoomSlotLen = 512, 512, 64
	got, stats := run(four, covering)
	require.Equal(t, want, got, "covering ZoomR on 4 devices against the full cache")
	require.Greater(t, stats.Reselections, 5)
	perToken := float64(stats.TransferBytes) / float64(stats.Tokens)
	t.Logf("transfer %.0f B per token, peak resident %d B", perToken, stats.PeakResidentBytes)
	require.Less(t, perToken, float64(stats.PeakResidentBytes)/8, "the split context is updated in place, never re-uploaded")

	tight := base
	tight.Window, tight.SummaryCap, tight.ZoomSlotLen, tight.Zoom = 8, 8, 8, 1
	other, _ := run(four, tight)
	require.NotEqual(t, want, other, "a tight budget should change a random model's output")
	t.Logf("%d tokens equal; %d re-selections", len(want), stats.Reselections)
}

// TestBatcherOnFourDevices: batched generations on a model split across 4 devices (the batched step
// graph over several split contexts) give what each gives alone, with prefill chunks over the split
// context too.
func TestBatcherOnFourDevices(t *testing.T) {
	b, err := model.DefaultBackend()
	require.NoError(t, err)
	if b.NumDevices() < 4 {
		t.Skipf("backend %q has %d device(s); this test needs 4 (GOMLX_BACKEND=xla:cpu simulates them)", b.Name(), b.NumDevices())
	}
	dir := t.TempDir()
	_, err = model.WriteRandom(dir, model.RandomSpec{Arch: "qwen3", VocabSize: 256, Hidden: 64, Layers: 2, Heads: 8, KVHeads: 4, Seed: 78})
	require.NoError(t, err)
	m, err := model.Load(context.Background(), dir, model.WithDevices(4))
	require.NoError(t, err)
	d, err := New(m, nil, Config{IgnoreEOS: true, NewSegmenter: scripted(), Window: 16, SummaryCap: 16, ZoomSlotLen: 16, PrefillChunk: 4})
	require.NoError(t, err)
	prompts := [][]int{{1, 2, 3}, testPrompt, {30, 31, 32, 33, 34, 35}}
	want := make([][]int, len(prompts))
	for i, p := range prompts {
		want[i], _ = generateN(t, d.StartIDs(context.Background(), p, WithMaxTokens(40)))
	}
	batcher, err := d.NewBatcher(BatcherOptions{MaxBatch: 4})
	require.NoError(t, err)
	defer batcher.Close()
	gens := make([]*Generation, len(prompts))
	for i, p := range prompts {
		gens[i] = batcher.Start(context.Background(), p, WithMaxTokens(40))
	}
	got := make([][]int, len(prompts))
	var wg sync.WaitGroup
	for i, g := range gens {
		wg.Go(func() { got[i], _ = generateN(t, g) })
	}
	wg.Wait()
	require.Equal(t, want, got)
	st := batcher.Stats()
	require.Greater(t, st.Rows, st.Steps, "some steps ran several generations at once")
}

// generateN ranges over a generation's tokens.
func generateN(t *testing.T, g *Generation) ([]int, Stats) {
	var ids []int
	for tk, err := range g.Tokens() {
		if err != nil {
			t.Error(err)
			break
		}
		ids = append(ids, tk.ID)
	}
	return ids, g.Stats()
}
