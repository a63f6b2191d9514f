package kvcache

import "fmt"

// flat is what the policies without a hierarchy (Full, H2O) share: a token count and the thought
// protocol. They track thoughts so that the decoder drives every policy alike, but keep no summary
// index and no zoom slots.
type flat struct {
	lay     Layout
	n       int
	closed  bool
	tr      tracker
	moved   int64
	peakRes int64
}

// Layout implements Cache.
func (f *flat) Layout() Layout { return f.lay }

// Len implements Cache.
func (f *flat) Len() int { return f.n }

func (f *flat) checkAppend(pos int, k, v []float32) error {
	if err := f.lay.checkToken(k, v); err != nil {
		return err
	}
	if pos != f.n {
		return fmt.Errorf("%w: Append at %d, next position is %d", ErrPosition, pos, f.n)
	}
	return nil
}

func (f *flat) checkPrompt(k, v []float32, n int) error {
	if err := f.lay.checkChunk(k, v, n); err != nil {
		return err
	}
	if f.closed {
		return fmt.Errorf("%w: %d prompt tokens after %d tokens and the start of generation", ErrPromptClosed, n, f.n)
	}
	return nil
}

// BeginSummary implements Cache.
func (f *flat) BeginSummary() error {
	if err := f.tr.checkBegin(); err != nil {
		return err
	}
	f.closed = true
	f.tr.begin(f.n)
	return nil
}

// Seal implements Cache.
func (f *flat) Seal() (ThoughtID, error) {
	if err := f.tr.checkSeal(f.n); err != nil {
		return -1, err
	}
	th := f.tr.next(f.n, f.n-f.tr.sumOpen)
	f.tr.commit(th)
	return th.ID, nil
}

// SealWithoutSummary implements Cache.
func (f *flat) SealWithoutSummary(tail int) (ThoughtID, error) {
	if err := f.tr.checkSealWithout(tail, f.n); err != nil {
		return -1, err
	}
	th := f.tr.next(f.n, tail)
	f.tr.commit(th)
	return th.ID, nil
}

// NumThoughts implements Cache.
func (f *flat) NumThoughts() int { return len(f.tr.sealed) }

// Thought implements Cache.
func (f *flat) Thought(id ThoughtID) (Thought, bool) { return f.tr.thought(id) }

// ZoomCapacity implements Cache: no zoom slots.
func (f *flat) ZoomCapacity() int { return 0 }

// Zoom implements Cache: ErrNotSupported unless ids is empty.
func (f *flat) Zoom(ids []ThoughtID) error { return f.tr.checkIDs(ids, 0) }

// Zoomed implements Cache: always empty.
func (f *flat) Zoomed() []ThoughtID { return nil }

// ScoreSummaries implements Cache: ErrNotSupported (no summary index).
func (f *flat) ScoreSummaries(q, dst []float32) error {
	return fmt.Errorf("%w: ScoreSummaries without a summary index", ErrNotSupported)
}
