package model

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
)

// Model is a loaded Llama-family decoder: its config, its weights (as variables of a GoMLX context) and
// the compiled graphs that run it. It is safe for concurrent use; it keeps no per-sequence state — the
// caller owns the KV cache and passes the attention context to every call.
type Model struct {
	Config *Config

	backend backends.Backend
	ctx     *mlctx.Context
	vars    map[string]*mlctx.Variable // by HF tensor name; matrices may be stored blocked, see blockLayout
	// hfShapes are the Hugging Face shapes of every weight (what the checkpoint and Save use).
	hfShapes map[string][]int
	blocked  bool // matrices stored in the blocked decode layout
	// host holds the weights of the host path (hoststep.go), nil when steps and prefill run as graphs.
	host     *hostWeights
	hostPool sync.Pool // *hostPass of decode steps
	invFreq  []float32 // [HeadDim/2] RoPE inverse frequencies (scaling applied)

	mu     sync.Mutex
	execs  map[string]*mlctx.Exec // by graph kind
	shapes map[string]bool        // graph kind + input shapes already compiled
	builds atomic.Int64
}

// Option configures Load.
type Option func(*loadOptions)

type loadOptions struct {
	backend        backends.Backend
	trainingLayout bool
	graphStep      bool
}

// WithTrainingLayout keeps every weight in its Hugging Face layout: what a trainer wants (no transposes
// in the training graph). Decoding still works, ~3x slower on the pure-Go backend.
func WithTrainingLayout() Option { return func(o *loadOptions) { o.trainingLayout = true } }

// WithGraphStep runs decode steps and prefill as GoMLX graphs on every backend. By default the
// pure-Go backend runs them as Go code with BLAS products (the host path, several times faster
// there; see hoststep.go); other backends always use the graphs.
func WithGraphStep() Option { return func(o *loadOptions) { o.graphStep = true } }

// WithBackend runs the model on b instead of DefaultBackend().
func WithBackend(b backends.Backend) Option { return func(o *loadOptions) { o.backend = b } }

var (
	// defaultBackendConfig is used when $GOMLX_BACKEND is not set.
	defaultBackendConfig = simplego.BackendName + ":parallelism=-1"
	defaultBackendOnce   sync.Once
	defaultBackend       backends.Backend
	defaultBackendErr    error
	// newBackend creates the default backend from its configuration; backend_xla.go wraps it so that
	// "xla:cpu" finds the plugin that examples/install-xla installed.
	newBackend = newQuietBackend
)

// DefaultBackend returns the process-wide backend: $GOMLX_BACKEND if set (e.g. "xla:cuda" in a build that
// links XLA), otherwise the pure-Go backend with unlimited parallelism (its default bounded worker pool can
// deadlock when a graph has many independent matmuls ready at once; DESIGN §4).
func DefaultBackend() (backends.Backend, error) {
	defaultBackendOnce.Do(func() {
		config := os.Getenv(backends.ConfigEnvVar)
		if config == "" {
			config = defaultBackendConfig
		}
		defaultBackend, defaultBackendErr = newBackend(config)
	})
	return defaultBackend, defaultBackendErr
}

// newQuietBackend creates a backend with its configuration banner (printed to stdout by the pure-Go backend)
// discarded, so that programs whose stdout is JSON stay parseable.
func newQuietBackend(config string) (b backends.Backend, err error) {
	stdout := os.Stdout
	if devnull, openErr := os.Open(os.DevNull); openErr == nil {
		os.Stdout = devnull
		defer func() { os.Stdout = stdout; devnull.Close() }()
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: creating backend %q: %v", ErrBackend, config, r)
		}
	}()
	b, err = backends.NewWithConfig(config)
	if err != nil {
		return nil, fmt.Errorf("%w: creating backend %q: %w", ErrBackend, config, err)
	}
	return b, nil
}

// Load reads a Hugging Face model directory (config.json + model.safetensors or sharded safetensors with
// model.safetensors.index.json) and prepares it to run.
func Load(ctx context.Context, dir string, opts ...Option) (*Model, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", dir, err)
	}
	weights, err := loadWeights(dir, cfg)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", dir, err)
	}
	return New(cfg, weights, opts...)
}

