package kvcache

import (
	"fmt"
	"math"
	"unsafe"
)

// hostMode says how much KV the host segment store keeps.
type hostMode int

const (
	hostAll  hostMode = iota // every position: any thought can be zoomed later (ZoomR)
	hostOpen                 // only the open thought, needed to build its summary entry (SumR)
	hostNone                 // nothing (StreamingLLM)
)

// ZoomR is the hierarchical cache of the paper: sink/prompt region + summary index + zoom slots +
// sliding window in a fixed-capacity active context, and the full KV of the stream in a host store.
// SumR and StreamingLLM are this engine with fewer regions.
//
// Every position is attended at most once: the sink holds positions below the sink end, and a
// position in the window is masked there while its copy in the summary region or a zoom slot is active.
type ZoomR struct {
	cfg  Config // resolved: defaults applied
	mode hostMode
	lay  Layout

	act  activeStore
	host hostStore // nil for hostNone

	n       int  // tokens appended
	prompt  int  // prompt tokens
	closed  bool // generation started: no more prompt
	sinkCap int  // slots of the sink region
	sumCap  int  // slots of the summary region (grows up to cfg.SummaryCap with SummaryGrow)

	sumHead, sumUsed int   // summary ring: next slot to write, slots in use
	sumFIFO          []int // thoughts whose summary is in the ring, oldest first

	slots []zoomSlot // the zoom slots
	tr    tracker
	info  []thoughtState // per sealed thought

	moved, peakRes, peakHost int64
	scratchK, scratchV       []float32 // one token [L,KVH,D], for prompt chunks
}

type zoomSlot struct {
	id   ThoughtID // -1: free
	used int       // slots holding the thought's tokens
}

// thoughtState is where a sealed thought's KV is resident besides the host store.
type thoughtState struct {
	kbar    []float32 // mean summary key [L,KVH,D]; nil without a host store
	sumRes  Span      // positions in the summary region
	sumSlot int       // ring slot of sumRes.Start
	zoom    int       // zoom slot, or -1
	zoomRes Span      // positions in that zoom slot
}

// thoughtRecordBytes is what the index keeps per sealed thought besides its mean key: the
// thought's spans and its placement state.
const thoughtRecordBytes = int(unsafe.Sizeof(thoughtState{}) + unsafe.Sizeof(Thought{}))

// NewZoomR builds a ZoomR cache. Zero Config fields take their defaults.
func NewZoomR(cfg Config) (*ZoomR, error) {
	r, err := cfg.resolve(true, true)
	if err != nil {
		return nil, err
	}
	return newEngine(r, hostAll), nil
}

// newEngine builds the engine from a resolved config.
func newEngine(cfg Config, mode hostMode) *ZoomR {
	z := &ZoomR{}
	z.init(cfg, mode)
	return z
}

// init builds the empty engine in place (the active store keeps a pointer to z.moved).
func (z *ZoomR) init(cfg Config, mode hostMode) {
	*z = ZoomR{cfg: cfg, mode: mode, lay: cfg.Layout}
	z.sinkCap = cfg.sinkCap(0)
	z.sumCap = cfg.SummaryCap
	if cfg.SummaryGrow {
		z.sumCap = min(64, cfg.SummaryCap)
	}
	z.slots = make([]zoomSlot, cfg.ZoomSlots)
	for i := range z.slots {
		z.slots[i].id = -1
	}
	z.act = newActive(z.lay, z.capacityFor(z.sinkCap, z.sumCap), &z.moved)
	if mode != hostNone {
		z.host = newHost(z.lay, cfg.HostBlock)
	}
	z.scratchK = make([]float32, z.lay.TokenElems())
	z.scratchV = make([]float32, z.lay.TokenElems())
	z.track()
}

// Config is the resolved configuration (defaults applied).
func (z *ZoomR) Config() Config { return z.cfg }

func (z *ZoomR) capacityFor(sinkCap, sumCap int) int {
	return sinkCap + sumCap + z.cfg.ZoomSlots*z.cfg.ZoomSlotLen + z.cfg.Window
}

