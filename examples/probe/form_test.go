package main

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMassOfIsTheSoftmaxShareOfThePickedTokens(t *testing.T) {
	logits := []float32{0, float32(math.Log(3)), 1000, 1000}
	require.InDelta(t, 0.5, massOf(logits, []bool{false, false, true, false}), 1e-6, "the large logits do not overflow")
	require.InDelta(t, 0.75, massOf(logits[:2], []bool{false, true}), 1e-6)
	require.Zero(t, massOf(logits[:2], []bool{false, false}))
}
