//go:build soak

package zoomr

// The soak test runs for minutes: go test -tags soak -run Soak -timeout 60m ./zoomr

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
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
// once the budget is reached, the process RSS grows after warm-up by less than 5% beyond what the host
// segment store accounts for (it keeps every token's KV by design), and no goroutines accumulate. It
// fails today on the RSS criterion (see the note in the loop); the live heap's growth is logged beside it.
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

	var resident, rssWarm, hostWarm, heapWarm int64
	goroutines := 0
	n := 0
	for tk, err := range d.GenerateIDs(ctx, prompt) {
		require.NoError(t, err)
		n++
		if n == warmup {
			settle()
			resident, rssWarm, hostWarm, heapWarm = tk.Stats.ResidentBytes, rssBytes(t), tk.Stats.HostBytes, heapLive()
			goroutines = runtime.NumGoroutine()
		}
		if n > warmup {
			require.Equal(t, resident, tk.Stats.ResidentBytes, "resident KV at token %d", n)
		}
		if n%20_000 == 0 || n == total {
			settle()
			rss := rssBytes(t)
			leak := float64(rss-rssWarm-(tk.Stats.HostBytes-hostWarm)) / float64(rssWarm)
			heap := heapLive()
			heapLeak := float64(heap-heapWarm-(tk.Stats.HostBytes-hostWarm)) / float64(heapWarm)
			t.Logf("token %d: RSS %.1f MiB, Go heap live %.1f MiB, host KV %.1f MiB; growth beyond the host store: heap %.2f%%, RSS %.2f%%; goroutines %d",
				n, float64(rss)/(1<<20), float64(heap)/(1<<20), float64(tk.Stats.HostBytes)/(1<<20), 100*heapLeak, 100*leak, runtime.NumGoroutine())
			// KNOWN FAILURE (issue 8, open): on the small model the RSS beyond the host store grows
			// ~50-80 B/token (8% of the 22 MiB warm RSS at 20k tokens, 22.6% at 80k). Live objects do not
			// explain it: the live heap beyond the host store grows ~10 B/token (per-thought index records,
			// 1.7% at 20k, 4% at 40k of a 4.7 MiB base) and a heap-profile diff 5k→29k tokens is 98% host
			// blocks. The rest is allocator page retention around the host blocks. Find it before relaxing.
			require.Less(t, leak, 0.05)
			require.LessOrEqual(t, runtime.NumGoroutine(), goroutines+2)
		}
	}
	require.Equal(t, total, n)
}

// settle collects and returns freed pages to the OS: RSS then counts what is retained, not the
// collector's headroom (which grows with the live heap, i.e. with the host store).
func settle() { debug.FreeOSMemory() }

// heapLive is the Go heap's allocated bytes; right after settle
// that is exactly the live objects.
func heapLive() int64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
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
