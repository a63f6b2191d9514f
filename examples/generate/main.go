// Command generate decodes from a model (a Hugging Face directory, or a GGUF file or a directory holding
// one) with a chosen KV cache policy.
//
//	go run ./examples/generate -m DIR "How many primes are below 30?"
//	go run ./examples/generate -m DIR -system "Be brief." -f question.txt -n 2048
//	go run ./examples/generate -model DIR -prompt-ids 1,2,3 -max-tokens 32 -greedy -json
//
// A text prompt is sent as a user message through the model's chat template when it has one (-chat,
// on by default then; -chat=false sends it raw). Settings the flags leave unset come from the model's
// files (zoomr.Load's defaults: zoomr.json, generation_config.json), then from zoomr.Config's defaults.
// With -json it prints {"prompt_ids":[...],"tokens":[...],"text":"...","reasoning":"...","answer":"...",
// "stats":{...}}.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/zoomr-go/zoomr/examples/internal/cli"
	"github.com/zoomr-go/zoomr/kvcache"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/chat"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/zoomr"
)

func main() {
	cli.Main("generate", func(ctx context.Context, args []string, stdout io.Writer) error {
		return run(ctx, args, stdout)
	})
}

type flags struct {
	modelDir, tokenizerPath, prompt, promptFile, promptIDs, system, cache, segmenter string
	maxTokens, window, sinks, zoom, votes, summaryCap, topK, maxThought, devices     int
	greedy, asJSON, events, bf16, ignoreEOS, chat                                    bool
	temperature, topP                                                                float64
	seed                                                                             uint64
	set                                                                              map[string]bool // flags given on the command line
}

func parseFlags(args []string) (*flags, error) {
	f := &flags{set: map[string]bool{}}
	fs := cli.NewFlags("generate")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: generate -m MODEL [flags] [PROMPT]")
		fs.PrintDefaults()
	}
	str := func(p *string, names []string, def, usage string) {
		for _, n := range names {
			fs.StringVar(p, n, def, usage)
		}
	}
	str(&f.modelDir, []string{"model", "m"}, "", "model: a Hugging Face directory (config.json + safetensors), or a GGUF file (its tokenizer and chat template come with it)")
	fs.StringVar(&f.tokenizerPath, "tokenizer", "", "tokenizer.json or GGUF (default: the model's)")
	str(&f.prompt, []string{"prompt", "p"}, "", "prompt text (or give it as the positional argument)")
	fs.StringVar(&f.promptFile, "f", "", "read the prompt from a file")
	fs.StringVar(&f.promptIDs, "prompt-ids", "", "comma-separated prompt token ids (sent as they are)")
	fs.StringVar(&f.system, "system", "", "system message (chat mode)")
	fs.BoolVar(&f.chat, "chat", true, "render the prompt with the model's chat template as a user message (when the model has one)")
	for _, n := range []string{"max-tokens", "n"} {
		fs.IntVar(&f.maxTokens, n, 0, "maximum tokens to generate (default: the model's zoomr.json, else 1024)")
	}
	fs.BoolVar(&f.greedy, "greedy", false, "greedy decoding (same as -temp 0)")
	for _, n := range []string{"temperature", "temp"} {
		fs.Float64Var(&f.temperature, n, 0, "sampling temperature, 0: greedy (default: the model's generation_config.json, else greedy)")
	}
	fs.IntVar(&f.topK, "top-k", 0, "sample from the k most likely tokens (0: all)")
	fs.Float64Var(&f.topP, "top-p", 0, "nucleus sampling threshold (0: off)")
	for _, n := range []string{"seed", "s"} {
		fs.Uint64Var(&f.seed, n, 0, "sampling seed")
	}
	fs.BoolVar(&f.asJSON, "json", false, "print JSON to stdout")
	fs.BoolVar(&f.events, "events", false, "mark sealed thoughts and zooms in the printed text")
	fs.StringVar(&f.cache, "cache", "", "KV cache policy: "+strings.Join(kvcache.PolicyNames(), "|")+" (default zoomr)")
	fs.IntVar(&f.window, "window", 0, "recent-token window (default 256)")
	fs.IntVar(&f.sinks, "sinks", 0, "keep only the first N prompt tokens resident (0: the whole prompt)")
	fs.IntVar(&f.zoom, "zoom", 0, "thoughts zoomed in at once, c (default 2)")
	fs.IntVar(&f.votes, "votes", 0, "thoughts each head votes for, k (default 2)")
	fs.IntVar(&f.summaryCap, "summary-cap", 0, "summary region capacity in tokens (default 1024)")
	fs.StringVar(&f.segmenter, "segmenter", "", "thought segmenter: auto (summary markers if the vocabulary has them, else paragraphs) | summary | paragraph")
	fs.BoolVar(&f.bf16, "bf16", false, "store the KV cache in bfloat16")
	fs.BoolVar(&f.ignoreEOS, "ignore-eos", false, "do not stop at end-of-sequence tokens")
	fs.IntVar(&f.maxThought, "max-thought", 0, "split thoughts longer than this many tokens (default 512)")
	fs.IntVar(&f.devices, "devices", 1, "split the model across this many devices of the backend (tensor parallelism; XLA, -tags xla)")
	// Flags may follow the positional prompt (generate -m DIR "prompt" -n 64), as in llama-cli.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		if consumed := len(args) - fs.NArg(); consumed > 0 && args[consumed-1] == "--" {
			positional = append(positional, fs.Args()...) // everything after "--" is the prompt
			break
		}
		positional, args = append(positional, fs.Arg(0)), fs.Args()[1:]
	}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	if len(positional) > 0 {
		if f.prompt != "" {
			return nil, errors.New("give the prompt once: -p/-prompt or the positional argument")
		}
		f.prompt = strings.Join(positional, " ")
	}
	return f, nil
}

