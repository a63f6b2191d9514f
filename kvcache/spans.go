package kvcache

import (
	"fmt"
	"slices"
)

// ZoomR's attended set, defined once. The cache keeps it incrementally (zoomr.go) and training masks
// (summarize/train) build it for every position from scratch, both from the functions below, so
// that a model is trained on exactly what decoding shows it. The token being decoded at position n
// attends to itself and to:
//
//	sink      [0, min(n, SinkEnd))
//	window    the Window positions before n that are not sinks
//	summary   the summaries of the newest sealed thoughts whose (clipped) lengths fit SummaryCap
//	zoom      the last ZoomSlotLen body positions of each zoomed thought
//
// Regions overlap (a fresh summary is also in the window); each position is attended once. A thought
// is sealed once its last token is appended: the token at n = th.Span().End is the first to see its
// summary in the summary region. Call these on a resolved Config (NewZoomR resolves; from outside,
// use AttendedSpans, which resolves itself).

// SinkEnd is the first position that is not a sink.
func (c Config) SinkEnd(promptLen int) int {
	if c.Sinks > 0 {
		return c.Sinks
	}
	return promptLen
}

// WindowSpan is the window of the token at position n: the Window positions before it, sinks excluded.
func (c Config) WindowSpan(sinkEnd, n int) Span {
	return Span{max(sinkEnd, n-c.Window), n}
}

// SummarySpan is the part of th's summary the summary region holds: sinks excluded, and the last
// SummaryCap positions of a longer summary.
func (c Config) SummarySpan(th Thought, sinkEnd int) Span {
	if c.SummaryCap == 0 {
		return Span{}
	}
	s := th.Summary.clip(sinkEnd).last(c.SummaryCap)
	if s.Empty() {
		return Span{}
	}
	return s
}

// ResidentSummaries is the index of the oldest sealed thought whose summary is in the summary region:
// the summaries of thoughts[first:] are (those with a non-empty SummarySpan), the older ones are not.
// It is the longest suffix that fits SummaryCap — what first-in-first-out eviction keeps, whatever
// the order the thoughts were sealed in.
func (c Config) ResidentSummaries(thoughts []Thought, sinkEnd int) (first int) {
	used := 0
	for i := len(thoughts) - 1; i >= 0; i-- {
		n := c.SummarySpan(thoughts[i], sinkEnd).Len()
		if used+n > c.SummaryCap {
			return i + 1
		}
		used += n
	}
	return 0
}

// ZoomSpan is the part of th's body a zoom slot holds: its last ZoomSlotLen positions, sinks excluded.
func (c Config) ZoomSpan(th Thought, sinkEnd int) Span {
	s := th.Body.clip(sinkEnd).last(c.ZoomSlotLen)
	if s.Empty() {
		return Span{}
	}
	return s
}

// AttendedSpans lists, sorted and merged, the positions the token at position n attends to besides
// itself under a ZoomR cache of config c after a prompt of promptLen tokens, with thoughts sealed
// (those whose last position is before n) and zoomed the zoomed set. Zero config fields take their
// defaults. Errors: an invalid config (ErrConfig, ErrLayout, ErrBudget), a zoomed id that is not among
// thoughts (ErrUnknownThought).
func AttendedSpans(c Config, promptLen int, thoughts []Thought, zoomed []ThoughtID, n int) ([]Span, error) {
	r, err := c.resolve(true, true)
	if err != nil {
		return nil, err
	}
	for _, id := range zoomed {
		if id < 0 || int(id) >= len(thoughts) {
			return nil, fmt.Errorf("%w: zoomed thought %d of %d", ErrUnknownThought, id, len(thoughts))
		}
	}
	return r.attendedSpans(nil, promptLen, thoughts, zoomed, n), nil
}

// attendedSpans appends to dst the attended spans (c resolved).
func (c Config) attendedSpans(dst []Span, promptLen int, thoughts []Thought, zoomed []ThoughtID, n int) []Span {
	sinkEnd := c.SinkEnd(promptLen)
	dst = append(dst[:0], Span{0, min(n, sinkEnd)}, c.WindowSpan(sinkEnd, n))
	for _, th := range thoughts[c.ResidentSummaries(thoughts, sinkEnd):] {
		dst = append(dst, c.SummarySpan(th, sinkEnd))
	}
	for _, id := range zoomed {
		dst = append(dst, c.ZoomSpan(thoughts[id], sinkEnd))
	}
	return mergeSpans(dst)
}

// mergeSpans sorts spans, drops empty ones and merges overlapping or adjacent ones, in place.
func mergeSpans(s []Span) []Span {
	s = slices.DeleteFunc(s, Span.Empty)
	slices.SortFunc(s, func(a, b Span) int { return a.Start - b.Start })
	out := s[:0]
	for _, x := range s {
		if len(out) > 0 && x.Start <= out[len(out)-1].End {
			out[len(out)-1].End = max(out[len(out)-1].End, x.End)
			continue
		}
		out = append(out, x)
	}
	return out
}
