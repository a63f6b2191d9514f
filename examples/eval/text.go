package main

// Training-free ZoomR on real text (-text FILE): the teacher-forced perplexity of the text's first
// -tokens N tokens under each cache policy at resident budgets of -budgets × N, decoding token by
// token exactly as a generation would (zoomr.Decoder: segmenter, model step over the policy's active
// context, append, seal, re-select). The text is forced through the decoder's own hook for editing
// logits: a LogitsProcessor that reads the log-probability of the text's next token from the
// unedited logits and then allows only that token, which greedy sampling then picks. So the policy
// sees the same stream, step for step, that it would see had the model written the text itself.
//
//	go run ./examples/eval -text spec.txt -model SmolLM2.gguf -tokens 2048 -budgets 0.25,0.125 \
//	    -policies full,zoomr,sumr,streaming,h2o,rkv -out out/text -json
//
// A .html file is read as its text (htmltext.go). Outputs in -out: text.json
// ({"text_runs": [{"policy", "budget", "resident_bytes", "perplexity"}, …]}), text.md (the table)
// and perplexity_vs_budget.png.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/zoomr-go/zoomr/kvcache"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/zoomr"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// textOptions are the -text mode's flags.
type textOptions struct {
	path, budgets string
	tokens        int
	sinks         int     // resident sink tokens of every bounded policy (StreamingLLM's attention sinks)
	paragraphTail int     // ZoomR: the last tokens of each paragraph stand in for its summary
	windowShare   float64 // the recent window's share of the budget (ZoomR, and what H2O/R-KV/SumR derive from it)
	zoomShare     float64 // ZoomR: the zoom slots' share of the budget (two slots)
	reselectAt    string  // ZoomR: comma-separated token texts after which the zoomed set is chosen again
}

// TextRun is one (policy, budget) measurement; the JSON names are the issue's.
type TextRun struct {
	Policy        string  `json:"policy"`
	Budget        float64 `json:"budget"` // resident slots as a fraction of the tokens (1 for the full cache)
	BudgetTokens  int     `json:"budget_tokens"`
	ResidentBytes int64   `json:"resident_bytes"` // peak resident KV of the active context
	Perplexity    float64 `json:"perplexity"`
	Tokens        int     `json:"tokens"` // predicted tokens (N − 1)
	Seconds       float64 `json:"seconds"`
}

// textFlags registers the -text mode's flags (the hook in parse).
func textFlags(o *textOptions) {
	flag.StringVar(&o.path, "text", "", "evaluate teacher-forced perplexity on this text file (.html is read as its text) instead of the task")
	flag.IntVar(&o.tokens, "tokens", 2048, "-text: the text's first N tokens")
	flag.StringVar(&o.budgets, "budgets", "0.25,0.125", "-text: resident budgets as fractions of -tokens")
	flag.IntVar(&o.sinks, "sinks", 4, "-text: attention-sink tokens kept resident by every bounded policy")
	flag.IntVar(&o.paragraphTail, "paragraph-tail", 8, "-text: ZoomR's paragraph segmenter: the last N tokens of a paragraph are its summary")
	flag.Float64Var(&o.windowShare, "window-share", 0.5, "-text: the recent window's share of the budget (ZoomR's split; H2O, R-KV and SumR derive theirs from it)")
	flag.StringVar(&o.reselectAt, "reselect-at", "", "-text: ZoomR also re-selects after tokens with these texts (comma-separated, e.g. \".\"), besides every paragraph end")
	flag.Float64Var(&o.zoomShare, "zoom-share", 0.25, "-text: ZoomR's two zoom slots' share of the budget (the summary region gets the rest)")
}

// runText is the -text mode.
func runText(ctx context.Context, o options) error {
	budgets, err := parseFractions(o.text.budgets)
	if err != nil {
		return err
	}
	m, tok, err := loadTextModel(ctx, o.model)
	if err != nil {
		return err
	}
	defer m.Close()
	ids, err := textTokens(o.text.path, tok, o.text.tokens)
	if err != nil {
		return err
	}
	var runs []TextRun
	for _, p := range o.policies {
		for _, b := range budgets {
			if p == zoomr.PolicyFull {
				b = 1
			}
			start := time.Now()
			r, err := perplexity(ctx, m, tok, ids, p, b, o.text)
			if err != nil {
				return fmt.Errorf("%s at budget %g: %w", p, b, err)
			}
			r.Seconds = time.Since(start).Seconds()
			fmt.Fprintf(os.Stderr, "%-9s budget %-6g (%4d tokens): perplexity %.3f, resident %.1f KiB (%.0f s)\n",
				p, b, r.BudgetTokens, r.Perplexity, float64(r.ResidentBytes)/1024, r.Seconds)
			runs = append(runs, r)
			if p == zoomr.PolicyFull {
				break
			}
		}
	}
	return writeTextReport(o, runs)
}

