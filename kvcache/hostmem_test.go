package kvcache

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHostArenaChunksAreFreedWithTheirLastBlock(t *testing.T) {
	const blockBytes = 64 << 10
	a := newHostArena(blockBytes)
	per := a.perChunk
	require.Equal(t, hostChunkBytes/blockBytes, per)

	var chunks []*hostChunk
	for i := range 2*per + 1 {
		b, c := a.alloc()
		require.Len(t, b, blockBytes)
		require.Equal(t, blockBytes, cap(b), "a block must not reach into its neighbour")
		if bytes.ContainsFunc(b, func(r rune) bool { return r != 0 }) {
			t.Fatalf("block %d is not zeroed", i)
		}
		b[0], b[len(b)-1] = 1, 2 // writable
		chunks = append(chunks, c)
	}
	require.Len(t, a.chunks, 3)
	require.Equal(t, mappedChunks(a), a.mem.count())

	// Free the first chunk's blocks in order: it goes back with the last one, not before.
	for i := range per {
		require.NotNil(t, chunks[0].mem, "chunk unmapped after %d of %d blocks", i, per)
		a.free(chunks[i])
	}
	require.Nil(t, chunks[0].mem)
	require.Len(t, a.chunks, 2)

	// The chunk being filled stays while it has room, even with no live block.
	a.free(chunks[2*per])
	require.NotNil(t, chunks[2*per].mem)

	a.release()
	require.Empty(t, a.chunks)
	require.Zero(t, a.mem.count())
}

func mappedChunks(a *hostArena) int {
	n := 0
	for _, c := range a.chunks {
		if c.mapped {
			n++
		}
	}
	return n
}

func TestHostArenaViewAs(t *testing.T) {
	a := newHostArena(4096)
	b, _ := a.alloc()
	f := viewAs[float32](b)
	require.Len(t, f, 1024)
	f[1023] = 3.5
	require.Equal(t, float32(3.5), viewAs[float32](b)[1023])
	require.Nil(t, viewAs[float32](nil))
	a.release()
}

// A host store dropped without Reset gives its mappings back once the collector finds it.
func TestHostStoreUnmappedWhenDropped(t *testing.T) {
	lay := Layout{Layers: 2, KVHeads: 2, HeadDim: 8}
	h := must[*HostStore](t)(NewHostStore(lay, 16)).impl.(*host[float32])
	k := make([]float32, lay.TokenElems())
	for range 40 {
		h.appendF32(k, k)
	}
	mem := h.arena.mem
	if mappedChunks(h.arena) == 0 {
		t.Skip("this platform keeps the host store on the Go heap")
	}
	h = nil
	for range 50 {
		runtime.GC()
		if mem.count() == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d mappings left after the store became unreachable", mem.count())
}
