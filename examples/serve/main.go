// Command serve is an OpenAI-compatible HTTP server over one ZoomR decoder: concurrent requests
// share every decode step (zoomr.Batcher), each with its own bounded KV cache.
//
//	go run ./examples/serve -model testdata/zoomr-tiny                 # 127.0.0.1:8080
//	curl -s localhost:8080/v1/completions -d '{"prompt": "Question: ...", "max_tokens": 64, "temperature": 0}'
//	curl -sN localhost:8080/v1/chat/completions -d '{"messages": [{"role": "user", "content": "Hi"}], "stream": true}'
//
// Endpoints: POST /v1/chat/completions (needs a chat template in the model folder: chat_template.jinja,
// chat_template.json or tokenizer_config.json), POST /v1/completions, GET /v1/models, GET /health.
// Fields, extensions and errors: examples/serve/api; behaviour: examples/serve/server. SIGINT or
// SIGTERM drains: no new generations, running streams finish (up to -drain), then it exits.
//
// examples/serve/load is the load generator that measures it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // -pprof
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/zoomr-go/zoomr/examples/internal/cli"
	"github.com/zoomr-go/zoomr/examples/serve/api"
	"github.com/zoomr-go/zoomr/examples/serve/server"
	"github.com/zoomr-go/zoomr/kvcache"
	"github.com/zoomr-go/zoomr/zoomr"
)

func main() {
	cli.Main("serve", run)
}

type flags struct {
	modelDir, addr, name, cache, logFormat, templateName, pprofAddr string
	maxBatch, maxQueue, maxTokens, maxPrompt, window, gcPercent     int
	maxBody                                                         int64
	drain, retryAfter                                               time.Duration
	temperature                                                     float64
	bf16                                                            bool
}

func parseFlags(args []string) (*flags, error) {
	f := &flags{}
	fs := cli.NewFlags("serve")
	fs.StringVar(&f.modelDir, "model", "", "the model, as zoomr.Load takes it: a Hugging Face directory (config.json, safetensors, tokenizer.json, chat template)")
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address (port 0: any free port, printed at start)")
	fs.StringVar(&f.name, "name", "", "model id served (default: the model directory's name)")
	fs.StringVar(&f.cache, "cache", "zoomr", "KV cache policy: "+strings.Join(kvcache.PolicyNames(), "|"))
	fs.IntVar(&f.window, "window", 0, "recent-token window (default 256)")
	fs.BoolVar(&f.bf16, "bf16", false, "store the KV cache in bfloat16")
	fs.IntVar(&f.maxBatch, "max-batch", 16, "generations decoding at once (one weight pass per step for all)")
	fs.IntVar(&f.maxQueue, "max-queue", 64, "generations waiting for a place; beyond it requests get 429")
	fs.IntVar(&f.maxTokens, "max-tokens", 2048, "largest max_tokens a request may ask (and a chat request's default)")
	fs.IntVar(&f.maxPrompt, "max-prompt-tokens", zoomr.DefaultMaxPromptTokens, "largest prompt in tokens")
	fs.Int64Var(&f.maxBody, "max-body", 1<<20, "largest request body in bytes")
	fs.DurationVar(&f.drain, "drain", 30*time.Second, "on SIGINT/SIGTERM, how long running streams may finish")
	fs.DurationVar(&f.retryAfter, "retry-after", time.Second, "Retry-After of a 429")
	fs.Float64Var(&f.temperature, "temperature", -1, "temperature of requests that give none (default: the model's generation_config.json, greedy without one)")
	fs.StringVar(&f.templateName, "template", "", "named chat template variant (default: the default one)")
	fs.StringVar(&f.logFormat, "log", "text", "request log format: text|json (on stderr)")
	fs.IntVar(&f.gcPercent, "gc-percent", 25, "Go GC target percent unless $GOGC is set (the weights live in the Go heap: the default 100 lets garbage grow to the model's size)")
	fs.StringVar(&f.pprofAddr, "pprof", "", "serve net/http/pprof on this separate address (e.g. 127.0.0.1:6060)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if f.modelDir == "" {
		return nil, errors.New("-model is required")
	}
	if f.name == "" {
		f.name = strings.TrimSuffix(filepath.Base(filepath.Clean(f.modelDir)), ".gguf")
	}
	return f, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	f, err := parseFlags(args)
	if err != nil {
		return err
	}
	logger, err := newLogger(f.logFormat)
	if err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" && f.gcPercent > 0 {
		// Why: the GC's goal is a multiple of the live heap, and the live heap is mostly the weights
		// (they are read into Go memory), so GOGC=100 lets each step's garbage (logits: 4 B × the
		// vocabulary per row) accumulate to the model's size before a collection. Marking the
		// weights costs little: they hold no pointers.
		debug.SetGCPercent(f.gcPercent)
	}
	srv, err := newServer(ctx, f, logger)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	if f.pprofAddr != "" {
		if err := servePprof(f.pprofAddr, logger); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "serving %s on http://%s\n", f.name, ln.Addr())
	return serve(ctx, ln, srv, f.drain, logger)
}

// newServer loads the model with its tokenizer, chat template and defaults (zoomr.Load), and
// builds the API server.
func newServer(ctx context.Context, f *flags, logger *slog.Logger) (*server.Server, error) {
	cfg := zoomr.Config{Policy: f.cache, Window: f.window, BFloat16: f.bf16, MaxTokens: f.maxTokens,
		MaxPromptTokens: f.maxPrompt}
	if f.templateName != "" {
		tpl, err := zoomr.LoadChatTemplate(f.modelDir, f.templateName)
		if err != nil {
			return nil, err
		}
		cfg.ChatTemplate = tpl
	}
	dec, err := zoomr.Load(ctx, f.modelDir, cfg)
	if err != nil {
		return nil, err
	}
	if dec.Config().ChatTemplate == nil {
		logger.Info("no chat template: /v1/chat/completions answers 400", "model", f.modelDir)
	}
	opts := server.Options{Name: f.name, Limits: api.Limits{MaxTokens: f.maxTokens}, MaxPromptTokens: f.maxPrompt,
		MaxBodyBytes: f.maxBody, Batch: zoomr.BatcherOptions{MaxBatch: f.maxBatch, MaxQueue: f.maxQueue},
		RetryAfter: f.retryAfter, Logger: logger}
	if f.temperature >= 0 {
		opts.Temperature = &f.temperature
	}
	return server.New(dec, opts)
}

// serve runs the HTTP server until ctx is cancelled, then drains: the listener closes, new
// generations get 503, running streams finish within drain; what is left after that is cancelled.
func serve(ctx context.Context, ln net.Listener, srv *server.Server, drain time.Duration, logger *slog.Logger) error {
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Requests must not inherit ctx: a signal starts the drain, it does not cancel the streams.
		BaseContext: func(net.Listener) context.Context { return context.Background() },
		ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("draining", "timeout", drain.String(), "running", srv.Batcher().Stats().Running)
	srv.Drain()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := hs.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("drain timed out: cancelling the generations left", "running", srv.Batcher().Stats().Running)
		err = hs.Close()
	}
	<-served // http.ErrServerClosed
	logger.Info("stopped")
	return err
}

// servePprof serves the profiler on its own listener, away from the API (the default mux, where
// net/http/pprof registers, is not the API's).
func servePprof(addr string, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	logger.Info("pprof", "addr", ln.Addr().String())
	go http.Serve(ln, http.DefaultServeMux) // lives as long as the process
	return nil
}

func newLogger(format string) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, nil)), nil
	}
	return nil, fmt.Errorf("-log %q: want text or json", format)
}