// given reports whether any of the named flags was on the command line.
func (f *flags) given(names ...string) bool {
	for _, n := range names {
		if f.set[n] {
			return true
		}
	}
	return false
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	f, err := parseFlags(args)
	if err != nil {
		return err
	}
	if f.modelDir == "" {
		return errors.New("-m/-model is required")
	}
	if f.promptFile != "" {
		if f.prompt != "" {
			return errors.New("give one of -f and a prompt text")
		}
		b, err := os.ReadFile(f.promptFile)
		if err != nil {
			return err
		}
		f.prompt = string(b)
	}
	if (f.prompt == "") == (f.promptIDs == "") {
		return errors.New("give a prompt: text (positional, -p, -f) or -prompt-ids")
	}
	var ids []int
	if f.promptIDs != "" {
		if ids, err = parseIDs(f.promptIDs); err != nil {
			return err
		}
	}
	dec, err := newDecoder(ctx, f)
	if err != nil {
		return err
	}
	defer dec.Close()
	g, err := start(ctx, dec, f, ids)
	if err != nil {
		return err
	}
	return generate(dec, g, f, stdout)
}

// newDecoder loads the model and builds its decoder: the flags' settings over the model's defaults.
func newDecoder(ctx context.Context, f *flags) (*zoomr.Decoder, error) {
	cfg := zoomr.Config{
		Policy: f.cache, Window: f.window, Sinks: f.sinks, Zoom: f.zoom, Votes: f.votes,
		SummaryCap: f.summaryCap, Segmenter: zoomr.SegmenterKind(f.segmenter), BFloat16: f.bf16,
		Temperature: f.temperature, TopK: f.topK, TopP: f.topP, Seed: f.seed, MaxTokens: f.maxTokens,
		IgnoreEOS: f.ignoreEOS, MaxThoughtLen: f.maxThought,
	}
	if f.tokenizerPath == "" {
		return zoomr.Load(ctx, f.modelDir, cfg, model.WithDevices(f.devices))
	}
	def, err := zoomr.ModelDefaults(f.modelDir)
	if err != nil {
		return nil, err
	}
	cfg = cfg.Or(def)
	if cfg.ChatTemplate, err = zoomr.LoadChatTemplate(f.modelDir, ""); err != nil && !errors.Is(err, chat.ErrNoTemplate) {
		return nil, err
	}
	tok, err := tokenizer.Load(f.tokenizerPath)
	if err != nil {
		return nil, err
	}
	m, err := model.Load(ctx, f.modelDir, model.WithDevices(f.devices))
	if err != nil {
		return nil, err
	}
	// The decoder does not own m, which lives until the program exits.
	return zoomr.New(m, tok, cfg)
}

