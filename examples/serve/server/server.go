package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/zoomr-go/zoomr/examples/serve/api"
	"github.com/zoomr-go/zoomr/zoomr"
)

// Options configure a Server. Zero values take the defaults.
type Options struct {
	// Name is the model id the server answers to (required).
	Name string
	// Limits bound max_tokens and stop strings (api.Limits' defaults).
	Limits api.Limits
	// MaxPromptTokens bounds a prompt after templating and tokenization (default: the Decoder's
	// Config.MaxPromptTokens).
	MaxPromptTokens int
	// MaxBodyBytes bounds a request body (default 1 MiB).
	MaxBodyBytes int64
	// BodyTimeout bounds the time to read a body (default 30 s). It is set per request rather than
	// as http.Server.ReadTimeout, whose deadline would also cut long streams: the server's background
	// read of the connection times out and cancels the request's context.
	BodyTimeout time.Duration
	// WriteTimeout bounds each write of a response (every event of a stream): a client that stops
	// reading for this long is disconnected (default 60 s). Its generation leaves the batch at the
	// next step either way; this frees the handler and the connection.
	WriteTimeout time.Duration
	// Batch sizes the Batcher: generations decoding at once and waiting for a place.
	Batch zoomr.BatcherOptions
	// RetryAfter is the Retry-After of a 429 (default 1 s).
	RetryAfter time.Duration
	// Temperature, when set, is the temperature of requests that give none; nil leaves them the
	// Decoder's sampling (zoomr.Load: the model's generation_config.json, greedy without one).
	Temperature *float64
	// Logger receives one record per request (default slog.Default()).
	Logger *slog.Logger
}

// Server is the OpenAI-compatible handler over one Decoder. Close it when done.
type Server struct {
	dec      *zoomr.Decoder
	batcher  *zoomr.Batcher
	opts     Options
	created  int64
	mux      *http.ServeMux
	draining atomic.Bool
}

// New builds a server and starts its Batcher.
func New(dec *zoomr.Decoder, opts Options) (*Server, error) {
	if opts.Name == "" {
		return nil, errors.New("server: Options.Name is required")
	}
	if opts.MaxPromptTokens <= 0 || opts.MaxPromptTokens > dec.Config().MaxPromptTokens {
		opts.MaxPromptTokens = dec.Config().MaxPromptTokens
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.BodyTimeout <= 0 {
		opts.BodyTimeout = 30 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = time.Minute
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.Limits.VocabSize = dec.Model().Config.VocabSize
	b, err := dec.NewBatcher(opts.Batch)
	if err != nil {
		return nil, err
	}
	s := &Server{dec: dec, batcher: b, opts: opts, created: time.Now().Unix(), mux: http.NewServeMux()}
	s.route("/v1/chat/completions", http.MethodPost, s.handleChat)
	s.route("/v1/completions", http.MethodPost, s.handleCompletions)
	s.route("/v1/models", http.MethodGet, s.handleModels)
	s.route("/v1/models/{id...}", http.MethodGet, s.handleModel)
	s.route("/health", http.MethodGet, s.handleHealth)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { api.WriteError(w, api.NotFound(r.URL.Path)) })
	return s, nil
}

// route registers a handler for one method (other methods get a JSON 405).
func (s *Server) route(path, method string, h http.HandlerFunc) {
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			api.WriteError(w, api.MethodNotAllowed(r.Method, r.URL.Path, method))
			return
		}
		h(w, r)
	})
}

// ServeHTTP serves the API, logging each request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	info := &requestInfo{start: start}
	s.mux.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
	s.log(r, rec, info, time.Since(start))
}

// Batcher is the server's batcher (for its statistics).
func (s *Server) Batcher() *zoomr.Batcher { return s.batcher }

// Drain stops admitting generations (503) and makes /health report draining; running ones go on.
func (s *Server) Drain() { s.draining.Store(true) }

// Close ends the Batcher: generations still running end with an error. Drain and let the HTTP
// server shut down first to finish them.
func (s *Server) Close() { s.batcher.Close() }

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.ModelList{Object: "list", Data: []api.Model{s.model()}})
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	if id := r.PathValue("id"); id != s.opts.Name {
		api.WriteError(w, api.ModelNotFound(id))
		return
	}
	writeJSON(w, http.StatusOK, s.model())
}

