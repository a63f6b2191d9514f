// Command probe looks inside a model trained on the synthetic task (summarize/task) with the
// reference trace fed in (teacher-forced), which is where a training run's failures show first:
//
//	go run ./examples/probe -model testdata/zoomr-tiny
//	go run ./examples/probe -model testdata/zoomr-long -positions -n 10 -wrong 12
//
// It prints (1) the held-out answer accuracy by problem length (3, 6, 10 and 18 steps of 24 moves)
// under full attention and the restricted ZoomR-like views of the trainer's evaluator, and (2) the
// share of wrong next-token predictions by transition kind ("#→k" is the thought header's key,
// looked up in the prompt; "w→d" a walk move; "N→d" the note; "S→N" the restated note question's
// tag), which tells a lookup that never formed from a computation that is slightly off, and (3) how
// the model picks the answer's form after the restated question ("QN S5" must go on with the note's
// tag N5, "QV S5" with a value): its probability of the note's form as asked and with QN/QV swapped,
// by how far back the question's step is (not for task.NoteTagForm models: there the question
// names the N tag and there is no form to pick), and (4) which heads copy a far note and which
// route to its thought at the restated question: the heads to leave out of the routing loss when
// the two share a position (examples/train -route-skip-heads). With -positions it prints instead
// the accuracy at each class of single positions (examples/internal/taskpos) at the model's own
// scale, the long one included; with -attention N, for N note questions, where each head looks
// from the answer's note tag.
package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"unicode"

	"github.com/zoomr-go/zoomr/examples/internal/cli"
	"github.com/zoomr-go/zoomr/examples/internal/taskrun"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/summarize/train"
)

func main() { cli.Main("probe", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := cli.NewFlags("probe")
	dir := fs.String("model", "testdata/zoomr-tiny", "model directory (trained on the synthetic task)")
	n := fs.Int("n", 16, "held-out problems per length")
	seed := fs.Uint64("seed", 7, "seed of the held-out problems")
	pos := fs.Bool("positions", false, "instead: the teacher-forced accuracy at each class of single task positions (the start value, the restated question's tag and word, the answer word, …) on -n held-out problems at the model's own scale, standard or long")
	attention := fs.Int("attention", 0, "instead: for this many held-out note questions at the model's own scale, every head's most attended positions from the answer's note tag (which copy the model makes, and what it confuses)")
	wrong := fs.Int("wrong", 0, "with -positions: also list the first this many wrong predictions, with the words before them (which step of the walk fails)")
	steps := fs.String("steps", "", "with -positions or -attention: problems of K1-K2 steps (default: the model's evaluation length), to tell where along the length a copy stops")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *pos {
		return positions(ctx, stdout, *dir, *n, *seed, *steps, *wrong)
	}
	if *attention > 0 {
		return noteAttention(ctx, stdout, *dir, *attention, *seed, *steps)
	}
	return probe(ctx, stdout, *dir, *n, *seed)
}

// probe prints the four tables of the model in dir.
func probe(ctx context.Context, w io.Writer, dir string, n int, seed uint64) error {
	m, err := model.Load(ctx, dir, model.WithTrainingLayout())
	if err != nil {
		return err
	}
	tok, err := tokenizer.NewWordLevel(task.Vocabulary())
	if err != nil {
		return err
	}
	tt, err := taskrun.LoadTask(dir)
	if err != nil {
		return err
	}
	form := tt.Form
	src, err := train.NewTaskSource(tok, train.TaskCurriculum(1), seed)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "held-out answer accuracy by length (teacher-forced):")
	for _, steps := range []int{3, 6, 10, 18} {
		examples, err := heldOut(src, task.Config{MinSteps: steps, MaxSteps: steps, MinWalk: 24, MaxWalk: 24, Form: form}, n, seed)
		if err != nil {
			return err
		}
		ev, err := train.NewEvaluator(m, examples)
		if err != nil {
			return err
		}
		r, err := ev.Run()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %2d steps (%4d tokens): %s\n", steps, examples[0].Len(), r.Summary())
	}
	examples, err := heldOut(src, task.Config{MinSteps: 6, MaxSteps: 6, MinWalk: 24, MaxWalk: 24, Form: form}, n/2, seed)
	if err != nil {
		return err
	}
	errs, total, err := errorsByTransition(ctx, m, tok, examples)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "wrong next-token predictions by transition (6-step problems, teacher-forced):")
	keys := make([]string, 0, len(total))
	for k := range total {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return float64(errs[keys[i]])/float64(total[keys[i]]) > float64(errs[keys[j]])/float64(total[keys[j]])
	})
	for _, k := range keys {
		if errs[k] > 0 {
			fmt.Fprintf(w, "  %-8s %5d / %5d wrong\n", k, errs[k], total[k])
		}
	}
	if form == task.NoteTagForm {
		fmt.Fprintln(w, "answer form: not probed (a note-tag model's question names the note's tag)")
	} else {
		cells, err := answerForm(ctx, m, tok, src, form, n*4, seed)
		if err != nil {
			return err
		}
		printAnswerForm(w, cells)
	}
	roles, err := probeHeads(m, src, form, n, seed)
	if err != nil {
		return err
	}
	printHeads(w, roles, m.Config)
	return nil
}

func heldOut(src *train.TaskSource, c task.Config, n int, seed uint64) ([]*train.Example, error) {
	g, err := task.NewGenerator(c, task.HeldOut, seed)
	if err != nil {
		return nil, err
	}
	return src.Examples(g, n)
}

// errorsByTransition counts argmax errors on the generated part of each example, keyed by the word
// classes of the previous and the target token.
func errorsByTransition(ctx context.Context, m *model.Model, tok *tokenizer.Tokenizer, examples []*train.Example) (errs, total map[string]int, err error) {
	errs, total = map[string]int{}, map[string]int{}
	V := m.Config.VocabSize
	for _, e := range examples {
		logits, err := m.Forward(ctx, e.IDs)
		if err != nil {
			return nil, nil, err
		}
		for p := e.PromptLen; p < e.Len(); p++ {
			k := wordClass(tok, e.IDs[p-1]) + "→" + wordClass(tok, e.IDs[p])
			total[k]++
			if model.Argmax(logits[(p-1)*V:p*V]) != e.IDs[p] {
				errs[k]++
			}
		}
	}
	return errs, total, nil
}

// wordClass names a task word by its kind: "d" for a digit, the letter for indexed words (#17 → "#",
// k4 → "k", w6 → "w", N3 → "N", S3 → "S", v5 → "v"), else the word itself.
func wordClass(tok *tokenizer.Tokenizer, id int) string {
	w, err := tok.TokenText(id)
	if err != nil || w == "" {
		return "?"
	}
	r := []rune(w)
	switch {
	case unicode.IsDigit(r[0]):
		return "d"
	case len(r) > 1 && unicode.IsDigit(r[1]):
		return string(r[0])
	}
	return w
}
