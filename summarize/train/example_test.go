package train_test

import (
	"fmt"

	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/summarize/train"
)

// A TokenWeight hook emphasises single tokens: here the answer word is weighted 10 (the default
// hook weighs it DefaultAnswerWeight) and every other token keeps its weight by kind.
func ExampleTokenWeight() {
	tok, err := tokenizer.NewWordLevel(task.Vocabulary())
	if err != nil {
		panic(err)
	}
	src, err := train.NewTaskSource(tok, train.TaskCurriculum(100), 1)
	if err != nil {
		panic(err)
	}
	src.TokenWeight = func(e *train.Example, t int, w float32) float32 {
		if src.IsAnswerWord(e, t) {
			return 10
		}
		return w
	}
	g, err := task.NewGenerator(task.Config{MinSteps: 2, MaxSteps: 2, MinWalk: 6, MaxWalk: 6}, task.HeldOut, 1)
	if err != nil {
		panic(err)
	}
	e, err := src.Example(g.Next())
	if err != nil {
		panic(err)
	}
	for t := range e.Len() {
		if e.Kinds[t] == summarize.Answer {
			word, _ := tok.TokenText(e.IDs[t])
			fmt.Printf("%s:%g ", word, e.Weight[t])
		}
	}
	fmt.Println()
	// Output: <|answer|>:2 QN:2 S1:2 N1:2 4:10 <eos>:2
}
