package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/examples/serve/server"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/zoomr"
)

// testServer serves a small random model over loopback.
func testServer(t *testing.T) string {
	dir := t.TempDir()
	_, err := model.WriteRandom(dir, model.RandomSpec{VocabSize: 4000, Hidden: 64, Layers: 2, Seed: 4})
	require.NoError(t, err)
	m, err := model.Load(t.Context(), dir)
	require.NoError(t, err)
	dec, err := zoomr.New(m, nil, zoomr.Config{})
	require.NoError(t, err)
	s, err := server.New(dec, server.Options{Name: "m", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	return hs.URL
}

// TestLoadModes runs each mode briefly against an in-process server and checks its report.
func TestLoadModes(t *testing.T) {
	url := testServer(t)
	out := filepath.Join(t.TempDir(), "r.json")
	read := func() report {
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		var r report
		require.NoError(t, json.Unmarshal(b, &r))
		return r
	}
	var text bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"-url", url, "-clients", "1,3", "-max-tokens", "12", "-json", out}, &text))
	r := read()
	require.Len(t, r.Curve, 2)
	require.Equal(t, 3*12, r.Curve[1].Tokens)
	require.Positive(t, r.Curve[1].TokensPerSecond)
	require.Positive(t, r.Curve[1].ITLp50)
	require.Contains(t, text.String(), "| 3 | 3 | 36 |")

	require.NoError(t, run(t.Context(), []string{"-url", url, "-disconnect", "4", "-max-tokens", "40", "-json", out}, io.Discard))
	r = read()
	require.True(t, r.Disconnect.OthersComplete)
	require.Equal(t, 2, r.Disconnect.Disconnected)

	require.NoError(t, run(t.Context(), []string{"-url", url, "-sequential", "30", "-max-tokens", "4", "-json", out}, io.Discard))
	r = read()
	require.Equal(t, map[int]int{200: 29, 400: 1}, r.Sequential.Statuses)
	require.Positive(t, r.Sequential.Final.Goroutines)
}

func TestWriteModel(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 300 MB")
	}
	dir := t.TempDir()
	require.NoError(t, run(t.Context(), []string{"-write-model", dir}, io.Discard))
	cfg, err := model.LoadConfig(dir)
	require.NoError(t, err)
	require.Equal(t, 151936, cfg.VocabSize)
	require.Equal(t, 256, cfg.Hidden)
	require.Equal(t, 4, cfg.Layers)
}
