package main

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/summarize/train"
)

// nearTarget is the largest distance (in thoughts, from the last one) at which a target counts as
// near: its body is still inside the decoder's window when the question is restated.
const nearTarget = 2

// formCell accumulates the probability of the note's form over the problems of one table cell.
type formCell struct {
	asAsked, swapped float64
	n, right         int // right: answer words predicted right (a note's digit with its tag fed in)
}

// formKey is a cell of the answer-form table: the question's kind and whether its target is near.
type formKey struct {
	kind task.Kind
	near bool
}

// answerForm feeds n held-out problems of the evaluation's length, reference trace and restated
// question included, and reads the model's probability of the note's form (an N tag) for the word
// after the restated question's S tag, as asked and with the restated QN/QV swapped (a model that
// reads the question puts ≈1 on note questions and ≈0 on value questions, and the swap reverses
// it), and whether it predicts the answer word itself (for a note, the digit after the reference's
// N tag).
func answerForm(ctx context.Context, m *model.Model, tok *tokenizer.Tokenizer, src *train.TaskSource, form task.Form, n int, seed uint64) (map[formKey]*formCell, error) {
	g, err := task.NewGenerator(task.Config{Form: form}, task.HeldOut, seed)
	if err != nil {
		return nil, err
	}
	qn, okN := tok.TokenID("QN")
	qv, okV := tok.TokenID("QV")
	if !okN || !okV {
		return nil, fmt.Errorf("the vocabulary lacks QN/QV")
	}
	isTagN := make([]bool, m.Config.VocabSize)
	for id := range isTagN {
		isTagN[id] = wordClass(tok, id) == "N"
	}
	V := m.Config.VocabSize
	cells := map[formKey]*formCell{}
	for range n {
		p := g.Next()
		e, err := src.Example(p)
		if err != nil {
			return nil, err
		}
		key := formKey{p.Kind, p.Target <= nearTarget}
		c := cells[key]
		if c == nil {
			c = &formCell{}
			cells[key] = c
		}
		logits, err := m.Forward(ctx, e.IDs[:e.Len()-1])
		if err != nil {
			return nil, err
		}
		c.asAsked += massOf(logits[e.Route*V:(e.Route+1)*V], isTagN)
		last := e.Len() - 2 // the answer word, before EOS
		if model.Argmax(logits[(last-1)*V:last*V]) == e.IDs[last] {
			c.right++
		}
		swapped := append([]int(nil), e.IDs[:e.Route+1]...) // up to the restated S tag
		if swapped[e.Route-1] == qn {
			swapped[e.Route-1] = qv
		} else {
			swapped[e.Route-1] = qn
		}
		if logits, err = m.Forward(ctx, swapped); err != nil {
			return nil, err
		}
		c.swapped += massOf(logits[e.Route*V:(e.Route+1)*V], isTagN)
		c.n++
	}
	return cells, nil
}

// massOf is the softmax probability of the tokens marked in pick.
func massOf(logits []float32, pick []bool) float64 {
	top := math.Inf(-1)
	for _, x := range logits {
		top = max(top, float64(x))
	}
	var all, picked float64
	for id, x := range logits {
		w := math.Exp(float64(x) - top)
		all += w
		if pick[id] {
			picked += w
		}
	}
	return picked / all
}

// printAnswerForm prints the table of answerForm.
func printAnswerForm(w io.Writer, cells map[formKey]*formCell) {
	fmt.Fprintf(w, "answer form at the restated question (teacher-forced, %d-%d steps): mean P(note's form)\n",
		task.DefaultMinSteps, task.DefaultMaxSteps)
	fmt.Fprintln(w, "  question  target        n   as asked   QN/QV swapped   answer word right (a note's tag fed in)")
	for _, kind := range []task.Kind{task.Note, task.Value} {
		for _, near := range []bool{true, false} {
			c := cells[formKey{kind, near}]
			if c == nil || c.n == 0 {
				continue
			}
			where := fmt.Sprintf("%d+ back", nearTarget+1)
			if near {
				where = fmt.Sprintf("0-%d back", nearTarget)
			}
			fmt.Fprintf(w, "  %-8s  %-10s %4d   %8.2f   %13.2f   %5.2f\n", kind, where, c.n,
				c.asAsked/float64(c.n), c.swapped/float64(c.n), float64(c.right)/float64(c.n))
		}
	}
}
