package kvcache

import "fmt"

// FullConfig configures the Full cache.
type FullConfig struct {
	Layout Layout
	// MinCapacity is the first capacity bucket (default DefaultMinCapacity).
	MinCapacity int
	// NewSlots makes the active context's storage (nil: Go memory).
	NewSlots SlotsFactory
}

// Full keeps every token resident. The capacity is the smallest power of two >= max(MinCapacity,
// Len()): when it fills, the context moves to a buffer twice as large (a new decode graph per
// bucket, log2(n) graphs in all). In Memory, prompt slots count as Sink and generated ones as Window.
type Full struct{ *PoolCache }

// NewFull builds a Full cache.
func NewFull(c FullConfig) (*Full, error) {
	if c.MinCapacity < 0 {
		return nil, fmt.Errorf("%w: MinCapacity = %d < 0", ErrConfig, c.MinCapacity)
	}
	pool, err := NewSlotPool(PoolConfig{Layout: c.Layout, MinCapacity: c.MinCapacity, NewSlots: c.NewSlots})
	if err != nil {
		return nil, err
	}
	return &Full{NewPoolCache(pool, PoolHooks{})}, nil
}

// Memory implements Cache.
func (f *Full) Memory() Memory {
	m := f.PoolCache.Memory()
	m.Attended = Regions{Sink: f.Prompt(), Window: f.Len() - f.Prompt()}
	return m
}

func init() {
	mustRegister(Policy{Name: PolicyFull, Doc: "every token (capacity in power-of-two buckets)",
		New: func(cfg Config) (Cache, error) {
			return NewFull(FullConfig{Layout: cfg.Layout, MinCapacity: cfg.MinCapacity, NewSlots: cfg.NewSlots})
		}})
}
