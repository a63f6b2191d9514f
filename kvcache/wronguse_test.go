package kvcache

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// snapshot renders everything a cache holds — its bookkeeping, the full content of its context
// tensors and of its host store — so that "unchanged" can be tested by comparing two snapshots.
func snapshot(t testing.TB, c Cache) string {
	t.Helper()
	var b strings.Builder
	var pool *SlotPool
	switch x := c.(type) {
	case *ZoomR, *SumR:
		var h *hier
		if z, ok := x.(*ZoomR); ok {
			h = z.h
		} else {
			h = x.(*SumR).h
		}
		fmt.Fprintf(&b, "%+v %v %v %d %d %v %d %d\n", h.stream, h.thoughts, h.kbar, h.sumFirst, h.sumUsed, h.zoomed, h.zoomUsed, h.peakHost)
		if st := h.host; st.Len() > st.First() {
			k, v := make([]float32, (st.Len()-st.First())*h.lay.TokenElems()), make([]float32, (st.Len()-st.First())*h.lay.TokenElems())
			if err := st.Read(st.First(), st.Len()-st.First(), k, v); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "host %d %d %d %v %v\n", st.First(), st.Len(), st.Bytes(), k, v)
		}
		pool = h.pool
	case *Full:
		fmt.Fprintf(&b, "%+v\n", x.stream)
		pool = x.Pool()
	case *StreamingLLM:
		fmt.Fprintf(&b, "%+v\n", x.stream)
		pool = x.Pool()
	case *H2O:
		fmt.Fprintf(&b, "%+v %v\n", x.stream, x.score)
		pool = x.Pool()
	case *RKV:
		fmt.Fprintf(&b, "%+v %v %v\n", x.stream, x.imp, x.keys)
		pool = x.Pool()
	default:
		t.Fatalf("snapshot of %T", c)
	}
	keys := slices.Sorted(maps.Keys(pool.slotOf))
	fmt.Fprintf(&b, "pool %d %d %v %v %v %v %d %d\n", pool.min, pool.max, keys, pool.posOf, pool.refs, pool.free, pool.n, pool.peak)
	ctx := contextOf(t, c)
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
	"sumr": func(l Layout) (Cache, error) { return NewSumR(Config{Layout: l, Window: 6, SummaryCap: 4}) },
	"streaming": func(l Layout) (Cache, error) {
		return NewStreamingLLM(StreamingConfig{Layout: l, Sinks: 2, Window: 6})
	},
	"full": func(l Layout) (Cache, error) { return NewFull(FullConfig{Layout: l, MinCapacity: 8}) },
	"h2o":  func(l Layout) (Cache, error) { return NewH2O(H2OConfig{Layout: l, Heavy: 3, Window: 3}) },
	"rkv":  func(l Layout) (Cache, error) { return NewRKV(RKVConfig{Layout: l, Budget: 3, Window: 3, Buffer: 2}) },
}

// Setups: two sealed thoughts (ZoomR zooms thought 0), then an open body.
const (
	sealedTwo = "prompt 5; gen 4; begin; gen 2; seal; gen 4; begin; gen 1; seal"
	openBody  = sealedTwo + "; gen 3"
)

