package kvcache

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
)

// snapshot renders everything a cache holds — its fields, the full content of its context tensors
// and of its host store — so that "unchanged" can be tested by comparing two snapshots.
func snapshot(t testing.TB, c Cache) string {
	t.Helper()
	var b strings.Builder
	var z *ZoomR
	switch x := c.(type) {
	case *ZoomR:
		z = x
	case *SumR:
		z = x.ZoomR
	case *StreamingLLM:
		z = x.ZoomR
	case *Full:
		fmt.Fprintf(&b, "%+v\n", *x)
	case *H2O:
		fmt.Fprintf(&b, "%+v\n", *x)
	default:
		t.Fatalf("snapshot of %T", c)
	}
	if z != nil {
		fmt.Fprintf(&b, "%+v\n", *z)
		switch h := z.host.(type) {
		case *host[float32]:
			for _, blk := range h.blocks {
				if blk != nil {
					fmt.Fprintf(&b, "%v %v\n", blk.k, blk.v)
				}
			}
		case *host[bfloat16.BFloat16]:
			for _, blk := range h.blocks {
				if blk != nil {
					fmt.Fprintf(&b, "%v %v\n", blk.k, blk.v)
				}
			}
		}
	}
	ctx := c.Context()
	for i := range ctx.K {
		fmt.Fprintf(&b, "K%d %v\nV%d %v\n", i, flatF32(t, ctx.K[i]), i, flatF32(t, ctx.V[i]))
	}
	fmt.Fprintf(&b, "mask %v\nmemory %+v\n", flatF32(t, ctx.Mask), c.Memory())
	return b.String()
}

var policies = map[string]func(Layout) (Cache, error){
	"zoomr": func(l Layout) (Cache, error) {
		return NewZoomR(Config{Layout: l, Window: 6, SummaryCap: 4, ZoomSlots: 2, ZoomSlotLen: 3})
	},
	"sumr": func(l Layout) (Cache, error) { return NewSumR(SumRConfig{Layout: l, Window: 6, SummaryCap: 4}) },
	"streaming": func(l Layout) (Cache, error) {
		return NewStreamingLLM(StreamingConfig{Layout: l, Sinks: 2, Window: 6})
	},
	"full": func(l Layout) (Cache, error) { return NewFull(FullConfig{Layout: l, MinCapacity: 8}) },
	"h2o":  func(l Layout) (Cache, error) { return NewH2O(H2OConfig{Layout: l, Heavy: 3, Window: 3}) },
}

// Setups: two sealed thoughts (ZoomR zooms thought 0), then an open body / an open summary / nothing open.
const (
	sealedTwo   = "prompt 5; gen 4; begin; gen 2; seal; gen 4; begin; gen 1; seal"
	openBody    = sealedTwo + "; gen 3"
	openSummary = openBody + "; begin; gen 1"
	emptySum    = openBody + "; begin"
)

