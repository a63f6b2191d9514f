package kvcache

import (
	"fmt"
	"slices"
	"unsafe"
)

// ZoomR is the hierarchical cache of the paper: sink/prompt + summary index + zoomed thoughts +
// sliding window in the active context (spans.go defines each region), the full KV of the stream in a
// host store, and one mean summary key per sealed thought in an index that ScoreSummaries reads.
type ZoomR struct{ h *hier }

// SumR is the "summaries only" baseline of the paper: sink/prompt + the summaries of the newest
// thoughts + a window, no zoom. Its host store keeps only the open thought (what it needs to index
// and place the thought's summary when it is sealed), so its host bytes stay bounded too.
type SumR struct{ h *hier }

// NewZoomR builds a ZoomR cache. Zero Config fields take their defaults.
func NewZoomR(cfg Config) (*ZoomR, error) {
	h, err := newHier(cfg, true)
	if err != nil {
		return nil, err
	}
	return &ZoomR{h}, nil
}

// NewSumR builds a SumR cache from the Config's sinks, window and summary region (its zoom fields are
// ignored).
func NewSumR(cfg Config) (*SumR, error) {
	h, err := newHier(cfg, false)
	if err != nil {
		return nil, err
	}
	return &SumR{h}, nil
}

// hier is the engine of ZoomR and SumR.
type hier struct {
	cfg  Config // resolved
	zoom bool   // ZoomR; SumR keeps only the open thought on the host
	pool *SlotPool
	host *HostStore

	stream

	thoughts []Thought
	kbar     []float32   // [T][L, KVH, D] mean summary keys
	sumFirst int         // thoughts[sumFirst:] have their summary resident
	sumUsed  int         // summary positions resident
	zoomed   []ThoughtID // per zoom slot, -1 when free
	zoomUsed int         // zoomed body positions resident

	peakHost int64
}

// thoughtRecordBytes is what the index keeps per sealed thought besides its mean key.
const thoughtRecordBytes = int(unsafe.Sizeof(Thought{}))

func newHier(cfg Config, zoom bool) (*hier, error) {
	r, err := cfg.resolve(zoom, true)
	if err != nil {
		return nil, err
	}
	h := &hier{cfg: r, zoom: zoom, stream: stream{lay: r.Layout}}
	if h.host, err = NewHostStore(r.Layout, r.HostBlock); err != nil {
		return nil, err
	}
	// The pool's bound waits for the prompt: the budget depends on its length (whole-prompt sink).
	if h.pool, err = r.pool(0); err != nil {
		return nil, err
	}
	h.init()
	return h, nil
}

// init sets the empty state.
func (h *hier) init() {
	h.reset()
	h.thoughts, h.kbar = nil, nil
	h.sumFirst, h.sumUsed, h.zoomUsed = 0, 0, 0
	h.zoomed = slices.Repeat([]ThoughtID{-1}, h.cfg.ZoomSlots)
}

func (h *hier) sinkEnd() int { return h.cfg.SinkEnd(h.prompt) }

// put stores the token at position n: host store, then its slot (one reference: the sink's or the
// window's), then the window slides past the position that leaves it.
func (h *hier) put(k, v []float32) error {
	p := h.n
	if old := p - h.cfg.Window; old >= h.sinkEnd() { // first make room: the position leaving the window
		if err := h.pool.Unref(old); err != nil {
			return err
		}
	}
	if err := h.pool.Put(p, k, v); err != nil {
		return err
	}
	h.host.Append(k, v)
	h.n++
	h.track()
	return nil
}

func (h *hier) track() { h.peakHost = max(h.peakHost, h.host.Bytes()) }

func (h *hier) appendPrompt(k, v []float32, n int) error {
	if err := h.checkPrompt(k, v, n); err != nil {
		return err
	}
	// The budget grows with the prompt (whole-prompt sink): bound the pool by it before storing.
	if err := h.pool.SetMax(h.cfg.budget(h.prompt + n).Tokens); err != nil {
		return err
	}
	return h.lay.eachToken(k, v, n, func(k, v []float32) error {
		h.prompt++ // a prompt token: in whole-prompt mode the sink end moves past it
		return h.put(k, v)
	})
}

func (h *hier) append(pos int, k, v []float32) error {
	if err := h.checkAppend(pos, k, v); err != nil {
		return err
	}
	if !h.closed {
		// The budget is known once the prompt is: the sinks + every other region.
		if err := h.pool.SetMax(h.cfg.budget(h.prompt).Tokens); err != nil {
			return err
		}
		h.closed = true
	}
	return h.put(k, v)
}

