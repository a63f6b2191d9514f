package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/zoomr-go/zoomr/examples/internal/taskrun"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/summarize"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/summarize/train"
)

// probeCount is one position class's tally in a probe.
type probeCount struct {
	name       string
	right, n   int  // positions predicted right, positions
	problems   int  // problems holding the class
	allRightIn int  // of which every position of the class was right
	seen, miss bool // in the current problem
}

func (c *probeCount) add(right bool) {
	c.n++
	c.seen = true
	if right {
		c.right++
	} else {
		c.miss = true
	}
}

func (c *probeCount) endProblem() {
	if c.seen {
		c.problems++
		if !c.miss {
			c.allRightIn++
		}
	}
	c.seen, c.miss = false, false
}

// classOf is the index of the first class holding position t, or -1.
func classOf(classes []position, e *train.Example, t int) int {
	for i, c := range classes {
		if c.at(e, t) {
			return i
		}
	}
	return -1
}

// probe writes -init's teacher-forced accuracy at each class of task positions (the classes the
// emphasis flags single out, plus the rest of the trace and of the answer) on -probe held-out
// problems of -seed, full causal attention. The loss and a trace's token accuracy average over
// thousands of positions and hide a copy that fails at one position per trace: zoomr-long wrote
// 99.8% of its held-out trace tokens right and failed every generation at the first thought's start
// value (docs/training-history.md). One forward pass per problem on the model's backend.
func probe(ctx context.Context, f flags, out io.Writer) error {
	if f.init == "" {
		return errors.New("-probe needs -init: the model to probe")
	}
	m, tok, err := taskrun.Load(ctx, f.init)
	if err != nil {
		return err
	}
	defer m.Close()
	f.evalEvery = 0 // the source only, no trainer's evaluator
	s, _, err := sources(f, tok, nil, train.ViewConfig{})
	if err != nil {
		return err
	}
	src := s.(*train.TaskSource)
	words, err := taskWordIDs(tok)
	if err != nil {
		return err
	}
	classes := emphasisOf(f).positions(src, words)
	counts := make([]probeCount, len(classes)+2)
	for i, c := range classes {
		counts[i].name = c.name
	}
	otherTrace, otherAnswer := len(classes), len(classes)+1
	counts[otherTrace].name, counts[otherAnswer].name = "other trace", "other answer"

	g, err := f.task.Generator(task.HeldOut, f.seed)
	if err != nil {
		return err
	}
	V := m.Config.VocabSize
	for range f.probe {
		e, err := src.Example(g.Next())
		if err != nil {
			return err
		}
		pre, err := m.Prefill(ctx, e.IDs, 0, nil, true)
		if err != nil {
			return err
		}
		for t := e.PromptLen; t < e.Len(); t++ {
			k := classOf(classes, e, t)
			if k < 0 {
				k = otherTrace
				if e.Kinds[t] == summarize.Answer {
					k = otherAnswer
				}
			}
			counts[k].add(model.Argmax(pre.Logits[(t-1)*V:t*V]) == e.IDs[t])
		}
		for i := range counts {
			counts[i].endProblem()
		}
	}
	fmt.Fprintf(out, "Teacher-forced on %d held-out problems (seed %d, %s scale, full attention): %s\n\n",
		f.probe, f.seed, f.task.Scale, f.init)
	fmt.Fprintln(out, "| positions | count | right | problems with every one right |")
	fmt.Fprintln(out, "|---|---:|---:|---:|")
	for _, c := range counts {
		if c.n == 0 {
			continue
		}
		fmt.Fprintf(out, "| %s | %d | %.1f%% | %d of %d |\n", c.name, c.n, 100*float64(c.right)/float64(c.n), c.allRightIn, c.problems)
	}
	return nil
}
