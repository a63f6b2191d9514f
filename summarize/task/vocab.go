package task

import (
	"fmt"

	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
)

// Limits of the token families.
const (
	MaxSteps = 24 // step indices #0..#23, tags S0..S23 and N0..N23
	MaxWalk  = 32 // walk counters w1..w32
	NoteAt   = 6  // the note is the digit written after counter w6
)

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
func questionWord(k Kind) string {
	if k == Note {
		return wordNote
	}
	return wordValue
}

// Vocabulary is the word-level tokenizer of the task: special tokens first (pad, eos, the summary
// markers, the answer marker), then the words. Write it with tokenizer.WriteWordLevel.
func Vocabulary() tokenizer.WordLevelSpec {
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
func ReselectWords(f Form) []string {
	out := make([]string, 0, 2*MaxSteps)
	for i := range MaxSteps {
		out = append(out, tagS(i))
		if f == NoteTagForm {
			out = append(out, tagN(i))
		}
	}
	return out
}