// loadTextModel loads a model and its tokenizer (a GGUF's own, or the directory's tokenizer.json).
func loadTextModel(ctx context.Context, path string) (*model.Model, *tokenizer.Tokenizer, error) {
	m, err := model.Load(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	tokPath := path
	if g, err := model.FindGGUF(path); err == nil && g != "" {
		tokPath = g
	}
	tok, err := tokenizer.Load(tokPath)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, tok, nil
}

// textTokens reads the text (an .html file as its text), tokenizes it as a document (the vocabulary's
// BOS if it adds one, special-token text kept literal) and returns its first n tokens.
func textTokens(path string, tok *tokenizer.Tokenizer, n int) ([]int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	text := string(raw)
	if strings.HasSuffix(strings.ToLower(path), ".html") {
		if text, err = htmlText(text); err != nil {
			return nil, err
		}
	}
	ids, err := tok.EncodeWith(text, tokenizer.Options{AddBOS: tok.AddBOS()})
	if err != nil {
		return nil, err
	}
	if n < 2 || len(ids) < n {
		return nil, fmt.Errorf("-tokens %d: the text has %d tokens (need at least 2)", n, len(ids))
	}
	return ids[:n], nil
}

// textConfig is the decoder for one policy at a resident budget of budgetTokens slots: every bounded
// policy gets the same total (kvcache.Config.MaxTokens, split its own way), the first sinks tokens as
// attention sinks; ZoomR (and SumR) cut thoughts at blank lines (the paragraph segmenter), ZoomR
// zooms c = 2 thoughts into slots of zoomShare/2 of the budget each (default budget/8), and the
// window is windowShare of the budget (default budget/2); the summary region gets the rest.
func textConfig(policy string, budgetTokens int, o textOptions, forced []int, logp *[]float64) zoomr.Config {
	cfg := zoomr.Config{
		Policy: policy, Sinks: o.sinks, Window: max(1, int(o.windowShare*float64(budgetTokens))), Zoom: 2,
		ZoomSlotLen: max(1, int(o.zoomShare*float64(budgetTokens)/2)),
		Segmenter:   zoomr.SegmentParagraph, ParagraphTail: o.paragraphTail,
		IgnoreEOS: true, MaxTokens: len(forced), MaxPromptTokens: 1 << 20,
	}
	if o.reselectAt != "" {
		cfg.ReselectAt = strings.Split(o.reselectAt, ",")
	}
	if policy != zoomr.PolicyFull {
		cfg.NewCache = func(c kvcache.Config) (kvcache.Cache, error) {
			c.MaxTokens, c.SummaryCap = budgetTokens, 0 // the summary region gets what the other regions leave
			return kvcache.New(policy, c)
		}
	}
	cfg.NewLogitsProcessor = func() zoomr.LogitsProcessor { return teacher(forced, logp) }
	return cfg
}

// teacher forces the next token of forced at every step, first recording its log-probability under
// the model's unedited logits.
func teacher(forced []int, logp *[]float64) zoomr.LogitsProcessor {
	return zoomr.LogitsProcessorFunc(func(generated []int, logits []float32) error {
		k := len(generated)
		if k >= len(forced) {
			return fmt.Errorf("step %d past the %d forced tokens", k, len(forced))
		}
		*logp = append(*logp, logSoftmaxAt(logits, forced[k]))
		zoomr.AllowOnly(logits, forced[k])
		return nil
	})
}

// logSoftmaxAt is log softmax(x)[i], in float64.
func logSoftmaxAt(x []float32, i int) float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v) - mx)
	}
	return float64(x[i]) - mx - math.Log(sum)
}

