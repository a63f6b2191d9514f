package kvcache

import (
	"fmt"
	"math/bits"
)

// SlotPool maps positions to the slots of an active context. A position is resident in at most one
// slot, however many of a policy's regions hold it (the window and the summary index, say): regions
// take references (Put, Ref, RefSpan) and drop them (Unref, UnrefSpan), and a slot is freed, its mask
// cleared, when its last reference goes. So every position is attended at most once by construction.
//
// The capacity grows lazily in buckets, like a full cache's: the smallest power of two that holds the
// resident positions (at least MinCapacity), capped at the policy's budget Max. A bounded policy's
// context therefore never holds more slots than a full cache of the same length, and its decode graph
// is built once per bucket (log2 of them in all). A new position takes the lowest free slot, which
// keeps the attended slots in few runs.
//
// A pool is the building block of every policy in this package; a policy outside it is the region
// logic on top of one (see R-KV in rkv.go).
type SlotPool struct {
	lay      Layout
	store    Slots
	newSlots SlotsFactory
	min, max int
	min0     int // the configured first bucket (min shrinks with a bound below it)

	slotOf map[int]int // position -> slot
	posOf  []int       // slot -> position, -1 when free
	refs   []int32     // slot -> references
	free   []uint64    // bitset of free slots
	n      int         // resident positions

	pending []int // scratch: slots of one batch
	tk, tv  []float32
	peak    int64
}

// PoolConfig configures a SlotPool.
type PoolConfig struct {
	Layout Layout
	// MinCapacity is the first bucket (0: DefaultMinCapacity; rounded up to a power of two, capped at Max).
	MinCapacity int
	// Max is the most slots the pool may hold (the policy's resident budget); 0 means unbounded.
	Max int
	// NewSlots makes the storage (nil: NewHostSlots).
	NewSlots SlotsFactory
}

// NewSlotPool returns an empty pool; its storage is allocated with the first position (or the first
// Context), at the first bucket.
func NewSlotPool(c PoolConfig) (*SlotPool, error) {
	if err := c.Layout.Validate(); err != nil {
		return nil, err
	}
	if c.MinCapacity < 0 || c.Max < 0 {
		return nil, fmt.Errorf("%w: MinCapacity %d, Max %d", ErrConfig, c.MinCapacity, c.Max)
	}
	if c.NewSlots == nil {
		c.NewSlots = NewHostSlots
	}
	if c.MinCapacity == 0 {
		c.MinCapacity = DefaultMinCapacity
	}
	c.MinCapacity = 1 << bits.Len(uint(c.MinCapacity-1)) // buckets are powers of two
	if c.Max > 0 {
		c.MinCapacity = min(c.MinCapacity, c.Max)
	}
	c.Layout.DType = c.Layout.dtype()
	p := &SlotPool{lay: c.Layout, newSlots: c.NewSlots, min: c.MinCapacity, min0: c.MinCapacity, max: c.Max,
		tk: make([]float32, c.Layout.TokenElems()), tv: make([]float32, c.Layout.TokenElems())}
	p.init()
	return p, nil
}

// init empties the bookkeeping; the storage comes with the first position.
func (p *SlotPool) init() {
	p.store, p.n = nil, 0
	p.slotOf = map[int]int{}
	p.posOf, p.refs, p.free = nil, nil, nil
}

// allocate makes the storage at capacity c.
func (p *SlotPool) allocate(c int) error {
	store, err := p.newSlots(p.lay, c)
	if err != nil {
		return fmt.Errorf("%w: the active context's storage (%d slots): %w", ErrInternal, c, err)
	}
	p.store = store
	p.extend(c)
	p.peak = max(p.peak, store.Bytes())
	return nil
}

// first is the first bucket: MinCapacity, within the bound.
func (p *SlotPool) first() int {
	if p.max > 0 {
		return min(p.min, p.max)
	}
	return p.min
}

// extend adds slots up to c to the bookkeeping (all free).
func (p *SlotPool) extend(c int) {
	for s := len(p.posOf); s < c; s++ {
		p.posOf = append(p.posOf, -1)
		p.refs = append(p.refs, 0)
		if s/64 >= len(p.free) {
			p.free = append(p.free, 0)
		}
		p.free[s/64] |= 1 << (s % 64)
	}
}

