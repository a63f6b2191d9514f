// Command train teaches a model to close each thought with a summary (ZoomR's protocol) and writes
// it in Hugging Face layout.
//
// From scratch on the synthetic task (package summarize/task); the bundled model's phases are in
// testdata/zoomr-tiny/README.md:
//
//	go run ./examples/train -out out/zoomr-tiny -steps 2000 -seed 1
//
// Fine-tuning a Hugging Face checkpoint on JSONL records (the summary markers are added to its
// vocabulary and embedding):
//
//	go run ./examples/train -init path/to/hf-model -data records.jsonl -out out/tuned -steps 500
//
// Writing problems of the task as JSONL records:
//
//	go run ./examples/train -dump 100 -split heldout > heldout.jsonl
//
// The long scale (-scale long: 40..44 steps of 48 moves held out, 4,200+-token traces), grown from
// the bundled model, in the tag-first question form, on the long curriculum:
//
//	go run ./examples/train -init testdata/zoomr-tiny -scale long -question-form tag-first \
//	  -curriculum long -out out/long -steps 3000 -lr 5e-4 -warmup 50 -batch-tokens 6144 \
//	  -eval-every 100 -eval-n 4 -free-n 4
//
// A run keeps a checkpoint in OUT/checkpoint (every -ckpt-every steps, and on Ctrl-C) and resumes
// from it when started again with the same flags; OUT/train.csv and OUT/eval.csv log every step and
// every held-out evaluation (teacher-forced), OUT/free.csv the same evaluations' free-running
// accuracy and recall on -free-n problems under the full cache and ZoomR. The final model
// (config.json, model.safetensors, tokenizer.json, tokenizer_config.json, task.json) is written to
// OUT.
//
// The -*-weight flags put a loss weight on single positions of the task's structure (the answer
// word, each header key, note or summary value, the first step index, ...; weights.go), through
// train.TaskSource.TokenWeight.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/zoomr-go/zoomr/examples/internal/cli"
	"github.com/zoomr-go/zoomr/examples/internal/taskrun"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/summarize/train"
)

func main() { cli.Main("train", run) }

type flags struct {
	out, init, data, split, curric string
	steps, dump, ckptEvery         int
	seed                           uint64
	layers, hidden, heads, kvHeads int
	headDim, ffn                   int
	batchTokens, warmup            int
	lr, route, restricted          float64
	thoughtWeight, lookupWeight    float64
	noteWeight, firstIndexWeight   float64
	startValueWeight               float64
	summaryValueWeight             float64
	answerFormWeight               float64
	questionTagWeight              float64
	questionWordWeight             float64
	routeSkipHeads, copyHeads      string
	copyWeight                     float64
	questionCopy                   bool
	indexCopy                      bool
	traceTagWeight                 float64
	extraQuestions                 int
	farQuestions                   float64
	firstThoughtWeight             float64
	answerWeight, ropeTheta        float64
	evalEvery, evalN, freeN        int
	bf16, noResume                 bool
	questionForm                   string
	voteLayers                     string
	scale                          string
	task                           taskrun.Task // -question-form and -vote-layers, resolved
}

