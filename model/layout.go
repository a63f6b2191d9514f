package model

import (
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// The blocked decode layout stores a matrix [n, k] as [k/B, P, n/P, B]: block c of part p holds
// columns [c·B, (c+1)·B) of rows [p·n/P, (p+1)·n/P). See builder.project for why.

// decodeBlocks are the contraction block widths tried, best first (measured on the pure-Go backend:
// 32 > 64 > 16 for d = 512).
var decodeBlocks = []int{32, 64, 16, 8}

// maxPartRows bounds n/P so that maxBlockedRows × n/P stays within the backend's small-matrix kernel.
const maxPartRows = smallKernelLimit / maxBlockedRows

// blockLayout returns (B, P) when matrix s [n, k] is stored blocked, or (0, 0) to keep its HF layout.
// Matrices the decode step multiplies by are blocked: every projection and the LM head; the embedding
// only when tied to the LM head (it is otherwise only gathered from).
func (m *Model) blockLayout(s tensorSpec) (blk, parts int) {
	if !m.blocked || len(s.Shape) != 2 {
		return 0, 0
	}
	if s.Name == "model.embed_tokens.weight" && !m.Config.TieEmbeddings {
		return 0, 0
	}
	n, k := s.Shape[0], s.Shape[1]
	for _, b := range decodeBlocks {
		if k%b != 0 || k == b {
			continue
		}
		for p := 1; p <= n; p++ {
			if n%p == 0 && n/p <= maxPartRows {
				return b, p
			}
		}
	}
	return 0, 0
}

// toBlocked reorders t [n, k] into [k/B, P, n/P, B].
func toBlocked(t *tensors.Tensor, blk, parts int) *tensors.Tensor {
	dims := t.Shape().Dimensions
	n, k := dims[0], dims[1]
	out := tensors.FromShape(shapes.Make(t.DType(), k/blk, parts, n/parts, blk))
	tensors.MustConstFlatData(t, func(src []float32) {
		tensors.MustMutableFlatData(out, func(dst []float32) {
			for c := range k / blk {
				// [P, n/P] is row-major over n, so the rows of block c are contiguous: dst[c][r].
				for r := range n {
					copy(dst[(c*n+r)*blk:(c*n+r+1)*blk], src[r*k+c*blk:r*k+(c+1)*blk])
				}
			}
		})
	})
	return out
}

// fromBlocked is the inverse of toBlocked: [k/B, P, n/P, B] -> flat [n, k].
func fromBlocked(t *tensors.Tensor) []float32 {
	dims := t.Shape().Dimensions
	nb, n, blk := dims[0], dims[1]*dims[2], dims[3]
	k := nb * blk
	out := make([]float32, n*k)
	tensors.MustConstFlatData(t, func(src []float32) {
		for c := range nb {
			for r := range n {
				copy(out[r*k+c*blk:r*k+(c+1)*blk], src[(c*n+r)*blk:(c*n+r+1)*blk])
			}
		}
	})
	return out
}
