package kvcache

import (
	"os"
	"runtime"
	"sync"
	"unsafe"
)

// hostChunkBytes is the smallest mapping the host store asks the OS for: several blocks share one
// chunk, so a long generation needs few mappings (the kernel limits their number per process).
const hostChunkBytes = 4 << 20

// hostArena hands out the host store's blocks from chunks of memory mapped outside the Go heap
// (where the platform allows it; see osAlloc). Why not make([]T): the host store is the one thing
// that grows with every generated token, and on the Go heap it drags the runtime's own overhead along
// with it — the collector's goal, span metadata and fragmentation grow with the live heap, so process
// memory beyond the store grew ~50-80 B per token in the soak test while the store itself is exact.
// Off-heap, the store costs exactly its pages and the Go heap stays the size of one decode step.
//
// Blocks are freed in allocation order (the store only drops prefixes), and a chunk is returned to
// the OS when its last block is freed. Not safe for concurrent use (nor is the store).
type hostArena struct {
	blockBytes, perChunk int
	chunks               []*hostChunk // in allocation order; freed ones are nil
	mem                  *arenaMem    // the mappings, for the cleanup
}

type hostChunk struct {
	mem        []byte
	mapped     bool // mem is an OS mapping (else Go heap, left to the collector)
	used, live int  // blocks handed out, blocks not yet freed
}

// arenaMem holds every live mapping of an arena. It is a separate object so that a cleanup attached
// to the arena's owner can unmap what a dropped cache still held without keeping the owner alive.
// The cleanup runs on the runtime's goroutine, hence the lock.
type arenaMem struct {
	mu   sync.Mutex
	live map[*byte][]byte
}

func (m *arenaMem) add(mem []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.live[&mem[0]] = mem
}

func (m *arenaMem) remove(mem []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.live, &mem[0])
}

// count is the number of live mappings.
func (m *arenaMem) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.live)
}

func newHostArena(blockBytes int) *hostArena {
	return &hostArena{blockBytes: blockBytes, perChunk: max(1, hostChunkBytes/blockBytes), mem: &arenaMem{live: map[*byte][]byte{}}}
}

// alloc returns a zeroed block of blockBytes and the chunk it came from (pass it to free).
func (a *hostArena) alloc() ([]byte, *hostChunk) {
	c := a.last()
	if c == nil || c.used == a.perChunk {
		mem, mapped := osAlloc(a.blockBytes * a.perChunk)
		if mapped {
			a.mem.add(mem)
		}
		c = &hostChunk{mem: mem, mapped: mapped}
		a.chunks = append(a.chunks, c)
	}
	b := c.mem[c.used*a.blockBytes : (c.used+1)*a.blockBytes : (c.used+1)*a.blockBytes]
	c.used++
	c.live++
	prefault(b)
	return b, c
}

// prefault writes one byte per page of b so that the block is resident from the start: the store's
// reported size (whole blocks) is then what the process holds, not an upper bound that the block's
// pages reach only as tokens arrive. Writing zeros keeps the block zeroed.
func prefault(b []byte) {
	page := os.Getpagesize()
	for i := 0; i < len(b); i += page {
		b[i] = 0
	}
}

func (a *hostArena) last() *hostChunk {
	if len(a.chunks) == 0 {
		return nil
	}
	return a.chunks[len(a.chunks)-1]
}

// free releases one block of c; the chunk goes back to the OS with its last block. The caller must
// not touch the block afterwards.
func (a *hostArena) free(c *hostChunk) {
	c.live--
	if c.live > 0 || c.used < a.perChunk {
		return // still in use, or still being filled
	}
	a.unmap(c)
}

func (a *hostArena) unmap(c *hostChunk) {
	if c.mem == nil {
		return
	}
	if c.mapped {
		a.mem.remove(c.mem)
		osFree(c.mem)
	}
	c.mem = nil
	for i, x := range a.chunks {
		if x == c {
			a.chunks[i] = nil
		}
	}
	for len(a.chunks) > 0 && a.chunks[0] == nil {
		a.chunks = a.chunks[1:]
	}
}

// release unmaps everything; every block handed out becomes invalid.
func (a *hostArena) release() {
	for _, c := range a.chunks {
		if c != nil {
			a.unmap(c)
		}
	}
	a.chunks = nil
}

// unmapAll frees whatever mappings remain; it runs as the cleanup of an arena's owner.
func (m *arenaMem) unmapAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, mem := range m.live {
		osFree(mem)
		delete(m.live, k)
	}
}

// unmapWhenDropped unmaps a's remaining chunks once owner is unreachable (a cache dropped without
// Reset); owner must be what holds a.
func unmapWhenDropped[O any](owner *O, a *hostArena) {
	runtime.AddCleanup(owner, (*arenaMem).unmapAll, a.mem)
}

// viewAs reinterprets a block's bytes as elements of T (float32 or bfloat16: no pointers, and the
// chunk is page-aligned, so any element alignment holds).
func viewAs[T elem](b []byte) []T {
	var zero T
	n := len(b) / int(unsafe.Sizeof(zero))
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
}
