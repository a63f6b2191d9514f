package kvcache

import "fmt"

// Defaults used for zero-valued Config fields.
const (
	DefaultWindow      = 256
	DefaultZoomSlots   = 2 // the paper's knee: c = 2
	DefaultZoomSlotLen = 256
	DefaultSummaryCap  = 1024
	DefaultSinkAlign   = 64
	DefaultHostBlock   = 256
	// DefaultMinCapacity is the first capacity bucket of every active context.
	DefaultMinCapacity = 256
)

// Config sizes a ZoomR cache, and through the policy registry (New) every other policy: the bounded
// baselines get the resident budget a ZoomR cache of this Config would have (matched budgets, as in
// the paper's comparison). Zero values mean the defaults above; Validate reports what cannot be built.
// ZoomR's attended set has four regions (spans.go defines each):
//
//	sink     the whole prompt (Sinks = 0), or the first Sinks tokens of the stream (Sinks > 0)
//	summary  the summaries of the newest sealed thoughts that fit SummaryCap tokens
//	zoom     the last ZoomSlotLen body tokens of each of the (at most ZoomSlots) zoomed thoughts
//	window   the Window most recent tokens
//
// The active context holds their union, each position once, and grows in capacity buckets up to the
// budget (Budget) as they fill.
type Config struct {
	Layout Layout
	// Sinks: 0 keeps the whole prompt in the sink region. Sinks > 0 keeps the first Sinks tokens;
	// later prompt tokens flow through the window like generated ones.
	Sinks int
	// SinkAlign rounds the whole-prompt sink region up in the budget, so prompts of similar length
	// share the last capacity bucket (and its decode graph).
	SinkAlign int
	// Window is the number of most recent tokens always attended.
	Window int
	// SummaryCap is the summary region's capacity in tokens: the newest summaries that fit stay
	// resident; older ones leave the active set (their KV stays in the host store, their mean keys in
	// the index: they can still be scored and zoomed). A summary longer than SummaryCap keeps its last part.
	SummaryCap int
	// ZoomSlots (c) is the number of thoughts that can be zoomed at once.
	ZoomSlots int
	// ZoomSlotLen is the capacity of one zoom slot. A thought whose body is longer keeps its LAST
	// ZoomSlotLen tokens (the part that leads into its summary and the rest of the reasoning).
	ZoomSlotLen int
	// MaxTokens, if > 0, is the token budget of the regions other than a whole-prompt sink
	// (Sinks + SummaryCap + ZoomSlots*ZoomSlotLen + Window). With SummaryCap = 0 the summary region
	// gets what the other regions leave. ErrBudget if the budget cannot hold the sinks and the window.
	MaxTokens int
	// HostBlock is the allocation unit of the host store, in tokens.
	HostBlock int
	// MinCapacity is the first capacity bucket of the active context (default 256).
	MinCapacity int
	// PromptLen is the prompt length at which the registry's policies match their budgets (the
	// whole-prompt sink counts in it); a ZoomR cache built directly does not need it.
	PromptLen int
	// NewSlots makes the active context's storage (nil: Go memory, NewHostSlots). A model engine with
	// device memory supplies one.
	NewSlots SlotsFactory
}

// Budget is the resident size of an active context: slots per region, and in total, in slots and bytes.
type Budget struct {
	Sink, Summary, Zoom, Window, Heavy int
	Tokens                             int   // C = the sum of the regions
	Bytes                              int64 // K + V + mask bytes at capacity C
}

func newBudget(l Layout, sink, summary, zoom, window, heavy int) Budget {
	c := sink + summary + zoom + window + heavy
	return Budget{Sink: sink, Summary: summary, Zoom: zoom, Window: window, Heavy: heavy,
		Tokens: c, Bytes: l.ContextBytes(c)}
}

// Validate reports whether a cache can be built from c (zero fields taking their defaults).
func (c Config) Validate() error {
	_, err := c.resolve(true, true)
	return err
}

