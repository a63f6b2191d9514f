package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/zoomr-go/zoomr/kvcache"
	"github.com/zoomr-go/zoomr/summarize"
)

// Masks are [T, T] float32 row-major grids (row = query, column = key; 1 = attend). Rows past an
// example's length (padding) attend to themselves only, so every softmax has a term.

// CausalMask fills dst [T*T] with the full causal mask of an n-token sequence padded to T.
func CausalMask(n, T int, dst []float32) {
	clear(dst)
	for p := range T {
		row := dst[p*T : (p+1)*T]
		if p >= n {
			row[p] = 1
			continue
		}
		for q := 0; q <= p; q++ {
			row[q] = 1
		}
	}
}

// Selection is a zoom set: the thoughts whose bodies are attended from token index From on (until
// the next selection).
type Selection struct {
	From int
	IDs  []int
}

// View is a ZoomR restricted attention pattern: exactly what a decoder with a ZoomR cache lets a token
// see, from the one definition of ZoomR's attended set (kvcache.AttendedSpans). Every token attends
// to itself and to the whole prompt, the summaries of the newest sealed thoughts that fit SummaryCap
// tokens, the Window tokens before it, and the bodies of the zoomed thoughts (the last SlotLen tokens
// of each when SlotLen > 0).
type View struct {
	Window  int
	SlotLen int
	// SummaryCap is the summary region's size in tokens (0: kvcache's default).
	SummaryCap int
	Zoom       []Selection // in order of From
}

// ViewConfig is how restricted views are drawn for training.
type ViewConfig struct {
	// Restricted is the share of examples trained under a restricted view rather than the full
	// causal mask (default 0.5; < 0 means none).
	Restricted float64
	// WindowMin..WindowMax is the range of the window (default 64..96).
	WindowMin, WindowMax int
	// Zoom is the most thoughts zoomed at once (default 2); SlotLen as in View.
	Zoom, SlotLen int
}

func (c ViewConfig) withDefaults() ViewConfig {
	if c.Restricted == 0 {
		c.Restricted = 0.5
	}
	if c.WindowMin == 0 && c.WindowMax == 0 {
		c.WindowMin, c.WindowMax = 64, 96
	}
	if c.Zoom == 0 {
		c.Zoom = 2
	}
	return c
}

// span is a half-open range of token indices.
type span struct{ from, to int }

// layout is where an example's thoughts are.
type layout struct {
	body     []span // per thought: its body tokens
	sealedAt []int  // per thought: index of its last summary token (-1: never sealed)
	answer   int    // index of the first answer token, -1 if none
	kinds    []summarize.Kind
	thought  []int // per token: its thought index (-1: prompt or answer)
}

// inSummaryOf reports whether token p is a summary token of thought t.
func (l layout) inSummaryOf(p, t int) bool {
	return l.kinds[p] == summarize.Summary && l.thought[p] == t
}

func layoutOf(e *Example) layout {
	k := e.Thoughts()
	l := layout{body: make([]span, k), sealedAt: make([]int, k), answer: -1, kinds: e.Kinds, thought: e.Thought}
	for t := range k {
		l.body[t] = span{-1, -1}
		l.sealedAt[t] = -1
	}
	for p, t := range e.Thought {
		switch {
		case t >= 0 && e.Kinds[p] == summarize.Thought:
			if l.body[t].from < 0 {
				l.body[t].from = p
			}
			l.body[t].to = p + 1
		case t >= 0 && e.Kinds[p] == summarize.Summary:
			l.sealedAt[t] = p
		case e.Kinds[p] == summarize.Answer && l.answer < 0:
			l.answer = p
		}
	}
	return l
}

// Draw draws a restricted view of e: a window in the configured range; after every sealed thought
// and after the first answer token a random set of up to Zoom sealed thoughts (what a selector
// might pick before it is trained); after the routing position the routed thought and random others.
func (c ViewConfig) Draw(e *Example, rng *rand.Rand) View {
	c = c.withDefaults()
	v := View{Window: c.WindowMin + rng.IntN(c.WindowMax-c.WindowMin+1), SlotLen: c.SlotLen}
	l := layoutOf(e)
	var points []int
	for _, p := range l.sealedAt {
		if p >= 0 {
			points = append(points, p)
		}
	}
	if l.answer >= 0 {
		points = append(points, l.answer)
	}
	for _, r := range points {
		if r != e.Route {
			v.Zoom = append(v.Zoom, Selection{From: r + 1, IDs: c.randomSet(l, r, -1, rng)})
		}
	}
	if e.Route >= 0 {
		v.Zoom = append(v.Zoom, Selection{From: e.Route + 1, IDs: c.randomSet(l, e.Route, e.RouteThought, rng)})
	}
	sortSelections(v.Zoom)
	return v
}

