package main

import (
	"fmt"
	"slices"

	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/summarize/train"
)

// emphasis is the loss weight of the task positions the -*-weight flags single out, each a recipe
// change of the bundled model's training (docs/training-history.md): one token per thought or per
// problem that, at the weight of its kind, the model never learned. 0 leaves a position at its
// weight by kind, except the answer word, which always takes the answer weight.
type emphasis struct {
	answer       float32 // the answer word: the note or value before EOS (-answer-weight)
	answerForm   float32 // an answer's word after the question's tag: a note answer's N tag (-answer-form-weight)
	questionTag  float32 // the restated question's tag, the routing position (-question-tag-weight)
	questionWord float32 // the restated question's word, QN or QV, next to its tag (-question-word-weight)
	firstIndex   float32 // the trace's first token, the step index #K-1 read from the prompt (-first-index-weight)
	startValue   float32 // the first thought's third token, the walk's start value read from the prompt (-start-value-weight)
	summaryValue float32 // each summary's value, the word after its S tag (-summary-value-weight)
	note         float32 // each thought's note, its body's last token (-note-weight)
	lookup       float32 // each thought header's key, looked up in the prompt (-lookup-weight)
	firstThought float32 // the first thought's body after its step index (-first-thought-weight)
}

// emphasisOf reads the flags.
func emphasisOf(f flags) emphasis {
	return emphasis{answer: float32(f.answerWeight), answerForm: float32(f.answerFormWeight),
		questionTag: float32(f.questionTagWeight), questionWord: float32(f.questionWordWeight), firstIndex: float32(f.firstIndexWeight),
		startValue:   float32(f.startValueWeight),
		summaryValue: float32(f.summaryValueWeight), note: float32(f.noteWeight), lookup: float32(f.lookupWeight),
		firstThought: float32(f.firstThoughtWeight)}
}

// position is a class of task positions that an emphasis flag singles out and -probe measures.
type position struct {
	name   string
	weight float32
	at     func(e *train.Example, t int) bool
}

// positions lists the classes in precedence order: where classes meet, the first wins (the answer
// word over everything, the first thought's body under everything).
func (em emphasis) positions(src *train.TaskSource, w taskWords) []position {
	return []position{
		{"answer word", em.answer, src.IsAnswerWord},
		{"answer form", em.answerForm, func(e *train.Example, t int) bool { return isAnswerForm(e, t, w.marker) }},
		{"question tag", em.questionTag, func(e *train.Example, t int) bool { return t == e.Route }},
		{"question word", em.questionWord, func(e *train.Example, t int) bool { return isQuestionWord(e, t, w.questionWords) }},
		{"first index", em.firstIndex, isTraceStart},
		{"start value", em.startValue, isStartValue},
		{"summary value", em.summaryValue, isSummaryValue},
		{"note", em.note, isNote},
		{"header key", em.lookup, isHeaderKey},
		{"first thought", em.firstThought, inFirstThought},
	}
}

// hook is the TaskSource's token weight: the weight of the first class (positions) that holds a
// token and has one; the answer word always takes the answer weight.
func (em emphasis) hook(src *train.TaskSource, w taskWords) train.TokenWeight {
	var rules []position
	for i, p := range em.positions(src, w) {
		if i == 0 || p.weight > 0 {
			rules = append(rules, p)
		}
	}
	return func(e *train.Example, t int, w float32) float32 {
		for _, r := range rules {
			if r.at(e, t) {
				return r.weight
			}
		}
		return w
	}
}

// taskWords are the ids of the task words the position classes look for.
type taskWords struct {
	marker        int   // the answer marker
	questionWords []int // QN and QV
}

func taskWordIDs(tok *tokenizer.Tokenizer) (taskWords, error) {
	var w taskWords
	for i, word := range append([]string{task.AnswerMarker}, task.QuestionWords()...) {
		id, ok := tok.TokenID(word)
		if !ok {
			return w, fmt.Errorf("the vocabulary has no task word %q", word)
		}
		if i == 0 {
			w.marker = id
		} else {
			w.questionWords = append(w.questionWords, id)
		}
	}
	return w, nil
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

// isSummaryValue: t is a summary's third token, the value of the task's summary
// "<|begin_of_summary|> S_i v <|end_of_summary|>".
func isSummaryValue(e *train.Example, t int) bool {
	inSummary := func(p int) bool { return e.Kinds[p] == summarize.Summary && e.Thought[p] == e.Thought[t] }
	return t >= max(e.PromptLen, 2) && inSummary(t) && inSummary(t-1) && inSummary(t-2) && (t < 3 || !inSummary(t-3))
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
