//go:build soak

package zoomr

// The soak test runs for minutes: go test -tags soak -run Soak -timeout 60m ./zoomr

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/internal/benchmodels"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
)

// rssBytes reads the resident set size from /proc/self/statm.
func rssBytes(t *testing.T) int64 {
	data, err := os.ReadFile("/proc/self/statm")
	require.NoError(t, err)
	fields := strings.Fields(string(data))
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	require.NoError(t, err)
	return pages * int64(os.Getpagesize())
}

// TestSoak100k generates 100,000 tokens with ZoomR on the committed small model: the resident KV is flat
// once the budget is reached, the process RSS grows by less than 5% after warm-up beyond what the host
// segment store accounts for (it keeps every token's KV by design), and no goroutines accumulate.
func TestSoak100k(t *testing.T) {
	const total, warmup = 100_000, 5_000
	dir, err := benchmodels.SmallModelDir()
	if err != nil {
		t.Skipf("trained model unavailable: %v", err)
	}
	ctx := context.Background()
	m, err := model.Load(ctx, dir)
	require.NoError(t, err)
	tok, err := tokenizer.Load(dir)
	require.NoError(t, err)
	d, err := New(m, tok, Config{MaxTokens: total, IgnoreEOS: true, MaxThoughtLen: 128})
	require.NoError(t, err)
	prompt, err := d.Encode(soakPrompt(tok))
	require.NoError(t, err)

	var resident, rssWarm, hostWarm int64
	goroutines := 0
	n := 0
	for tk, err := range d.GenerateIDs(ctx, prompt) {
		require.NoError(t, err)
		n++
		if n == warmup {
			runtime.GC()
			resident, rssWarm, hostWarm = tk.Stats.ResidentBytes, rssBytes(t), tk.Stats.HostBytes
			goroutines = runtime.NumGoroutine()
		}
		if n > warmup {
			require.Equal(t, resident, tk.Stats.ResidentBytes, "resident KV at token %d", n)
		}
		if n%20_000 == 0 || n == total {
			runtime.GC()
			rss := rssBytes(t)
			leak := float64(rss-rssWarm-(tk.Stats.HostBytes-hostWarm)) / float64(rssWarm)
			t.Logf("token %d: RSS %.1f MiB, host KV %.1f MiB, unexplained RSS growth %.2f%%, goroutines %d",
				n, float64(rss)/(1<<20), float64(tk.Stats.HostBytes)/(1<<20), 100*leak, runtime.NumGoroutine())
			require.Less(t, leak, 0.05)
			require.LessOrEqual(t, runtime.NumGoroutine(), goroutines+2)
		}
	}
	require.Equal(t, total, n)
}

// soakPrompt is any prompt the small model's vocabulary can encode: its first few ordinary words.
func soakPrompt(tok *tokenizer.Tokenizer) string {
	var words []string
	for id := 0; id < tok.VocabSize() && len(words) < 16; id++ {
		if tok.IsControl(id) {
			continue
		}
		if w, err := tok.TokenText(id); err == nil && w != "" {
			words = append(words, w)
		}
	}
	return strings.Join(words, " ")
}
