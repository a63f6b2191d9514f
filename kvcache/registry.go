package kvcache

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Policy is a cache policy in the registry: a name, a one-line description and a constructor.
type Policy struct {
	Name string
	Doc  string
	// New builds the policy's cache. cfg sizes a ZoomR cache (cfg.PromptLen is the prompt's length);
	// a bounded policy takes the same resident budget, cfg.Budget(cfg.PromptLen), split its own way,
	// so that policies compare at matched budgets.
	New func(cfg Config) (Cache, error)
}

var registry = struct {
	sync.RWMutex
	byName map[string]Policy
}{byName: map[string]Policy{}}

// Register adds a policy to the registry (the built-ins register themselves). ErrConfig for an empty
// or taken name, or a nil constructor.
func Register(p Policy) error {
	if p.Name == "" || strings.ContainsAny(p.Name, " ,") || p.New == nil {
		return fmt.Errorf("%w: policy %q needs a name without spaces or commas and a constructor", ErrConfig, p.Name)
	}
	registry.Lock()
	defer registry.Unlock()
	if _, ok := registry.byName[p.Name]; ok {
		return fmt.Errorf("%w: policy %q is already registered", ErrConfig, p.Name)
	}
	registry.byName[p.Name] = p
	return nil
}

func mustRegister(p Policy) {
	if err := Register(p); err != nil {
		panic(err) // a built-in registered twice: a bug caught by every test run
	}
}

// Lookup finds a registered policy by name.
func Lookup(name string) (Policy, bool) {
	registry.RLock()
	defer registry.RUnlock()
	p, ok := registry.byName[name]
	return p, ok
}

// Policies lists the registered policies, by name.
func Policies() []Policy {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]Policy, 0, len(registry.byName))
	for _, p := range registry.byName {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Policy) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// PolicyNames lists the registered policies' names, sorted.
func PolicyNames() []string {
	var names []string
	for _, p := range Policies() {
		names = append(names, p.Name)
	}
	return names
}

// New builds the cache of the named policy for cfg (see Policy.New). ErrConfig for an unknown name.
func New(name string, cfg Config) (Cache, error) {
	p, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w: unknown cache policy %q (registered: %s)", ErrConfig, name, strings.Join(PolicyNames(), ", "))
	}
	return p.New(cfg)
}

// Names of the built-in policies.
const (
	PolicyZoomR     = "zoomr"
	PolicyFull      = "full"
	PolicySumR      = "sumr"
	PolicyStreaming = "streaming"
	PolicyH2O       = "h2o"
	PolicyRKV       = "rkv"
)

// MatchedPolicy is a Policy whose constructor gets the ZoomR budget of the config (the resident slots
// a ZoomR cache would have for cfg.PromptLen) to split its own way: the usual way to add a bounded
// policy that compares with the others at a matched budget. build sees the config with defaults applied.
func MatchedPolicy(name, doc string, build func(cfg Config, b Budget) (Cache, error)) Policy {
	return Policy{Name: name, Doc: doc, New: func(cfg Config) (Cache, error) {
		r, err := cfg.resolve(true, true)
		if err != nil {
			return nil, err
		}
		return build(r, r.budget(r.PromptLen))
	}}
}
