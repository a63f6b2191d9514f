package kvcache

import (
	"fmt"
	"math"
)

// ScoreSummaries writes dst[l,h,j] = q[l,h]·kbar[j][l,h/G]/sqrt(D) for every thought j of the index
// kbar: the relevance scores every attention head votes with (package consensus). q is [L, H, D]
// post-RoPE queries (H a multiple of KVH, G = H/KVH query heads per KV head), kbar is [T][L, KVH, D]
// mean summary keys, dst is [L, H, T]. Trainers compute the same scores inside their graphs; a test
// ties the two.
func ScoreSummaries(l Layout, kbar, q, dst []float32) error {
	ld, te := l.Layers*l.HeadDim, l.TokenElems()
	if len(q) == 0 || len(q)%ld != 0 || (len(q)/ld)%l.KVHeads != 0 {
		return fmt.Errorf("%w: query has %d values, want L*H*D with L=%d, D=%d and H a multiple of KVH=%d",
			ErrShape, len(q), l.Layers, l.HeadDim, l.KVHeads)
	}
	if len(kbar)%te != 0 {
		return fmt.Errorf("%w: index has %d values, not a multiple of L*KVH*D = %d", ErrShape, len(kbar), te)
	}
	h, t, d := len(q)/ld, len(kbar)/te, l.HeadDim
	if len(dst) != l.Layers*h*t {
		return fmt.Errorf("%w: scores have %d values, want L*H*T = %d*%d*%d", ErrShape, len(dst), l.Layers, h, t)
	}
	g := h / l.KVHeads
	scale := float32(1 / math.Sqrt(float64(d)))
	for li := range l.Layers {
		for hi := range h {
			qv := q[(li*h+hi)*d : (li*h+hi+1)*d]
			kOff := (li*l.KVHeads + hi/g) * d
			out := dst[(li*h+hi)*t : (li*h+hi+1)*t]
			for j := range t {
				kb := kbar[j*te+kOff : j*te+kOff+d]
				var s float32
				for i, x := range qv {
					s += x * kb[i]
				}
				out[j] = s * scale
			}
		}
	}
	return nil
}
