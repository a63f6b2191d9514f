package kvcache

import "errors"

// Sentinel errors. Every error returned by this package wraps exactly one of them (test with errors.Is);
// the wrapping message carries the numbers involved. A call that returns an error leaves the cache
// exactly as it was, except ErrInternal.
var (
	// ErrLayout: a Layout with non-positive sizes or an unsupported dtype.
	ErrLayout = errors.New("kvcache: invalid layout")
	// ErrConfig: a policy configuration that cannot be built (negative sizes, inconsistent options),
	// or a policy name the registry does not know.
	ErrConfig = errors.New("kvcache: invalid config")
	// ErrBudget: the configured token budget cannot hold the regions asked for (e.g. smaller than sinks + window).
	ErrBudget = errors.New("kvcache: budget too small")
	// ErrShape: K/V, query, score or attention slices of the wrong length.
	ErrShape = errors.New("kvcache: wrong shape")
	// ErrPosition: Append at a position other than the next one (Len()), or a thought past it.
	ErrPosition = errors.New("kvcache: wrong position")
	// ErrPromptClosed: AppendPrompt after generation started.
	ErrPromptClosed = errors.New("kvcache: prompt already closed")
	// ErrEmptyThought: Seal of a thought with neither body nor summary.
	ErrEmptyThought = errors.New("kvcache: empty thought")
	// ErrUnknownThought: a ThoughtID that was never sealed, or a Seal out of order.
	ErrUnknownThought = errors.New("kvcache: unknown thought")
	// ErrDuplicateThought: the same ThoughtID twice in one Zoom.
	ErrDuplicateThought = errors.New("kvcache: duplicate thought")
	// ErrTooManyThoughts: more thoughts than zoom slots.
	ErrTooManyThoughts = errors.New("kvcache: more thoughts than zoom slots")
	// ErrArgument: an argument out of its range (a thought's spans overlapping the prompt or the previous
	// thought, a slot or position that is not there).
	ErrArgument = errors.New("kvcache: invalid argument")
	// ErrInternal: a buffer of the cache was found invalid (e.g. its tensors were finalized by a caller,
	// or a device refused memory): Reset the cache.
	ErrInternal = errors.New("kvcache: internal buffer error")
)
