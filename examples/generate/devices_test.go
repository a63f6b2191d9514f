//go:build xla

package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model"
)

// TestCLIDevices: -devices 4 (4 KV heads, one per device) prints the tokens -devices 1 prints, with
// ZoomR and the full cache, and reports 4 devices. Skips on a backend with fewer than 4 devices.
func TestCLIDevices(t *testing.T) {
	b, err := model.DefaultBackend()
	require.NoError(t, err)
	if b.NumDevices() < 4 {
		t.Skipf("backend %q has %d device(s); run with GOMLX_BACKEND=xla:cpu (4 simulated devices)", b.Name(), b.NumDevices())
	}
	dir := t.TempDir()
	_, err = model.WriteRandom(dir, model.RandomSpec{Heads: 4, KVHeads: 4, VocabSize: 300, Seed: 6})
	require.NoError(t, err)
	gen := func(cache, devices string) ([]int, float64) {
		var out bytes.Buffer
		args := []string{"-model", dir, "-prompt-ids", "1,2,3,4,5,6,7", "-max-tokens", "64", "-greedy", "-json",
			"-ignore-eos", "-segmenter", "paragraph", "-max-thought", "12", "-cache", cache, "-devices", devices}
		require.NoError(t, run(t.Context(), args, &out))
		var res struct {
			Tokens []int
			Stats  struct{ Devices float64 }
		}
		require.NoError(t, json.Unmarshal(out.Bytes(), &res))
		require.Len(t, res.Tokens, 64)
		return res.Tokens, res.Stats.Devices
	}
	want, n := gen("full", "1")
	require.Equal(t, 1.0, n)
	for _, cache := range []string{"full", "zoomr"} {
		got, n := gen(cache, "4")
		require.Equal(t, 4.0, n)
		require.Equal(t, want, got, cache)
	}
}