func TestWrongUseLeavesCacheUnchanged(t *testing.T) {
	l := Layout{Layers: 2, KVHeads: 2, HeadDim: 2}
	te := l.TokenElems()
	tok := func(n int) []float32 { return make([]float32, n) }
	for _, tc := range []struct {
		name  string
		setup string
		call  func(Cache) error
		want  error
		only  []string // policies the case applies to (all if empty)
	}{
		{"append short K", openBody, func(c Cache) error { return c.Append(c.Len(), tok(te-1), tok(te)) }, ErrShape, nil},
		{"append long V", openBody, func(c Cache) error { return c.Append(c.Len(), tok(te), tok(te+1)) }, ErrShape, nil},
		{"append past position", openBody, func(c Cache) error { return c.Append(c.Len()-1, tok(te), tok(te)) }, ErrPosition, nil},
		{"append future position", openBody, func(c Cache) error { return c.Append(c.Len()+1, tok(te), tok(te)) }, ErrPosition, nil},
		{"prompt after generation", openBody, func(c Cache) error { return c.AppendPrompt(tok(te), tok(te), 1) }, ErrPromptClosed, nil},
		{"prompt wrong length", "prompt 3", func(c Cache) error { return c.AppendPrompt(tok(2*te), tok(2*te), 3) }, ErrShape, nil},
		{"prompt of 0 tokens", "prompt 3", func(c Cache) error { return c.AppendPrompt(nil, nil, 0) }, ErrShape, nil},
		{"seal an open body", openBody, func(c Cache) error { _, err := c.Seal(); return err }, ErrNothingOpen, nil},
		{"seal with nothing open", sealedTwo, func(c Cache) error { _, err := c.Seal(); return err }, ErrNothingOpen, nil},
		{"seal an empty summary", emptySum, func(c Cache) error { _, err := c.Seal(); return err }, ErrEmptySummary, nil},
		{"begin twice", openSummary, func(c Cache) error { return c.BeginSummary() }, ErrSummaryOpen, nil},
		{"paragraph seal in a summary", openSummary, func(c Cache) error { _, err := c.SealWithoutSummary(0); return err }, ErrSummaryOpen, nil},
		{"paragraph seal with nothing open", sealedTwo, func(c Cache) error { _, err := c.SealWithoutSummary(0); return err }, ErrNothingOpen, nil},
		{"paragraph tail too long", openBody, func(c Cache) error { _, err := c.SealWithoutSummary(4); return err }, ErrArgument, nil},
		{"paragraph negative tail", openBody, func(c Cache) error { _, err := c.SealWithoutSummary(-1); return err }, ErrArgument, nil},
		{"zoom unknown", openBody + "; zoom 0", func(c Cache) error { return c.Zoom([]ThoughtID{1, 7}) }, ErrUnknownThought, []string{"zoomr"}},
		{"zoom negative", openBody + "; zoom 0", func(c Cache) error { return c.Zoom([]ThoughtID{-1}) }, ErrUnknownThought, []string{"zoomr"}},
		{"zoom unsealed", openSummary + "; zoom 0", func(c Cache) error { return c.Zoom([]ThoughtID{1, 2}) }, ErrUnsealedThought, []string{"zoomr"}},
		{"zoom duplicate", openBody + "; zoom 0", func(c Cache) error { return c.Zoom([]ThoughtID{1, 1}) }, ErrDuplicateThought, []string{"zoomr"}},
		{"zoom too many", openBody + "; zoom 0", func(c Cache) error { return c.Zoom([]ThoughtID{0, 1, 1}) }, ErrTooManyThoughts, []string{"zoomr"}},
		{"zoom without slots", openBody, func(c Cache) error { return c.Zoom([]ThoughtID{0}) }, ErrNotSupported, []string{"sumr", "streaming", "full", "h2o"}},
		{"score wrong query", openBody, func(c Cache) error { return c.ScoreSummaries(tok(7), tok(2*3*2)) }, ErrShape, []string{"zoomr", "sumr"}},
		{"score query heads not a multiple of KVH", openBody, func(c Cache) error { return c.ScoreSummaries(tok(2*3*2), tok(2*3*2)) }, ErrShape, []string{"zoomr", "sumr"}},
		{"score wrong dst", openBody, func(c Cache) error { return c.ScoreSummaries(tok(2*4*2), tok(2*4*3)) }, ErrShape, []string{"zoomr", "sumr"}},
		{"score without index", openBody, func(c Cache) error { return c.ScoreSummaries(tok(2*4*2), tok(2*4*2)) }, ErrNotSupported, []string{"streaming", "full", "h2o"}},
		{"attention wrong shape", openBody, func(c Cache) error { return c.ObserveAttention(tok(2*c.Capacity() + 1)) }, ErrShape, []string{"h2o"}},
		{"attention unused", openBody, func(c Cache) error { return c.ObserveAttention(tok(2 * c.Capacity())) }, ErrNotSupported, []string{"zoomr", "sumr", "streaming", "full"}},
	} {
		for name, build := range policies {
			if tc.only != nil && !strings.Contains(strings.Join(tc.only, ","), name) {
				continue
			}
			for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16} {
				t.Run(fmt.Sprintf("%s/%s/%s", tc.name, name, dt), func(t *testing.T) {
					l.DType = dt
					c, err := build(l)
					if err != nil {
						t.Fatal(err)
					}
					script(t, c, tc.setup)
					before := snapshot(t, c)
					err = tc.call(c)
					if !errors.Is(err, tc.want) {
						t.Fatalf("got error %v, want %v", err, tc.want)
					}
					if after := snapshot(t, c); after != before {
						t.Fatalf("cache changed by a failed call (%v)", err)
					}
				})
			}
		}
	}
}

