package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// plainArgmax is the definition Argmax must equal: the first index whose value is larger than
// every earlier one's (NaNs never win, unless first).
func plainArgmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

func TestArgmaxEqualsPlainScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, 1, -1}
	for n := range 50 {
		for trial := range 200 {
			x := make([]float32, n)
			for i := range x {
				switch rng.IntN(4) {
				case 0:
					x[i] = special[rng.IntN(len(special))]
				case 1:
					x[i] = float32(rng.IntN(3)) // ties
				default:
					x[i] = float32(rng.NormFloat64())
				}
			}
			require.Equal(t, plainArgmax(x), Argmax(x), "n=%d trial=%d x=%v", n, trial, x)
		}
	}
	require.Equal(t, 0, Argmax(nil))
}

func BenchmarkArgmax(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 151936) // a Qwen vocabulary's logits
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	b.Run("blocked", func(b *testing.B) {
		for b.Loop() {
			Argmax(x)
		}
	})
	b.Run("plain", func(b *testing.B) {
		for b.Loop() {
			plainArgmax(x)
		}
	})
}
