// Command bench measures decoding speed and memory of the full cache and ZoomR as the context grows.
//
//	go run ./examples/bench -lengths 1024,4096,16384,32768 -out bench.json [-llamacpp]
//	go run -tags xla ./examples/bench -backends host,xla:cpu,noshared_buffers -lengths 1024,16384
//
// Length N means the context holds N tokens (prompt + generated) at the end of the measured window.
// ZoomR generates its way there (its cache state — thoughts, summaries, zooms — only exists if it
// decoded the tokens); its tokens/s at N is measured over the Window tokens before N. The full cache's
// cost depends only on how many tokens it holds, not on how they got there, so it is measured like
// llama.cpp's bench: prefill N-Window tokens, then decode Window tokens (this keeps a 32k full-cache run
// from taking hours on 2 cores). Tokens/s is the steady state: a step during which a graph was
// compiled (a new shape) is left out and counted in "steps compiling".
//
// Models: "small" is the committed trained model (testdata/zoomr-tiny) decoding with its summaries;
// "random512" is a random d=512, 8-layer, 8/2-head model decoding with the training-free segmenter;
// "qwen05-f16", "qwen05-q8_0" and "qwen05-q4_k_m" are a random Qwen2.5-0.5B-shaped model
// (benchmodels.Qwen05) as GGUF files of those types (model.WriteGGUF, as examples/quantize writes
// them, with the oracle's qwen2 vocabulary), run on the host engine with the weights as stored.
// -llamacpp runs llama.cpp's bench (../shared/oracle/bench.mjs) on the same models (the very same
// GGUF files) at the same lengths and prints our tokens/s over llama.cpp's, and the resident bytes
// of both: weights + KV cache (ours: the weights as held and the active context's peak, counted;
// llama.cpp's: the tensor bytes and its F16 KV cache at the context size it allocated).
//
//	go run ./examples/bench -models qwen05-q8_0,qwen05-q4_k_m -policies full -lengths 1024,16384 \
//	    -full-max 1024 -llamacpp -llamacpp-threads 2
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/zoomr-go/zoomr/internal/benchmodels"
	"github.com/zoomr-go/zoomr/internal/oracle"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/gguf"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/zoomr"
)

// Run is one (model, policy, length) measurement; the JSON field names are the issue's.
type Run struct {
	Model             string  `json:"model"`
	Backend           string  `json:"backend"` // "host" (the host engine), or the graph engine's backend ("go", "xla:cpu", ...)
	Policy            string  `json:"policy"`
	Length            int     `json:"length"`
	TokensPerSecond   float64 `json:"tokens_per_s"`
	PeakResidentBytes int64   `json:"peak_resident_bytes"`
	PeakHostBytes     int64   `json:"peak_host_bytes"`
	SelectionShare    float64 `json:"selection_share"` // (selection + cache bookkeeping) / decode time in the window
	GraphBuilds       int64   `json:"graph_builds"`    // the model's graph compilations so far
	CompileSteps      int     `json:"compile_steps"`   // steps in the window left out of tokens/s: a graph was compiled during them
	// TransferPerToken is the bytes that crossed between host and device per decoded token in the
	// window (zoomr.StepStats.TransferBytes).
	TransferPerToken float64 `json:"transfer_bytes_per_token"`
	WeightBytes      int64   `json:"weight_bytes"` // the model's weights as held
}

// LlamaRun is llama.cpp's decode speed at a context length.
type LlamaRun struct {
	Length          int                `json:"length"`
	Threads         int                `json:"threads"`
	TokensPerSecond float64            `json:"tokens_per_s"`
	Ratios          map[string]float64 `json:"ratio_ours_over_llamacpp"` // by policy (engine/policy for engines other than host)
	Model           string             `json:"model"`
	ResidentBytes   int64              `json:"resident_bytes"`          // weights + F16 KV cache at its context size
	ByThreads       map[int]float64    `json:"tokens_per_s_by_threads"` // every thread count tried
}

