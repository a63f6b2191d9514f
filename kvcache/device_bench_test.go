package kvcache

import (
	"fmt"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/distributed"
	"github.com/zoomr-go/zoomr/model"
)

// BenchmarkBackendSlotsWrite is one decode step's edit of a device-resident context: write one
// token's K/V into a slot, then Context (which runs the update). Its cost should not depend on the
// capacity: on XLA the buffers are donated and updated in place. With 4 devices
// (XLA_FLAGS=--xla_force_host_platform_device_count=4) it also measures the context split across
// them (NewShardedBackendSlots).
func BenchmarkBackendSlotsWrite(b *testing.B) {
	backend, err := model.DefaultBackend()
	if err != nil {
		b.Fatal(err)
	}
	l := Layout{Layers: 8, KVHeads: 4, HeadDim: 64}
	factories := map[string]SlotsFactory{"whole": NewBackendSlots(backend)}
	if backend.NumDevices() >= 4 {
		mesh, err := distributed.NewDeviceMesh([]int{4}, []string{model.MeshAxis})
		if err != nil {
			b.Fatal(err)
		}
		factories["split4"] = NewShardedBackendSlots(backend, mesh)
	}
	for _, name := range []string{"whole", "split4"} {
		f, ok := factories[name]
		if !ok {
			continue
		}
		for _, c := range []int{1024, 16384} {
			b.Run(fmt.Sprintf("%s/C=%d", name, c), func(b *testing.B) {
				s, err := f(l, c)
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
}