// Region offsets in the active context.
func (z *ZoomR) offSum() int  { return z.sinkCap }
func (z *ZoomR) offZoom() int { return z.sinkCap + z.sumCap }
func (z *ZoomR) offWin() int  { return z.offZoom() + z.cfg.ZoomSlots*z.cfg.ZoomSlotLen }

// sinkEnd is the first position that is not a sink: the window holds positions >= sinkEnd.
func (z *ZoomR) sinkEnd() int {
	if z.cfg.Sinks > 0 {
		return z.cfg.Sinks
	}
	return z.prompt
}

func (z *ZoomR) inWindow(p int) bool {
	return p >= z.sinkEnd() && p >= z.n-z.cfg.Window && p < z.n
}

func (z *ZoomR) winSlot(p int) int { return z.offWin() + (p-z.sinkEnd())%z.cfg.Window }

// resident reports whether position p has an active copy in the summary region or a zoom slot.
func (z *ZoomR) resident(p int) bool {
	j := z.tr.find(p)
	if j < 0 {
		return false
	}
	s := &z.info[j]
	return s.sumRes.contains(p) || (s.zoom >= 0 && s.zoomRes.contains(p))
}

// refreshWindow re-derives the window mask of the positions of span: attended unless resident elsewhere.
func (z *ZoomR) refreshWindow(span Span) error {
	for p := max(span.Start, z.n-z.cfg.Window); p < span.End; p++ {
		if !z.inWindow(p) {
			continue
		}
		val := float32(1)
		if z.resident(p) {
			val = 0
		}
		if err := z.act.setMask(z.winSlot(p), 1, val); err != nil {
			return err
		}
	}
	return nil
}

func (z *ZoomR) track() {
	z.peakRes = max(z.peakRes, z.act.bytes())
	if z.host != nil {
		z.peakHost = max(z.peakHost, z.host.bytes())
	}
}

// trimHost frees host blocks the policy no longer needs (SumR keeps only the open thought).
func (z *ZoomR) trimHost() {
	if z.mode != hostOpen {
		return
	}
	keep := z.n
	if z.tr.state != stateNone {
		keep = z.tr.open
	}
	z.host.dropBefore(keep)
}

// Layout implements Cache.
func (z *ZoomR) Layout() Layout { return z.lay }

// Len implements Cache.
func (z *ZoomR) Len() int { return z.n }

// Capacity implements Cache.
func (z *ZoomR) Capacity() int { return z.act.capacity() }

// Context implements Cache.
func (z *ZoomR) Context() Context { return z.act.context() }

// AppendPrompt implements Cache. With the whole prompt as sink region, the context grows (in
// SinkAlign steps) to hold it; otherwise the capacity does not change.
func (z *ZoomR) AppendPrompt(k, v []float32, n int) error {
	if err := z.lay.checkChunk(k, v, n); err != nil {
		return err
	}
	if z.closed {
		return fmt.Errorf("%w: %d prompt tokens after %d tokens and the start of generation", ErrPromptClosed, n, z.n)
	}
	if z.cfg.Sinks == 0 {
		if need := z.cfg.sinkCap(z.prompt + n); need > z.sinkCap {
			if err := z.resize(need, z.sumCap); err != nil {
				return err
			}
		}
	}
	for i := range n {
		z.lay.chunkToken(z.scratchK, k, n, i)
		z.lay.chunkToken(z.scratchV, v, n, i)
		z.prompt++ // the token is a prompt token: in whole-prompt mode sinkEnd moves past it
		if err := z.put(z.scratchK, z.scratchV); err != nil {
			return err
		}
	}
	z.trimHost()
	z.track()
	return nil
}

// put stores the next token: host store, then its sink or window slot.
func (z *ZoomR) put(k, v []float32) error {
	p := z.n
	z.n++
	slot := p // sink region starts at slot 0
	if p >= z.sinkEnd() {
		slot = z.winSlot(p)
	}
	if z.host == nil {
		return z.act.writeF32(slot, k, v)
	}
	// Convert once, into the host store, and copy the stored token into its slot.
	z.host.appendF32(k, v)
	if err := z.act.copyHost(slot, z.host, p, 1); err != nil {
		return err
	}
	return z.act.setMask(slot, 1, 1)
}

