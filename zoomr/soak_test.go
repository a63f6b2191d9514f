//go:build soak

package zoomr

// The soak test runs for minutes: go test -tags soak -run Soak -timeout 60m ./zoomr

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/internal/benchmodels"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
)

// rss reads the resident set from /proc/self/statm: all of it, and its anonymous part (resident
// minus shared: the process's own memory, without the file-backed pages of the binary's code and
// data, which the kernel pages in as code paths are first run and can drop at any time).
func rss(t *testing.T) (total, anon int64) {
	data, err := os.ReadFile("/proc/self/statm")
	require.NoError(t, err)
	fields := strings.Fields(string(data))
	resident, err := strconv.ParseInt(fields[1], 10, 64)
	require.NoError(t, err)
	shared, err := strconv.ParseInt(fields[2], 10, 64)
	require.NoError(t, err)
	page := int64(os.Getpagesize())
	return resident * page, (resident - shared) * page
}

// TestSoak100k generates 100,000 tokens with ZoomR on the committed small model
// (ZOOMR_SOAK_TOKENS=N for another length; CI runs 30,000): the resident KV grows in buckets to its
// budget and never past it, no goroutines accumulate, and every byte that grows with the output is accounted for.
// The host store lives outside the Go heap (kvcache's host arena), so the Go heap holds only what
// the cache's index (StepStats.IndexBytes) and the decoder (StepStats.DecoderBytes) keep per thought
// and per token, both counted by slice capacity, and the active context while it grows in buckets to
// its budget (StepStats.ResidentBytes); the assertion is exact up to noise: the Go heap's
// live bytes, between a fifth of the run and its end, grow by those two and by less than 1% of the
// host store's growth besides. RSS, which also counts what the runtime and the kernel keep around,
// is the secondary, generously bounded reading (10% of itself beyond the store, index and decoder).
//
// History: the first off-heap version asserted only RSS (5%), and failed twice on a fresh machine
// (7.4%, 5.3%): the decoder kept every generated id (8 B per token in a doubling slice) for the logits
// processor, which only a processor needs, and the index's records were counted by length, not by
// the capacity append gives them. Both are now bounded or counted.
func TestSoak100k(t *testing.T) {
	const warmup = 5_000
	total := 100_000
	if v, err := strconv.Atoi(os.Getenv("ZOOMR_SOAK_TOKENS")); err == nil && v > warmup {
		total = v
	}
	base := max(warmup, total/5) // the measurement's start
	if os.Getenv("ZOOMR_SOAK_PROFILES") != "" {
		runtime.MemProfileRate = 256 // see small objects too
	}
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

	type reading struct {
		heap, rss, host, index, decoder, resident int64
	}
	read := func(st StepStats) reading {
		settle()
		all, _ := rss(t)
		return reading{heap: heapLive(), rss: all, host: st.HostBytes, index: st.IndexBytes, decoder: st.DecoderBytes,
			resident: st.ResidentBytes}
	}
	budget, err := d.Config().ResidentBudget(d.layout, len(prompt))
	require.NoError(t, err)
	var resident int64
	var first reading
	goroutines := 0
	n := 0
	for tk, err := range d.GenerateIDs(ctx, prompt) {
		require.NoError(t, err)
		n++
		// The active context grows in buckets as its regions fill, never past its budget, never back.
		require.GreaterOrEqual(t, tk.Stats.ResidentBytes, resident, "resident KV shrank at token %d", n)
		require.LessOrEqual(t, tk.Stats.ResidentBytes, budget.Bytes, "resident KV beyond its budget at token %d", n)
		resident = tk.Stats.ResidentBytes
		if n == base {
			first = read(tk.Stats)
			goroutines = runtime.NumGoroutine()
			writeHeapProfile(t, n)
		}
		if n > base && (n%20_000 == 0 || n == total) {
			r := read(tk.Stats)
			// The active context (Go memory on this backend) may still be growing to its budget.
			accounted := r.index - first.index + r.decoder - first.decoder + r.resident - first.resident
			hostGrowth := r.host - first.host
			heapBeyond := float64(r.heap-first.heap-accounted) / float64(hostGrowth)
			rssBeyond := float64(r.rss-first.rss-accounted-hostGrowth) / float64(first.rss)
			writeHeapProfile(t, n)
			if n == total || os.Getenv("ZOOMR_SOAK_PROFILES") != "" {
				t.Logf("token %d: Go memory classes %s", n, memClasses())
			}
			t.Logf("token %d (from %d): host store +%.1f MiB, index +%.1f KiB, decoder +%.1f KiB, resident +%.1f KiB; Go heap live %.2f MiB (+%.1f KiB: %.3f%% of the store's growth beyond index and decoder); RSS %.1f MiB (%.2f%% beyond); goroutines %d",
				n, base, float64(hostGrowth)/(1<<20), float64(r.index-first.index)/(1<<10), float64(r.decoder-first.decoder)/(1<<10),
				float64(r.resident-first.resident)/(1<<10), float64(r.heap)/(1<<20), float64(r.heap-first.heap)/(1<<10), 100*heapBeyond, float64(r.rss)/(1<<20), 100*rssBeyond,
				runtime.NumGoroutine())
			require.Less(t, heapBeyond, 0.01, "Go heap growth beyond the accounted index and decoder bytes, relative to the host store's growth")
			require.Less(t, rssBeyond, 0.10, "RSS growth beyond host store + index + decoder")
			require.LessOrEqual(t, runtime.NumGoroutine(), goroutines+2)
		}
	}
	require.Equal(t, total, n)
}

// settle collects and returns freed pages to the OS: RSS then counts what is retained, not the
// garbage the decode steps left behind. The first collection moves sync.Pool caches (the backend's
// buffer pools) to their victim lists, the second frees them: caches are not retained memory.
func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

// heapLive is the Go heap's allocated bytes; right after settle that is the live objects (plus
// whatever sync.Pools still hold).
func heapLive() int64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// writeHeapProfile writes heap-<n>.pprof into $ZOOMR_SOAK_PROFILES when it is set: diff two of them
// (go tool pprof -diff_base) to see what grows.
func writeHeapProfile(t *testing.T, n int) {
	dir := os.Getenv("ZOOMR_SOAK_PROFILES")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, "heap-"+strconv.Itoa(n)+".pprof"))
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, pprof.WriteHeapProfile(f))
}

// memClasses lists the Go runtime's memory classes (runtime/metrics) in KiB: where RSS beyond the
// live objects sits (free-but-unreleased pages, span fragmentation, metadata, stacks).
func memClasses() string {
	var samples []metrics.Sample
	for _, d := range metrics.All() {
		if strings.HasPrefix(d.Name, "/memory/classes/") && d.Kind == metrics.KindUint64 {
			samples = append(samples, metrics.Sample{Name: d.Name})
		}
	}
	metrics.Read(samples)
	var b strings.Builder
	for _, s := range samples {
		name := strings.TrimSuffix(strings.TrimPrefix(s.Name, "/memory/classes/"), ":bytes")
		b.WriteString(name + "=" + strconv.FormatUint(s.Value.Uint64()>>10, 10) + " ")
	}
	return b.String()
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
