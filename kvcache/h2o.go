package kvcache

import (
	"cmp"
	"fmt"
)

// H2OConfig configures the H2O cache. Zero values: Heavy = DefaultWindow, Window = DefaultWindow.
type H2OConfig struct {
	Layout Layout
	Heavy  int // heavy-hitter slots
	Window int // most recent tokens, never evicted
	// MinCapacity is the first capacity bucket (default DefaultMinCapacity).
	MinCapacity int
	// NewSlots makes the active context's storage (nil: Go memory).
	NewSlots SlotsFactory
}

// H2O is the heavy-hitter baseline (Zhang et al. 2023) in this variant: a pool of Heavy + Window
// slots; each slot's score is the attention it received, summed over layers, heads and steps (token
// level: one score per token, shared by all layers and heads). When the pool is full, the new token
// takes the slot of the lowest-scored token outside the Window most recent ones (ties: the oldest).
// A token's score starts at 0 when it enters. Prompt tokens get no scores (the model's prefill does not
// return attention), so a prompt longer than the pool keeps its last tokens.
//
// Per step: the model step with attention, ObserveAttention(attn), then Append.
type H2O struct {
	*PoolCache
	cfg   H2OConfig
	score SlotScores
}

func (c H2OConfig) resolve() (H2OConfig, error) {
	if err := c.Layout.Validate(); err != nil {
		return c, err
	}
	if c.Heavy < 0 || c.Window < 0 {
		return c, fmt.Errorf("%w: Heavy = %d, Window = %d must be >= 0", ErrConfig, c.Heavy, c.Window)
	}
	c.Heavy, c.Window = cmp.Or(c.Heavy, DefaultWindow), cmp.Or(c.Window, DefaultWindow)
	return c, nil
}

// Budget of an H2O cache.
func (c H2OConfig) Budget() (Budget, error) {
	r, err := c.resolve()
	if err != nil {
		return Budget{}, err
	}
	return newBudget(r.Layout, 0, 0, 0, r.Window, r.Heavy), nil
}

// NewH2O builds an H2O cache.
func NewH2O(c H2OConfig) (*H2O, error) {
	r, err := c.resolve()
	if err != nil {
		return nil, err
	}
	pool, err := NewSlotPool(PoolConfig{Layout: r.Layout, MinCapacity: r.MinCapacity, Max: r.Heavy + r.Window, NewSlots: r.NewSlots})
	if err != nil {
		return nil, err
	}
	h := &H2O{cfg: r}
	h.PoolCache = NewPoolCache(pool, PoolHooks{
		Evict: func(n int) error {
			if pool.Resident() < r.Heavy+r.Window {
				return nil
			}
			victim := h.score.Lowest(pool, n-r.Window)
			if victim < 0 {
				return fmt.Errorf("%w: H2O found no token to evict", ErrInternal)
			}
			return pool.Unref(pool.PositionAt(victim))
		},
		Stored: func(_, slot int, _ []float32) { h.score.Reset(slot) },
		Reset:  func() { h.score = nil },
	})
	return h, nil
}

// ObserveAttention implements AttentionObserver: attn is [L, H, C] for the current Context.
func (h *H2O) ObserveAttention(attn []float32) error { return h.score.AddAttention(h.Pool(), attn, 1) }

// Memory implements Cache. Attended.Window counts the Window most recent tokens, Heavy the others.
func (h *H2O) Memory() Memory {
	m := h.MemoryRecent(h.cfg.Window)
	m.IndexBytes = int64(8 * len(h.score))
	return m
}

var _ AttentionObserver = (*H2O)(nil)

func init() {
	mustRegister(MatchedPolicy(PolicyH2O, "heavy hitters by accumulated attention + window", func(c Config, b Budget) (Cache, error) {
		return NewH2O(H2OConfig{Layout: c.Layout, Heavy: b.Tokens - b.Window, Window: b.Window, MinCapacity: c.MinCapacity, NewSlots: c.NewSlots})
	}))
}
