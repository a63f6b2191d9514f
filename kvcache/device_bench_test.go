package kvcache

import (
	"fmt"
	"testing"

	"github.com/zoomr-go/zoomr/model"
)

// BenchmarkBackendSlotsWrite is one decode step's edit of a device-resident context: write one
// token's K/V into a slot, then Context (which runs the update graph). Its cost should not depend on
// the capacity: the buffers are donated and updated in place.
func BenchmarkBackendSlotsWrite(b *testing.B) {
	backend, err := model.DefaultBackend()
	if err != nil {
		b.Fatal(err)
	}
	l := Layout{Layers: 8, KVHeads: 2, HeadDim: 64}
	for _, c := range []int{1024, 16384} {
		b.Run(fmt.Sprintf("C=%d", c), func(b *testing.B) {
			s, err := NewBackendSlots(backend)(l, c)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Release()
			k := make([]float32, l.TokenElems())
			write := func(slot int) {
				if err := s.Write([]int{slot}, k, k); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Context(); err != nil {
					b.Fatal(err)
				}
			}
			write(0) // compiles the update
			b.ResetTimer()
			for i := range b.N {
				write(i % c)
			}
		})
	}
}
