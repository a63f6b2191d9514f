// Package taskpos names the single positions of the synthetic task's examples (summarize/task
// rendered by summarize/train) that a trace or an answer needs right once each: the answer word, the
// restated question's tag and word, the first step index, the start value, each summary's value,
// note, step index tags and header key. Training weighs them (examples/train's -*-weight flags) and a probe measures
// the model at them (examples/probe -positions): a copy that fails at one position per trace hides
// in the loss and in a trace's token accuracy.
package taskpos

import (
	"fmt"
	"slices"

	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/summarize/train"
)

// The classes' names, in precedence order.
const (
	AnswerWord   = "answer word"   // the note or value before EOS
	AnswerForm   = "answer form"   // an answer's fourth token, after "<|answer|> QN S5": a note answer's N tag
	QuestionTag  = "question tag"  // the restated question's tag, the routing position
	QuestionWord = "question word" // the restated question's word, QN or QV, next to its tag
	FirstIndex   = "first index"   // the trace's first token, the step index #K-1 read from the prompt
	StartValue   = "start value"   // the first thought's third token, the walk's start value read from the prompt
	SummaryValue = "summary value" // each summary's value, the word after its S tag
	Note         = "note"          // each thought's note, its body's last token
	TraceTag     = "trace tag"     // each thought's step index tags: the header's #i, the note's N_i, the summary's S_i
	HeaderKey    = "header key"    // each thought header's key, looked up in the prompt
	FirstThought = "first thought" // the first thought's other body tokens
)

// Class is a named class of positions.
type Class struct {
	Name string
	At   func(e *train.Example, t int) bool
}

// Words are the ids of the task words the classes look for.
type Words struct {
	Marker        int   // the answer marker
	QuestionWords []int // QN and QV
}

// WordIDs looks the task words up in tok.
func WordIDs(tok *tokenizer.Tokenizer) (Words, error) {
	var w Words
	for i, word := range append([]string{task.AnswerMarker}, task.QuestionWords()...) {
		id, ok := tok.TokenID(word)
		if !ok {
			return w, fmt.Errorf("the vocabulary has no task word %q", word)
		}
		if i == 0 {
			w.Marker = id
		} else {
			w.QuestionWords = append(w.QuestionWords, id)
		}
	}
	return w, nil
}

// Classes lists the classes in precedence order: where classes meet, the first wins (the answer
// word over everything, the first thought's body under everything). src tells the answer word.
func Classes(src *train.TaskSource, w Words) []Class {
	return []Class{
		{AnswerWord, src.IsAnswerWord},
		{AnswerForm, func(e *train.Example, t int) bool { return isAnswerForm(e, t, w.Marker) }},
		{QuestionTag, func(e *train.Example, t int) bool { return t == e.Route }},
		{QuestionWord, func(e *train.Example, t int) bool { return isQuestionWord(e, t, w.QuestionWords) }},
		{FirstIndex, isTraceStart},
		{StartValue, isStartValue},
		{SummaryValue, isSummaryValue},
		{Note, isNote},
		{TraceTag, isTraceTag},
		{HeaderKey, isHeaderKey},
		{FirstThought, inFirstThought},
	}
}

// Of is the index of the first of classes that holds position t of e, or -1.
func Of(classes []Class, e *train.Example, t int) int {
	for i, c := range classes {
		if c.At(e, t) {
			return i
		}
	}
	return -1
}

// isAnswerForm: t is an answer's fourth token, after "<|answer|> QN S5": the word that picks the
// answer's form (a note answer's N tag; in a value answer the answer word itself).
func isAnswerForm(e *train.Example, t, marker int) bool {
	return t >= 3 && e.Kinds[t] == summarize.Answer && e.Kinds[t-3] == summarize.Answer && e.IDs[t-3] == marker
}

// isQuestionWord: t is the restated question's word (QN or QV) in the answer, next to the routing tag
// (after it in the tag-first form, before it in the others). Only the answer's own question counts:
// the words of questions appended after it are fed in, not predicted.
func isQuestionWord(e *train.Example, t int, questionWords []int) bool {
	return e.Route >= 0 && (t == e.Route-1 || t == e.Route+1) && e.Kinds[t] == summarize.Answer &&
		slices.Contains(questionWords, e.IDs[t])
}

// isHeaderKey: t is a thought's second token, the key of the task's header "#i k".
func isHeaderKey(e *train.Example, t int) bool {
	return t-1 >= max(e.PromptLen, 1) && isBodyStart(e, t-1) && sameThought(e, t-1, t)
}

// isNote: t is a thought body's last token, the task's note.
func isNote(e *train.Example, t int) bool {
	return t >= e.PromptLen && t+1 < e.Len() && e.Kinds[t] == summarize.Thought && !sameThought(e, t, t+1)
}

// isTraceTag: t is one of a thought's step index tags, each copied from the one before it (the
// previous summary's S_{i+1} counted down to the header's #i, then N_i and S_i): the body's first
// token, the tag before its note, the word after the summary's opening token. Long-scale traces
// confuse far tags with their neighbours (#41 for #40) first.
func isTraceTag(e *train.Example, t int) bool {
	switch {
	case t < e.PromptLen:
		return false
	case isBodyStart(e, t):
		return true
	case t+2 < e.Len() && sameThought(e, t, t+1) && isNote(e, t+1):
		return true
	}
	return t >= e.PromptLen && inSummaryAt(e, t, 1)
}

// isSummaryValue: t is a summary's third token, the value of the task's summary
// "<|begin_of_summary|> S_i v <|end_of_summary|>".
func isSummaryValue(e *train.Example, t int) bool {
	return t >= e.PromptLen && inSummaryAt(e, t, 2)
}

// inSummaryAt: t is the summary's token i (0: its opening token), counted in its thought's summary.
func inSummaryAt(e *train.Example, t, i int) bool {
	inSummary := func(p int) bool { return e.Kinds[p] == summarize.Summary && e.Thought[p] == e.Thought[t] }
	if t < i {
		return false
	}
	for p := t - i; p <= t; p++ {
		if !inSummary(p) {
			return false
		}
	}
	return t-i == 0 || !inSummary(t-i-1)
}

// isTraceStart: t is the first thought's first token, the task's first step index #K-1.
func isTraceStart(e *train.Example, t int) bool {
	if t < e.PromptLen || e.Kinds[t] != summarize.Thought {
		return false
	}
	for p := t - 1; p >= e.PromptLen; p-- {
		if e.Kinds[p] == summarize.Thought {
			return false
		}
	}
	return true
}

// isStartValue: t is the first thought's third token, after "#K-1 k": the walk's start value, the
// prompt's "= v" written as a digit (the one position of a long trace that free-running generations
// of the long scale got wrong first; see docs/training-history.md).
func isStartValue(e *train.Example, t int) bool {
	return t >= 2 && isTraceStart(e, t-2) && sameThought(e, t-2, t)
}

// inFirstThought: t is in the first thought's body, after its first token.
func inFirstThought(e *train.Example, t int) bool {
	start := t
	for start > 0 && sameThought(e, start-1, start) {
		start--
	}
	return start < t && isTraceStart(e, start)
}

// isBodyStart: t is a thought body's first token.
func isBodyStart(e *train.Example, t int) bool {
	return e.Kinds[t] == summarize.Thought && (t == 0 || !sameThought(e, t-1, t))
}

// sameThought reports whether positions a and b are both in the body of one thought.
func sameThought(e *train.Example, a, b int) bool {
	return e.Kinds[a] == summarize.Thought && e.Kinds[b] == summarize.Thought && e.Thought[a] == e.Thought[b]
}
