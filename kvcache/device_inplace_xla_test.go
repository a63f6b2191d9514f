//go:build xla

package kvcache

import (
	"testing"

	"github.com/gomlx/gomlx/pkg/core/distributed"
	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model"
)

// TestInPlaceUpdateIsUsed: on XLA without shared buffers, the edits of a device-resident context,
// whole or split across devices, go through the aliasing program (one run per device per update),
// not the copying GoMLX graph. (What they write is checked against the host by the MatchHost tests.)
func TestInPlaceUpdateIsUsed(t *testing.T) {
	backend, err := model.DefaultBackend()
	require.NoError(t, err)
	if backend.HasSharedBuffers() {
		t.Skipf("backend %q shares host memory: no device buffers to update (GOMLX_BACKEND=xla:cpu,noshared_buffers)", backend.Name())
	}
	l := Layout{Layers: 2, KVHeads: 4, HeadDim: 8}
	k := make([]float32, l.TokenElems())
	edit := func(t *testing.T, s Slots) {
		t.Helper()
		for slot := range 3 {
			k[0] = float32(slot + 1)
			require.NoError(t, s.Write([]int{slot}, k, k))
			_, err := s.Context()
			require.NoError(t, err)
		}
		require.NoError(t, s.Clear([]int{1}))
		_, err := s.Context()
		require.NoError(t, err)
	}
	t.Run("whole", func(t *testing.T) {
		s, err := NewBackendSlots(backend)(l, 64)
		require.NoError(t, err)
		defer s.Release()
		u := s.(*deviceSlots).x.inPlace.(*xlaUpdater)
		edit(t, s)
		require.EqualValues(t, 4, u.runs.Load())
	})
	t.Run("split", func(t *testing.T) {
		if backend.NumDevices() < 4 {
			t.Skipf("%d device(s); XLA_FLAGS=--xla_force_host_platform_device_count=4 simulates 4", backend.NumDevices())
		}
		mesh, err := distributed.NewDeviceMesh([]int{4}, []string{model.MeshAxis})
		require.NoError(t, err)
		s, err := NewShardedBackendSlots(backend, mesh)(l, 64)
		require.NoError(t, err)
		defer s.Release()
		u := s.(*splitSlots).x.inPlace.(*xlaUpdater)
		edit(t, s)
		require.EqualValues(t, 4*4, u.runs.Load())
	})
}