// perplexity decodes ids[1:] teacher-forced after the prompt ids[:1] under the policy at budget × N
// resident slots.
func perplexity(ctx context.Context, m *model.Model, tok *tokenizer.Tokenizer, ids []int, policy string, budget float64,
	o textOptions) (TextRun, error) {
	budgetTokens := int(math.Round(budget * float64(len(ids))))
	var logp []float64
	forced := ids[1:]
	d, err := zoomr.New(m, tok, textConfig(policy, budgetTokens, o, forced, &logp))
	if err != nil {
		return TextRun{}, err
	}
	r := TextRun{Policy: policy, Budget: budget, BudgetTokens: budgetTokens}
	n := 0
	for t, err := range d.GenerateIDs(ctx, ids[:1]) {
		if err != nil {
			return r, err
		}
		if t.ID != forced[n] {
			return r, fmt.Errorf("step %d: the decoder chose %d, the text has %d", n, t.ID, forced[n])
		}
		n++
		r.ResidentBytes = max(r.ResidentBytes, t.Stats.ResidentBytes)
	}
	if n != len(forced) || len(logp) != len(forced) {
		return r, fmt.Errorf("decoded %d of %d tokens (%d log-probs)", n, len(forced), len(logp))
	}
	var nll float64
	for _, lp := range logp {
		nll -= lp
	}
	r.Tokens = len(logp)
	r.Perplexity = math.Exp(nll / float64(len(logp)))
	return r, nil
}

func parseFractions(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 || v > 1 {
			return nil, fmt.Errorf("-budgets %q: want fractions in (0, 1]", s)
		}
		out = append(out, v)
	}
	return out, nil
}

// writeTextReport writes text.json, text.md and the plot into o.out and prints the table (and the
// JSON with -json).
func writeTextReport(o options, runs []TextRun) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(map[string]any{"text": o.text.path, "tokens": o.text.tokens, "model": o.model,
		"text_runs": runs}, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if err := os.WriteFile(filepath.Join(o.out, "text.json"), data, 0o644); err != nil {
		return err
	}
	table := textTable(runs)
	if err := os.WriteFile(filepath.Join(o.out, "text.md"), []byte(table), 0o644); err != nil {
		return err
	}
	if o.asJSON {
		os.Stdout.Write(data)
	} else {
		fmt.Print(table)
	}
	return textPlot(o, runs)
}

// textTable is the markdown table: perplexity and its excess over the full cache.
func textTable(runs []TextRun) string {
	full := math.NaN()
	for _, r := range runs {
		if r.Policy == zoomr.PolicyFull {
			full = r.Perplexity
		}
	}
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 4, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(w, "| policy\t budget\t resident KV\t perplexity\t vs full\t")
	fmt.Fprintln(w, "|---\t---\t---\t---\t---\t")
	for _, r := range runs {
		fmt.Fprintf(w, "| %s\t %g (%d tokens)\t %.1f KiB\t %.3f\t %+.3f\t\n", r.Policy, r.Budget, r.BudgetTokens,
			float64(r.ResidentBytes)/1024, r.Perplexity, r.Perplexity-full)
	}
	w.Flush()
	return strings.ReplaceAll(b.String(), "\t", "") // tabwriter.Debug's bars make the markdown columns
}

// textPlot: perplexity against the resident budget, one line per bounded policy, the full cache as a
// horizontal reference.
func textPlot(o options, runs []TextRun) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Teacher-forced perplexity, first %d tokens of %s", o.text.tokens, filepath.Base(o.text.path))
	p.X.Label.Text = "resident budget (fraction of the tokens)"
	p.Y.Label.Text = "perplexity"
	byPolicy := map[string]plotter.XYs{}
	var names []string
	var full float64
	for _, r := range runs {
		if r.Policy == zoomr.PolicyFull {
			full = r.Perplexity
			continue
		}
		if _, ok := byPolicy[r.Policy]; !ok {
			names = append(names, r.Policy)
		}
		byPolicy[r.Policy] = append(byPolicy[r.Policy], plotter.XY{X: r.Budget, Y: r.Perplexity})
	}
	var args []any
	for _, n := range names {
		args = append(args, n, byPolicy[n])
	}
	if full > 0 && len(runs) > 1 {
		lo, hi := 1.0, 0.0
		for _, r := range runs {
			if r.Policy != zoomr.PolicyFull {
				lo, hi = math.Min(lo, r.Budget), math.Max(hi, r.Budget)
			}
		}
		args = append(args, "full", plotter.XYs{{X: lo, Y: full}, {X: hi, Y: full}})
	}
	if len(args) == 0 {
		return nil
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	return p.Save(7*vg.Inch, 4.5*vg.Inch, filepath.Join(o.out, "perplexity_vs_budget.png"))
}