type options struct {
	lengths          []int
	models, policies []string
	window, prompt   int
	fullMax          int // Full is measured only at lengths up to this (0: all)
	outPath          string
	asJSON           bool
	llamacpp         bool
	llamaThreads     []int
	backends         []string // "host", or a backend for the graph engine ("go", "xla:cpu", ...)
	cfg              zoomr.Config
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func parseOptions() (*options, error) {
	o := &options{}
	lengths := flag.String("lengths", "1024,4096,16384,32768", "context lengths to measure at")
	models := flag.String("models", "small,random512", "models: small (trained, summaries), random512 (paragraph segmenter), qwen05-f16|q8_0|q4_k_m (GGUF)")
	policies := flag.String("policies", "full,zoomr", "cache policies")
	flag.IntVar(&o.window, "window-tokens", 64, "tokens per measured window")
	flag.IntVar(&o.fullMax, "full-max", 0, "measure Full only at lengths up to N (0: all; its prefill grows quadratically)")
	flag.IntVar(&o.prompt, "prompt-len", 64, "prompt tokens for ZoomR runs")
	flag.StringVar(&o.outPath, "out", "", "write the results as JSON to this file")
	flag.BoolVar(&o.asJSON, "json", false, "print the results as JSON to stdout (the table goes to stderr)")
	flag.BoolVar(&o.llamacpp, "llamacpp", false, "also run llama.cpp's bench on random512 and the GGUF models and print ratios")
	backendsFlag := flag.String("backends", "host", "engines to measure, in one run: host (the host engine), go (graphs on the pure-Go backend), xla:cpu, xla:cpu,noshared_buffers, xla:cuda (XLA needs -tags xla)")
	threads := flag.String("llamacpp-threads", "1,2", "llama.cpp thread counts to try (the best is used)")
	flag.IntVar(&o.cfg.Window, "window", 256, "ZoomR recent window")
	flag.IntVar(&o.cfg.SummaryCap, "summary-cap", 1024, "ZoomR summary region")
	flag.IntVar(&o.cfg.ZoomSlotLen, "zoom-slot", 256, "ZoomR zoom slot length")
	flag.IntVar(&o.cfg.MaxThoughtLen, "max-thought", 128, "random512: thoughts are split every N tokens")
	flag.Parse()
	var err error
	if o.lengths, err = parseInts(*lengths); err != nil {
		return nil, fmt.Errorf("-lengths: %w", err)
	}
	if o.llamaThreads, err = parseInts(*threads); err != nil {
		return nil, fmt.Errorf("-llamacpp-threads: %w", err)
	}
	o.models = strings.Split(*models, ",")
	o.backends = splitBackends(*backendsFlag)
	o.policies = strings.Split(*policies, ",")
	for _, l := range o.lengths {
		if l <= o.prompt+o.window {
			return nil, fmt.Errorf("length %d must exceed -prompt-len + -window-tokens = %d", l, o.prompt+o.window)
		}
	}
	return o, nil
}

func run() error {
	o, err := parseOptions()
	if err != nil {
		return err
	}
	ctx := context.Background()
	var runs []Run
	for _, backend := range o.backends {
		for _, name := range o.models {
			dec, err := decoderFor(ctx, name, backend, o)
			if err != nil {
				if name == "small" {
					fmt.Fprintf(os.Stderr, "bench: skipping model small: %v\n", err)
					continue
				}
				return err
			}
			for _, policy := range o.policies {
				d, err := withPolicy(dec, policy)
				if err != nil {
					return err
				}
				var rs []Run
				if policy == zoomr.PolicyFull {
					rs, err = measureFull(ctx, d, name, o)
				} else {
					rs, err = measureGenerated(ctx, d, name, policy, o)
				}
				if err != nil {
					return fmt.Errorf("%s/%s/%s: %w", backend, name, policy, err)
				}
				for i := range rs {
					rs[i].Backend = backend
				}
				runs = append(runs, rs...)
			}
			dec.Model().Close()
		}
	}
	table := os.Stdout
	if o.asJSON {
		table = os.Stderr
	}
	printRuns(table, runs)
	var llama []LlamaRun
	if o.llamacpp {
		if llama, err = runLlama(ctx, o, runs); err != nil {
			return err
		}
	}
	data, _ := json.MarshalIndent(map[string]any{"runs": runs, "llamacpp": llama}, "", "  ")
	if o.asJSON {
		if _, err := os.Stdout.Write(append(data, '\n')); err != nil {
			return err
		}
	}
	if o.outPath != "" {
		return os.WriteFile(o.outPath, append(data, '\n'), 0o644)
	}
	return nil
}

// splitBackends splits the -backends list at commas that start a new backend (an XLA config's own
// options, such as xla:cpu,noshared_buffers, stay with it).
func splitBackends(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if len(out) > 0 && f != "host" && f != "go" && !strings.Contains(f, ":") {
			out[len(out)-1] += "," + f
			continue
		}
		out = append(out, f)
	}
	return out
}

