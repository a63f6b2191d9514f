package summarize

// Event is what a Segmenter reports for one token: the token's kind and the boundaries it makes.
//
// A decoder applies it in this order (see the package documentation for the kvcache calls):
//
//  1. Seal.BeforeToken set: seal the thought described by Seal now (the answer marker arrived while
//     it was open; this token is not part of it).
//  2. SummaryBegan: the body of thought Thought ended with the previous token; begin its summary.
//  3. Append this token's KV.
//  4. ThoughtSealed or SealedWithoutSummary without BeforeToken: this token was the thought's last;
//     seal it.
//  5. Reselect: choose the zoomed thoughts again.
type Event struct {
	Kind Kind
	// Thought is the index (0, 1, ... in stream order) of the thought this token belongs to, body or
	// summary; -1 for answer tokens.
	Thought int
	// SummaryBegan: this token (the begin marker) is the first token of thought Thought's summary.
	SummaryBegan bool
	// ThoughtSealed: a thought was sealed with a summary (its summary closed; see Seal).
	ThoughtSealed bool
	// SealedWithoutSummary: a thought was sealed with no summary tokens (paragraph break, forced
	// split, stray end marker, or the answer marker; see Seal).
	SealedWithoutSummary bool
	// AnswerBegan: this token is the answer marker; it and all later tokens are Answer.
	AnswerBegan bool
	// Reselect: a re-selection point after this token.
	Reselect bool
	// Seal describes the sealed thought when ThoughtSealed or SealedWithoutSummary is set.
	Seal Seal
}

// Seal describes a thought at the moment it is sealed.
type Seal struct {
	Thought    int // its index
	BodyLen    int // tokens in its body (0 if a summary began right after the previous thought)
	SummaryLen int // tokens in its summary, both markers included; 0 when sealed without summary
	// Tail > 0 asks the cache to use the body's last Tail tokens as the summary region of a thought
	// sealed without summary (its spans then end with Tail summary positions); Tail <= BodyLen.
	Tail   int
	Reason SealReason
	// BeforeToken: the thought ended with the previous token; seal it before appending this one.
	BeforeToken bool
}

// Sealed reports whether the event seals a thought, with or without summary.
func (e Event) Sealed() bool { return e.ThoughtSealed || e.SealedWithoutSummary }

// Segmenter tags a generated token stream one token at a time and reports its boundaries.
// Implementations are deterministic state machines; Observe never fails: malformed streams are
// repaired by documented rules. Not safe for concurrent use.
type Segmenter interface {
	// Observe takes the next generated token (the prompt is not fed) and describes it.
	Observe(token int) Event
	// Reset forgets the stream: the next token starts thought 0.
	Reset()
}
