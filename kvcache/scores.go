package kvcache

import "fmt"

// SlotScores is a score per slot of a SlotPool: the building block of policies that evict by what
// the attention did (H2O, R-KV). It grows with the pool; a slot's score is reset when a new position
// takes it (Reset).
type SlotScores []float64

// AddAttention adds decay·score + (the attention each resident slot received in one step, summed
// over layers and query heads) to every slot: attn is [L, H, C] for the pool's current capacity C.
// decay = 1 accumulates for ever (H2O); below 1 it forgets old steps geometrically.
func (s *SlotScores) AddAttention(p *SlotPool, attn []float32, decay float64) error {
	c := p.Capacity()
	if c == 0 || len(attn) == 0 || len(attn)%(p.lay.Layers*c) != 0 {
		return fmt.Errorf("%w: attention has %d values, want L*H*C with L=%d, C=%d", ErrShape, len(attn), p.lay.Layers, c)
	}
	s.fit(c)
	if decay != 1 {
		for i := range *s {
			(*s)[i] *= decay
		}
	}
	for i := 0; i < len(attn); i += c {
		for slot, a := range attn[i : i+c] {
			if p.posOf[slot] >= 0 {
				(*s)[slot] += float64(a)
			}
		}
	}
	return nil
}

func (s *SlotScores) fit(c int) {
	for len(*s) < c {
		*s = append(*s, 0)
	}
}

// Reset sets slot's score to 0 (a new position took it).
func (s *SlotScores) Reset(slot int) {
	s.fit(slot + 1)
	(*s)[slot] = 0
}

// Lowest is the resident slot with the lowest score among those holding a position <= maxPos (ties:
// the oldest position), or -1 when there is none.
func (s *SlotScores) Lowest(p *SlotPool, maxPos int) int {
	s.fit(p.Capacity())
	best := -1
	for slot, pos := range p.posOf {
		if pos < 0 || pos > maxPos {
			continue
		}
		if best < 0 || (*s)[slot] < (*s)[best] || ((*s)[slot] == (*s)[best] && pos < p.posOf[best]) {
			best = slot
		}
	}
	return best
}