// engineOptions are the model options of a -backends entry.
func engineOptions(backend string) ([]model.Option, error) {
	switch backend {
	case "host":
		return []model.Option{model.WithEngine(model.EngineHost)}, nil
	case "go":
		return []model.Option{model.WithEngine(model.EngineGraph)}, nil
	}
	b, err := model.NewBackend(backend)
	if err != nil {
		return nil, err
	}
	return []model.Option{model.WithBackend(b), model.WithEngine(model.EngineGraph)}, nil
}

// decoderFor loads a model on an engine and returns a ZoomR decoder configured for it.
func decoderFor(ctx context.Context, name, backend string, o *options) (*zoomr.Decoder, error) {
	cfg := o.cfg
	cfg.IgnoreEOS = true
	cfg.MaxTokens = 1 << 30
	cfg.MaxPromptTokens = 1 << 20
	modelOpts, err := engineOptions(backend)
	if err != nil {
		return nil, err
	}
	switch name {
	case "small":
		dir, err := benchmodels.SmallModelDir()
		if err != nil {
			return nil, err
		}
		m, err := model.Load(ctx, dir, modelOpts...)
		if err != nil {
			return nil, err
		}
		tok, err := tokenizer.Load(dir)
		if err != nil {
			return nil, err
		}
		cfg.MaxThoughtLen = 0 // the model's own summaries end its thoughts
		return zoomr.New(m, tok, cfg)
	case "random512":
		dir, err := benchmodels.Materialize(benchmodels.Random512)
		if err != nil {
			return nil, err
		}
		m, err := model.Load(ctx, dir, modelOpts...)
		if err != nil {
			return nil, err
		}
		cfg.Segmenter = zoomr.SegmentParagraph
		cfg.ParagraphTail = 8
		return zoomr.New(m, nil, cfg)
	}
	if path, ok, err := ggufModelPath(name); ok {
		if err != nil {
			return nil, err
		}
		m, err := model.Load(ctx, path, modelOpts...)
		if err != nil {
			return nil, err
		}
		cfg.Segmenter = zoomr.SegmentParagraph
		cfg.ParagraphTail = 8
		return zoomr.New(m, nil, cfg)
	}
	return nil, fmt.Errorf("unknown model %q (small, random512, %s)", name, strings.Join(ggufModels(), ", "))
}

// ggufModelPrefix names the GGUF benchmark models: qwen05-<type>.
const ggufModelPrefix = "qwen05-"

func ggufModels() []string {
	var out []string
	for _, t := range []string{"f16", "q8_0", "q4_k_m"} {
		out = append(out, ggufModelPrefix+t)
	}
	return out
}

// ggufModelPath materialises a GGUF benchmark model (benchmodels.Qwen05 as a GGUF of the named type,
// with the oracle's qwen2 vocabulary so that llama.cpp loads the same file) and returns its path; ok
// is false for names that are not GGUF models.
func ggufModelPath(name string) (path string, ok bool, err error) {
	typ, ok := strings.CutPrefix(name, ggufModelPrefix)
	if !ok {
		return "", false, nil
	}
	dir, err := oracle.Dir()
	if err != nil {
		return "", true, fmt.Errorf("%s needs the oracle's qwen2 vocabulary: %w", name, err)
	}
	path, err = benchmodels.MaterializeGGUF(benchmodels.Qwen05, typ, filepath.Join(dir, "vocab", benchmodels.Qwen05Vocab))
	return path, true, err
}

func withPolicy(d *zoomr.Decoder, p string) (*zoomr.Decoder, error) {
	cfg := d.Config()
	cfg.Policy = p
	return zoomr.New(d.Model(), d.Tokenizer(), cfg)
}

// generationPrompt is what a measured generation starts from: for the trained small model a held-out
// task problem (so it writes thoughts and summaries as it was trained to), for random512 random ids.
func generationPrompt(d *zoomr.Decoder, name string, o *options) ([]int, error) {
	if name != "small" {
		return randomPrompt(o.prompt, vocabOf(d), 1), nil
	}
	g, err := task.NewGenerator(task.Config{}, task.HeldOut, 1)
	if err != nil {
		return nil, err
	}
	return d.Tokenizer().Encode(g.Next().Prompt())
}