// parseFlags parses the command line (flag.ErrHelp after -h).
func parseFlags(args []string) (flags, error) {
	var f flags
	fs := cli.NewFlags("train")
	fs.StringVar(&f.out, "out", "out/zoomr-tiny", "output directory (model, checkpoint, logs)")
	fs.StringVar(&f.init, "init", "", "fine-tune this Hugging Face model directory instead of training from scratch")
	fs.StringVar(&f.data, "data", "", "train on these JSONL records instead of the synthetic task")
	fs.IntVar(&f.steps, "steps", 1200, "optimizer steps")
	fs.StringVar(&f.curric, "curriculum", "default", "task curriculum: default (short to long, train.TaskCurriculum), eval (evaluation-length problems only, e.g. to continue a run), long (-scale long, for a model grown from a standard one: the long scale's new words on short traces beside long problems, train.LongCurriculum), long-scratch (-scale long from scratch: short to long, train.LongScratchCurriculum) or K1-K2,N1-N2[;…] (one stage: steps K1..K2, walks N1..N2; several configs drawn uniformly)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the weights, the data and the masks")
	fs.IntVar(&f.layers, "layers", 3, "layers (from scratch)")
	fs.IntVar(&f.hidden, "hidden", 128, "hidden size (from scratch)")
	fs.IntVar(&f.heads, "heads", 4, "attention heads (from scratch)")
	fs.IntVar(&f.kvHeads, "kv-heads", 2, "key/value heads (from scratch)")
	fs.IntVar(&f.headDim, "head-dim", 16, "head dimension (from scratch)")
	fs.IntVar(&f.ffn, "ffn", 256, "feed-forward width (from scratch)")
	fs.Float64Var(&f.ropeTheta, "rope-theta", 10000, "RoPE base (from scratch): larger keeps more of each head's dimensions free of position at long range")
	fs.IntVar(&f.batchTokens, "batch-tokens", 3072, "tokens per batch")
	fs.Float64Var(&f.lr, "lr", 1.5e-3, "peak learning rate")
	fs.IntVar(&f.warmup, "warmup", 200, "warm-up steps")
	fs.Float64Var(&f.route, "route", 0.5, "routing loss weight (0 disables)")
	fs.StringVar(&f.routeSkipHeads, "route-skip-heads", "", "query heads left out of the routing loss, as layer.head[,…] (e.g. 1.2,1.3: a copy head whose query must stay on its copy)")
	fs.Float64Var(&f.copyWeight, "copy-weight", 0, "copy loss weight (0: off): at a note answer's N tag, the attention of the -copy-heads should pick the note's digit in the asked body, among every thought's")
	fs.StringVar(&f.copyHeads, "copy-heads", "", "query heads the copy loss trains, as layer.head[,…] (default: every head of the last layer)")
	fs.Float64Var(&f.answerWeight, "answer-weight", 5, "loss weight of the answer token (the note or value) of task problems; the restated question gets a quarter of it (at least 2)")
	fs.Float64Var(&f.thoughtWeight, "thought-weight", 1, "loss weight of the thought-body tokens of task problems (lower it to spend the gradient on summaries and answers once the model writes traces)")
	fs.Float64Var(&f.lookupWeight, "lookup-weight", 0, "loss weight of each thought header's key, looked up in the prompt (0: the thought weight)")
	fs.Float64Var(&f.summaryValueWeight, "summary-value-weight", 0, "loss weight of each summary's value, copied from the walk's last move (0: the summary weight)")
	fs.Float64Var(&f.noteWeight, "note-weight", 0, "loss weight of each thought's note, the body-only detail note questions ask for (0: the thought weight)")
	fs.Float64Var(&f.traceTagWeight, "trace-tag-weight", 0, "loss weight of each thought's step index tags, the header's #i, the note's N_i and the summary's S_i, each copied from the one before (0: the thought and summary weights)")
	fs.Float64Var(&f.firstThoughtWeight, "first-thought-weight", 0, "loss weight of the first thought's other body tokens, its key, start value and walk (0: the thought weight)")
	fs.Float64Var(&f.firstIndexWeight, "first-index-weight", 0, "loss weight of the trace's first token, the first step index #K-1 copied from the prompt (0: the thought weight)")
	fs.Float64Var(&f.startValueWeight, "start-value-weight", 0, "loss weight of the first thought's start value, the walk's first digit copied from the prompt's start value (0: the first thought's weight)")
	fs.Float64Var(&f.answerFormWeight, "answer-form-weight", 0, "loss weight of a note answer's N tag, the word after the restated question's S tag that picks the answer's form (0: the restated question's weight)")
	fs.Float64Var(&f.questionTagWeight, "question-tag-weight", 0, "loss weight of the restated question's tag, copied from the prompt (0: the restated question's weight)")
	fs.Float64Var(&f.questionWordWeight, "question-word-weight", 0, "loss weight of the restated question's word (QN or QV), copied from the prompt's question (0: the restated question's weight)")
	fs.StringVar(&f.questionForm, "question-form", "", "how note questions are asked: summary-tag (\"QN S5\", answered \"QN S5 N5 d\") note-tag (\"QN N5\", answered \"QN N5 d\") or both-tags (\"QN S5 N5\", answered \"QN S5 N5 d\"); default: -init's (its task.json), else summary-tag. Recorded in OUT/task.json")
	fs.StringVar(&f.voteLayers, "vote-layers", "", "the layers whose heads vote in ZoomR's consensus when the model decodes, as l[,…], or all; default: -init's (its task.json), else all. Recorded in OUT/task.json (set it to the layers the routing loss trains)")
	fs.StringVar(&f.scale, "scale", "", "the task's scale: standard (up to 24 steps of 32 moves; held out: 18..20 steps of 24) or long (up to 48 steps of 48 moves; held out: 40..44 steps of 48, traces of 4,200+ tokens; its vocabulary extends the standard one, so -init with a standard model grows the embedding); default: -init's (its task.json), else standard. Recorded in OUT/task.json")
	fs.BoolVar(&f.questionCopy, "question-copy", false, "with -copy-weight, also copy the restated question word (tag-first form): at the restated tag, the -copy-heads should pick the prompt's question word")
	fs.BoolVar(&f.indexCopy, "index-copy", false, "with -copy-weight, also copy the trace's first step index: at the prompt's last token, the -copy-heads should pick the prompt's first step tag")
	fs.IntVar(&f.extraQuestions, "extra-questions", 0, "more questions about random steps appended after the answer's EOS in causally-masked examples (train.TaskSource.ExtraQuestions)")
	fs.Float64Var(&f.farQuestions, "far-questions", 0, "share of training problems asked about a step in the first half of the trace instead of a uniform step (train.TaskSource.FarQuestionShare; held-out problems are never changed)")
	fs.Float64Var(&f.restricted, "restricted", 0.5, "share of sequences under ZoomR-like restricted masks")
	fs.IntVar(&f.evalEvery, "eval-every", 200, "held-out evaluation every N steps (0: never)")
	fs.IntVar(&f.evalN, "eval-n", 24, "held-out problems per evaluation")
	fs.IntVar(&f.freeN, "free-n", 16, "held-out problems decoded free-running (full cache and ZoomR) at each evaluation, logged to OUT/free.csv (0: none)")
	fs.IntVar(&f.ckptEvery, "ckpt-every", 50, "checkpoint every N steps")
	fs.BoolVar(&f.bf16, "bf16", true, "write the final weights as bfloat16")
	fs.BoolVar(&f.noResume, "no-resume", false, "ignore an existing checkpoint")
	fs.IntVar(&f.dump, "dump", 0, "write this many task problems as JSONL to stdout and exit")
	fs.StringVar(&f.split, "split", "heldout", "split of -dump: train or heldout")
	if err := fs.Parse(args); err != nil {
		return flags{}, err
	}
	if fs.NArg() > 0 {
		return flags{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return f, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	f, err := parseFlags(args)
	if err != nil {
		return err
	}
	if err := resolveTask(&f); err != nil {
		return err
	}
	if f.dump > 0 {
		return dump(f, stdout)
	}
	// Training graphs allocate large short-lived buffers: collect less often (memory is plentiful,
	// CPU is not).
	debug.SetGCPercent(400)

	b, err := train.NewBackend()
	if err != nil {
		return err
	}
	m, tok, err := buildModel(ctx, f, b)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "model: %d layers, hidden %d, %d heads (%d kv) of %d, ffn %d, vocab %d, rope base %g\n",
		m.Config.Layers, m.Config.Hidden, m.Config.Heads, m.Config.KVHeads, m.Config.HeadDim, m.Config.Intermediate, m.Config.VocabSize, m.Config.RopeTheta)
	vc := train.ViewConfig{Restricted: orNone(f.restricted)}
	skip, err := train.ParseHeadRefs(f.routeSkipHeads)
	if err != nil {
		return err
	}
	copyHeads, err := train.ParseHeadRefs(f.copyHeads)
	if err != nil {
		return err
	}
	tr, err := train.New(m, train.Config{Steps: f.steps, Seed: f.seed, BatchTokens: f.batchTokens, LR: f.lr,
		Warmup: f.warmup, RouteWeight: orNone(f.route), RouteSkipHeads: skip, CopyWeight: f.copyWeight,
		CopyHeads: copyHeads, View: vc})
	if err != nil {
		return err
	}
	src, ev, err := sources(f, tok, m, vc)
	if err != nil {
		return err
	}
	ckpt := filepath.Join(f.out, "checkpoint")
	if !f.noResume && train.HasCheckpoint(ckpt) {
		if err := tr.Restore(ckpt); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "resumed from %s at step %d\n", ckpt, tr.StepCount())
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	logf, err := appendFile(filepath.Join(f.out, "train.csv"))
	if err != nil {
		return err
	}
	defer logf.Close()
	evf, err := appendFile(filepath.Join(f.out, "eval.csv"))
	if err != nil {
		return err
	}
	defer evf.Close()
	var free *freeEval
	if f.freeN > 0 && f.data == "" && f.evalEvery > 0 {
		if free, err = newFreeEval(f, tok, f.freeN); err != nil {
			return err
		}
		defer free.Close()
	}
	start := time.Now()
	var freeErr error
	err = tr.Run(ctx, src, train.RunOptions{Progress: os.Stderr, CheckpointDir: ckpt, CheckpointEvery: f.ckptEvery,
		Evaluator: ev, EvalEvery: f.evalEvery, Log: logf, EvalLog: evf,
		OnEval: func(step int, r *train.Report) {
			fmt.Fprintf(os.Stderr, "\n[%s] step %d held-out: %s\n", time.Since(start).Round(time.Second), step, r.Summary())
			if free == nil || freeErr != nil {
				return
			}
			s, err := free.run(ctx, m, step)
			if err != nil {
				freeErr = fmt.Errorf("free-running evaluation at step %d: %w", step, err)
				return
			}
			fmt.Fprintf(os.Stderr, "[%s] step %d %s\n", time.Since(start).Round(time.Second), step, s)
		}})
	if err == nil {
		err = freeErr
	}
	if err != nil {
		return err
	}
	if err := m.Save(f.out, f.bf16); err != nil {
		return err
	}
	if err := writeTokenizer(f, tok); err != nil {
		return err
	}
	if err := taskrun.WriteTask(f.out, f.task); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", f.out)
	return nil
}

// orNone maps the flag value 0 ("off") to the config's "none" (< 0); other values pass.
func orNone(v float64) float64 {
	if v == 0 {
		return -1
	}
	return v
}

func appendFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
}

