package zoomr

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model"
)

// TestTransferPerTokenIsFlat: what crosses between host and device per generated token does not grow
// with the active context — a window of 1024 moves at most 1.2x what a window of 128 moves, over
// 1,200 tokens — and is a small multiple of one token's K/V, not the context's size (on XLA the
// context lives in device buffers updated in place; on the host engine the figure is the cache's
// writes). Run with GOMLX_BACKEND=xla:cpu -tags xla for the device figure.
func TestTransferPerTokenIsFlat(t *testing.T) {
	m := testModel(t, "llama")
	perToken := map[int]float64{}
	var resident int64
	for _, window := range []int{128, 1024} {
		d, err := New(m, nil, Config{MaxTokens: 1200, IgnoreEOS: true, NewSegmenter: scripted(), Window: window,
			SummaryCap: 64, ZoomSlotLen: 32})
		require.NoError(t, err)
		_, st, err := d.Run(context.Background(), testPrompt)
		require.NoError(t, err)
		require.Equal(t, 1200, st.Tokens)
		perToken[window] = float64(st.TransferBytes) / float64(st.Tokens)
		resident = max(resident, st.PeakResidentBytes)
	}
	c := m.Config
	kv := float64(2 * c.Layers * c.KVHeads * c.HeadDim * 4)
	t.Logf("engine %s, backend %s: transfer per token %.0f B (window 128), %.0f B (window 1024); one token's K+V %.0f B; peak resident %d B",
		m.Engine(), m.Backend().Name(), perToken[128], perToken[1024], kv, resident)
	require.LessOrEqual(t, perToken[1024], 1.2*perToken[128])
	limit := 4*kv + 64 // the token's K/V in and out, ids, a share of zoom and summary loads
	if m.Engine() == model.EngineGraph {
		limit += float64(4 * c.Layers * c.Heads * c.HeadDim) // queries at re-selections, at most every step
	}
	require.Less(t, perToken[1024], limit)
	require.Less(t, perToken[1024], float64(resident)/4, "far below re-uploading the context")
}
