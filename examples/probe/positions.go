package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/zoomr-go/zoomr/examples/internal/taskpos"
	"github.com/zoomr-go/zoomr/examples/internal/taskrun"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/summarize/train"
)

// positionCount is one class's tally in the positions table.
type positionCount struct {
	name       string
	right, n   int  // positions predicted right, positions
	problems   int  // problems holding the class
	allRightIn int  // of which every position of the class was right
	seen, miss bool // in the current problem
}

func (c *positionCount) add(right bool) {
	c.n++
	c.seen = true
	if right {
		c.right++
	} else {
		c.miss = true
	}
}

func (c *positionCount) endProblem() {
	if c.seen {
		c.problems++
		if !c.miss {
			c.allRightIn++
		}
	}
	c.seen, c.miss = false, false
}

// positions writes the model's teacher-forced accuracy at each class of single task positions
// (taskpos: the classes examples/train's -*-weight flags single out, then the rest of the trace
// and of the answer) on n held-out problems of seed at the model's own scale and question form
// (its task.json), under full causal attention: one forward pass per problem on the model's
// backend. The loss and a trace's token accuracy average over thousands of positions and hide a
// copy that fails at one position per trace: an early phase of zoomr-long wrote 99.8% of its
// held-out trace tokens right and failed every generation at the first thought's start value
// (docs/training-history.md). wrong > 0 also lists that many wrong predictions with their context.
func positions(ctx context.Context, w io.Writer, dir string, n int, seed uint64, steps string, wrong int) error {
	m, tok, err := taskrun.Load(ctx, dir)
	if err != nil {
		return err
	}
	defer m.Close()
	ht, err := loadHeldOut(dir, tok, steps, 0, seed)
	if err != nil {
		return err
	}
	src, g := ht.src, ht.gen
	words, err := taskpos.WordIDs(tok)
	if err != nil {
		return err
	}
	classes := taskpos.Classes(src, words)
	counts := make([]positionCount, len(classes)+2)
	for i, c := range classes {
		counts[i].name = c.Name
	}
	otherTrace, otherAnswer := len(classes), len(classes)+1
	counts[otherTrace].name, counts[otherAnswer].name = "other trace", "other answer"
	swapped := positionCount{name: "question word, the prompt's swapped"}
	// The answer word by question kind: a value is copied from a summary, a note from a body.
	byKind := map[task.Kind]*positionCount{
		task.Note:  {name: "answer word, note questions"},
		task.Value: {name: "answer word, value questions"},
	}

	V := m.Config.VocabSize
	var mistakes []string // the first `wrong` wrong predictions, described
	for i := range n {
		p := g.Next()
		e, err := src.Example(p)
		if err != nil {
			return err
		}
		pre, err := m.Prefill(ctx, e.IDs, 0, nil, true) // every position's logits: [len, V]
		if err != nil {
			return err
		}
		var restated []int // the restated question's word, for the swap below
		for t := e.PromptLen; t < e.Len(); t++ {
			k := taskpos.Of(classes, e, t)
			if k >= 0 && classes[k].Name == taskpos.QuestionWord {
				restated = append(restated, t)
			}
			if k < 0 {
				k = otherTrace
				if e.Kinds[t] == summarize.Answer {
					k = otherAnswer
				}
			}
			got := model.Argmax(pre.Logits[(t-1)*V : t*V])
			right := got == e.IDs[t]
			counts[k].add(right)
			if !right && len(mistakes) < wrong {
				mistakes = append(mistakes, describeMistake(tok, e, i, t, got, counts[k].name))
			}
			if kind := byKind[p.Kind]; kind != nil && k < len(classes) && classes[k].Name == taskpos.AnswerWord {
				kind.add(right)
			}
		}
		if err := followsSwappedQuestion(ctx, m, e, restated, words.QuestionWords, &swapped); err != nil {
			return err
		}
		for i := range counts {
			counts[i].endProblem()
		}
		swapped.endProblem()
		for _, c := range byKind {
			c.endProblem()
		}
	}
	length := "the evaluation length"
	if steps != "" {
		length = steps + " steps"
	}
	fmt.Fprintf(w, "teacher-forced accuracy by position on %d held-out problems (seed %d, %s scale, %s, full attention):\n\n",
		n, seed, ht.task.Scale, length)
	fmt.Fprintln(w, "| positions | count | right | problems with every one right |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for _, c := range append(counts, *byKind[task.Note], *byKind[task.Value], swapped) {
		if c.n > 0 {
			fmt.Fprintf(w, "| %s | %d | %.1f%% | %d of %d |\n", c.name, c.n, 100*float64(c.right)/float64(c.n), c.allRightIn, c.problems)
		}
	}
	if len(mistakes) > 0 {
		fmt.Fprintf(w, "\nthe first %d wrong predictions (problem, position, thought, class: the words before → wanted / predicted):\n", len(mistakes))
		for _, m := range mistakes {
			fmt.Fprintln(w, m)
		}
	}
	if swapped.n > 0 {
		fmt.Fprintf(w, "\n%q: the same problems with the prompt's question word swapped (QN ↔ QV), right when the\n"+
			"restated word follows the swap. Near 100%% the word is copied from the prompt; if it and %q add up\n"+
			"to about 100%%, the prediction ignores the prompt.\n", swapped.name, taskpos.QuestionWord)
	}
	return nil
}

// describeMistake is one line on the wrong prediction of token t of problem i's example: the eight
// words before it, the wanted word and the predicted one.
func describeMistake(tok *tokenizer.Tokenizer, e *train.Example, i, t, got int, class string) string {
	word := wordOf(tok)
	var before []string
	for s := max(0, t-8); s < t; s++ {
		before = append(before, word(e.IDs[s]))
	}
	return fmt.Sprintf("  problem %d, position %d, thought %d, %s: %s → %s / %s", i, t, e.Thought[t], class,
		strings.Join(before, " "), word(e.IDs[t]), word(got))
}

// wordOf is tok's word of an id ("" for none), for the probe's printouts.
func wordOf(tok *tokenizer.Tokenizer) func(id int) string {
	return func(id int) string { s, _ := tok.TokenText(id); return s }
}

// followsSwappedQuestion scores, into c, whether the restated question's word follows the prompt's
// when that is swapped (QN ↔ QV): a copy can be entirely absent while the word is right half the
// time, and only a counterfactual tells (docs/training-history.md, the long scale's question word).
// restated are the positions of the restated word (taskpos.QuestionWord) and qw the question
// words' ids. Problems whose prompt has no single question word, or no restated one, are skipped.
func followsSwappedQuestion(ctx context.Context, m *model.Model, e *train.Example, restated, qw []int,
	c *positionCount) error {
	asked := -1
	for t := range e.PromptLen {
		if slices.Contains(qw, e.IDs[t]) {
			if asked >= 0 {
				return nil
			}
			asked = t
		}
	}
	if asked < 0 || len(restated) == 0 || len(qw) != 2 {
		return nil
	}
	other := qw[0] + qw[1] - e.IDs[asked]
	ids := slices.Clone(e.IDs[:restated[len(restated)-1]])
	ids[asked] = other
	pre, err := m.Prefill(ctx, ids, 0, nil, true)
	if err != nil {
		return err
	}
	V := m.Config.VocabSize
	for _, t := range restated {
		c.add(model.Argmax(pre.Logits[(t-1)*V:t*V]) == other)
	}
	return nil
}
