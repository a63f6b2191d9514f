// Command load measures examples/serve over loopback: aggregate decode rate and latencies at
// rising concurrency, clients that disconnect mid-stream, and a long sequential run that watches
// the server's memory and goroutines. Counts and times are bounded by the flags.
//
//	go run ./examples/serve/load -write-model /tmp/qwen3-h256 -tokenizer ../shared/tokenizers/qwen3
//	go run ./examples/serve -model /tmp/qwen3-h256 -max-batch 16 &
//	go run ./examples/serve/load -clients 1,2,4,8,16 -max-tokens 64       # the curve
//	go run ./examples/serve/load -disconnect 8                            # half of 8 streams hang up
//	go run ./examples/serve/load -sequential 1000                         # RSS and goroutines
//
// The curve: at each level, that many clients each stream -rounds requests of -max-tokens greedy
// tokens (ignore_eos, so every request decodes them all) with distinct prompts of -prompt-len ids.
// Aggregate tokens/s is every generated token over the level's wall time (first request sent to
// last token received: prefill and waiting included); TTFT is request sent to first token event;
// inter-token latency is the gap between consecutive token events of one stream.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zoomr-go/zoomr/examples/internal/cli"
	"github.com/zoomr-go/zoomr/model"
)

func main() {
	cli.Main("load", run)
}

type options struct {
	url, clients, jsonOut, writeModel, tokenizer, chatText  string
	maxTokens, promptLen, rounds, vocab, warmup, disconnect int
	disconnectAfter, sequential                             int
	chat                                                    bool
	timeout                                                 time.Duration
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := cli.NewFlags("load")
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "server base URL (loopback)")
	fs.StringVar(&o.clients, "clients", "1,2,4,8,16", "concurrency levels of the curve")
	fs.IntVar(&o.maxTokens, "max-tokens", 64, "tokens per request")
	fs.IntVar(&o.promptLen, "prompt-len", 16, "prompt length in token ids")
	fs.IntVar(&o.vocab, "vocab", 1000, "prompt ids are drawn from [0, vocab)")
	fs.IntVar(&o.rounds, "rounds", 1, "requests per client at each level")
	fs.IntVar(&o.warmup, "warmup", 2, "requests sent before measuring")
	fs.BoolVar(&o.chat, "chat", false, "use /v1/chat/completions with a text message instead of prompt ids")
	fs.StringVar(&o.chatText, "chat-text", "Tell me a story.", "the chat message (-chat)")
	fs.IntVar(&o.disconnect, "disconnect", 0, "disconnect test: this many streams, half of which hang up mid-stream")
	fs.IntVar(&o.disconnectAfter, "disconnect-after", 8, "tokens a disconnecting client reads first")
	fs.IntVar(&o.sequential, "sequential", 0, "leak test: this many sequential requests (streamed, JSON, disconnected, bad)")
	fs.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "bound on the whole run")
	fs.StringVar(&o.writeModel, "write-model", "", "write the random Qwen3-vocabulary model (hidden 256, 4 layers) here and exit")
	fs.StringVar(&o.tokenizer, "tokenizer", "", "-write-model: copy tokenizer.json and tokenizer_config.json from this folder")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	if o.writeModel != "" {
		return writeModel(o.writeModel, o.tokenizer, stdout)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	levels, err := parseLevels(o.clients)
	if err != nil {
		return err
	}
	c := newClient(o.url, max(slices.Max(levels), o.disconnect)+1, o.chat)
	if _, err := c.health(ctx); err != nil {
		return fmt.Errorf("no server at %s: %w", o.url, err)
	}
	out := report{}
	switch {
	case o.sequential > 0:
		out.Sequential, err = sequential(ctx, c, o, stdout)
	case o.disconnect > 0:
		out.Disconnect, err = disconnects(ctx, c, o, stdout)
	default:
		out.Curve, err = curve(ctx, c, o, levels, stdout)
	}
	if err != nil {
		return err
	}
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(out, "", "  ")
		return os.WriteFile(o.jsonOut, b, 0o644)
	}
	return nil
}

type report struct {
	Curve      []level           `json:"curve,omitempty"`
	Disconnect *disconnectReport `json:"disconnect,omitempty"`
	Sequential *sequentialReport `json:"sequential,omitempty"`
}

