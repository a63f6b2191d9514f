package model

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// The host engine's attention: one token's query group over a context (read in place, only its
// valid runs) and over the token's own chunk, with gonum's BLAS for the products.

// hostContext is one KV head's context: keys [C, D], transposed values [D, C], the mask and its runs.
type hostContext struct {
	k, vt, mask []float32
	runs        []span
}

// hostOwn is the keys and values [m, D] a token attends to besides the context: itself and, in a
// prefill chunk, the chunk's earlier tokens.
type hostOwn struct{ k, v blas32.General }

// attendGroup is the attention of one token's G query heads that share a KV head, over the context
// and the token's own keys (itself, and the earlier tokens of a prefill chunk): for each head,
// out = softmax([q·Kᵀ·scale + mask bias, q·ownKᵀ·scale]) · [V, ownV], one softmax over both parts.
// q, out: [G, D]. Only the slots in ctx.runs (the mask's valid spans, see validRuns) are read.
// scores [G, C] and ownScores [G, m] are scratch; probs, when not nil, receives the context slots'
// probabilities [G, C] (0 for masked slots). The products are matrix-matrix over the group, so each
// run of the context is read once.
func attendGroup(out, q []float32, own hostOwn, ctx hostContext, scale float32, scores, ownScores, probs []float32) {
	D, C, M := own.k.Cols, len(ctx.mask), own.k.Rows
	G := len(q) / D
	qm := blas32.General{Rows: G, Cols: D, Stride: D, Data: q}
	for _, r := range ctx.runs {
		blas32.Gemm(blas.NoTrans, blas.Trans, scale, qm, blas32.General{Rows: r.n(), Cols: D, Stride: D, Data: ctx.k[r.lo*D:]},
			0, blas32.General{Rows: G, Cols: r.n(), Stride: C, Data: scores[r.lo:]})
	}
	ownM := blas32.General{Rows: G, Cols: M, Stride: M, Data: ownScores}
	blas32.Gemm(blas.NoTrans, blas.Trans, scale, qm, own.k, 0, ownM)
	for g := range G {
		softmaxRow(scores[g*C:(g+1)*C], ownScores[g*M:(g+1)*M], ctx)
		if probs != nil {
			p := probs[g*C : (g+1)*C]
			clear(p)
			for _, r := range ctx.runs {
				copy(p[r.lo:r.hi], scores[g*C+r.lo:g*C+r.hi])
			}
		}
	}
	om := blas32.General{Rows: G, Cols: D, Stride: D, Data: out}
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, ownM, own.v, 0, om)
	for _, r := range ctx.runs {
		blas32.Gemm(blas.NoTrans, blas.Trans, 1, blas32.General{Rows: G, Cols: r.n(), Stride: C, Data: scores[r.lo:]},
			blas32.General{Rows: D, Cols: r.n(), Stride: C, Data: ctx.vt[r.lo:]}, 1, om)
	}
}

// softmaxRow turns one head's scores over the context runs (row, masked slots skipped) and its own
// keys (own) into probabilities, in place: one softmax over both.
func softmaxRow(row, own []float32, ctx hostContext) {
	maxScore := own[0]
	for _, s := range own {
		maxScore = max(maxScore, s)
	}
	for _, r := range ctx.runs {
		for i := r.lo; i < r.hi; i++ {
			if ctx.mask[i] != 0 && row[i] > maxScore {
				maxScore = row[i]
			}
		}
	}
	var denom float32
	for i, s := range own {
		own[i] = float32(math.Exp(float64(s - maxScore)))
		denom += own[i]
	}
	for _, r := range ctx.runs {
		for i := r.lo; i < r.hi; i++ {
			e := float32(0)
			if ctx.mask[i] != 0 {
				e = float32(math.Exp(float64(row[i] - maxScore)))
			}
			row[i] = e
			denom += e
		}
	}
	inv := 1 / denom
	for i := range own {
		own[i] *= inv
	}
	for _, r := range ctx.runs {
		for i := r.lo; i < r.hi; i++ {
			row[i] *= inv
		}
	}
}

// span is the slot range [lo, hi).
type span struct{ lo, hi int }

func (s span) n() int { return s.hi - s.lo }

// maxRuns bounds the runs attendGroup takes one by one; a more fragmented mask (a cache that evicts
// single slots) is read as one span from its first to its last valid slot, masked slot by slot.
const maxRuns = 32

// validRuns appends to dst the spans of consecutive valid (non-zero) mask slots.
func validRuns(dst []span, mask []float32) []span {
	dst = dst[:0]
	for i := 0; i < len(mask); {
		if mask[i] == 0 {
			i++
			continue
		}
		lo := i
		for i < len(mask) && mask[i] != 0 {
			i++
		}
		dst = append(dst, span{lo, i})
	}
	if len(dst) > maxRuns {
		dst = append(dst[:0], span{dst[0].lo, dst[len(dst)-1].hi})
	}
	return dst
}

// gemmView is rows × cols of data at the given row stride, for BLAS.
func gemmView(rows, cols, stride int, data []float32) blas32.General {
	return blas32.General{Rows: rows, Cols: cols, Stride: stride, Data: data}
}
