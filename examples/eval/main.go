// Command eval measures the trained model on held-out problems of the synthetic task under every
// KV cache policy at matched resident budgets: the full cache, ZoomR, SumR (summaries only),
// StreamingLLM and H2O. With -text FILE it measures teacher-forced perplexity on real text instead
// (text.go).
//
//	go run ./examples/eval -n 200 -json out/eval/eval.json
//
// Every problem is decoded from its prompt alone (greedy): the model writes the whole trace (1,000+
// tokens in 18+ thoughts, each closed by a summary), then restates the question and answers. A
// problem counts as right when the answer matches word for word. Note questions (accuracy_detail)
// need a detail that only one earlier thought's body holds.
//
// Outputs (in -out, default out/eval): eval.json, eval.md (the table), accuracy_vs_budget.png (a
// sweep over the window size on -sweep-n problems), resident_vs_tokens.png (one problem per
// policy), agreeability.png (ZoomR's agreeability at each re-selection, for right and wrong
// answers) and answers.jsonl (every generation: the question, the answer, where the trace first
// left the reference).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/zoomr-go/zoomr/examples/internal/taskrun"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/zoomr"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(1)
	}
}

type options struct {
	model, out         string
	asJSON             bool
	n, sweepN, workers int
	seed               uint64
	answerGrammar      bool
	summaryCap         int // the model's task's summary region (taskrun.Config); 0: taskrun.SummaryCap
	policies           []string
	windows            []int
	text               textOptions // -text mode (text.go)
}

func parse() (options, error) {
	var o options
	var policies, windows string
	flag.StringVar(&o.model, "model", taskrun.DefaultModel, "model directory")
	flag.IntVar(&o.n, "n", 200, "held-out problems per policy")
	flag.BoolVar(&o.asJSON, "json", false, "also print the JSON report to stdout")
	flag.StringVar(&o.out, "out", "out/eval", "directory for the report (eval.json, eval.md), the answers and the plots")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the held-out problems")
	flag.StringVar(&policies, "policies", "full,zoomr,sumr,streaming,h2o,rkv", "policies to compare (kvcache.PolicyNames)")
	flag.StringVar(&windows, "sweep", "64,256", "extra window sizes for the accuracy-vs-budget plot (the main run uses taskrun.Window, 128)")
	flag.IntVar(&o.sweepN, "sweep-n", 50, "problems per point of the budget sweep (0: no sweep)")
	flag.IntVar(&o.workers, "workers", 2, "generations decoded concurrently")
	flag.BoolVar(&o.answerGrammar, "answer-grammar", false, "constrain the answer to the question form's schema (task.AnswerGrammar); the trace stays free")
	textFlags(&o.text)
	flag.Parse()
	for _, p := range strings.Split(policies, ",") {
		o.policies = append(o.policies, strings.TrimSpace(p))
	}
	for _, w := range strings.Split(windows, ",") {
		if w = strings.TrimSpace(w); w == "" {
			continue
		}
		v, err := strconv.Atoi(w)
		if err != nil || v < 1 {
			return o, fmt.Errorf("-sweep %q: want window sizes", windows)
		}
		o.windows = append(o.windows, v)
	}
	if o.n < 1 || o.workers < 1 {
		return o, fmt.Errorf("-n %d and -workers %d must be >= 1", o.n, o.workers)
	}
	return o, nil
}

// job is one (policy, window, problem) decoding.
type job struct {
	policy string
	window int
	index  int
	keep   bool // keep the per-token trace (resident bytes over time)
}

func run() error {
	o, err := parse()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if o.text.path != "" {
		return runText(ctx, o)
	}
	m, tok, err := taskrun.Load(ctx, o.model)
	if err != nil {
		return err
	}
	tt, err := taskrun.LoadTask(o.model)
	if err != nil {
		return err
	}
	o.summaryCap = taskrun.Config("", 0, tt).SummaryCap
	g, err := tt.Generator(task.HeldOut, o.seed)
	if err != nil {
		return err
	}
	problems := make([]task.Problem, max(o.n, o.sweepN))
	for i := range problems {
		problems[i] = g.Next()
	}
	decoders := map[string]*zoomr.Decoder{}
	decoder := func(p string, w int) (*zoomr.Decoder, error) {
		key := fmt.Sprintf("%s/%d", p, w)
		if d, ok := decoders[key]; ok {
			return d, nil
		}
		cfg := taskrun.Config(p, w, tt)
		if o.answerGrammar {
			constrained, err := taskrun.WithAnswerGrammar(cfg, tok, tt.Form)
			if err != nil {
				return nil, err
			}
			cfg = constrained
		}
		d, err := zoomr.New(m, tok, cfg)
		decoders[key] = d
		return d, err
	}
	var jobs []job
	for _, p := range o.policies {
		for i := range o.n {
			jobs = append(jobs, job{policy: p, window: taskrun.Window, index: i, keep: i == 0})
		}
		if p == zoomr.PolicyFull {
			continue // the window does not bound the full cache
		}
		for _, w := range o.windows {
			for i := range o.sweepN {
				jobs = append(jobs, job{policy: p, window: w, index: i})
			}
		}
	}
	for _, j := range jobs {
		if _, err := decoder(j.policy, j.window); err != nil {
			return err
		}
	}
	bar := progressbar.NewOptions(len(jobs), progressbar.OptionSetWriter(os.Stderr), progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true), progressbar.OptionSetDescription("decoding"),
		progressbar.OptionThrottle(time.Second))
	results := make([]taskrun.Result, len(jobs))
	errs := make(chan error, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	right := map[string][2]int{}
	for range o.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				j := jobs[k]
				d := decoders[fmt.Sprintf("%s/%d", j.policy, j.window)]
				r, err := taskrun.Solve(ctx, d, problems[j.index], j.keep, nil)
				if err != nil {
					errs <- fmt.Errorf("%s window %d problem %d: %w", j.policy, j.window, j.index, err)
					continue
				}
				results[k] = r
				mu.Lock()
				c := right[j.policy]
				if j.window == taskrun.Window {
					c[1]++
					if r.Correct {
						c[0]++
					}
				}
				right[j.policy] = c
				desc := make([]string, 0, len(o.policies))
				for _, p := range o.policies {
					if c := right[p]; c[1] > 0 {
						desc = append(desc, fmt.Sprintf("%s %.2f", p, float64(c[0])/float64(c[1])))
					}
				}
				bar.Describe(strings.Join(desc, " "))
				_ = bar.Add(1)
				mu.Unlock()
			}
		}()
	}
feed:
	for k := range jobs {
		select {
		case next <- k:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	_ = bar.Finish()
	fmt.Fprintln(os.Stderr)
	close(errs)
	for err := range errs {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rep := buildReport(o, jobs, results, m.Config.VocabSize)
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	if err := rep.write(o); err != nil {
		return err
	}
	if err := writeAnswers(filepath.Join(o.out, "answers.jsonl"), jobs, results); err != nil {
		return err
	}
	fmt.Print(rep.markdown())
	return plots(o, rep, jobs, results)
}