// Budget is the most resident slots of the ZoomR cache c builds for a prompt of promptLen tokens
// (promptLen only matters when the whole prompt is the sink region).
func (c Config) Budget(promptLen int) (Budget, error) {
	r, err := c.resolve(true, true)
	if err != nil {
		return Budget{}, err
	}
	return r.budget(promptLen), nil
}

func (c Config) sinkCap(promptLen int) int {
	if c.Sinks > 0 {
		return c.Sinks
	}
	return roundUp(promptLen, c.SinkAlign)
}

func (c Config) budget(promptLen int) Budget {
	return newBudget(c.Layout, c.sinkCap(promptLen), c.SummaryCap, c.ZoomSlots*c.ZoomSlotLen, c.Window, 0)
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// resolve applies the defaults (zoom and summary ones only when the policy has those regions) and validates.
func (c Config) resolve(zoom, summaries bool) (Config, error) {
	if err := c.Layout.Validate(); err != nil {
		return c, err
	}
	c.Layout.DType = c.Layout.dtype()
	def := func(v *int, d int, apply bool) {
		if *v == 0 && apply {
			*v = d
		}
	}
	def(&c.SinkAlign, DefaultSinkAlign, true)
	def(&c.Window, DefaultWindow, true)
	def(&c.HostBlock, DefaultHostBlock, true)
	def(&c.MinCapacity, DefaultMinCapacity, true)
	def(&c.ZoomSlots, DefaultZoomSlots, zoom)
	def(&c.ZoomSlotLen, DefaultZoomSlotLen, zoom)
	if !zoom {
		c.ZoomSlots, c.ZoomSlotLen = 0, 0
	}
	if !summaries {
		c.SummaryCap = 0
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"Sinks", c.Sinks}, {"SinkAlign", c.SinkAlign}, {"Window", c.Window}, {"SummaryCap", c.SummaryCap},
		{"ZoomSlots", c.ZoomSlots}, {"ZoomSlotLen", c.ZoomSlotLen}, {"MaxTokens", c.MaxTokens}, {"HostBlock", c.HostBlock},
		{"MinCapacity", c.MinCapacity}, {"PromptLen", c.PromptLen}} {
		if f.v < 0 {
			return c, fmt.Errorf("%w: %s = %d < 0", ErrConfig, f.name, f.v)
		}
	}
	if c.ZoomSlots > 0 && c.ZoomSlotLen < 1 {
		return c, fmt.Errorf("%w: ZoomSlotLen %d must be >= 1", ErrConfig, c.ZoomSlotLen)
	}
	zoomTokens := c.ZoomSlots * c.ZoomSlotLen
	if c.MaxTokens > 0 {
		if c.MaxTokens < c.Sinks+c.Window {
			return c, fmt.Errorf("%w: MaxTokens %d < Sinks %d + Window %d", ErrBudget, c.MaxTokens, c.Sinks, c.Window)
		}
		if c.SummaryCap == 0 && summaries {
			c.SummaryCap = c.MaxTokens - c.Sinks - c.Window - zoomTokens
			if c.SummaryCap <= 0 {
				return c, fmt.Errorf("%w: MaxTokens %d leaves %d summary slots after Sinks %d + Window %d + zoom %d",
					ErrBudget, c.MaxTokens, c.SummaryCap, c.Sinks, c.Window, zoomTokens)
			}
		}
		if total := c.Sinks + c.SummaryCap + zoomTokens + c.Window; total > c.MaxTokens {
			return c, fmt.Errorf("%w: MaxTokens %d < Sinks %d + SummaryCap %d + zoom %d + Window %d = %d",
				ErrBudget, c.MaxTokens, c.Sinks, c.SummaryCap, zoomTokens, c.Window, total)
		}
	}
	def(&c.SummaryCap, DefaultSummaryCap, summaries)
	return c, nil
}

// pool builds the slot pool of a policy whose resident budget is max slots.
func (c Config) pool(max int) (*SlotPool, error) {
	return NewSlotPool(PoolConfig{Layout: c.Layout, MinCapacity: c.MinCapacity, Max: max, NewSlots: c.NewSlots})
}
