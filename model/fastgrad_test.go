package model

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"
)

func randTensor(rng *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

// TestFastDotGradient checks fastDot's value and custom gradient against GoMLX's own DotGeneral gradient.
func TestFastDotGradient(t *testing.T) {
	backend, err := DefaultBackend()
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name     string
		lhs, rhs []int
		nBatch   int
	}{
		{"linear", []int{2, 3, 5}, []int{4, 5}, 0},
		{"batched", []int{2, 3, 6}, []int{2, 4, 6}, 1},
		{"attention", []int{2, 2, 3, 4, 8}, []int{2, 2, 5, 8}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lhs, rhs := randTensor(rng, c.lhs...), randTensor(rng, c.rhs...)
			grads := func(fast bool) []*tensors.Tensor {
				e := MustNewExec(backend, func(l, r *Node) []*Node {
					var y *Node
					if fast {
						y = fastDot(l, r, c.nBatch)
					} else {
						y = dotLast(l, r, c.nBatch)
					}
					// A non-uniform loss so every output element gets its own adjoint.
					weights := Sin(Iota(l.Graph(), y.Shape(), -1))
					loss := ReduceAllSum(Mul(Square(y), weights))
					g := Gradient(loss, l, r)
					return []*Node{y, g[0], g[1]}
				})
				return e.MustExec(lhs, rhs)
			}
			want, got := grads(false), grads(true)
			for i, name := range []string{"value", "d/dlhs", "d/drhs"} {
				w := tensors.MustCopyFlatData[float32](want[i])
				g := tensors.MustCopyFlatData[float32](got[i])
				require.Equal(t, len(w), len(g))
				maxDiff := 0.0
				for j := range w {
					maxDiff = math.Max(maxDiff, math.Abs(float64(w[j]-g[j]))/(1+math.Abs(float64(w[j]))))
				}
				require.Less(t, maxDiff, 1e-5, "%s differs", name)
			}
		})
	}
}