func (s *Server) model() api.Model {
	return api.Model{ID: s.opts.Name, Object: "model", Created: s.created, OwnedBy: "zoomr"}
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	st := s.batcher.Stats()
	h := api.Health{Status: "ok", Model: s.opts.Name, Running: st.Running, Waiting: st.Waiting, Steps: st.Steps,
		Rows: st.Rows, Goroutines: runtime.NumGoroutine(), HeapBytes: heapObjects()}
	h.RSSBytes, h.RSSAnonBytes = rss()
	h.CPUSeconds = cpuSeconds()
	status := http.StatusOK
	if s.draining.Load() {
		h.Status, status = "draining", http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
}

// rss reads the process's resident set and its anonymous part from /proc/self/status (zeros where
// it cannot be read).
func rss() (total, anon int64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "RssAnon") {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if key == "VmRSS" {
			total = kb << 10
		} else {
			anon = kb << 10
		}
	}
	return total, anon
}

// cpuSeconds is the process's user + system CPU time from /proc/self/stat (0 where it cannot be
// read), in clock ticks of 1/100 s as Linux reports them.
func cpuSeconds() float64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; the fields after its closing parenthesis are
	// state, ppid, … with utime and stime the 12th and 13th.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return float64(u+s) / 100
}

// heapObjects is the Go heap's objects in bytes (live and not yet swept), from runtime/metrics.
func heapObjects() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// readBody reads a request body within the size and time limits.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *api.Error) {
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(s.opts.BodyTimeout)) // unsupported writers: no deadline
	defer rc.SetReadDeadline(time.Time{})
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, api.TooLarge(s.opts.MaxBodyBytes)
	case err != nil:
		return nil, api.Errorf(http.StatusBadRequest, api.TypeInvalidRequest, "invalid_json", "", "Reading the body: %v", err)
	}
	return body, nil
}

// checkModel refuses a request for another model ("" means this one).
func (s *Server) checkModel(name string) *api.Error {
	if name != "" && name != s.opts.Name {
		return api.ModelNotFound(name)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// requestInfo is what a handler tells the request log.
type requestInfo struct {
	start                    time.Time
	id                       string
	promptTokens, completion int
	finish                   string
	ttft                     time.Duration
	tokensPerSecond          float64
	clientGone               bool
	err                      *api.Error
	genErr                   error
}

type infoKey struct{}

func infoOf(r *http.Request) *requestInfo {
	if i, ok := r.Context().Value(infoKey{}).(*requestInfo); ok {
		return i
	}
	return &requestInfo{}
}

// recorder notes the status and bytes written; Unwrap lets http.ResponseController reach the
// connection (Flush, deadlines).
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// log writes the request's record.
func (s *Server) log(r *http.Request, rec *recorder, info *requestInfo, d time.Duration) {
	attrs := []slog.Attr{
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", rec.status),
		slog.Int64("bytes", rec.bytes), slog.Float64("ms", float64(d.Microseconds())/1e3),
		slog.String("remote", r.RemoteAddr),
	}
	if info.id != "" {
		attrs = append(attrs, slog.String("id", info.id), slog.Int("prompt_tokens", info.promptTokens),
			slog.Int("completion_tokens", info.completion), slog.String("finish", info.finish),
			slog.Float64("ttft_ms", float64(info.ttft.Microseconds())/1e3),
			slog.Float64("tokens_per_second", info.tokensPerSecond))
	}
	if info.clientGone {
		attrs = append(attrs, slog.Bool("client_gone", true))
	}
	level := slog.LevelInfo
	if info.err != nil {
		attrs = append(attrs, slog.String("error", info.err.Message))
		if info.err.Status >= 500 {
			level = slog.LevelError
		}
	}
	if info.genErr != nil {
		attrs = append(attrs, slog.String("generation_error", info.genErr.Error()))
		level = slog.LevelError
	}
	s.opts.Logger.LogAttrs(context.Background(), level, "request", attrs...)
}

// fail writes an error response and notes it for the log.
func fail(w http.ResponseWriter, r *http.Request, err *api.Error) {
	infoOf(r).err = err
	api.WriteError(w, err)
}

// genID is a response id: prefix and 24 hex digits.
func genID(prefix string) string {
	var b [12]byte
	randRead(b[:])
	return fmt.Sprintf("%s-%x", prefix, b)
}