// Layout is the pool's KV layout.
func (p *SlotPool) Layout() Layout { return p.lay }

// Capacity is the current number of slots.
func (p *SlotPool) Capacity() int {
	if p.store == nil {
		return 0
	}
	return p.store.Capacity()
}

// Max is the pool's bound (0: unbounded).
func (p *SlotPool) Max() int { return p.max }

// Resident is the number of resident positions (= attended slots).
func (p *SlotPool) Resident() int { return p.n }

// Has reports whether position pos is resident.
func (p *SlotPool) Has(pos int) bool { _, ok := p.slotOf[pos]; return ok }

// SlotOf is the slot holding pos, or -1.
func (p *SlotPool) SlotOf(pos int) int {
	if s, ok := p.slotOf[pos]; ok {
		return s
	}
	return -1
}

// PositionAt is the position held by slot s, or -1 when it is free.
func (p *SlotPool) PositionAt(s int) int {
	if s < 0 || s >= len(p.posOf) {
		return -1
	}
	return p.posOf[s]
}

// Context is the active context for the next step.
func (p *SlotPool) Context() (Context, error) {
	if p.store == nil {
		if err := p.allocate(p.first()); err != nil {
			return Context{}, err
		}
	}
	return p.store.Context()
}

// Bytes is the storage's size.
func (p *SlotPool) Bytes() int64 {
	if p.store == nil {
		return 0
	}
	return p.store.Bytes()
}

// PeakBytes is the storage's largest size since the pool was built or Reset.
func (p *SlotPool) PeakBytes() int64 { return p.peak }

// Moved is the cumulative number of bytes written into the active context since the pool was built
// or Reset (a growth copies the buffers where they live and is not counted).
func (p *SlotPool) Moved() int64 {
	if p.store == nil {
		return 0
	}
	return p.store.Moved()
}

// reserve makes room for n more resident positions, growing the storage to the bucket that holds them.
func (p *SlotPool) reserve(n int) error {
	need := p.n + n
	if need <= p.Capacity() {
		return nil
	}
	if p.max > 0 && need > p.max {
		return fmt.Errorf("%w: %d resident positions exceed the pool's %d slots", ErrBudget, need, p.max)
	}
	c := max(p.first(), 1<<bits.Len(uint(need-1)))
	if p.max > 0 {
		c = min(c, p.max)
	}
	if p.store == nil {
		return p.allocate(c)
	}
	if err := p.store.Resize(c); err != nil {
		return err
	}
	p.extend(c)
	p.peak = max(p.peak, p.store.Bytes())
	return nil
}

// take claims the lowest free slot for pos.
func (p *SlotPool) take(pos int) int {
	for w, word := range p.free {
		if word != 0 {
			b := bits.TrailingZeros64(word)
			s := w*64 + b
			p.free[w] &^= 1 << b
			p.posOf[s], p.refs[s] = pos, 1
			p.slotOf[pos] = s
			p.n++
			return s
		}
	}
	panic("kvcache: SlotPool.take without a free slot") // reserve guarantees one
}

// Put makes a new position resident with its K and V ([L, KVH, D] float32), with one reference.
func (p *SlotPool) Put(pos int, k, v []float32) error {
	if err := p.lay.checkToken(k, v); err != nil {
		return err
	}
	if p.Has(pos) {
		return fmt.Errorf("%w: position %d is already resident", ErrArgument, pos)
	}
	if err := p.reserve(1); err != nil {
		return err
	}
	s := p.take(pos)
	p.pending = append(p.pending[:0], s)
	if err := p.store.Write(p.pending, k, v); err != nil {
		p.release(s)
		return err
	}
	return nil
}

// Ref adds a reference to pos if it is resident and reports whether it was.
func (p *SlotPool) Ref(pos int) bool {
	s, ok := p.slotOf[pos]
	if ok {
		p.refs[s]++
	}
	return ok
}

// RowReader reads positions' K and V as float32, token-major [n][L, KVH, D] (HostStore does).
type RowReader interface {
	Read(pos, n int, k, v []float32) error
}