// randomSet picks up to Zoom thoughts sealed at or before r, always including must (if >= 0).
func (c ViewConfig) randomSet(l layout, r, must int, rng *rand.Rand) []int {
	var sealed []int
	for t, p := range l.sealedAt {
		if p >= 0 && p <= r && t != must {
			sealed = append(sealed, t)
		}
	}
	rng.Shuffle(len(sealed), func(i, j int) { sealed[i], sealed[j] = sealed[j], sealed[i] })
	n := rng.IntN(c.Zoom + 1)
	var ids []int
	if must >= 0 {
		ids = append(ids, must)
		n = max(n, 1)
	}
	for _, t := range sealed {
		if len(ids) >= n {
			break
		}
		ids = append(ids, t)
	}
	return ids
}

func sortSelections(s []Selection) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].From < s[j-1].From; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// RouteView is a view with nothing zoomed except ids from the routing position on (evaluation:
// ids = the routed thought for an oracle, a selector's choice, or none for summaries only).
func RouteView(e *Example, window int, ids []int) View {
	v := View{Window: window}
	if e.Route >= 0 && len(ids) > 0 {
		v.Zoom = []Selection{{From: e.Route + 1, IDs: ids}}
	}
	return v
}

// cacheConfig is the ZoomR cache whose attended set the view is, for an example of n tokens (sizes
// that make no cache are clamped: a window of at least 1, a summary cap of at least 0).
func (v View) cacheConfig(n int) kvcache.Config {
	slot := v.SlotLen
	if slot <= 0 {
		slot = n + 1 // the whole body
	}
	// The layout only sizes buffers, which a view never allocates.
	return kvcache.Config{Layout: kvcache.Layout{Layers: 1, KVHeads: 1, HeadDim: 1}, Window: max(1, v.Window),
		SummaryCap: max(0, v.SummaryCap), ZoomSlots: 1, ZoomSlotLen: slot}
}

// thoughts are the example's thoughts as the decoder's tracker reports them to the cache: body then
// summary, in order (a thought never sealed is left out).
func (l layout) thoughts() []kvcache.Thought {
	var out []kvcache.Thought
	for t, end := range l.sealedAt {
		if end < 0 {
			break
		}
		sumStart := end + 1
		for sumStart > 0 && l.inSummaryOf(sumStart-1, t) {
			sumStart--
		}
		body := kvcache.Span{Start: sumStart, End: sumStart}
		if b := l.body[t]; b.from >= 0 {
			body.Start = b.from
		}
		out = append(out, kvcache.Thought{ID: kvcache.ThoughtID(t), Body: body, Summary: kvcache.Span{Start: sumStart, End: end + 1}})
	}
	return out
}

// visible calls see(q) for every token index q that token p attends to under v (sel is the
// selection in force at p, or nil): kvcache.AttendedSpans of the thoughts sealed before p (a thought
// is sealed once its last summary token is in), and p itself.
func (v View) visible(e *Example, l layout, thoughts []kvcache.Thought, p int, sel *Selection, see func(q int)) {
	sealed := 0
	for sealed < len(thoughts) && thoughts[sealed].Summary.End <= p {
		sealed++
	}
	var zoomed []kvcache.ThoughtID
	if sel != nil {
		for _, t := range sel.IDs {
			if t < sealed {
				zoomed = append(zoomed, kvcache.ThoughtID(t))
			}
		}
	}
	cfg := v.cacheConfig(e.Len())
	cfg.ZoomSlots = max(1, len(zoomed))
	spans, err := kvcache.AttendedSpans(cfg, e.PromptLen, thoughts[:sealed], zoomed, p)
	if err != nil { // unreachable: the config is clamped and the ids are sealed thoughts
		panic(fmt.Sprintf("train: attended spans: %v", err))
	}
	for _, s := range spans {
		for q := s.Start; q < s.End; q++ {
			see(q)
		}
	}
	see(p)
}

// each calls fn for every token index with the selection in force there.
func (v View) each(n int, fn func(p int, sel *Selection)) {
	si := -1
	for p := range n {
		for si+1 < len(v.Zoom) && v.Zoom[si+1].From <= p {
			si++
		}
		var sel *Selection
		if si >= 0 {
			sel = &v.Zoom[si]
		}
		fn(p, sel)
	}
}

// Fill writes the view's mask of e, padded to T, into dst [T*T].
func (v View) Fill(e *Example, T int, dst []float32) {
	clear(dst)
	l := layoutOf(e)
	thoughts := l.thoughts()
	v.each(e.Len(), func(p int, sel *Selection) {
		row := dst[p*T : (p+1)*T]
		v.visible(e, l, thoughts, p, sel, func(q int) { row[q] = 1 })
	})
	for p := e.Len(); p < T; p++ {
		dst[p*T+p] = 1
	}
}