func TestWrongUseLeavesCacheUnchanged(t *testing.T) {
	l := Layout{Layers: 2, KVHeads: 2, HeadDim: 2}
	te := l.TokenElems()
	tok := func(n int) []float32 { return make([]float32, n) }
	seal := func(th Thought) func(Cache) error { return func(c Cache) error { return c.(Sealer).Seal(th) } }
	zoom := func(ids ...ThoughtID) func(Cache) error { return func(c Cache) error { return c.(Zoomer).Zoom(ids) } }
	score := func(q, dst int) func(Cache) error {
		return func(c Cache) error { return c.(Zoomer).ScoreSummaries(tok(q), tok(dst)) }
	}
	// openBody: prompt 0..4, thought 0 = body 5..8 + summary 9..10, thought 1 = body 11..14 + summary 15,
	// open body 16..18 (19 appended).
	const sealers, zoomers, observers = "zoomr,sumr", "zoomr", "h2o,rkv"
	for _, tc := range []struct {
		name  string
		setup string
		call  func(Cache) error
		want  error
		only  string // policies the case applies to (all if empty)
	}{
		{"append short K", openBody, func(c Cache) error { return c.Append(c.Len(), tok(te-1), tok(te)) }, ErrShape, ""},
		{"append long V", openBody, func(c Cache) error { return c.Append(c.Len(), tok(te), tok(te+1)) }, ErrShape, ""},
		{"append past position", openBody, func(c Cache) error { return c.Append(c.Len()-1, tok(te), tok(te)) }, ErrPosition, ""},
		{"append future position", openBody, func(c Cache) error { return c.Append(c.Len()+1, tok(te), tok(te)) }, ErrPosition, ""},
		{"prompt after generation", openBody, func(c Cache) error { return c.AppendPrompt(tok(te), tok(te), 1) }, ErrPromptClosed, ""},
		{"prompt wrong length", "prompt 3", func(c Cache) error { return c.AppendPrompt(tok(2*te), tok(2*te), 3) }, ErrShape, ""},
		{"prompt of 0 tokens", "prompt 3", func(c Cache) error { return c.AppendPrompt(nil, nil, 0) }, ErrShape, ""},
		{"seal out of order", openBody, seal(Thought{ID: 3, Body: Span{16, 18}, Summary: Span{18, 19}}), ErrUnknownThought, sealers},
		{"seal again", openBody, seal(Thought{ID: 1, Body: Span{11, 15}, Summary: Span{15, 16}}), ErrUnknownThought, sealers},
		{"seal past the end", openBody, seal(Thought{ID: 2, Body: Span{16, 19}, Summary: Span{19, 21}}), ErrPosition, sealers},
		{"seal over the previous thought", openBody, seal(Thought{ID: 2, Body: Span{15, 18}, Summary: Span{18, 19}}), ErrArgument, sealers},
		{"seal gap between body and summary", openBody, seal(Thought{ID: 2, Body: Span{16, 17}, Summary: Span{18, 19}}), ErrArgument, sealers},
		{"seal reversed span", openBody, seal(Thought{ID: 2, Body: Span{18, 16}, Summary: Span{16, 19}}), ErrArgument, sealers},
		{"seal empty thought", openBody, seal(Thought{ID: 2, Body: Span{17, 17}, Summary: Span{17, 17}}), ErrEmptyThought, sealers},
		{"seal in the prompt", "prompt 5; gen 2", seal(Thought{ID: 0, Body: Span{3, 6}, Summary: Span{6, 7}}), ErrArgument, sealers},
		{"zoom unknown", openBody + "; zoom 0", zoom(1, 7), ErrUnknownThought, zoomers},
		{"zoom negative", openBody + "; zoom 0", zoom(-1), ErrUnknownThought, zoomers},
		{"zoom unsealed", openBody + "; zoom 0", zoom(1, 2), ErrUnknownThought, zoomers},
		{"zoom duplicate", openBody + "; zoom 0", zoom(1, 1), ErrDuplicateThought, zoomers},
		{"zoom too many", openBody + "; zoom 0", zoom(0, 1, 1), ErrTooManyThoughts, zoomers},
		{"score wrong query", openBody, score(7, 2*3*2), ErrShape, zoomers},
		{"score query heads not a multiple of KVH", openBody, score(2*3*2, 2*3*2), ErrShape, zoomers},
		{"score wrong dst", openBody, score(2*4*2, 2*4*3), ErrShape, zoomers},
		{"attention wrong shape", openBody, func(c Cache) error {
			return c.(AttentionObserver).ObserveAttention(tok(2*c.Memory().Capacity + 1))
		}, ErrShape, observers},
	} {
		for name, build := range policies {
			if tc.only != "" && !slices.Contains(strings.Split(tc.only, ","), name) {
				continue
			}
			for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16} {
				t.Run(fmt.Sprintf("%s/%s/%s", tc.name, name, dt), func(t *testing.T) {
					l.DType = dt
					c := newScripted(must[Cache](t)(build(l)))
					script(t, c, tc.setup)
					before := snapshot(t, c.Cache)
					err := tc.call(c.Cache)
					if !errors.Is(err, tc.want) {
						t.Fatalf("got error %v, want %v", err, tc.want)
					}
					if after := snapshot(t, c.Cache); after != before {
						t.Fatalf("cache changed by a failed call (%v)", err)
					}
				})
			}
		}
	}
}

