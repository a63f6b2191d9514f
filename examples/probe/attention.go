package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"

	"github.com/zoomr-go/zoomr/examples/internal/taskrun"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/summarize/train"
)

// attendTop is how many of a head's most attended positions noteAttention prints.
const attendTop = 4

// noteAttention writes, for n held-out note questions at the model's scale and form (of steps
// K1-K2 when set), where every head looks from the answer's N tag, the position that predicts the
// note (teacher-forced, full causal attention): its attendTop most attended positions, each with
// its word, the word before it and its thought. It tells which copy a model really makes — S3's
// long weights read the walk's digit after w6 in some body, not the digit after the asked N tag —
// and what it confuses (a neighbouring thought's note) where a per-head average would not.
func noteAttention(ctx context.Context, w io.Writer, dir string, n int, seed uint64, steps string) error {
	m, err := model.Load(ctx, dir, model.WithTrainingLayout())
	if err != nil {
		return err
	}
	defer m.Close()
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return err
	}
	ht, err := loadHeldOut(dir, tok, steps, 1, seed)
	if err != nil {
		return err
	}
	exec, err := newQKExec(m)
	if err != nil {
		return err
	}
	word := wordOf(tok)
	for range n {
		e, err := ht.src.Example(ht.gen.Next())
		if err != nil {
			return err
		}
		if len(e.Copies) == 0 {
			return fmt.Errorf("probe: a note question without its note copy")
		}
		f, err := runQK(exec, m.Config, e)
		if err != nil {
			return err
		}
		at, from := e.Copies[0].At, e.Copies[0].From
		fmt.Fprintf(w, "%s at %d asks thought %d: the note %s at %d; predicted %s\n", word(e.IDs[at]), at,
			e.Thought[from], word(e.IDs[from]), from, word(int(f.argmax[at])))
		for l := range m.Config.Layers {
			for h := range m.Config.Heads {
				fmt.Fprintf(w, "  %d.%d", l, h)
				att := f.attention(l, h, at)
				for _, t := range topPositions(att, attendTop) {
					fmt.Fprintf(w, "  %.2f %s (after %s, thought %d)", att[t], word(e.IDs[t]), word(e.IDs[max(t-1, 0)]), e.Thought[t])
				}
				fmt.Fprintln(w)
			}
		}
	}
	return nil
}

// topPositions are the k positions of the largest weights, largest first.
func topPositions(weights []float64, k int) []int {
	idx := make([]int, len(weights))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return weights[idx[a]] > weights[idx[b]] })
	return idx[:min(k, len(idx))]
}

// heldOutTask is a model directory's held-out task: its task.json (scale and form), a source that
// renders its problems as examples, and their generator.
type heldOutTask struct {
	task taskrun.Task
	src  *train.TaskSource
	gen  *task.Generator
}

// loadHeldOut reads dir's task: problems of steps "K1-K2" when set (else the scale's evaluation
// length), a share noteShare of note questions (0: the task's default), seed's held-out problems.
func loadHeldOut(dir string, tok summarize.Tokenizer, steps string, noteShare float64, seed uint64) (*heldOutTask, error) {
	tt, err := taskrun.LoadTask(dir)
	if err != nil {
		return nil, err
	}
	cfg := task.Config{Scale: tt.Scale, Form: tt.Form, NoteShare: noteShare}
	if steps != "" {
		if _, err := fmt.Sscanf(steps, "%d-%d", &cfg.MinSteps, &cfg.MaxSteps); err != nil {
			return nil, fmt.Errorf("-steps %q: want K1-K2", steps)
		}
	}
	src, err := train.NewTaskSource(tok, []train.Stage{{Until: 1, Tasks: []task.Config{cfg}}}, seed)
	if err != nil {
		return nil, err
	}
	g, err := task.NewGenerator(cfg, task.HeldOut, seed)
	if err != nil {
		return nil, err
	}
	return &heldOutTask{task: tt, src: src, gen: g}, nil
}