func randomPrompt(n, vocab int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]int, n)
	for i := range out {
		out[i] = 3 + rng.IntN(vocab-3)
	}
	return out
}

// measureGenerated decodes up to the longest length once and measures a window before each length.
// stepClock adds up the time of decode steps, leaving out the steps during which the model compiled
// a graph (a new shape: the first step, a context that grew to its next capacity): tokens/s is the
// steady state, as llama.cpp's bench measures it after a warm-up. Compiles are counted instead.
type stepClock struct {
	last       time.Time
	lastBuilds int64
	seconds    float64 // summed duration of the counted steps
	steps      int     // steps counted
	compiles   int     // steps left out because a graph was built during them
}

// tick records a token that arrived now, with the model's graph-build count at that point.
func (c *stepClock) tick(now time.Time, builds int64) {
	if !c.last.IsZero() {
		if builds == c.lastBuilds {
			c.seconds += now.Sub(c.last).Seconds()
			c.steps++
		} else {
			c.compiles++
		}
	}
	c.last, c.lastBuilds = now, builds
}

// rate is the tokens/s between an earlier snapshot of the clock and c.
func (c stepClock) rate(since stepClock) float64 {
	return float64(c.steps-since.steps) / (c.seconds - since.seconds)
}

func measureGenerated(ctx context.Context, d *zoomr.Decoder, name, policy string, o *options) ([]Run, error) {
	prompt, err := generationPrompt(d, name, o)
	if err != nil {
		return nil, err
	}
	maxLen := slices.Max(o.lengths)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type mark struct {
		clock    stepClock
		overhead float64
		transfer int64
	}
	marks := map[int]mark{}
	want := map[int]bool{}
	for _, l := range o.lengths {
		want[l-o.window] = true
		want[l] = true
	}
	var runs []Run
	var peakRes, peakHost int64
	var clock stepClock
	n := len(prompt)
	start := time.Now()
	for tok, err := range d.GenerateIDs(ctx, prompt) {
		if err != nil {
			return nil, err
		}
		n++
		clock.tick(time.Now(), tok.Stats.GraphBuilds)
		peakRes = max(peakRes, tok.Stats.ResidentBytes)
		peakHost = max(peakHost, tok.Stats.HostBytes)
		if want[n] {
			marks[n] = mark{clock, tok.Stats.OverheadSeconds, tok.Stats.TransferBytes}
		}
		for _, l := range o.lengths {
			if n != l {
				continue
			}
			a, b := marks[l-o.window], marks[l]
			r := Run{Model: name, Policy: policy, Length: l, TokensPerSecond: b.clock.rate(a.clock),
				PeakResidentBytes: peakRes, PeakHostBytes: peakHost, GraphBuilds: tok.Stats.GraphBuilds,
				CompileSteps:   b.clock.compiles - a.clock.compiles,
				SelectionShare: (b.overhead - a.overhead) / (b.clock.seconds - a.clock.seconds), TransferPerToken: float64(b.transfer-a.transfer) / float64(o.window),
				WeightBytes: d.Model().WeightBytes()}
			runs = append(runs, r)
			fmt.Fprintf(os.Stderr, "%s/%s length %d: %.1f tokens/s (%.0f s elapsed)\n", name, policy, l, r.TokensPerSecond, time.Since(start).Seconds())
		}
		if n >= maxLen {
			break
		}
	}
	return runs, nil
}