// checkSeal validates th against the thoughts so far and the positions appended.
func (h *hier) checkSeal(th Thought) error {
	prev := h.prompt
	if len(h.thoughts) > 0 {
		prev = h.thoughts[len(h.thoughts)-1].Span().End
	}
	switch {
	case int(th.ID) != len(h.thoughts):
		return fmt.Errorf("%w: Seal of thought %d, the next thought is %d", ErrUnknownThought, th.ID, len(h.thoughts))
	case th.Body.End != th.Summary.Start || th.Body.Start > th.Body.End || th.Summary.Start > th.Summary.End:
		return fmt.Errorf("%w: thought %d has body %v and summary %v (want contiguous spans)", ErrArgument, th.ID, th.Body, th.Summary)
	case th.Span().Empty():
		return fmt.Errorf("%w: thought %d has no tokens", ErrEmptyThought, th.ID)
	case th.Body.Start < prev:
		return fmt.Errorf("%w: thought %d starts at %d, before the end of the prompt or previous thought (%d)", ErrArgument, th.ID, th.Body.Start, prev)
	case th.Summary.End > h.n:
		return fmt.Errorf("%w: thought %d ends at %d, only %d positions appended", ErrPosition, th.ID, th.Summary.End, h.n)
	}
	return nil
}

// seal indexes th (its mean key), places its summary and evicts the oldest ones that no longer fit.
func (h *hier) seal(th Thought) error {
	if err := h.checkSeal(th); err != nil {
		return err
	}
	kb := make([]float32, h.lay.TokenElems())
	if err := h.host.MeanKey(kb, th.indexKeys()); err != nil {
		return err
	}
	h.thoughts = append(h.thoughts, th)
	h.kbar = append(h.kbar, kb...)
	sinkEnd := h.sinkEnd()
	first := h.cfg.ResidentSummaries(h.thoughts, sinkEnd)
	for ; h.sumFirst < first; h.sumFirst++ { // evict first, so the region never exceeds its budget
		if s := h.cfg.SummarySpan(h.thoughts[h.sumFirst], sinkEnd); !s.Empty() {
			if err := h.pool.UnrefSpan(s); err != nil {
				return err
			}
			h.sumUsed -= s.Len()
		}
	}
	if s := h.cfg.SummarySpan(th, sinkEnd); !s.Empty() {
		if err := h.pool.RefSpan(s, h.host); err != nil {
			return err
		}
		h.sumUsed += s.Len()
	}
	if !h.zoom {
		h.host.DropBefore(th.Span().End) // SumR: only the open thought from here on
	}
	h.track()
	return nil
}

// checkZoom validates a zoom set.
func (h *hier) checkZoom(ids []ThoughtID) error {
	if len(ids) > h.cfg.ZoomSlots {
		return fmt.Errorf("%w: %d thoughts for %d zoom slots", ErrTooManyThoughts, len(ids), h.cfg.ZoomSlots)
	}
	for i, id := range ids {
		switch {
		case id < 0 || int(id) >= len(h.thoughts):
			return fmt.Errorf("%w: thought %d (%d sealed)", ErrUnknownThought, id, len(h.thoughts))
		case slices.Contains(ids[:i], id):
			return fmt.Errorf("%w: thought %d", ErrDuplicateThought, id)
		}
	}
	return nil
}

// setZoom zooms ids: thoughts leaving the set drop their body's references (the window's copies, if
// any, stay), new ones take free zoom slots and reference their bodies, loaded from the host store.
func (h *hier) setZoom(ids []ThoughtID) error {
	if err := h.checkZoom(ids); err != nil {
		return err
	}
	sinkEnd := h.sinkEnd()
	for s, id := range h.zoomed {
		if id >= 0 && !slices.Contains(ids, id) {
			span := h.cfg.ZoomSpan(h.thoughts[id], sinkEnd)
			if err := h.pool.UnrefSpan(span); err != nil {
				return err
			}
			h.zoomUsed -= span.Len()
			h.zoomed[s] = -1
		}
	}
	for _, id := range ids {
		if slices.Contains(h.zoomed, id) {
			continue
		}
		s := slices.Index(h.zoomed, -1)
		span := h.cfg.ZoomSpan(h.thoughts[id], sinkEnd)
		if err := h.pool.RefSpan(span, h.host); err != nil {
			return err
		}
		h.zoomUsed += span.Len()
		h.zoomed[s] = id
	}
	return nil
}

