package summarize

import "fmt"

// Kind says what part of the sequence a token belongs to.
type Kind uint8

const (
	// Prompt: the user's input (and the chat template). Never generated, never trained on.
	Prompt Kind = iota
	// Thought: the body of a reasoning paragraph.
	Thought
	// Summary: a thought's summary, including its begin and end markers.
	Summary
	// Answer: the final answer, from the answer marker (e.g. "</think>") on.
	Answer
)

var kindNames = [...]string{"prompt", "thought", "summary", "answer"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// SealReason says why a thought was sealed.
type SealReason uint8

const (
	// SealNone: no thought was sealed.
	SealNone SealReason = iota
	// SealEndMarker: its summary closed with the end marker (the normal case).
	SealEndMarker
	// SealMaxSummary: its summary reached Config.MaxSummaryLen without an end marker.
	SealMaxSummary
	// SealMaxThought: its body reached the maximum thought length (forced split, no summary).
	SealMaxThought
	// SealStrayEnd: an end marker arrived with no summary open; it closes the body, no summary.
	SealStrayEnd
	// SealParagraph: a paragraph break ended it (ParagraphSegmenter).
	SealParagraph
	// SealAnswer: the answer marker arrived while it was open.
	SealAnswer
)

var reasonNames = [...]string{"none", "end-marker", "max-summary", "max-thought", "stray-end", "paragraph", "answer"}

func (r SealReason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("SealReason(%d)", r)
}
