package kvcache

import (
	"fmt"
	"sort"
)

type segState int

const (
	stateNone    segState = iota // no thought open: the next generated token opens one
	stateBody                    // a thought body is open
	stateSummary                 // its summary is open
)

// tracker follows the thought/summary protocol shared by every policy. Its check* methods validate
// a call without changing anything; the matching mutators assume the check passed.
type tracker struct {
	state   segState
	open    int // first position of the open thought (state != stateNone)
	sumOpen int // first position of the open summary (state == stateSummary)
	sealed  []Thought
}

func (t *tracker) onAppend(pos int) {
	if t.state == stateNone {
		t.state, t.open = stateBody, pos
	}
}

func (t *tracker) checkBegin() error {
	if t.state == stateSummary {
		return fmt.Errorf("%w: BeginSummary while the summary begun at position %d is open", ErrSummaryOpen, t.sumOpen)
	}
	return nil
}

// begin opens the summary at position n (an empty body if no thought was open).
func (t *tracker) begin(n int) {
	if t.state == stateNone {
		t.open = n
	}
	t.state, t.sumOpen = stateSummary, n
}

func (t *tracker) checkSeal(n int) error {
	if t.state != stateSummary {
		return fmt.Errorf("%w: Seal without an open summary (%d thoughts sealed)", ErrNothingOpen, len(t.sealed))
	}
	if n == t.sumOpen {
		return fmt.Errorf("%w: the summary begun at position %d has no tokens", ErrEmptySummary, t.sumOpen)
	}
	return nil
}

// next is the thought that sealing at position n with a summary of tail tokens would produce.
func (t *tracker) next(n, tail int) Thought {
	return Thought{ID: ThoughtID(len(t.sealed)), Body: Span{t.open, n - tail}, Summary: Span{n - tail, n}}
}

func (t *tracker) checkSealWithout(tail, n int) error {
	switch {
	case t.state == stateSummary:
		return fmt.Errorf("%w: SealWithoutSummary while the summary begun at position %d is open", ErrSummaryOpen, t.sumOpen)
	case t.state == stateNone:
		return fmt.Errorf("%w: SealWithoutSummary without an open thought (%d thoughts sealed)", ErrNothingOpen, len(t.sealed))
	case tail < 0 || tail > n-t.open:
		return fmt.Errorf("%w: tail %d for a thought of %d tokens", ErrArgument, tail, n-t.open)
	}
	return nil
}

func (t *tracker) commit(th Thought) {
	t.sealed = append(t.sealed, th)
	t.state = stateNone
}

// checkIDs validates a Zoom request against maxSlots zoom slots.
func (t *tracker) checkIDs(ids []ThoughtID, maxSlots int) error {
	if maxSlots == 0 && len(ids) > 0 {
		return fmt.Errorf("%w: Zoom of %d thoughts on a policy without zoom slots", ErrNotSupported, len(ids))
	}
	if len(ids) > maxSlots {
		return fmt.Errorf("%w: %d thoughts for %d zoom slots", ErrTooManyThoughts, len(ids), maxSlots)
	}
	seen := make(map[ThoughtID]bool, len(ids))
	for _, id := range ids {
		switch {
		case int(id) == len(t.sealed) && t.state != stateNone:
			return fmt.Errorf("%w: thought %d is still open (%d sealed)", ErrUnsealedThought, id, len(t.sealed))
		case id < 0 || int(id) >= len(t.sealed):
			return fmt.Errorf("%w: thought %d (%d sealed)", ErrUnknownThought, id, len(t.sealed))
		case seen[id]:
			return fmt.Errorf("%w: thought %d", ErrDuplicateThought, id)
		}
		seen[id] = true
	}
	return nil
}

// find returns the index of the sealed thought whose body or summary holds position p, or -1.
func (t *tracker) find(p int) int {
	i := sort.Search(len(t.sealed), func(i int) bool { return t.sealed[i].Summary.End > p })
	if i < len(t.sealed) && t.sealed[i].Body.Start <= p {
		return i
	}
	return -1
}

func (t *tracker) thought(id ThoughtID) (Thought, bool) {
	if id < 0 || int(id) >= len(t.sealed) {
		return Thought{}, false
	}
	return t.sealed[id], true
}
