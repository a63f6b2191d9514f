package model

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
)

// Model is a loaded Llama-family decoder: its config, its weights and the engine that runs it. It is
// safe for concurrent use; it keeps no per-sequence state — the caller owns the KV cache and passes
// the attention context to every call.
type Model struct {
	Config *Config

	engine  Engine
	backend backends.Backend
	// hfShapes are the Hugging Face shapes of every weight (what the checkpoint and Save use).
	hfShapes map[string][]int
	invFreq  []float32 // [HeadDim/2] RoPE inverse frequencies (scaling applied)

	// The host engine: the weights as stored, and views of them.
	stored storedWeights
	host   *hostWeights

	// The graph engine: the weights as float32 variables of a GoMLX context.
	ctx  *mlctx.Context
	vars map[string]*mlctx.Variable

	mu       sync.Mutex
	execs    map[string]*mlctx.Exec // by graph kind
	shapes   map[string]bool        // graph kind + input shapes already compiled
	split    *deviceSplit           // the devices the graph engine's weights are split across (WithDevices); nil: one
	builds   atomic.Int64
	transfer atomic.Int64 // host<->device bytes moved by graph runs (TransferBytes)
}

// Engine is how a model runs.
type Engine int

const (
	// EngineAuto picks the host engine on the pure-Go backend and the graph engine on any other.
	EngineAuto Engine = iota
	// EngineHost runs steps and prefill as Go code with vectorised kernels over the weights as stored
	// (F32, F16, BF16, quantized GGUF blocks): the fast path on a CPU without XLA. It needs no backend.
	EngineHost
	// EngineGraph runs GoMLX graphs on the model's backend (XLA on a CPU or GPU, or the pure-Go
	// backend); the weights are widened to float32 variables at load. Training needs it.
	EngineGraph
)

func (e Engine) String() string {
	switch e {
	case EngineHost:
		return "host"
	case EngineGraph:
		return "graph"
	}
	return "auto"
}

// Option configures Load and New.
type Option func(*loadOptions)

type loadOptions struct {
	backend        backends.Backend
	engine         Engine
	trainingLayout bool
	devices        int
}

// WithEngine chooses the engine (default EngineAuto).
func WithEngine(e Engine) Option { return func(o *loadOptions) { o.engine = e } }

// WithTrainingLayout prepares the model for a trainer: the graph engine, whose weights are the
// variables of Context().
func WithTrainingLayout() Option { return func(o *loadOptions) { o.trainingLayout = true } }

// WithGraphStep is WithEngine(EngineGraph).
//
// Deprecated: use WithEngine.
func WithGraphStep() Option { return WithEngine(EngineGraph) }

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
// deadlock when a graph has many independent matmuls ready at once; docs/DESIGN.md, Engines).
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

// NewBackend creates the backend a configuration names ("go", "xla:cpu", "xla:cuda", with options
// as GoMLX takes them), as DefaultBackend does for $GOMLX_BACKEND: for a model on a backend other than
// the process default (model.WithBackend), e.g. to compare engines in one run. XLA needs -tags xla.
func NewBackend(config string) (backends.Backend, error) { return newBackend(config) }

// newQuietBackend creates a backend with its configuration banner (printed to stdout by the pure-Go backend)
// discarded, so that programs whose stdout is JSON stay parseable.
func newQuietBackend(config string) (b backends.Backend, err error) {
	return quietly(config, func() (backends.Backend, error) { return backends.NewWithConfig(config) })
}

// quietly runs newB (which creates the backend config names) with stdout discarded and panics
// turned into ErrBackend.
func quietly(config string, newB func() (backends.Backend, error)) (b backends.Backend, err error) {
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
	b, err = newB()
	if err != nil {
		return nil, fmt.Errorf("%w: creating backend %q: %w", ErrBackend, config, err)
	}
	return b, nil
}

// Load reads a model: a Hugging Face directory (config.json + model.safetensors, or shards with
// model.safetensors.index.json), or a GGUF file (or a directory holding one and no config.json; see
// FindGGUF and ggufmodel.go), and prepares it to run. Close releases a GGUF's mapping.
func Load(ctx context.Context, path string, opts ...Option) (*Model, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if ggufPath, err := FindGGUF(path); err != nil || ggufPath != "" {
		if err != nil {
			return nil, fmt.Errorf("loading %s: %w", path, err)
		}
		cfg, stored, err := loadGGUFStored(ggufPath)
		if err != nil {
			return nil, fmt.Errorf("loading %s: %w", path, err)
		}
		return newModel(cfg, stored, opts...)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", path, err)
	}
	stored, err := loadStored(path, cfg)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", path, err)
	}
	return newModel(cfg, stored, opts...)
}

// New builds a Model from a validated config and float32 weights keyed by HF tensor name (as a
// trainer or RandomWeights produces them). Every tensor of cfg.ExpectedTensors must be present with
// its exact shape. The host engine reads the tensors' data in place: do not change them afterwards.
func New(cfg *Config, weights map[string]*tensors.Tensor, opts ...Option) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	stored, err := storedFromFloat32(weights)
	if err != nil {
		return nil, err
	}
	if err := stored.check(cfg); err != nil {
		return nil, err
	}
	return newModel(cfg, stored, opts...)
}