// RefSpan adds a reference to every position of s, loading the ones not resident from rows in
// one write.
func (p *SlotPool) RefSpan(s Span, rows RowReader) error {
	missing := 0
	for pos := s.Start; pos < s.End; pos++ {
		if !p.Has(pos) {
			missing++
		}
	}
	te := p.lay.TokenElems()
	if need := missing * te; cap(p.tk) < need {
		p.tk, p.tv = make([]float32, need), make([]float32, need)
	}
	k, v := p.tk[:0], p.tv[:0]
	for pos := s.Start; pos < s.End; {
		if p.Has(pos) {
			pos++
			continue
		}
		run := pos
		for run < s.End && !p.Has(run) {
			run++
		}
		n := run - pos
		if err := rows.Read(pos, n, k[len(k):len(k)+n*te], v[len(v):len(v)+n*te]); err != nil {
			return err
		}
		k, v = k[:len(k)+n*te], v[:len(v)+n*te]
		pos = run
	}
	if err := p.reserve(missing); err != nil {
		return err
	}
	// Every check is done: commit the references, then write the new slots in one call.
	p.pending = p.pending[:0]
	for pos := s.Start; pos < s.End; pos++ {
		if !p.Ref(pos) {
			p.pending = append(p.pending, p.take(pos))
		}
	}
	if len(p.pending) == 0 {
		return nil
	}
	return p.store.Write(p.pending, k, v)
}

// Unref drops a reference to pos; the slot is freed with the last one.
func (p *SlotPool) Unref(pos int) error {
	s, ok := p.slotOf[pos]
	if !ok {
		return fmt.Errorf("%w: position %d is not resident", ErrArgument, pos)
	}
	p.refs[s]--
	if p.refs[s] > 0 {
		return nil
	}
	p.release(s)
	p.pending = append(p.pending[:0], s)
	return p.store.Clear(p.pending)
}

// UnrefSpan drops a reference to every position of s (all must be resident), clearing the freed
// slots in one call.
func (p *SlotPool) UnrefSpan(s Span) error {
	for pos := s.Start; pos < s.End; pos++ {
		if !p.Has(pos) {
			return fmt.Errorf("%w: position %d is not resident", ErrArgument, pos)
		}
	}
	p.pending = p.pending[:0]
	for pos := s.Start; pos < s.End; pos++ {
		sl := p.slotOf[pos]
		if p.refs[sl]--; p.refs[sl] == 0 {
			p.release(sl)
			p.pending = append(p.pending, sl)
		}
	}
	if len(p.pending) == 0 {
		return nil
	}
	return p.store.Clear(p.pending)
}

// release frees slot s (its mask is cleared by the caller, or overwritten by a write).
func (p *SlotPool) release(s int) {
	delete(p.slotOf, p.posOf[s])
	p.posOf[s], p.refs[s] = -1, 0
	p.free[s/64] |= 1 << (s % 64)
	p.n--
}

// Reset frees every slot and the storage, with max as the new bound (0: unbounded): the pool is as
// NewSlotPool made it.
func (p *SlotPool) Reset(max int) {
	p.Release()
	p.peak, p.max, p.min = 0, max, p.min0
	p.init()
}

// Release frees the storage; the pool must not be used afterwards (except Reset).
func (p *SlotPool) Release() {
	if p.store != nil {
		p.store.Release()
		p.store = nil
	}
}

// SetMax changes the pool's bound (0: unbounded). A bound below the current capacity shrinks the
// storage to it; every resident position must then sit in a slot below the bound (positions take
// the lowest free slot, so a pool that never held more than max positions qualifies).
func (p *SlotPool) SetMax(max int) error {
	if max > 0 && max < p.Capacity() {
		for s := max; s < len(p.posOf); s++ {
			if p.posOf[s] >= 0 {
				return fmt.Errorf("%w: bound %d below slot %d, which holds position %d", ErrBudget, max, s, p.posOf[s])
			}
		}
		if err := p.store.Resize(max); err != nil {
			return err
		}
		p.posOf, p.refs = p.posOf[:max], p.refs[:max]
		p.free = p.free[:(max+63)/64]
		if r := max % 64; r != 0 {
			p.free[len(p.free)-1] &= 1<<r - 1
		}
	}
	p.max = max
	return nil
}

// memory is the accounting of a policy whose only storage is this pool, after n tokens.
func (p *SlotPool) memory(n int) Memory {
	return Memory{Capacity: p.Capacity(), ResidentBytes: p.Bytes(), PeakResidentBytes: p.PeakBytes(),
		MovedBytes: p.Moved(), Tokens: n}
}
