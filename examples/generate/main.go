// Command generate decodes from a Hugging Face model directory with a chosen KV cache policy.
//
//	go run ./examples/generate -model DIR -prompt "Question: ..." -cache zoomr
//	go run ./examples/generate -model DIR -prompt-ids 1,2,3 -max-tokens 32 -greedy -json
//
// With -json it prints {"prompt_ids":[...],"tokens":[...],"text":"...","stats":{...}}.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/zoomr-go/zoomr/examples/internal/cli"
	"github.com/zoomr-go/zoomr/kvcache"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/zoomr"
)

func main() {
	cli.Main("generate", func(ctx context.Context, args []string, stdout io.Writer) error {
		return run(ctx, args, stdout)
	})
}

type flags struct {
	modelDir, tokenizerPath, prompt, promptIDs, cache, segmenter        string
	maxTokens, window, sinks, zoom, votes, summaryCap, topK, maxThought int
	devices                                                             int
	greedy, asJSON, events, bf16, ignoreEOS                             bool
	temperature, topP                                                   float64
	seed                                                                uint64
}

func parseFlags(args []string) (*flags, error) {
	f := &flags{}
	flag := flag.NewFlagSet("generate", flag.ContinueOnError)
	flag.StringVar(&f.modelDir, "model", "", "Hugging Face model directory (config.json + safetensors)")
	flag.StringVar(&f.tokenizerPath, "tokenizer", "", "tokenizer.json or GGUF (default: the model directory's tokenizer.json, if any)")
	flag.StringVar(&f.prompt, "prompt", "", "prompt text")
	flag.StringVar(&f.promptIDs, "prompt-ids", "", "comma-separated prompt token ids (instead of -prompt)")
	flag.IntVar(&f.maxTokens, "max-tokens", 256, "maximum tokens to generate")
	flag.BoolVar(&f.greedy, "greedy", false, "greedy decoding (same as -temperature 0)")
	flag.Float64Var(&f.temperature, "temperature", 0, "sampling temperature (0: greedy)")
	flag.IntVar(&f.topK, "top-k", 0, "sample from the k most likely tokens (0: all)")
	flag.Float64Var(&f.topP, "top-p", 0, "nucleus sampling threshold (0: off)")
	flag.Uint64Var(&f.seed, "seed", 0, "sampling seed")
	flag.BoolVar(&f.asJSON, "json", false, "print JSON")
	flag.BoolVar(&f.events, "events", false, "mark sealed thoughts and zooms in the printed text")
	flag.StringVar(&f.cache, "cache", "zoomr", "KV cache policy: "+strings.Join(kvcache.PolicyNames(), "|"))
	flag.IntVar(&f.window, "window", 0, "recent-token window (default 256)")
	flag.IntVar(&f.sinks, "sinks", 0, "keep only the first N prompt tokens resident (0: the whole prompt)")
	flag.IntVar(&f.zoom, "zoom", 0, "thoughts zoomed in at once, c (default 2)")
	flag.IntVar(&f.votes, "votes", 0, "thoughts each head votes for, k (default 2)")
	flag.IntVar(&f.summaryCap, "summary-cap", 0, "summary region capacity in tokens (default 1024)")
	flag.StringVar(&f.segmenter, "segmenter", "auto", "thought segmenter: auto (summary markers if the vocabulary has them, else paragraphs) | summary | paragraph")
	flag.BoolVar(&f.bf16, "bf16", false, "store the KV cache in bfloat16")
	flag.BoolVar(&f.ignoreEOS, "ignore-eos", false, "do not stop at the end-of-sequence token")
	flag.IntVar(&f.maxThought, "max-thought", 0, "split thoughts longer than this many tokens (default 512)")
	flag.IntVar(&f.devices, "devices", 1, "split the model across this many devices of the backend (tensor parallelism; XLA, -tags xla)")
	return f, flag.Parse(args)
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	f, err := parseFlags(args)
	if err != nil {
		return err
	}
	if f.modelDir == "" {
		return errors.New("-model is required")
	}
	if (f.prompt == "") == (f.promptIDs == "") {
		return errors.New("give exactly one of -prompt and -prompt-ids")
	}
	var ids []int
	if f.promptIDs != "" {
		if ids, err = parseIDs(f.promptIDs); err != nil {
			return err
		}
	}
	m, err := model.Load(ctx, f.modelDir, model.WithDevices(f.devices))
	if err != nil {
		return err
	}
	tok, err := loadTokenizer(f)
	if err != nil {
		return err
	}
	cfg := zoomr.Config{
		Policy: f.cache, Window: f.window, Sinks: f.sinks, Zoom: f.zoom, Votes: f.votes,
		SummaryCap: f.summaryCap, Segmenter: zoomr.SegmenterKind(f.segmenter), BFloat16: f.bf16,
		Temperature: f.temperature, TopK: f.topK, TopP: f.topP, Seed: f.seed, MaxTokens: f.maxTokens,
		IgnoreEOS: f.ignoreEOS, MaxThoughtLen: f.maxThought,
	}
	if f.greedy {
		cfg.Temperature = 0
	}
	dec, err := zoomr.New(m, tok, cfg)
	if err != nil {
		return err
	}
	if f.prompt != "" {
		if ids, err = dec.Encode(f.prompt); err != nil {
			return err
		}
	}
	return generate(ctx, dec, ids, f, stdout)
}

func loadTokenizer(f *flags) (*tokenizer.Tokenizer, error) {
	path := f.tokenizerPath
	if path == "" {
		candidate := filepath.Join(f.modelDir, "tokenizer.json")
		if _, err := os.Stat(candidate); err != nil {
			if f.prompt != "" {
				return nil, fmt.Errorf("-prompt needs a tokenizer: %s has no tokenizer.json (use -tokenizer or -prompt-ids)", f.modelDir)
			}
			return nil, nil
		}
		path = candidate
	}
	return tokenizer.Load(path)
}

func generate(ctx context.Context, dec *zoomr.Decoder, ids []int, f *flags, stdout io.Writer) error {
	g := dec.StartIDs(ctx, ids)
	var out []int
	var text strings.Builder
	for t, err := range g.Tokens() {
		if err != nil {
			return err
		}
		out = append(out, t.ID)
		piece := t.Text
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
	if f.asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"prompt_ids": ids, "tokens": out, "text": text.String(),
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