// measureFull prefills length-window tokens into a full cache and times the window decode steps
// that follow (window+1 tokens: the first comes from the prefill), per length.
func measureFull(ctx context.Context, d *zoomr.Decoder, name string, o *options) ([]Run, error) {
	var runs []Run
	for _, l := range o.lengths {
		if o.fullMax > 0 && l > o.fullMax {
			fmt.Fprintf(os.Stderr, "%s/full length %d: skipped (-full-max %d)\n", name, l, o.fullMax)
			continue
		}
		prompt := randomPrompt(l-o.window, vocabOf(d), uint64(l))
		g := d.StartIDs(ctx, prompt, zoomr.WithMaxTokens(o.window+1))
		var res, host, builds int64
		var overhead float64
		var clock stepClock
		for tok, err := range g.Tokens() {
			if err != nil {
				return nil, err
			}
			clock.tick(time.Now(), tok.Stats.GraphBuilds)
			res, host, builds, overhead = max(res, tok.Stats.ResidentBytes), max(host, tok.Stats.HostBytes), tok.Stats.GraphBuilds, tok.Stats.OverheadSeconds
		}
		st := g.Stats()
		r := Run{Model: name, Policy: "full", Length: l, TokensPerSecond: clock.rate(stepClock{}),
			PeakResidentBytes: max(res, st.PeakResidentBytes), PeakHostBytes: max(host, st.PeakHostBytes),
			GraphBuilds: builds, CompileSteps: clock.compiles, SelectionShare: overhead / st.DecodeSeconds,
			TransferPerToken: float64(st.TransferBytes) / float64(st.Tokens), WeightBytes: d.Model().WeightBytes()}
		runs = append(runs, r)
		fmt.Fprintf(os.Stderr, "%s/full length %d: %.1f tokens/s (prefill %.0f s)\n", name, l, r.TokensPerSecond, st.PrefillSeconds)
	}
	return runs, nil
}

func vocabOf(d *zoomr.Decoder) int {
	if t := d.Tokenizer(); t != nil {
		return t.VocabSize()
	}
	return d.Model().Config.VocabSize
}

func printRuns(out io.Writer, runs []Run) {
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "model\tengine\tpolicy\tlength\ttokens/s\tweights\tpeak resident KV\tpeak host KV\ttransfer/token\tselection+bookkeeping\tgraph builds\tsteps compiling\t")
	for _, r := range runs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%.1f\t%.1f MiB\t%.1f MiB\t%.1f MiB\t%.0f B\t%.1f%%\t%d\t%d\t\n", r.Model, r.Backend, r.Policy, r.Length, r.TokensPerSecond,
			float64(r.WeightBytes)/(1<<20), float64(r.PeakResidentBytes)/(1<<20), float64(r.PeakHostBytes)/(1<<20), r.TransferPerToken, 100*r.SelectionShare, r.GraphBuilds, r.CompileSteps)
	}
	w.Flush()
	byKey := map[string]Run{}
	for _, r := range runs {
		byKey[fmt.Sprintf("%s/%s/%s/%d", r.Model, r.Backend, r.Policy, r.Length)] = r
	}
	for _, r := range runs {
		if r.Policy != "zoomr" {
			continue
		}
		if f, ok := byKey[fmt.Sprintf("%s/%s/full/%d", r.Model, r.Backend, r.Length)]; ok {
			fmt.Fprintf(out, "%s on %s, length %d: ZoomR/Full tokens/s %.2fx, Full/ZoomR resident KV %.1fx\n", r.Model, r.Backend, r.Length,
				r.TokensPerSecond/f.TokensPerSecond, float64(f.PeakResidentBytes)/float64(r.PeakResidentBytes))
		}
	}
	for _, r := range runs {
		if r.Backend == "host" {
			continue
		}
		if h, ok := byKey[fmt.Sprintf("%s/host/%s/%d", r.Model, r.Policy, r.Length)]; ok {
			fmt.Fprintf(out, "%s %s length %d: %s/host engine tokens/s %.2fx\n", r.Model, r.Policy, r.Length, r.Backend,
				r.TokensPerSecond/h.TokensPerSecond)
		}
	}
}

// llamaModel is a model llama.cpp's bench runs: its bench.mjs arguments and its weight bytes.
type llamaModel struct {
	args        []string
	weightBytes int64
	cfg         *model.Config
}