func (h *hier) zoomedIDs() []ThoughtID {
	var ids []ThoughtID
	for _, id := range h.zoomed {
		if id >= 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

func (h *hier) memory() Memory {
	sink := min(h.n, h.sinkEnd())
	m := h.pool.memory(h.n)
	m.HostBytes, m.PeakHostBytes = h.host.Bytes(), h.peakHost
	// The index's exact heap: the slices' capacities (append doubles them), not their lengths.
	m.IndexBytes = int64(cap(h.kbar))*4 + int64(cap(h.thoughts))*int64(thoughtRecordBytes)
	m.Attended = Regions{Sink: sink, Summary: h.sumUsed, Zoom: h.zoomUsed}
	m.Attended.Window = h.pool.Resident() - sink - h.sumUsed - h.zoomUsed
	return m
}

func (h *hier) clear() {
	h.pool.Reset(0)
	h.host.Release()
	h.peakHost = 0
	h.init()
}

// regionSpans lists the attended positions per region (tests and debugging).
func (h *hier) regionSpans() map[string][]Span {
	sinkEnd := h.sinkEnd()
	out := map[string][]Span{"sink": {{0, min(h.n, sinkEnd)}}, "window": {h.cfg.WindowSpan(sinkEnd, h.n)}}
	for _, th := range h.thoughts[h.sumFirst:] {
		out["summary"] = append(out["summary"], h.cfg.SummarySpan(th, sinkEnd))
	}
	for _, id := range h.zoomed {
		if id >= 0 {
			out["zoom"] = append(out["zoom"], h.cfg.ZoomSpan(h.thoughts[id], sinkEnd))
		}
	}
	return out
}

// Config is the resolved configuration (defaults applied).
func (z *ZoomR) Config() Config { return z.h.cfg }

// Layout implements Cache.
func (z *ZoomR) Layout() Layout { return z.h.lay }

// Len implements Cache.
func (z *ZoomR) Len() int { return z.h.n }

// AppendPrompt implements Cache.
func (z *ZoomR) AppendPrompt(k, v []float32, n int) error { return z.h.appendPrompt(k, v, n) }

// Append implements Cache.
func (z *ZoomR) Append(pos int, k, v []float32) error { return z.h.append(pos, k, v) }

// Context implements Cache.
func (z *ZoomR) Context() (Context, error) { return z.h.pool.Context() }

// Memory implements Cache.
func (z *ZoomR) Memory() Memory { return z.h.memory() }

// Reset implements Cache.
func (z *ZoomR) Reset() { z.h.clear() }

// Seal implements Sealer: the thought's mean key joins the index, its summary the summary region.
func (z *ZoomR) Seal(th Thought) error { return z.h.seal(th) }

// NumThoughts is the number of sealed thoughts.
func (z *ZoomR) NumThoughts() int { return len(z.h.thoughts) }

// ZoomCapacity implements Zoomer.
func (z *ZoomR) ZoomCapacity() int { return z.h.cfg.ZoomSlots }

// Zoom implements Zoomer.
func (z *ZoomR) Zoom(ids []ThoughtID) error { return z.h.setZoom(ids) }

// Zoomed implements Zoomer.
func (z *ZoomR) Zoomed() []ThoughtID { return z.h.zoomedIDs() }

// ScoreSummaries implements Zoomer, over every sealed thought (also those whose summary left the
// summary region: their mean keys stay in the index).
func (z *ZoomR) ScoreSummaries(q, dst []float32) error {
	return ScoreSummaries(z.h.lay, z.h.kbar, q, dst)
}

// Layout implements Cache.
func (s *SumR) Layout() Layout { return s.h.lay }

// Len implements Cache.
func (s *SumR) Len() int { return s.h.n }

// AppendPrompt implements Cache.
func (s *SumR) AppendPrompt(k, v []float32, n int) error { return s.h.appendPrompt(k, v, n) }

// Append implements Cache.
func (s *SumR) Append(pos int, k, v []float32) error { return s.h.append(pos, k, v) }

// Context implements Cache.
func (s *SumR) Context() (Context, error) { return s.h.pool.Context() }

// Memory implements Cache.
func (s *SumR) Memory() Memory { return s.h.memory() }

// Reset implements Cache.
func (s *SumR) Reset() { s.h.clear() }

// Seal implements Sealer.
func (s *SumR) Seal(th Thought) error { return s.h.seal(th) }

var (
	_ Zoomer = (*ZoomR)(nil)
	_ Sealer = (*SumR)(nil)
)

func init() {
	mustRegister(Policy{Name: PolicyZoomR, Doc: "prompt + summaries + zoomed thoughts + window (the paper's)",
		New: func(cfg Config) (Cache, error) { return NewZoomR(cfg) }})
	mustRegister(MatchedPolicy(PolicySumR, "prompt + summaries + window, no zoom (its zoom slots become window)", func(c Config, b Budget) (Cache, error) {
		c.Window, c.SummaryCap = b.Window+b.Zoom, b.Summary
		return NewSumR(c)
	}))
}
