package kvcache

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// RKVConfig configures R-KV. Zero values take the defaults.
type RKVConfig struct {
	Layout Layout
	Budget int     // slots kept for selected tokens besides the window (default DefaultWindow)
	Window int     // most recent tokens, never evicted (default DefaultWindow)
	Buffer int     // tokens evicted per compression, within Budget (default 32, at most Budget)
	Lambda float64 // weight of importance against redundancy (default 0.1, the paper's)
	Decay  float64 // importance kept per step (default 7/8: about the paper's 8-query observation window)
	// MinCapacity and NewSlots are as in PoolConfig.
	MinCapacity int
	NewSlots    SlotsFactory
}

// RKV is R-KV (Cai et al. 2025, arXiv 2505.24133), redundancy-aware decode-time compression for
// reasoning models, with one token set shared by every layer and head (the paper selects per head).
// Importance is the attention a token received, decayed per step; redundancy is the mean cosine
// similarity of its keys (per layer and KV head, averaged) to the other candidates. When the pool of
// Budget + Window slots is full, the Buffer tokens outside the window with the lowest
// Lambda·importance − (1−Lambda)·redundancy (importance scaled to [0, 1]) are evicted at once, so a
// compression runs once per Buffer tokens. It keeps each resident token's normalised keys on the host.
// It is written on the package's exported building blocks only (PoolCache, SlotPool, SlotScores), as
// a policy outside the package would be.
type RKV struct {
	*PoolCache
	cfg  RKVConfig
	imp  SlotScores
	keys [][]float32 // per slot: the token's keys, each (layer, KV head) a unit vector
}

// NewRKV builds an R-KV cache.
func NewRKV(c RKVConfig) (*RKV, error) {
	if c.Budget < 0 || c.Window < 0 || c.Buffer < 0 || c.Lambda < 0 || c.Lambda > 1 || c.Decay < 0 || c.Decay > 1 {
		return nil, fmt.Errorf("%w: R-KV Budget %d, Window %d, Buffer %d, Lambda %g, Decay %g", ErrConfig, c.Budget, c.Window, c.Buffer, c.Lambda, c.Decay)
	}
	c.Budget, c.Window, c.Buffer = cmp.Or(c.Budget, DefaultWindow), cmp.Or(c.Window, DefaultWindow), cmp.Or(c.Buffer, 32)
	c.Buffer, c.Lambda, c.Decay = min(c.Buffer, c.Budget), cmp.Or(c.Lambda, 0.1), cmp.Or(c.Decay, 7.0/8)
	pool, err := NewSlotPool(PoolConfig{Layout: c.Layout, MinCapacity: c.MinCapacity, Max: c.Budget + c.Window, NewSlots: c.NewSlots})
	if err != nil {
		return nil, err
	}
	r := &RKV{cfg: c}
	r.PoolCache = NewPoolCache(pool, PoolHooks{Evict: r.compress, Stored: r.stored, Reset: func() { r.imp, r.keys = nil, nil }})
	return r, nil
}

// ObserveAttention implements AttentionObserver.
func (r *RKV) ObserveAttention(attn []float32) error {
	return r.imp.AddAttention(r.Pool(), attn, r.cfg.Decay)
}

// compress evicts the Buffer lowest-scored tokens outside the window when the pool is full. A
// token's redundancy, its mean cosine similarity to the other candidates, is k·(Σ keys − k) over the
// number of heads and of others (each head's key is a unit vector): one pass, not a pass per pair.
func (r *RKV) compress(n int) error {
	pool := r.Pool()
	if pool.Resident() < r.cfg.Budget+r.cfg.Window {
		return nil
	}
	var cand []int
	top, sum := 0.0, make([]float32, pool.Layout().TokenElems())
	for s := range pool.Capacity() {
		if p := pool.PositionAt(s); p >= 0 && p <= n-r.cfg.Window {
			cand, top = append(cand, s), max(top, r.imp[s])
			for i, x := range r.keys[s] {
				sum[i] += x
			}
		}
	}
	heads := float64(len(sum) / pool.Layout().HeadDim)
	score := make(map[int]float64, len(cand))
	for _, s := range cand {
		redundancy := (float64(unitDot(r.keys[s], sum)) - heads) / (heads * float64(max(1, len(cand)-1)))
		score[s] = r.cfg.Lambda*r.imp[s]/max(top, math.SmallestNonzeroFloat64) - (1-r.cfg.Lambda)*redundancy
	}
	slices.SortStableFunc(cand, func(a, b int) int { return cmp.Compare(score[a], score[b]) })
	for _, s := range cand[:min(r.cfg.Buffer, len(cand))] {
		if err := pool.Unref(pool.PositionAt(s)); err != nil {
			return err
		}
	}
	return nil
}

// stored resets the new slot's importance and keeps its keys, each head's as a unit vector.
func (r *RKV) stored(_, slot int, k []float32) {
	r.imp.Reset(slot)
	d := r.Layout().HeadDim
	for len(r.keys) <= slot {
		r.keys = append(r.keys, make([]float32, len(k)))
	}
	for h := 0; h < len(k); h += d {
		norm := float32(math.Sqrt(float64(unitDot(k[h:h+d], k[h:h+d])))) + 1e-12
		for i, e := range k[h : h+d] {
			r.keys[slot][h+i] = e / norm
		}
	}
}

// Memory implements Cache: the keys and scores kept per slot count as index bytes.
func (r *RKV) Memory() Memory {
	m := r.MemoryRecent(r.cfg.Window)
	m.IndexBytes = int64(len(r.keys)*4*r.Layout().TokenElems() + 8*len(r.imp))
	return m
}

var _ AttentionObserver = (*RKV)(nil)

// unitDot is the dot product of two vectors of the same length.
func unitDot(a, b []float32) float32 {
	var s float32
	for i, x := range a {
		s += x * b[i]
	}
	return s
}

func init() {
	mustRegister(MatchedPolicy(PolicyRKV, "R-KV: importance minus key redundancy + window", func(c Config, b Budget) (Cache, error) {
		return NewRKV(RKVConfig{Layout: c.Layout, Budget: b.Tokens - b.Window, Window: b.Window, MinCapacity: c.MinCapacity, NewSlots: c.NewSlots})
	}))
}
