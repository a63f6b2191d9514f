package summarize

import "fmt"

// Reselect chooses the re-selection points besides, by default, every boundary (each sealed thought
// and the start of the answer).
type Reselect struct {
	// SentenceEnds lists token ids that end a sentence ("." "?" "!" ...): re-select after each one
	// in a thought body or in the answer (not inside summaries, whose end re-selects anyway).
	SentenceEnds []int
	// Every re-selects when this many tokens have passed since the last re-selection point
	// (0: never).
	Every int
	// NotAtBoundaries turns off re-selection at seals and at the start of the answer.
	NotAtBoundaries bool
}

func (r Reselect) validate() error {
	if r.Every < 0 {
		return fmt.Errorf("%w: Reselect.Every %d < 0", ErrConfig, r.Every)
	}
	return nil
}

// ticker applies a Reselect to a stream.
type ticker struct {
	sentence   idSet
	every      int
	boundaries bool
	since      int // tokens since the last re-selection point
}

func newTicker(r Reselect) ticker {
	return ticker{sentence: newIDSet(r.SentenceEnds), every: r.Every, boundaries: !r.NotAtBoundaries}
}

// point counts one token and reports whether a re-selection point follows it.
func (t *ticker) point(tok int, kind Kind, boundary bool) bool {
	t.since++
	hit := (boundary && t.boundaries) ||
		((kind == Thought || kind == Answer) && t.sentence.has(tok)) ||
		(t.every > 0 && t.since >= t.every)
	if hit {
		t.since = 0
	}
	return hit
}

func (t *ticker) reset() { t.since = 0 }
