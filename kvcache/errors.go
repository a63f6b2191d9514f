package kvcache

import "errors"

// Sentinel errors. Every error returned by this package wraps exactly one of them (test with errors.Is);
// the wrapping message carries the numbers involved. A call that returns an error leaves the cache
// exactly as it was.
var (
	// ErrLayout: a Layout with non-positive sizes or an unsupported dtype.
	ErrLayout = errors.New("kvcache: invalid layout")
	// ErrConfig: a policy configuration that cannot be built (negative sizes, inconsistent options).
	ErrConfig = errors.New("kvcache: invalid config")
	// ErrBudget: the configured token budget cannot hold the regions asked for (e.g. smaller than sinks + window).
	ErrBudget = errors.New("kvcache: budget too small")
	// ErrShape: K/V, query, score or attention slices of the wrong length.
	ErrShape = errors.New("kvcache: wrong shape")
	// ErrPosition: Append at a position other than the next one (Len()).
	ErrPosition = errors.New("kvcache: wrong position")
	// ErrPromptClosed: AppendPrompt after generation started.
	ErrPromptClosed = errors.New("kvcache: prompt already closed")
	// ErrNothingOpen: Seal with no summary open, or SealWithoutSummary with no thought body open.
	ErrNothingOpen = errors.New("kvcache: nothing open to seal")
	// ErrSummaryOpen: BeginSummary or SealWithoutSummary while a summary is already open.
	ErrSummaryOpen = errors.New("kvcache: a summary is already open")
	// ErrEmptySummary: Seal of a summary that has no tokens.
	ErrEmptySummary = errors.New("kvcache: empty summary")
	// ErrUnknownThought: a ThoughtID that was never issued.
	ErrUnknownThought = errors.New("kvcache: unknown thought")
	// ErrUnsealedThought: the ThoughtID of the thought still being written (it gets its ID when sealed).
	ErrUnsealedThought = errors.New("kvcache: thought not sealed yet")
	// ErrDuplicateThought: the same ThoughtID twice in one Zoom.
	ErrDuplicateThought = errors.New("kvcache: duplicate thought")
	// ErrTooManyThoughts: more thoughts than zoom slots.
	ErrTooManyThoughts = errors.New("kvcache: more thoughts than zoom slots")
	// ErrNotSupported: an operation the policy does not have (Zoom on a policy without zoom slots,
	// ScoreSummaries without a summary index).
	ErrNotSupported = errors.New("kvcache: not supported by this policy")
	// ErrInternal: a buffer of the cache was found invalid (e.g. its tensors were finalized by a caller).
	ErrInternal = errors.New("kvcache: internal buffer error")
)

// ErrArgument: an argument out of its range (e.g. a SealWithoutSummary tail longer than the thought).
var ErrArgument = errors.New("kvcache: invalid argument")
