package tokenizer

import "sync"

// scratch holds the buffers one Encode call reuses, so that steady-state encoding allocates
// little more than its output.
type scratch struct {
	frags []fragment
	syms  []int32  // BPE symbols
	ranks []int32  // BPE rank of each adjacent pair
	links []symbol // heap-based merging
	heap  pairHeap
	ids   []int32

	spmSyms []spmSym
	spmHeap []spmPair
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(st *scratch) {
	// Do not keep the buffers of one huge text alive forever.
	if cap(st.frags) > 1<<16 || cap(st.links) > 1<<18 || cap(st.spmSyms) > 1<<18 {
		return
	}
	scratchPool.Put(st)
}
