package model

import (
	"context"
	"math/rand/v2"
	"testing"
)

func TestProfStep(t *testing.T) {
	if testing.Short() { t.Skip() }
	ctx := context.Background()
	m := writeAndLoad(t, Random512)
	c := m.Config
	cache := NewSimpleKV(c)
	rng := rand.New(rand.NewPCG(1, 1))
	n := 1024
	k := make([]float32, c.Layers*c.KVHeads*n*c.HeadDim)
	for i := range k { k[i] = float32(rng.NormFloat64()) }
	cache.Append(k, k, n)
	for i := 0; i < 20; i++ {
		if _, err := m.Step(ctx, 5, n, cache.KV(), StepOptions{}); err != nil { t.Fatal(err) }
	}
}