// resolveTask sets f.task from -question-form and -vote-layers, each taken from -init's task.json
// when it is not given.
func resolveTask(f *flags) error {
	var init taskrun.Task
	if f.init != "" {
		var err error
		if init, err = taskrun.LoadTask(f.init); err != nil {
			return err
		}
	}
	f.task = init
	if f.scale != "" {
		sc, err := task.ParseScale(f.scale)
		if err != nil {
			return err
		}
		f.task.Scale = sc
	}
	if f.questionForm != "" {
		form, err := task.ParseForm(f.questionForm)
		if err != nil {
			return err
		}
		f.task.Form = form
	}
	switch f.voteLayers {
	case "":
	case "all":
		f.task.VoteLayers = nil
	default:
		f.task.VoteLayers = nil
		for _, s := range strings.Split(f.voteLayers, ",") {
			l, err := strconv.Atoi(s)
			if err != nil {
				return fmt.Errorf("-vote-layers %q: %w", f.voteLayers, err)
			}
			f.task.VoteLayers = append(f.task.VoteLayers, l)
		}
	}
	return f.task.Validate()
}

func dump(f flags, stdout io.Writer) error {
	split := task.HeldOut
	switch f.split {
	case "heldout":
	case "train":
		split = task.Train
	default:
		return fmt.Errorf("-split %q: want train or heldout", f.split)
	}
	g, err := f.task.Generator(split, f.seed)
	if err != nil {
		return err
	}
	return g.WriteJSONL(stdout, f.dump)
}