// Append implements Cache.
func (z *ZoomR) Append(pos int, k, v []float32) error {
	if err := z.lay.checkToken(k, v); err != nil {
		return err
	}
	if pos != z.n {
		return fmt.Errorf("%w: Append at %d, next position is %d", ErrPosition, pos, z.n)
	}
	z.closed = true
	z.tr.onAppend(pos)
	if err := z.put(k, v); err != nil {
		return err
	}
	z.trimHost()
	z.track()
	return nil
}

// BeginSummary implements Cache.
func (z *ZoomR) BeginSummary() error {
	if err := z.tr.checkBegin(); err != nil {
		return err
	}
	z.closed = true
	z.tr.begin(z.n)
	return nil
}

// Seal implements Cache: the summary's mean key joins the index and its KV the summary region.
func (z *ZoomR) Seal() (ThoughtID, error) {
	if err := z.tr.checkSeal(z.n); err != nil {
		return -1, err
	}
	th := z.tr.next(z.n, z.n-z.tr.sumOpen)
	return th.ID, z.seal(th, th.Summary)
}

// SealWithoutSummary implements Cache.
func (z *ZoomR) SealWithoutSummary(tail int) (ThoughtID, error) {
	if err := z.tr.checkSealWithout(tail, z.n); err != nil {
		return -1, err
	}
	th := z.tr.next(z.n, tail)
	keys := th.Summary
	if tail == 0 {
		keys = th.Body
	}
	return th.ID, z.seal(th, keys)
}

// seal commits th; its mean key is that of the positions keys.
func (z *ZoomR) seal(th Thought, keys Span) error {
	st := thoughtState{zoom: -1}
	if z.host != nil {
		st.kbar = make([]float32, z.lay.TokenElems())
		z.host.meanKey(st.kbar, keys.Start, keys.End)
	}
	z.tr.commit(th)
	z.info = append(z.info, st)
	err := z.placeSummary(int(th.ID))
	z.trimHost()
	z.track()
	return err
}

// placeSummary copies the summary of thought j into the ring, dropping the oldest summaries to make room.
func (z *ZoomR) placeSummary(j int) error {
	th := z.tr.sealed[j]
	a, b := max(th.Summary.Start, z.sinkEnd()), th.Summary.End
	if z.host == nil || z.cfg.SummaryCap == 0 || a >= b {
		return nil
	}
	a = max(a, b-z.cfg.SummaryCap) // keep the last part of a summary longer than the region
	m := b - a
	if z.cfg.SummaryGrow && z.sumCap-z.sumUsed < m && z.sumCap < z.cfg.SummaryCap {
		grown := z.sumCap
		for grown < z.sumUsed+m && grown < z.cfg.SummaryCap {
			grown *= 2
		}
		if err := z.resize(z.sinkCap, min(grown, z.cfg.SummaryCap)); err != nil {
			return err
		}
	}
	for z.sumCap-z.sumUsed < m {
		if err := z.evictSummary(); err != nil {
			return err
		}
	}
	slot0 := z.sumHead
	first := min(m, z.sumCap-slot0)
	for _, part := range [][3]int{{z.offSum() + slot0, a, first}, {z.offSum(), a + first, m - first}} {
		if err := z.act.copyHost(part[0], z.host, part[1], part[2]); err != nil {
			return err
		}
		if err := z.act.setMask(part[0], part[2], 1); err != nil {
			return err
		}
	}
	z.sumHead = (slot0 + m) % z.sumCap
	z.sumUsed += m
	z.info[j].sumRes, z.info[j].sumSlot = Span{a, b}, slot0
	z.sumFIFO = append(z.sumFIFO, j)
	return z.refreshWindow(Span{a, b})
}

// evictSummary drops the oldest summary from the ring (its KV stays in the host store).
func (z *ZoomR) evictSummary() error {
	j := z.sumFIFO[0]
	z.sumFIFO = z.sumFIFO[1:]
	s := &z.info[j]
	r, slot0 := s.sumRes, s.sumSlot
	m := r.Len()
	first := min(m, z.sumCap-slot0)
	if err := z.act.setMask(z.offSum()+slot0, first, 0); err != nil {
		return err
	}
	if err := z.act.setMask(z.offSum(), m-first, 0); err != nil {
		return err
	}
	z.sumUsed -= m
	s.sumRes = Span{}
	return z.refreshWindow(r)
}

