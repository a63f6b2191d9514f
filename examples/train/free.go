package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/zoomr-go/zoomr/examples/internal/taskrun"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/zoomr"
)

// freeEval measures what examples/eval measures, on a few held-out problems, while training runs:
// the teacher-forced evaluation sees the reference trace, but a model is judged on the traces it
// writes itself, where an early wrong walk move or header key changes every later step. The weights
// as they are at the evaluation are saved to a scratch directory and loaded for inference (the
// trainer's model keeps the training layout), then each policy decodes the same problems.
type freeEval struct {
	dir      string // scratch model directory under the run's output
	problems []task.Problem
	task     taskrun.Task
	policies []string
	log      *csv.Writer
	logFile  *os.File
}

// newFreeEval prepares n held-out problems of the evaluation distribution (the same ones at every
// evaluation and in every run) and the log OUT/free.csv.
func newFreeEval(f flags, tok *tokenizer.Tokenizer, n int) (*freeEval, error) {
	g, err := f.task.Generator(task.HeldOut, 1)
	if err != nil {
		return nil, err
	}
	fe := &freeEval{task: f.task, dir: filepath.Join(f.out, "free-eval-model"), policies: []string{zoomr.PolicyFull, zoomr.PolicyZoomR}}
	for range n {
		fe.problems = append(fe.problems, g.Next())
	}
	scratch := f
	scratch.out = fe.dir
	if err := os.MkdirAll(fe.dir, 0o755); err != nil {
		return nil, err
	}
	if err := writeTokenizer(scratch, tok); err != nil {
		return nil, err
	}
	path := filepath.Join(f.out, "free.csv")
	_, statErr := os.Stat(path)
	if fe.logFile, err = appendFile(path); err != nil {
		return nil, err
	}
	fe.log = csv.NewWriter(fe.logFile)
	if os.IsNotExist(statErr) {
		header := []string{"step"}
		for _, p := range fe.policies {
			header = append(header, string(p)+"_accuracy", string(p)+"_recall")
		}
		_ = fe.log.Write(header)
	}
	return fe, nil
}

// run decodes every problem under every policy with m's current weights and logs one row.
func (fe *freeEval) run(ctx context.Context, m *model.Model, step int) (string, error) {
	if err := m.Save(fe.dir, false); err != nil {
		return "", err
	}
	im, tok, err := taskrun.Load(ctx, fe.dir)
	if err != nil {
		return "", err
	}
	row := []string{strconv.Itoa(step)}
	summary := fmt.Sprintf("free-running (%d problems):", len(fe.problems))
	for _, p := range fe.policies {
		correct, recalled, err := fe.solveAll(ctx, im, tok, p)
		if err != nil {
			return "", err
		}
		acc, rec := float64(correct)/float64(len(fe.problems)), float64(recalled)/float64(len(fe.problems))
		row = append(row, strconv.FormatFloat(acc, 'g', 4, 64), strconv.FormatFloat(rec, 'g', 4, 64))
		summary += fmt.Sprintf(" %s %.0f%% (recall %.0f%%)", p, 100*acc, 100*rec)
	}
	_ = fe.log.Write(row)
	fe.log.Flush()
	return summary, fe.log.Error()
}

func (fe *freeEval) solveAll(ctx context.Context, m *model.Model, tok *tokenizer.Tokenizer, p string) (correct, recalled int, err error) {
	dec, err := zoomr.New(m, tok, taskrun.Config(p, 0, fe.task))
	if err != nil {
		return 0, 0, err
	}
	for _, prob := range fe.problems {
		r, err := taskrun.Solve(ctx, dec, prob, false, nil)
		if err != nil {
			return 0, 0, err
		}
		if r.Correct {
			correct++
		}
		if r.Recalled {
			recalled++
		}
	}
	return correct, recalled, nil
}

func (fe *freeEval) Close() error { return fe.logFile.Close() }
