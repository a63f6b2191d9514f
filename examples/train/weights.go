package main

import (
	"github.com/zoomr-go/zoomr/examples/internal/taskpos"
	"github.com/zoomr-go/zoomr/summarize/train"
)

// emphasis is the loss weight of each class of task positions (taskpos: what each one is) that a
// -*-weight flag singles out, each a recipe change of a model's training (docs/training-history.md):
// one token per thought or per problem that, at the weight of its kind, the model never learned. 0
// leaves a position at its weight by kind, except the answer word, which always takes the answer
// weight.
type emphasis map[string]float32

// emphasisOf reads the flags.
func emphasisOf(f flags) emphasis {
	return emphasis{
		taskpos.AnswerWord:   float32(f.answerWeight),
		taskpos.AnswerForm:   float32(f.answerFormWeight),
		taskpos.QuestionTag:  float32(f.questionTagWeight),
		taskpos.QuestionWord: float32(f.questionWordWeight),
		taskpos.FirstIndex:   float32(f.firstIndexWeight),
		taskpos.StartValue:   float32(f.startValueWeight),
		taskpos.SummaryValue: float32(f.summaryValueWeight),
		taskpos.Note:         float32(f.noteWeight),
		taskpos.TraceTag:     float32(f.traceTagWeight),
		taskpos.HeaderKey:    float32(f.lookupWeight),
		taskpos.FirstThought: float32(f.firstThoughtWeight),
	}
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
		if i == 0 || em[c.Name] > 0 {
			rules = append(rules, rule{em[c.Name], c.At})
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