// newModel builds the model on its engine from checked stored weights.
func newModel(cfg *Config, stored storedWeights, opts ...Option) (m *Model, err error) {
	if err := cfg.Validate(); err != nil {
		stored.close()
		return nil, err
	}
	o := loadOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.backend == nil {
		if o.backend, err = DefaultBackend(); err != nil {
			stored.close()
			return nil, err
		}
	}
	engine := o.engine
	if o.trainingLayout {
		if engine == EngineHost {
			stored.close()
			return nil, fmt.Errorf("%w: a training layout needs the graph engine", ErrInvalidConfig)
		}
		engine = EngineGraph
	}
	if engine == EngineAuto {
		engine = EngineGraph
		if _, pureGo := o.backend.(*simplego.Backend); pureGo {
			engine = EngineHost
		}
	}
	split, err := newDeviceSplit(o.devices, cfg, o.backend, engine)
	if err == nil && split != nil && o.trainingLayout {
		err = fmt.Errorf("%w: WithDevices(%d) with a training layout: training runs on one device", ErrDevices, o.devices)
	}
	if err != nil {
		stored.close()
		return nil, err
	}
	m = &Model{
		Config:   cfg,
		engine:   engine,
		backend:  o.backend,
		invFreq:  cfg.InvFreq(),
		hfShapes: map[string][]int{},
		execs:    map[string]*mlctx.Exec{},
		shapes:   map[string]bool{},
		split:    split,
	}
	for _, s := range cfg.ExpectedTensors() {
		m.hfShapes[s.Name] = s.Shape
	}
	if engine == EngineHost {
		m.stored = stored
		if m.host, err = newHostWeights(cfg, stored); err != nil {
			stored.close()
			return nil, err
		}
		return m, nil
	}
	defer stored.close() // the variables hold their own copies
	if err := m.makeVariables(stored); err != nil {
		return nil, err
	}
	if split != nil {
		if err := m.shardVariables(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// makeVariables widens the stored weights into float32 variables of a new GoMLX context (the graph
// engine's weights).
func (m *Model) makeVariables(stored storedWeights) error {
	m.ctx, m.vars = mlctx.New(), map[string]*mlctx.Variable{}
	for _, s := range m.Config.ExpectedTensors() {
		vals, err := floats(stored.t[s.Name])
		if err != nil {
			return fmt.Errorf("tensor %q: %w", s.Name, err)
		}
		t := tensors.FromFlatDataAndDimensions(vals, s.Shape...)
		m.vars[s.Name] = m.ctx.InAbsPath(varScope(s.Name)).VariableWithValue("v", t)
	}
	return nil
}

// Engine is the engine the model runs on.
func (m *Model) Engine() Engine { return m.engine }

// WeightBytes is the size of the weights the model holds: as stored on the host engine, as float32
// variables on the graph engine.
func (m *Model) WeightBytes() int64 {
	if m.engine == EngineHost {
		return m.stored.bytes()
	}
	var n int64
	for _, v := range m.vars {
		n += int64(v.Shape().Memory())
	}
	return n
}

// Close releases what the weights view (a memory-mapped file). The model must not be used afterwards.
func (m *Model) Close() error {
	m.stored.close()
	return nil
}

// varScope maps an HF tensor name to a GoMLX variable scope ("a.b.c" -> "/a/b/c").
func varScope(name string) string { return "/" + strings.ReplaceAll(name, ".", "/") }

// Backend is the backend the model runs on.
func (m *Model) Backend() backends.Backend { return m.backend }

// Context is the GoMLX context holding the weights as variables (scope "/model/layers/0/...", name
// "v"), on the graph engine (nil on the host engine). Trainers use it; inference callers do not need it.
func (m *Model) Context() *mlctx.Context { return m.ctx }

// Variable returns the variable holding HF tensor `name` in its HF shape, or nil (always nil on the
// host engine).
func (m *Model) Variable(name string) *mlctx.Variable { return m.vars[name] }

// GraphBuilds counts the graphs compiled so far (one per graph kind and input shape). A decoder whose
// attention context keeps a fixed capacity compiles its decode step once.
func (m *Model) GraphBuilds() int64 { return m.builds.Load() }

// exec returns the executor for graph `kind`, creating it on first use, and counts a build when a new
// input-shape signature is seen (GoMLX compiles one graph per signature). args says where the
// contexts are among the inputs: on several devices they are split and the rest replicated (shardExec).
func (m *Model) exec(kind, signature string, args argLayout, fn func(ctx *mlctx.Context, in []*Node) []*Node) (*mlctx.Exec, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.execs[kind]
	if !ok {
		var err error
		e, err = mlctx.NewExec(m.backend, m.ctx.Reuse(), fn)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBackend, err)
		}
		if m.split != nil {
			if err := m.shardExec(e, args); err != nil {
				return nil, err
			}
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

// flat copies a float32 tensor out of the backend and frees its buffer.
func (m *Model) flat(t *tensors.Tensor) []float32 {
	out := tensors.MustCopyFlatData[float32](t)
	t.FinalizeAll()
	return out
}

// TransferBytes is the cumulative number of bytes the model's graph runs copied between the host and
// the backend's buffers: the step's inputs that were not already there and the outputs read back. On
// the host engine nothing crosses (0). A decoder adds the bytes its cache wrote into the active
// context (kvcache's MovedBytes) for the whole picture.
func (m *Model) TransferBytes() int64 { return m.transfer.Load() }
