package train

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"
)

// RunOptions configure Run. Zero values disable each feature.
type RunOptions struct {
	// Progress receives a progress bar (loss, answer accuracy, tokens/s); nil for none.
	Progress io.Writer
	// CheckpointDir and CheckpointEvery: save every CheckpointEvery steps and at the end.
	CheckpointDir   string
	CheckpointEvery int
	// Evaluator runs every EvalEvery steps and at the end; its reports go to Log and OnEval.
	Evaluator *Evaluator
	EvalEvery int
	// Log receives one CSV row per step, EvalLog one per evaluation.
	Log, EvalLog io.Writer
	// OnStep and OnEval, if set, see every step's stats and every evaluation report.
	OnStep func(StepStats)
	OnEval func(step int, r *Report)
}

// Run trains until the configured number of steps (continuing from StepCount, e.g. after Restore),
// drawing batches from src. It stops early, after saving a checkpoint, when ctx is cancelled.
func (t *Trainer) Run(ctx context.Context, src Source, o RunOptions) error {
	var bar *progressbar.ProgressBar
	if o.Progress != nil {
		bar = progressbar.NewOptions(t.cfg.Steps,
			progressbar.OptionSetWriter(o.Progress),
			progressbar.OptionSetDescription("training"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(500*time.Millisecond),
			progressbar.OptionFullWidth())
		_ = bar.Set(t.step)
	}
	var log, evalLog *csvLog
	if o.Log != nil {
		log = newCSVLog(o.Log)
	}
	if o.EvalLog != nil {
		evalLog = newCSVLog(o.EvalLog)
	}
	var ema *StepStats
	for t.step < t.cfg.Steps {
		if err := ctx.Err(); err != nil {
			if o.CheckpointDir != "" {
				return firstErr(t.Save(o.CheckpointDir), err)
			}
			return err
		}
		ex, err := src.Batch(t.step, t.cfg.BatchTokens)
		if err != nil {
			return err
		}
		st, err := t.Step(ex)
		if err != nil {
			return err
		}
		ema = smooth(ema, st)
		if o.OnStep != nil {
			o.OnStep(st)
		}
		if bar != nil {
			bar.Describe(fmt.Sprintf("loss %.3f ans %.2f route %.2f copy %.2f %4.0f tok/s", ema.Loss, ema.AnswerAcc, ema.RouteAcc,
				ema.CopyAcc, float64(ema.Tokens)/ema.Took.Seconds()))
			_ = bar.Set(t.step)
		}
		done := t.step
		if log != nil {
			if err := log.step(st); err != nil {
				return err
			}
		}
		if o.Evaluator != nil && o.EvalEvery > 0 && (done%o.EvalEvery == 0 || done == t.cfg.Steps) {
			rep, err := o.Evaluator.Run()
			if err != nil {
				return err
			}
			if o.OnEval != nil {
				o.OnEval(done, rep)
			}
			if evalLog != nil {
				if err := evalLog.eval(done, rep); err != nil {
					return err
				}
			}
		}
		if o.CheckpointDir != "" && ((o.CheckpointEvery > 0 && done%o.CheckpointEvery == 0) || done == t.cfg.Steps) {
			if err := t.Save(o.CheckpointDir); err != nil {
				return err
			}
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	return nil
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// smooth keeps an exponential moving average of the step stats for the progress bar.
func smooth(ema *StepStats, st StepStats) *StepStats {
	if ema == nil {
		c := st
		return &c
	}
	const a = 0.1
	mix := func(old, v float64) float64 { return old + a*(v-old) }
	ema.Loss = mix(ema.Loss, st.Loss)
	ema.AnswerAcc = mix(ema.AnswerAcc, st.AnswerAcc)
	if st.RouteN > 0 {
		ema.RouteAcc = mix(ema.RouteAcc, st.RouteAcc)
	}
	if st.CopyN > 0 {
		ema.CopyAcc = mix(ema.CopyAcc, st.CopyAcc)
	}
	ema.Tokens = int(mix(float64(ema.Tokens), float64(st.Tokens)))
	ema.Took = time.Duration(mix(float64(ema.Took), float64(st.Took)))
	return ema
}

// csvLog writes CSV rows under a header written once.
type csvLog struct {
	w      *csv.Writer
	header bool
}

// newCSVLog writes to w. A file that already holds rows (a resumed run appending to its logs)
// keeps its header: a second one in the middle would break every CSV reader.
func newCSVLog(w io.Writer) *csvLog {
	l := &csvLog{w: csv.NewWriter(w)}
	if f, ok := w.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if st, err := f.Stat(); err == nil && st.Size() > 0 {
			l.header = true
		}
	}
	return l
}

func (l *csvLog) row(names []string, values []string) error {
	if !l.header {
		if err := l.w.Write(names); err != nil {
			return err
		}
		l.header = true
	}
	if err := l.w.Write(values); err != nil {
		return err
	}
	l.w.Flush()
	return l.w.Error()
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

var stepCols = []string{"step", "lr", "loss", "route_loss", "route_acc", "answer_acc", "tokens", "batch", "seq", "seconds", "tokens_per_s", "copy_loss", "copy_acc"}

func (l *csvLog) step(st StepStats) error {
	f := fmtFloat
	return l.row(stepCols, []string{strconv.Itoa(st.Step + 1), f(st.LR), f(st.Loss), f(st.Route), f(st.RouteAcc),
		f(st.AnswerAcc), strconv.Itoa(st.Tokens), strconv.Itoa(st.Batch), strconv.Itoa(st.Seq), f(st.Took.Seconds()),
		f(float64(st.Tokens) / st.Took.Seconds()), f(st.Copy), f(st.CopyAcc)})
}

func (l *csvLog) eval(step int, rep *Report) error {
	names, values := rep.Row()
	row := []string{strconv.Itoa(step)}
	for _, v := range values {
		row = append(row, fmtFloat(v))
	}
	return l.row(append([]string{"step"}, names...), row)
}