// TestCapabilities: each built-in has exactly the capabilities its rules need.
func TestCapabilities(t *testing.T) {
	l := Layout{Layers: 1, KVHeads: 1, HeadDim: 2}
	want := map[string]string{"zoomr": "sealer zoomer", "sumr": "sealer", "streaming": "", "full": "", "h2o": "observer", "rkv": "observer"}
	for name, build := range policies {
		c := must[Cache](t)(build(l))
		var caps []string
		if _, ok := c.(Sealer); ok {
			caps = append(caps, "sealer")
		}
		if _, ok := c.(Zoomer); ok {
			caps = append(caps, "zoomer")
		}
		if _, ok := c.(AttentionObserver); ok {
			caps = append(caps, "observer")
		}
		if got := strings.Join(caps, " "); got != want[name] {
			t.Errorf("%s: capabilities %q, want %q", name, got, want[name])
		}
	}
}

// TestSnapshotSees: the snapshot used above notices real changes (else "unchanged" proves nothing).
func TestSnapshotSees(t *testing.T) {
	for name, build := range policies {
		t.Run(name, func(t *testing.T) {
			c := newScripted(must[Cache](t)(build(Layout{Layers: 2, KVHeads: 2, HeadDim: 2})))
			script(t, c, openBody)
			before := snapshot(t, c.Cache)
			script(t, c, "gen 1")
			if snapshot(t, c.Cache) == before {
				t.Fatal("Append did not change the snapshot")
			}
			if _, ok := c.Cache.(Zoomer); ok {
				before = snapshot(t, c.Cache)
				script(t, c, "zoom 1")
				if snapshot(t, c.Cache) == before {
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
			_, err := NewSumR(Config{Layout: l, Sinks: 4, Window: 32, MaxTokens: 30})
			return err
		}, ErrBudget},
		{"negative window", func() error { _, err := NewZoomR(Config{Layout: l, Window: -1}); return err }, ErrConfig},
		{"negative zoom slots", func() error { _, err := NewZoomR(Config{Layout: l, ZoomSlots: -2}); return err }, ErrConfig},
		{"negative sinks", func() error { _, err := NewStreamingLLM(StreamingConfig{Layout: l, Sinks: -1}); return err }, ErrConfig},
		{"negative min capacity", func() error { _, err := NewFull(FullConfig{Layout: l, MinCapacity: -1}); return err }, ErrConfig},
		{"negative heavy", func() error { _, err := NewH2O(H2OConfig{Layout: l, Heavy: -1}); return err }, ErrConfig},
		{"rkv lambda above 1", func() error { _, err := NewRKV(RKVConfig{Layout: l, Lambda: 2}); return err }, ErrConfig},
		{"rkv negative buffer", func() error { _, err := NewRKV(RKVConfig{Layout: l, Buffer: -1}); return err }, ErrConfig},
		{"unknown policy", func() error { _, err := New("lru", Config{Layout: l}); return err }, ErrConfig},
		{"registered twice", func() error {
			return Register(Policy{Name: PolicyZoomR, New: func(Config) (Cache, error) { return nil, nil }})
		}, ErrConfig},
		{"register without constructor", func() error { return Register(Policy{Name: "x"}) }, ErrConfig},
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
