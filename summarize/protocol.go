package summarize

import (
	"errors"
	"fmt"
	"slices"
)

// Default summary markers: the special tokens a model is fine-tuned to wrap its summaries in.
const (
	DefaultBeginSummary = "<|begin_of_summary|>"
	DefaultEndSummary   = "<|end_of_summary|>"
)

// Errors of the protocol and the segmenters; wrapped with the details, test with errors.Is.
var (
	// ErrUnknownToken: a marker string is not a single token of the vocabulary.
	ErrUnknownToken = errors.New("summarize: marker is not a token of the vocabulary")
	// ErrMarkers: marker ids that are negative or collide.
	ErrMarkers = errors.New("summarize: invalid marker ids")
	// ErrConfig: an invalid segmenter configuration.
	ErrConfig = errors.New("summarize: invalid configuration")
)

// Vocab resolves a token's text to its id (special tokens included), as model/tokenizer does.
type Vocab interface {
	TokenID(s string) (int, bool)
}

// Protocol names the marker tokens by their text. The zero value uses the default summary markers
// and no answer marker.
type Protocol struct {
	BeginSummary string `json:"begin_summary,omitzero"` // "" means DefaultBeginSummary
	EndSummary   string `json:"end_summary,omitzero"`   // "" means DefaultEndSummary
	// AnswerMarker, when set (e.g. "</think>"), ends the reasoning: it and every later token are
	// Answer. "" means the stream has no answer marker.
	AnswerMarker string `json:"answer_marker,omitzero"`
}

// Begin returns the begin-summary marker text, with the default applied.
func (p Protocol) Begin() string { return cmpOr(p.BeginSummary, DefaultBeginSummary) }

// End returns the end-summary marker text, with the default applied.
func (p Protocol) End() string { return cmpOr(p.EndSummary, DefaultEndSummary) }

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Resolve looks the markers up in a vocabulary.
func (p Protocol) Resolve(v Vocab) (Markers, error) {
	var m Markers
	var ok bool
	if m.Begin, ok = v.TokenID(p.Begin()); !ok {
		return Markers{}, fmt.Errorf("%w: begin summary %q", ErrUnknownToken, p.Begin())
	}
	if m.End, ok = v.TokenID(p.End()); !ok {
		return Markers{}, fmt.Errorf("%w: end summary %q", ErrUnknownToken, p.End())
	}
	if p.AnswerMarker != "" {
		id, ok := v.TokenID(p.AnswerMarker)
		if !ok {
			return Markers{}, fmt.Errorf("%w: answer marker %q", ErrUnknownToken, p.AnswerMarker)
		}
		m.Answer = []int{id}
	}
	return m, m.Validate()
}

// Markers are the protocol's token ids.
type Markers struct {
	Begin, End int
	// Answer lists the ids that start the answer (any of them); empty means no answer marker.
	Answer []int
}

// Validate checks that the ids are non-negative and distinct.
func (m Markers) Validate() error {
	if m.Begin < 0 || m.End < 0 {
		return fmt.Errorf("%w: begin %d, end %d", ErrMarkers, m.Begin, m.End)
	}
	if m.Begin == m.End {
		return fmt.Errorf("%w: begin and end are both %d", ErrMarkers, m.Begin)
	}
	for _, a := range m.Answer {
		if a < 0 || a == m.Begin || a == m.End {
			return fmt.Errorf("%w: answer marker %d (begin %d, end %d)", ErrMarkers, a, m.Begin, m.End)
		}
	}
	return nil
}

// idSet is a small immutable set of token ids (sorted, unique): lookups allocate nothing.
type idSet []int

func newIDSet(ids []int) idSet {
	s := slices.Clone(ids)
	slices.Sort(s)
	return slices.Compact(s)
}

func (s idSet) has(id int) bool {
	if len(s) <= 8 {
		return slices.Contains(s, id)
	}
	_, ok := slices.BinarySearch(s, id)
	return ok
}