// TestSnapshotSees: the snapshot used above notices real changes (else "unchanged" proves nothing).
func TestSnapshotSees(t *testing.T) {
	for name, build := range policies {
		t.Run(name, func(t *testing.T) {
			c, err := build(Layout{Layers: 2, KVHeads: 2, HeadDim: 2})
			if err != nil {
				t.Fatal(err)
			}
			script(t, c, openBody)
			before := snapshot(t, c)
			script(t, c, "gen 1")
			if snapshot(t, c) == before {
				t.Fatal("Append did not change the snapshot")
			}
			if c.ZoomCapacity() > 0 {
				before = snapshot(t, c)
				script(t, c, "zoom 1")
				if snapshot(t, c) == before {
					t.Fatal("Zoom did not change the snapshot")
				}
			}
		})
	}
}

func TestBadConfigs(t *testing.T) {
	l := Layout{Layers: 2, KVHeads: 2, HeadDim: 4}
	for _, tc := range []struct {
		name  string
		build func() error
		want  error
	}{
		{"layout zero layers", func() error { _, err := NewZoomR(Config{Layout: Layout{KVHeads: 1, HeadDim: 1}}); return err }, ErrLayout},
		{"layout int8", func() error {
			_, err := NewFull(FullConfig{Layout: Layout{Layers: 1, KVHeads: 1, HeadDim: 1, DType: dtypes.Int8}})
			return err
		}, ErrLayout},
		{"budget below sinks+window", func() error { _, err := NewZoomR(Config{Layout: l, Sinks: 8, Window: 64, MaxTokens: 70}); return err }, ErrBudget},
		{"budget below the regions", func() error {
			_, err := NewZoomR(Config{Layout: l, Window: 64, SummaryCap: 64, ZoomSlots: 2, ZoomSlotLen: 64, MaxTokens: 200})
			return err
		}, ErrBudget},
		{"budget leaves no summary room", func() error {
			_, err := NewZoomR(Config{Layout: l, Window: 64, ZoomSlots: 2, ZoomSlotLen: 64, MaxTokens: 192})
			return err
		}, ErrBudget},
		{"sumr budget below sinks+window", func() error {
			_, err := NewSumR(SumRConfig{Layout: l, Sinks: 4, Window: 32, MaxTokens: 30})
			return err
		}, ErrBudget},
		{"negative window", func() error { _, err := NewZoomR(Config{Layout: l, Window: -1}); return err }, ErrConfig},
		{"negative zoom slots", func() error { _, err := NewZoomR(Config{Layout: l, ZoomSlots: -2}); return err }, ErrConfig},
		{"negative sinks", func() error { _, err := NewStreamingLLM(StreamingConfig{Layout: l, Sinks: -1}); return err }, ErrConfig},
		{"negative min capacity", func() error { _, err := NewFull(FullConfig{Layout: l, MinCapacity: -1}); return err }, ErrConfig},
		{"negative heavy", func() error { _, err := NewH2O(H2OConfig{Layout: l, Heavy: -1}); return err }, ErrConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.build(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// The budget filled by the summary region.
	cfg := Config{Layout: l, Sinks: 4, Window: 60, ZoomSlots: 2, ZoomSlotLen: 64, MaxTokens: 512}
	b, err := cfg.Budget(0)
	if err != nil || b.Summary != 512-4-60-128 || b.Tokens != 512 || b.Bytes != l.ContextBytes(512) {
		t.Fatalf("budget %+v, %v", b, err)
	}
}