// resize moves the active context to one with the given sink and summary capacities (larger or
// equal), keeping every region's content; the summary ring is unrolled to start at slot 0.
func (z *ZoomR) resize(sinkCap, sumCap int) error {
	old := z.act
	na := newActive(z.lay, z.capacityFor(sinkCap, sumCap), &z.moved)
	tail := (z.sumHead - z.sumUsed + z.sumCap) % max(z.sumCap, 1)
	first := min(z.sumUsed, z.sumCap-tail)
	zoomLen := z.cfg.ZoomSlots * z.cfg.ZoomSlotLen
	newSum := sinkCap
	newZoom := sinkCap + sumCap
	copies := [][3]int{ // dst, src, n
		{0, 0, z.sinkCap},
		{newSum, z.offSum() + tail, first},
		{newSum + first, z.offSum(), z.sumUsed - first},
		{newZoom, z.offZoom(), zoomLen},
		{newZoom + zoomLen, z.offWin(), z.cfg.Window},
	}
	for _, c := range copies {
		if err := na.copyFrom(old, c[0], c[1], c[2]); err != nil {
			na.release()
			return err
		}
	}
	for _, j := range z.sumFIFO {
		z.info[j].sumSlot = (z.info[j].sumSlot - tail + z.sumCap) % z.sumCap
	}
	old.release()
	z.act, z.sinkCap, z.sumCap = na, sinkCap, sumCap
	if sumCap > 0 {
		z.sumHead = z.sumUsed % sumCap
	}
	z.track()
	return nil
}

// NumThoughts implements Cache.
func (z *ZoomR) NumThoughts() int { return len(z.tr.sealed) }

// Thought implements Cache.
func (z *ZoomR) Thought(id ThoughtID) (Thought, bool) { return z.tr.thought(id) }

// ZoomCapacity implements Cache.
func (z *ZoomR) ZoomCapacity() int { return z.cfg.ZoomSlots }

// Zoomed implements Cache.
func (z *ZoomR) Zoomed() []ThoughtID {
	var ids []ThoughtID
	for _, s := range z.slots {
		if s.id >= 0 {
			ids = append(ids, s.id)
		}
	}
	return ids
}