// start begins the generation: prompt ids as they are, a text prompt through the chat template
// (chat mode) or tokenized as it is.
func start(ctx context.Context, dec *zoomr.Decoder, f *flags, ids []int) (*zoomr.Generation, error) {
	opts := samplingOptions(dec.Config(), f)
	hasTemplate := dec.Config().ChatTemplate != nil
	switch {
	case f.chat && f.given("chat") && !hasTemplate:
		return nil, fmt.Errorf("-chat: %s has no chat template", f.modelDir)
	case f.system != "" && (!f.chat || !hasTemplate):
		return nil, errors.New("-system needs chat mode and a model with a chat template")
	case ids != nil:
		return dec.StartIDs(ctx, ids, opts...), nil
	case dec.Tokenizer() == nil:
		return nil, fmt.Errorf("a text prompt needs a tokenizer: %s has none (use -tokenizer or -prompt-ids)", f.modelDir)
	case f.chat && hasTemplate:
		var msgs []chat.Message
		if f.system != "" {
			msgs = append(msgs, chat.Message{Role: "system", Content: f.system})
		}
		msgs = append(msgs, chat.Message{Role: "user", Content: f.prompt})
		return dec.Chat(ctx, msgs, opts...), nil
	}
	return dec.Start(ctx, f.prompt, opts...), nil
}

// samplingOptions are the sampling flags given on the command line, over the decoder's settings (the
// model's defaults): -temp 0 or -greedy decodes a sampling model greedily.
func samplingOptions(c zoomr.Config, f *flags) []zoomr.GenOption {
	if !f.given("greedy", "temperature", "temp", "top-k", "top-p") {
		return nil
	}
	temp, topK, topP := c.Temperature, c.TopK, c.TopP
	if f.given("temperature", "temp") {
		temp = f.temperature
	}
	if f.given("top-k") {
		topK = f.topK
	}
	if f.given("top-p") {
		topP = f.topP
	}
	if f.greedy {
		temp = 0
	}
	return []zoomr.GenOption{zoomr.WithSampling(temp, topK, topP, c.Seed)}
}

func generate(dec *zoomr.Decoder, g *zoomr.Generation, f *flags, stdout io.Writer) error {
	tok := dec.Tokenizer()
	var out []int
	var text strings.Builder
	for t, err := range g.Tokens() {
		if err != nil {
			return err
		}
		out = append(out, t.ID)
		piece := t.Text
		if tok != nil && !f.ignoreEOS && tok.IsEOG(t.ID) {
			piece = "" // the end-of-generation token, as llama-cli leaves it out
		}
		if f.events {
			if t.Sealed >= 0 {
				piece += fmt.Sprintf(" ⟦sealed thought %d⟧", t.Sealed)
			}
			if t.Reselected {
				piece += fmt.Sprintf(" ⟦zoom %v, agreeability %.2f⟧", t.Zoomed, t.Stats.Agreeability)
			}
		}
		text.WriteString(piece)
		if !f.asJSON {
			fmt.Fprint(stdout, piece)
		}
	}
	st := g.Stats()
	reasoning, answer := g.Text()
	if f.asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"prompt_ids": g.PromptIDs(), "tokens": out, "text": text.String(), "reasoning": reasoning, "answer": answer,
			"stats": map[string]any{
				"policy": st.Policy, "tokens": st.Tokens, "tokens_per_s": st.TokensPerSecond,
				"peak_resident_bytes": st.PeakResidentBytes, "peak_host_bytes": st.PeakHostBytes,
				"graph_builds": st.GraphBuilds, "reselections": st.Reselections,
				"prefill_s": st.PrefillSeconds, "decode_s": st.DecodeSeconds, "stop_reason": st.StopReason,
				"devices": dec.Model().Devices(),
			},
		})
	}
	fmt.Fprintf(os.Stderr, "\n[%s] %d tokens, %.1f tokens/s, peak resident KV %d bytes, host %d bytes, %d re-selections, %d graph builds, %d device(s)\n",
		st.Policy, st.Tokens, st.TokensPerSecond, st.PeakResidentBytes, st.PeakHostBytes, st.Reselections, st.GraphBuilds, dec.Model().Devices())
	return nil
}

func parseIDs(s string) ([]int, error) {
	var ids []int
	for _, part := range strings.Split(s, ",") {
		id, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("bad token id %q in -prompt-ids", part)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
