package summarize

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of the training-data format.
var (
	// ErrSyntax: a line is not one JSON object of the record format (bad JSON, unknown field, a
	// missing field, trailing data).
	ErrSyntax = errors.New("summarize: malformed record")
	// ErrRecord: a well-formed record whose content is unusable (an empty prompt, no thoughts, an
	// empty thought text or summary, an empty answer).
	ErrRecord = errors.New("summarize: invalid record")
	// ErrLineTooLong: a line exceeds the reader's limit.
	ErrLineTooLong = errors.New("summarize: line too long")
)

// Record is one training example: a prompt, the reasoning cut into thoughts with their summaries,
// and the answer. On disk it is one JSON object per line (JSONL):
//
//	{"prompt": "...", "thoughts": [{"text": "...", "summary": "..."}], "answer": "..."}
//
// All three fields are required. See Renderer for how a record becomes tokens.
type Record struct {
	Prompt   string          `json:"prompt"`
	Thoughts []RecordThought `json:"thoughts"`
	Answer   string          `json:"answer"`
}

// RecordThought is one reasoning paragraph and its summary. Both are required: a thought without
// summary would have no boundary token, and a segmenter would read it as part of the next thought.
type RecordThought struct {
	Text    string `json:"text"`
	Summary string `json:"summary"`
}

// Validate checks the content: a non-blank prompt and answer, at least one thought, no blank
// thought text or summary.
func (r Record) Validate() error {
	switch {
	case strings.TrimSpace(r.Prompt) == "":
		return fmt.Errorf("%w: empty prompt", ErrRecord)
	case len(r.Thoughts) == 0:
		return fmt.Errorf("%w: no thoughts", ErrRecord)
	case strings.TrimSpace(r.Answer) == "":
		return fmt.Errorf("%w: empty answer", ErrRecord)
	}
	for i, t := range r.Thoughts {
		if strings.TrimSpace(t.Text) == "" {
			return fmt.Errorf("%w: thoughts[%d] has empty text", ErrRecord, i)
		}
		if strings.TrimSpace(t.Summary) == "" {
			return fmt.Errorf("%w: thoughts[%d] has empty summary", ErrRecord, i)
		}
	}
	return nil
}

// LineError locates an error in a JSONL stream (1-based line number).
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

func (e *LineError) Unwrap() error { return e.Err }
