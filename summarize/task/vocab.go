package task

import (
	"fmt"

	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
)

// Limits of the token families of the standard scale (Vocabulary); the long scale's are
// LongMaxSteps and LongMaxWalk.
const (
	MaxSteps = 24 // step indices #0..#23, tags S0..S23 and N0..N23
	MaxWalk  = 32 // walk counters w1..w32
	NoteAt   = 6  // the note is the digit written after counter w6
)

// Limits of the long scale's token families (VocabularyOf(Long)).
const (
	LongMaxSteps = 48 // step indices #0..#47, tags S0..S47 and N0..N47
	LongMaxWalk  = 48 // walk counters w1..w48
)

// Scale is the size of the task's token families, and so of its problems: Standard (the zero
// value: up to 24 steps of up to 32 moves, the bundled model's 144 words) or Long (up to 48 steps
// of up to 48 moves; its vocabulary is the standard one with the further step tags and counters
// appended, so every standard word keeps its id and a standard model can grow into it).
type Scale uint8

const (
	Standard Scale = iota
	Long
)

func (s Scale) String() string {
	switch s {
	case Standard:
		return "standard"
	case Long:
		return "long"
	}
	return fmt.Sprintf("scale(%d)", uint8(s))
}

func (s Scale) valid() bool { return s <= Long }

// MaxSteps is the most steps a problem of the scale has (its step tags).
func (s Scale) MaxSteps() int {
	if s == Long {
		return LongMaxSteps
	}
	return MaxSteps
}

// MaxWalk is the longest walk of the scale (its counters).
func (s Scale) MaxWalk() int {
	if s == Long {
		return LongMaxWalk
	}
	return MaxWalk
}

// ParseScale reads a Scale's String ("" is Standard).
func ParseScale(s string) (Scale, error) {
	switch s {
	case "standard", "":
		return Standard, nil
	case "long":
		return Long, nil
	}
	return 0, fmt.Errorf("%w: scale %q, want standard or long", ErrConfig, s)
}

// Special tokens.
const (
	BeginSummary = summarize.DefaultBeginSummary
	EndSummary   = summarize.DefaultEndSummary
	AnswerMarker = "<|answer|>"
	EOS          = "<eos>"
	Pad          = "<pad>"
)

// Plain words of the prompt and answer.
const (
	wordWalk  = "W"  // "W w24": the walk length
	wordStart = "="  // "= v3": the start value
	wordSteps = "P"  // "P #17 k4 …": the steps
	wordNote  = "QN" // question: the note of a step
	wordValue = "QV" // question: the value after a step
)

func digit(d int) string   { return fmt.Sprint(d) }
func value(d int) string   { return fmt.Sprintf("v%d", d) }
func key(d int) string     { return fmt.Sprintf("k%d", d) }
func index(i int) string   { return fmt.Sprintf("#%d", i) }
func tagS(i int) string    { return fmt.Sprintf("S%d", i) }
func tagN(i int) string    { return fmt.Sprintf("N%d", i) }
func counter(c int) string { return fmt.Sprintf("w%d", c) }

// QuestionWords are the words that ask a question, QN (a step's note) and QV (its value): a prompt's
// question and its restatement in the answer hold one.
func QuestionWords() []string { return []string{wordNote, wordValue} }

func questionWord(k Kind) string {
	if k == Note {
		return wordNote
	}
	return wordValue
}

// Vocabulary is the word-level tokenizer of the task: special tokens first (pad, eos, the summary
// markers, the answer marker), then the words. Write it with tokenizer.WriteWordLevel.
func Vocabulary() tokenizer.WordLevelSpec { return VocabularyOf(Standard) }

// VocabularyOf is the vocabulary of a scale: Vocabulary, then for Long the step tags #24..#47,
// S24..S47, N24..N47 and the counters w33..w48 (the standard ids unchanged). An invalid scale is
// Standard.
func VocabularyOf(s Scale) tokenizer.WordLevelSpec {
	words := []string{wordWalk, wordStart, wordSteps, wordNote, wordValue}
	for d := range 10 {
		words = append(words, digit(d), value(d), key(d))
	}
	for i := range MaxSteps {
		words = append(words, index(i), tagS(i), tagN(i))
	}
	for c := 1; c <= MaxWalk; c++ {
		words = append(words, counter(c))
	}
	if s == Long {
		for i := MaxSteps; i < LongMaxSteps; i++ {
			words = append(words, index(i), tagS(i), tagN(i))
		}
		for c := MaxWalk + 1; c <= LongMaxWalk; c++ {
			words = append(words, counter(c))
		}
	}
	return tokenizer.WordLevelSpec{
		Specials: []string{Pad, EOS, BeginSummary, EndSummary, AnswerMarker},
		Words:    words,
		EOS:      EOS,
	}
}

// Protocol is the summary protocol of the task: the default markers and the answer marker.
func Protocol() summarize.Protocol { return summarize.Protocol{AnswerMarker: AnswerMarker} }

// RenderOptions render task records for training: the markers of Protocol, no separators (every
// piece is whole words), and EOS after the answer.
func RenderOptions() summarize.RenderOptions {
	return summarize.RenderOptions{Protocol: Protocol(), Layout: &summarize.Layout{}, EndToken: EOS}
}

// ReselectWords are the tokens after which a decoder should re-select the zoomed thoughts: the tags
// a restated question ends with. In SummaryTagForm the summary tags S0..S23, which inside the trace
// only occur in summaries (which re-select at their end anyway). In NoteTagForm the note tags
// N0..N23 too, which also end each thought body (one more vote per thought, just before its seal).
func ReselectWords(f Form) []string { return ReselectWordsOf(f, Standard) }

// ReselectWordsOf is ReselectWords over the step tags of scale s.
func ReselectWordsOf(f Form, s Scale) []string {
	out := make([]string, 0, 2*s.MaxSteps())
	for i := range s.MaxSteps() {
		out = append(out, tagS(i))
		if f == NoteTagForm {
			out = append(out, tagN(i))
		}
	}
	return out
}
