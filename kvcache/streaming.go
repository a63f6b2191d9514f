package kvcache

import (
	"cmp"
	"fmt"
)

// DefaultStreamingSinks is the paper's number of attention-sink tokens.
const DefaultStreamingSinks = 4

// StreamingConfig configures StreamingLLM. Zero values: Sinks = DefaultStreamingSinks, Window =
// DefaultWindow.
type StreamingConfig struct {
	Layout Layout
	Sinks  int
	Window int
	// MinCapacity is the first capacity bucket (default DefaultMinCapacity).
	MinCapacity int
	// NewSlots makes the active context's storage (nil: Go memory).
	NewSlots SlotsFactory
}

// StreamingLLM is the attention-sink baseline (Xiao et al. 2023): the first Sinks tokens of the stream
// plus a window of the most recent ones. It keeps nothing on the host.
type StreamingLLM struct {
	*PoolCache
	cfg StreamingConfig
}

func (c StreamingConfig) resolve() (StreamingConfig, error) {
	if err := c.Layout.Validate(); err != nil {
		return c, err
	}
	if c.Sinks < 0 || c.Window < 0 {
		return c, fmt.Errorf("%w: Sinks = %d, Window = %d must be >= 0", ErrConfig, c.Sinks, c.Window)
	}
	c.Sinks, c.Window = cmp.Or(c.Sinks, DefaultStreamingSinks), cmp.Or(c.Window, DefaultWindow)
	return c, nil
}

// Budget of a StreamingLLM cache.
func (c StreamingConfig) Budget() (Budget, error) {
	r, err := c.resolve()
	if err != nil {
		return Budget{}, err
	}
	return newBudget(r.Layout, r.Sinks, 0, 0, r.Window, 0), nil
}

// NewStreamingLLM builds a StreamingLLM cache.
func NewStreamingLLM(c StreamingConfig) (*StreamingLLM, error) {
	r, err := c.resolve()
	if err != nil {
		return nil, err
	}
	pool, err := NewSlotPool(PoolConfig{Layout: r.Layout, MinCapacity: r.MinCapacity, Max: r.Sinks + r.Window, NewSlots: r.NewSlots})
	if err != nil {
		return nil, err
	}
	s := &StreamingLLM{cfg: r}
	s.PoolCache = NewPoolCache(pool, PoolHooks{Evict: func(n int) error {
		if old := n - r.Window; old >= r.Sinks { // the position the window slides past
			return pool.Unref(old)
		}
		return nil
	}})
	return s, nil
}

// Memory implements Cache.
func (s *StreamingLLM) Memory() Memory {
	m := s.PoolCache.Memory()
	sink := min(s.Len(), s.cfg.Sinks)
	m.Attended = Regions{Sink: sink, Window: s.Pool().Resident() - sink}
	return m
}

func init() {
	mustRegister(MatchedPolicy(PolicyStreaming, "StreamingLLM: the prompt as sinks + window", func(c Config, b Budget) (Cache, error) {
		sinks := cmp.Or(c.Sinks, c.PromptLen)
		return NewStreamingLLM(StreamingConfig{Layout: c.Layout, Sinks: sinks, Window: b.Tokens - sinks,
			MinCapacity: c.MinCapacity, NewSlots: c.NewSlots})
	}))
}
