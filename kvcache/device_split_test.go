package kvcache

import (
	"errors"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/distributed"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/zoomr-go/zoomr/model"
)

// TestShardedBackendSlotsMatchHost: a ZoomR context split by KV head across 4 devices holds, at every
// step, what the Go-memory one holds (read back by merging the shards), through appends, seals, zooms,
// evictions and growth; each device holds a quarter of every layer's K and V.
func TestShardedBackendSlotsMatchHost(t *testing.T) {
	backend, err := model.DefaultBackend()
	if err != nil {
		t.Fatal(err)
	}
	if backend.NumDevices() < 4 {
		t.Skipf("backend %q has %d device(s); a context split 4 ways needs 4 (GOMLX_BACKEND=xla:cpu simulates them)", backend.Name(), backend.NumDevices())
	}
	mesh, err := distributed.NewDeviceMesh([]int{4}, []string{model.MeshAxis})
	if err != nil {
		t.Fatal(err)
	}
	// float32 only: the positions the slots encode are exact in bfloat16 to 256/(L·KVH·D), 64 with 4
	// KV heads, short of the stream; the graphs are the same for both dtypes.
	for _, dt := range []dtypes.DType{dtypes.Float32} {
		t.Run(dt.String(), func(t *testing.T) {
			l := Layout{Layers: 2, KVHeads: 4, HeadDim: 2, DType: dt}
			matchHostSlots(t, l, NewShardedBackendSlots(backend, mesh), func(c Context) Context {
				t.Helper()
				if c.K != nil || len(c.ShardedK) != l.Layers {
					t.Fatalf("a split context has %d whole and %d split layers", len(c.K), len(c.ShardedK))
				}
				for _, k := range c.ShardedK {
					if got := k.ShardShape().Dimensions[0]; got != l.KVHeads/4 {
						t.Fatalf("a device holds %d KV heads, want %d", got, l.KVHeads/4)
					}
				}
				whole := Context{Mask: merge(t, c.ShardedMask)}
				for i := range l.Layers {
					whole.K = append(whole.K, merge(t, c.ShardedK[i]))
					whole.V = append(whole.V, merge(t, c.ShardedV[i]))
				}
				return whole
			})
		})
	}
}

func merge(t *testing.T, dt *distributed.Tensor) *tensors.Tensor {
	t.Helper()
	whole, err := dt.Merge()
	if err != nil {
		t.Fatal(err)
	}
	return whole
}

func TestShardedBackendSlotsErrors(t *testing.T) {
	backend, err := model.DefaultBackend()
	if err != nil {
		t.Fatal(err)
	}
	mesh3, _ := distributed.NewDeviceMesh([]int{3}, []string{"tp"})
	l := Layout{Layers: 1, KVHeads: 4, HeadDim: 2}
	if _, err := NewShardedBackendSlots(backend, mesh3)(l, 8); !errors.Is(err, ErrConfig) {
		t.Fatalf("4 KV heads on 3 devices: %v, want ErrConfig", err)
	}
	if _, err := NewShardedBackendSlots(backend, nil)(l, 8); !errors.Is(err, ErrConfig) {
		t.Fatalf("no mesh: %v, want ErrConfig", err)
	}
}