func parseLevels(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-clients: bad level %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// prompts makes distinct prompts: prompt i is promptLen ids drawn with seed i.
type prompts struct {
	n, vocab int
	next     int
	mu       sync.Mutex
}

func (p *prompts) take() []int {
	p.mu.Lock()
	i := p.next
	p.next++
	p.mu.Unlock()
	rng := rand.New(rand.NewPCG(uint64(i), 99))
	ids := make([]int, p.n)
	for j := range ids {
		ids[j] = rng.IntN(p.vocab)
	}
	return ids
}

// level is one concurrency level of the curve.
type level struct {
	Clients         int     `json:"clients"`
	Requests        int     `json:"requests"`
	Tokens          int     `json:"tokens"`
	WallSeconds     float64 `json:"wall_s"`
	TokensPerSecond float64 `json:"tokens_per_s"`
	TTFTp50         float64 `json:"ttft_ms_p50"`
	TTFTp99         float64 `json:"ttft_ms_p99"`
	ITLp50          float64 `json:"itl_ms_p50"`
	ITLp99          float64 `json:"itl_ms_p99"`
	Speedup         float64 `json:"speedup_vs_first_level"`
	// Steps and MeanBatch are the server's batched decode steps during the level and the
	// generations per step (from /health).
	Steps     int64   `json:"steps"`
	MeanBatch float64 `json:"mean_batch"`
	// CPUMsPerToken is the server's CPU time per generated token (from /health): its work, apart
	// from whatever else runs on the machine.
	CPUMsPerToken float64 `json:"server_cpu_ms_per_token"`
}

// curve runs each level and prints the table.
func curve(ctx context.Context, c *client, o *options, levels []int, w io.Writer) ([]level, error) {
	ps := &prompts{n: o.promptLen, vocab: o.vocab}
	for range o.warmup {
		if _, err := c.stream(ctx, c.body(ps.take(), o.chatText, o.maxTokens, true), 0); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	fmt.Fprintf(w, "| clients | requests | tokens | wall s | aggregate tok/s | speedup | TTFT p50 ms | TTFT p99 ms | inter-token p50 ms | inter-token p99 ms | steps | rows/step | server CPU ms/token |\n")
	fmt.Fprintf(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var out []level
	for _, n := range levels {
		results := make([][]result, n)
		errs := make([]error, n)
		before, err := c.health(ctx)
		if err != nil {
			return out, err
		}
		start := time.Now()
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				for range o.rounds {
					r, err := c.stream(ctx, c.body(ps.take(), o.chatText, o.maxTokens, true), 0)
					if err != nil {
						errs[i] = err
						return
					}
					results[i] = append(results[i], r)
				}
			})
		}
		wg.Wait()
		wall := time.Since(start)
		if err := errors.Join(errs...); err != nil {
			return out, fmt.Errorf("%d clients: %w", n, err)
		}
		after, err := c.health(ctx)
		if err != nil {
			return out, err
		}
		l := summarize(n, slices.Concat(results...), wall)
		l.Steps = after.Steps - before.Steps
		if l.Steps > 0 {
			l.MeanBatch = float64(after.Rows-before.Rows) / float64(l.Steps)
		}
		if l.Tokens > 0 {
			l.CPUMsPerToken = 1e3 * (after.CPUSeconds - before.CPUSeconds) / float64(l.Tokens)
		}
		if len(out) > 0 {
			l.Speedup = l.TokensPerSecond / out[0].TokensPerSecond
		} else {
			l.Speedup = 1
		}
		out = append(out, l)
		fmt.Fprintf(w, "| %d | %d | %d | %.2f | %.1f | %.2f× | %.1f | %.1f | %.2f | %.2f | %d | %.2f | %.2f |\n", l.Clients,
			l.Requests, l.Tokens, l.WallSeconds, l.TokensPerSecond, l.Speedup, l.TTFTp50, l.TTFTp99, l.ITLp50, l.ITLp99,
			l.Steps, l.MeanBatch, l.CPUMsPerToken)
	}
	return out, nil
}

func summarize(clients int, rs []result, wall time.Duration) level {
	l := level{Clients: clients, Requests: len(rs), WallSeconds: wall.Seconds()}
	var ttft, gaps []time.Duration
	for _, r := range rs {
		l.Tokens += r.tokens
		ttft = append(ttft, r.ttft)
		gaps = append(gaps, r.gaps...)
	}
	l.TokensPerSecond = float64(l.Tokens) / wall.Seconds()
	l.TTFTp50, l.TTFTp99 = percentile(ttft, 50), percentile(ttft, 99)
	l.ITLp50, l.ITLp99 = percentile(gaps, 50), percentile(gaps, 99)
	return l
}

// percentile is the nearest-rank p-th percentile in milliseconds (0 for no samples).
func percentile(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	i = min(max(i, 0), len(s)-1)
	return float64(s[i].Microseconds()) / 1e3
}

// writeModel writes the random model of the batching check: Qwen3's vocabulary (151,936), hidden
// 256, 4 layers, so the output head is most of each step; with a tokenizer folder its chat
// template comes too.
func writeModel(dir, tokDir string, w io.Writer) error {
	cfg, err := model.WriteRandom(dir, model.RandomSpec{Arch: "qwen3", VocabSize: 151936, Hidden: 256, Layers: 4,
		Heads: 4, KVHeads: 2, Seed: 1})
	if err != nil {
		return err
	}
	if tokDir != "" {
		for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
			b, err := os.ReadFile(filepath.Join(tokDir, f))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(w, "wrote %s: %s, vocabulary %d, hidden %d, %d layers\n", dir, cfg.Arch, cfg.VocabSize, cfg.Hidden, cfg.Layers)
	return nil
}
