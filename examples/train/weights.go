package main

import (
	"github.com/zoomr-go/zoomr/examples/internal/taskpos"
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

// weightOf is the flag's weight of a taskpos class (0: none given).
func (em emphasis) weightOf(class string) float32 {
	return map[string]float32{taskpos.AnswerWord: em.answer, taskpos.AnswerForm: em.answerForm,
		taskpos.QuestionTag: em.questionTag, taskpos.QuestionWord: em.questionWord,
		taskpos.FirstIndex: em.firstIndex, taskpos.StartValue: em.startValue,
		taskpos.SummaryValue: em.summaryValue, taskpos.Note: em.note, taskpos.HeaderKey: em.lookup,
		taskpos.FirstThought: em.firstThought}[class]
}

// hook is the TaskSource's token weight: the weight of the first class (taskpos.Classes, in their
// precedence order) that holds a token and has one; the answer word always takes the answer weight.
func (em emphasis) hook(src *train.TaskSource, words taskpos.Words) train.TokenWeight {
	type rule struct {
		weight float32
		at     func(e *train.Example, t int) bool
	}
	var rules []rule
	for i, c := range taskpos.Classes(src, words) {
		if w := em.weightOf(c.Name); i == 0 || w > 0 {
			rules = append(rules, rule{w, c.At})
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
