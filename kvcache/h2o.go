package kvcache

import "fmt"

// H2OConfig configures the H2O cache. Zero values: Heavy = DefaultWindow, Window = DefaultWindow.
type H2OConfig struct {
	Layout Layout
	Heavy  int // heavy-hitter slots
	Window int // most recent tokens, never evicted
}

// H2O is the heavy-hitter baseline (Zhang et al. 2023) in this variant: a pool of Heavy + Window
// slots; each slot's score is the attention it received, summed over layers, heads and steps (token
// level: one score per token, shared by all layers and heads). When the pool is full, the new token
// takes the slot of the lowest-scored token outside the Window most recent ones (ties: the oldest).
// A token's score starts at 0 when it enters. Prompt tokens get no scores (the model's prefill does not
// return attention), so a prompt longer than the pool keeps its last tokens.
//
// Per step: Step with ReturnAttention, ObserveAttention(attn), then Append.
type H2O struct {
	flat
	cfg     H2OConfig
	act     activeStore
	slotPos []int     // position held by each slot, -1 = empty
	score   []float64 // accumulated attention per slot
	tk, tv  []float32
}

func (c H2OConfig) resolve() (H2OConfig, error) {
	if err := c.Layout.Validate(); err != nil {
		return c, err
	}
	c.Layout.DType = c.Layout.dtype()
	if c.Heavy < 0 || c.Window < 0 {
		return c, fmt.Errorf("%w: Heavy = %d, Window = %d must be >= 0", ErrConfig, c.Heavy, c.Window)
	}
	if c.Heavy == 0 {
		c.Heavy = DefaultWindow
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
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
	h := &H2O{}
	h.init(r)
	return h, nil
}

func (h *H2O) init(c H2OConfig) {
	*h = H2O{flat: flat{lay: c.Layout}, cfg: c}
	n := c.Heavy + c.Window
	h.act = newActive(c.Layout, n, &h.moved)
	h.slotPos = make([]int, n)
	for i := range h.slotPos {
		h.slotPos[i] = -1
	}
	h.score = make([]float64, n)
	h.tk, h.tv = make([]float32, c.Layout.TokenElems()), make([]float32, c.Layout.TokenElems())
	h.peakRes = h.act.bytes()
}

// Capacity implements Cache.
func (h *H2O) Capacity() int { return h.act.capacity() }

// Context implements Cache.
func (h *H2O) Context() Context { return h.act.context() }

// NeedsAttention implements Cache: H2O needs the attention of every step.
func (h *H2O) NeedsAttention() bool { return true }

// ObserveAttention implements Cache: attn is [L, H, C] for the current Context.
func (h *H2O) ObserveAttention(attn []float32) error {
	lc := h.lay.Layers * len(h.score)
	if len(attn) == 0 || len(attn)%lc != 0 {
		return fmt.Errorf("%w: attention has %d values, want L*H*C with L=%d, C=%d", ErrShape, len(attn), h.lay.Layers, len(h.score))
	}
	c := len(h.score)
	for i := 0; i < len(attn); i += c {
		for s, p := range attn[i : i+c] {
			if h.slotPos[s] >= 0 {
				h.score[s] += float64(p)
			}
		}
	}
	return nil
}

// victim is the slot the token at position pos goes to: a free slot, else the lowest-scored slot
// holding a position <= pos - Window (ties: the oldest position).
func (h *H2O) victim(pos int) int {
	best := -1
	for s, p := range h.slotPos {
		if p < 0 {
			return s
		}
		if p > pos-h.cfg.Window {
			continue
		}
		if best < 0 || h.score[s] < h.score[best] || (h.score[s] == h.score[best] && p < h.slotPos[best]) {
			best = s
		}
	}
	return best
}

func (h *H2O) put(k, v []float32) error {
	s := h.victim(h.n)
	if err := h.act.writeF32(s, k, v); err != nil {
		return err
	}
	h.slotPos[s], h.score[s] = h.n, 0
	h.n++
	return nil
}

// AppendPrompt implements Cache.
func (h *H2O) AppendPrompt(k, v []float32, n int) error {
	if err := h.checkPrompt(k, v, n); err != nil {
		return err
	}
	for i := range n {
		h.lay.chunkToken(h.tk, k, n, i)
		h.lay.chunkToken(h.tv, v, n, i)
		if err := h.put(h.tk, h.tv); err != nil {
			return err
		}
	}
	return nil
}

// Append implements Cache.
func (h *H2O) Append(pos int, k, v []float32) error {
	if err := h.checkAppend(pos, k, v); err != nil {
		return err
	}
	h.closed = true
	h.tr.onAppend(pos)
	return h.put(k, v)
}

// Memory implements Cache. Attended.Window counts the Window most recent tokens, Heavy the others.
func (h *H2O) Memory() Memory {
	m := Memory{
		Capacity:          h.act.capacity(),
		ResidentBytes:     h.act.bytes(),
		PeakResidentBytes: h.peakRes,
		MovedBytes:        h.moved,
		Tokens:            h.n,
	}
	for _, p := range h.slotPos {
		switch {
		case p < 0:
		case p >= h.n-h.cfg.Window:
			m.Attended.Window++
		default:
			m.Attended.Heavy++
		}
	}
	return m
}

// Reset implements Cache.
func (h *H2O) Reset() {
	h.act.release()
	h.init(h.cfg)
}

func (h *H2O) regions() []region { return []region{{"pool", 0, h.act.capacity()}} }

// compile-time checks
var (
	_ Cache = (*ZoomR)(nil)
	_ Cache = (*SumR)(nil)
	_ Cache = (*StreamingLLM)(nil)
	_ Cache = (*Full)(nil)
	_ Cache = (*H2O)(nil)
)