// llamaModelFor maps a benchmark model to the files llama.cpp runs (the same weights): random512's HF
// directory (bench.mjs converts it to an F32 GGUF), the GGUF models' very files. ok is false for
// models llama.cpp cannot run (small has no vocabulary llama.cpp knows).
func llamaModelFor(name string) (lm llamaModel, ok bool, err error) {
	if name == "random512" {
		dir, err := benchmodels.Materialize(benchmodels.Random512)
		if err != nil {
			return lm, true, err
		}
		cfg, err := model.LoadConfig(dir)
		if err != nil {
			return lm, true, err
		}
		var params int64
		for _, s := range cfg.ExpectedTensors() {
			n := int64(1)
			for _, d := range s.Shape {
				n *= int64(d)
			}
			params += n
		}
		return llamaModel{args: []string{"--model", dir, "--vocab", benchmodels.Random512Vocab}, weightBytes: 4 * params, cfg: cfg}, true, nil
	}
	path, ok, err := ggufModelPath(name)
	if !ok || err != nil {
		return lm, ok, err
	}
	f, err := gguf.Open(path)
	if err != nil {
		return lm, true, err
	}
	defer f.Close()
	for _, t := range f.Tensors {
		lm.weightBytes += t.Size
	}
	m, err := model.Load(context.Background(), path)
	if err != nil {
		return lm, true, err
	}
	lm.cfg = m.Config
	m.Close()
	lm.args = []string{"--model", path}
	return lm, true, nil
}

// runLlama runs llama.cpp's decode bench on every model it can run at the same lengths (its best
// thread count among -llamacpp-threads).
func runLlama(ctx context.Context, o *options, runs []Run) ([]LlamaRun, error) {
	if err := oracle.Available(); err != nil {
		return nil, fmt.Errorf("-llamacpp: %w", err)
	}
	var out []LlamaRun
	for _, name := range o.models {
		lm, ok, err := llamaModelFor(name)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		lr, err := runLlamaModel(ctx, o, name, lm, runs)
		if err != nil {
			return nil, err
		}
		out = append(out, lr...)
	}
	return out, nil
}

func runLlamaModel(ctx context.Context, o *options, name string, lm llamaModel, runs []Run) ([]LlamaRun, error) {
	lengths := make([]string, len(o.lengths))
	for i, l := range o.lengths {
		lengths[i] = strconv.Itoa(l - o.window)
	}
	best := map[int]LlamaRun{}
	byThreads := map[int]map[int]float64{}
	for _, th := range o.llamaThreads {
		args := append(append([]string{"bench.mjs"}, lm.args...), "--threads", strconv.Itoa(th), "--ctx", strings.Join(lengths, ","),
			"--gen", strconv.Itoa(o.window))
		out, err := oracle.Run(ctx, args[0], args[1:]...)
		if err != nil {
			return nil, err
		}
		var res struct {
			Runs []struct {
				Prompt      int     `json:"prompt_tokens"`
				ContextSize int64   `json:"context_size"`
				DecodeTPS   float64 `json:"decode_tps"`
			} `json:"runs"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			return nil, fmt.Errorf("llama.cpp bench output: %w", err)
		}
		if len(res.Runs) != len(o.lengths) {
			return nil, errors.New("llama.cpp bench returned a different number of runs")
		}
		for i, r := range res.Runs {
			l := o.lengths[i]
			if byThreads[l] == nil {
				byThreads[l] = map[int]float64{}
			}
			byThreads[l][th] = r.DecodeTPS
			if r.DecodeTPS > best[l].TokensPerSecond {
				c := lm.cfg
				kv := r.ContextSize * int64(c.Layers*c.KVHeads*c.HeadDim) * 2 * 2 // K and V, F16
				best[l] = LlamaRun{Model: name, Length: l, Threads: th, TokensPerSecond: r.DecodeTPS, ResidentBytes: lm.weightBytes + kv}
			}
		}
	}
	var out []LlamaRun
	for _, l := range o.lengths {
		lr := best[l]
		lr.ByThreads = byThreads[l]
		lr.Ratios = map[string]float64{}
		for _, r := range runs {
			if r.Model == name && r.Length == l {
				key := r.Policy
				if r.Backend != "host" {
					key = r.Backend + "/" + r.Policy
				}
				lr.Ratios[key] = r.TokensPerSecond / lr.TokensPerSecond
			}
		}
		var ratios []string
		for _, p := range slices.Sorted(maps.Keys(lr.Ratios)) {
			ratios = append(ratios, fmt.Sprintf("%s %.2fx", p, lr.Ratios[p]))
		}
		fmt.Printf("llama.cpp %s length %d: %.1f tokens/s (best, %d threads; by threads %v), resident %.1f MiB (weights + F16 KV); ours/llama.cpp: %s\n",
			name, l, lr.TokensPerSecond, lr.Threads, lr.ByThreads, float64(lr.ResidentBytes)/(1<<20), strings.Join(ratios, ", "))
		out = append(out, lr)
	}
	return out, nil
}