// Zoom implements Cache. Thoughts leaving the zoom set free their slot (their window copies, if any,
// become attended again); new ones are copied from the host store into free slots.
func (z *ZoomR) Zoom(ids []ThoughtID) error {
	if err := z.tr.checkIDs(ids, z.cfg.ZoomSlots); err != nil {
		return err
	}
	want := make(map[ThoughtID]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	for s := range z.slots {
		if id := z.slots[s].id; id >= 0 && !want[id] {
			if err := z.unzoom(s); err != nil {
				return err
			}
		}
	}
	for _, id := range ids {
		if z.info[id].zoom >= 0 {
			continue
		}
		for s := range z.slots {
			if z.slots[s].id < 0 {
				if err := z.zoomInto(s, id); err != nil {
					return err
				}
				break
			}
		}
	}
	z.track()
	return nil
}

func (z *ZoomR) slotOff(s int) int { return z.offZoom() + s*z.cfg.ZoomSlotLen }

func (z *ZoomR) unzoom(s int) error {
	id := z.slots[s].id
	st := &z.info[id]
	if err := z.act.setMask(z.slotOff(s), z.slots[s].used, 0); err != nil {
		return err
	}
	r := st.zoomRes
	st.zoom, st.zoomRes = -1, Span{}
	z.slots[s] = zoomSlot{id: -1}
	return z.refreshWindow(r)
}

func (z *ZoomR) zoomInto(s int, id ThoughtID) error {
	body := z.tr.sealed[id].Body
	b := body.End
	a := max(body.Start, z.sinkEnd(), b-z.cfg.ZoomSlotLen) // keep the last ZoomSlotLen tokens
	m := max(0, b-a)
	if err := z.act.copyHost(z.slotOff(s), z.host, a, m); err != nil {
		return err
	}
	if err := z.act.setMask(z.slotOff(s), m, 1); err != nil {
		return err
	}
	z.slots[s] = zoomSlot{id: id, used: m}
	z.info[id].zoom, z.info[id].zoomRes = s, Span{a, a + m}
	return z.refreshWindow(Span{a, a + m})
}

// ScoreSummaries implements Cache.
func (z *ZoomR) ScoreSummaries(q, dst []float32) error {
	if z.host == nil {
		return fmt.Errorf("%w: ScoreSummaries without a summary index", ErrNotSupported)
	}
	return scoreSummaries(z.lay, z.info, q, dst)
}

func scoreSummaries(l Layout, info []thoughtState, q, dst []float32) error {
	ld := l.Layers * l.HeadDim
	if len(q) == 0 || len(q)%ld != 0 || (len(q)/ld)%l.KVHeads != 0 {
		return fmt.Errorf("%w: query has %d values, want L*H*D with L=%d, D=%d and H a multiple of KVH=%d",
			ErrShape, len(q), l.Layers, l.HeadDim, l.KVHeads)
	}
	h, t, d := len(q)/ld, len(info), l.HeadDim
	if len(dst) != l.Layers*h*t {
		return fmt.Errorf("%w: scores have %d values, want L*H*T = %d*%d*%d", ErrShape, len(dst), l.Layers, h, t)
	}
	g := h / l.KVHeads
	scale := float32(1 / math.Sqrt(float64(d)))
	for li := range l.Layers {
		for hi := range h {
			qv := q[(li*h+hi)*d : (li*h+hi+1)*d]
			kOff := (li*l.KVHeads + hi/g) * d
			out := dst[(li*h+hi)*t : (li*h+hi+1)*t]
			for j := range info {
				kb := info[j].kbar[kOff : kOff+d]
				var s float32
				for i, x := range qv {
					s += x * kb[i]
				}
				out[j] = s * scale
			}
		}
	}
	return nil
}

// NeedsAttention implements Cache: ZoomR does not use attention weights.
func (z *ZoomR) NeedsAttention() bool { return false }

// ObserveAttention implements Cache.
func (z *ZoomR) ObserveAttention([]float32) error {
	return fmt.Errorf("%w: ObserveAttention", ErrNotSupported)
}

// Memory implements Cache.
func (z *ZoomR) Memory() Memory {
	m := Memory{
		Capacity:          z.act.capacity(),
		ResidentBytes:     z.act.bytes(),
		PeakResidentBytes: z.peakRes,
		PeakHostBytes:     z.peakHost,
		MovedBytes:        z.moved,
		Tokens:            z.n,
		Attended: Regions{
			Sink:    z.act.maskCount(0, z.sinkCap),
			Summary: z.act.maskCount(z.offSum(), z.sumCap),
			Zoom:    z.act.maskCount(z.offZoom(), z.cfg.ZoomSlots*z.cfg.ZoomSlotLen),
			Window:  z.act.maskCount(z.offWin(), z.cfg.Window),
		},
	}
	if z.host != nil {
		m.HostBytes = z.host.bytes()
	}
	if len(z.info) > 0 {
		m.IndexBytes = int64(len(z.info)) * int64(4*len(z.info[0].kbar)+thoughtRecordBytes)
	}
	return m
}

// Reset implements Cache.
func (z *ZoomR) Reset() {
	z.act.release()
	if z.host != nil {
		z.host.release()
	}
	z.init(z.cfg, z.mode)
}

// regions lists the active context's regions (for tests and debugging).
func (z *ZoomR) regions() []region {
	rs := []region{{"sink", 0, z.sinkCap}, {"summary", z.offSum(), z.sumCap}}
	for s := range z.slots {
		rs = append(rs, region{fmt.Sprintf("zoom%d", s), z.slotOff(s), z.cfg.ZoomSlotLen})
	}
	return append(rs, region{"window", z.offWin(), z.cfg.Window})
}

type region struct {
	name   string
	off, n int
}