// New builds a Model from a validated config and float32 weights keyed by HF tensor name (as loadWeights or
// a trainer produces them). Every tensor of cfg.ExpectedTensors must be present with its exact shape.
func New(cfg *Config, weights map[string]*tensors.Tensor, opts ...Option) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := loadOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.backend == nil {
		b, err := DefaultBackend()
		if err != nil {
			return nil, err
		}
		o.backend = b
	}
	// The host path replaces the step and prefill graphs on the pure-Go backend; it reads the graph
	// variables' own buffers (hostData), so those stay in the HF layout (the blocked one serves only
	// the graph step).
	_, pureGo := o.backend.(*simplego.Backend)
	hostStep := !o.trainingLayout && !o.graphStep && pureGo
	m := &Model{
		Config:   cfg,
		backend:  o.backend,
		ctx:      mlctx.New(),
		vars:     map[string]*mlctx.Variable{},
		invFreq:  cfg.InvFreq(),
		blocked:  !o.trainingLayout && !hostStep,
		hfShapes: map[string][]int{},
		execs:    map[string]*mlctx.Exec{},
		shapes:   map[string]bool{},
	}
	for _, s := range cfg.ExpectedTensors() {
		t, ok := weights[s.Name]
		if !ok {
			return nil, fmt.Errorf("%w: missing tensor %q", ErrWeightMismatch, s.Name)
		}
		if got := t.Shape().Dimensions; !slices.Equal(got, s.Shape) {
			return nil, fmt.Errorf("%w: tensor %q has shape %v, config wants %v", ErrWeightMismatch, s.Name, got, s.Shape)
		}
		m.hfShapes[s.Name] = s.Shape
		if blk, parts := m.blockLayout(s); blk > 0 {
			t = toBlocked(t, blk, parts)
		}
		m.vars[s.Name] = m.ctx.InAbsPath(varScope(s.Name)).VariableWithValue("v", t)
	}
	if hostStep {
		m.host = newHostWeights(cfg, m.vars, m.backend)
	}
	return m, nil
}

// varScope maps an HF tensor name to a GoMLX variable scope ("a.b.c" -> "/a/b/c").
func varScope(name string) string { return "/" + strings.ReplaceAll(name, ".", "/") }

// Backend is the backend the model runs on.
func (m *Model) Backend() backends.Backend { return m.backend }

// Context is the GoMLX context holding the weights as variables (scope "/model/layers/0/...", name "v").
// Trainers use it; inference callers do not need it.
func (m *Model) Context() *mlctx.Context { return m.ctx }

// Variable returns the variable holding HF tensor `name`, or nil. Matrices may be stored in the
// blocked decode layout [k/B, n, B] (see blockLayout).
func (m *Model) Variable(name string) *mlctx.Variable { return m.vars[name] }

// GraphBuilds counts the graphs compiled so far (one per graph kind and input shape). A decoder whose
// attention context keeps a fixed capacity compiles its decode step once.
func (m *Model) GraphBuilds() int64 { return m.builds.Load() }

// exec returns the executor for graph `kind`, creating it on first use, and counts a build when a new
// input-shape signature is seen (GoMLX compiles one graph per signature).
func (m *Model) exec(kind, signature string, fn func(ctx *mlctx.Context, in []*Node) []*Node) (*mlctx.Exec, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.execs[kind]
	if !ok {
		var err error
		e, err = mlctx.NewExec(m.backend, m.ctx.Reuse(), fn)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBackend, err)
		}
		e.SetMaxCache(1 << 10)
		m.execs[kind] = e
	}
	key := kind + "|" + signature
	if !m.shapes[key] {
		m.shapes[key] = true
		m.builds.Add(1)
	}
	return e, nil
}

// run executes e, turning panics from graph building or execution into errors.
func run(e *mlctx.Exec, args ...any) (out []*tensors.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrBackend, r)
		}
	}()
	out, err = e.Exec(args...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBackend, err)
	}
	return out, nil
}

// flat copies a float32 tensor out and frees its buffer.
func flat(t *tensors.Tensor) []float32 {
	out := tensors.MustCopyFlatData[float32](t)
	t.FinalizeAll()
	return out
}
