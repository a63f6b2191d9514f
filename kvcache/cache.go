package kvcache

// Cache is a KV-cache policy, driven by the decoder once per token. It never sees the model: tokens
// arrive as K/V slices in the model's layout, and the policy exposes a Context of tensors the model
// attends to. Everything beyond storing tokens is an optional capability, discovered by type
// assertion (the io.WriterTo pattern): Sealer (the reasoning's thoughts), Zoomer (a summary index and
// zoom slots) and AttentionObserver (each step's attention probabilities).
//
// Shapes (L = layers, KVH = KV heads, D = head dim):
//
//	one token's K or V      [L, KVH, D]      float32, K post-RoPE
//	a prompt chunk's K or V [L, KVH, n, D]   float32
type Cache interface {
	// Layout is the per-token KV shape and storage dtype.
	Layout() Layout
	// Len is the number of tokens appended so far: the position the next token must have.
	Len() int
	// AppendPrompt appends n prompt tokens (positions Len()..Len()+n-1). Only before the first Append.
	AppendPrompt(k, v []float32, n int) error
	// Append appends one generated token at position pos (which must equal Len()).
	Append(pos int, k, v []float32) error
	// Context is the active context for the next step. Its tensors are owned by the cache and stay
	// valid until the next call that changes the cache.
	Context() (Context, error)
	// Memory is the exact byte and token accounting of the cache.
	Memory() Memory
	// Reset empties the cache, frees its buffers and returns it to its freshly built state.
	Reset()
}

// Sealer is a policy that uses the reasoning's structure. The decoder tracks thoughts (it owns the one
// thought tracker) and tells the cache about every thought it seals, once its last token has been
// appended; the cache keeps what it needs (a summary index, the summaries' KV) and never re-derives
// the spans.
type Sealer interface {
	Cache
	// Seal records thought th: th.ID must be the number of thoughts sealed so far, its body and summary
	// contiguous ([Body.Start, Body.End) then [Summary.Start, Summary.End), Body.End == Summary.Start),
	// after the previous thought and the prompt, and already appended. An empty summary means the
	// thought's own keys index it (a paragraph sealed without a summary).
	Seal(th Thought) error
}

// Zoomer keeps a summary index and zoom slots (ZoomR): it scores the sealed thoughts' summaries
// against the current queries, and zooms the chosen thoughts' detailed KV into the active context.
type Zoomer interface {
	Sealer
	// ZoomCapacity is how many thoughts one Zoom can hold.
	ZoomCapacity() int
	// Zoom makes ids the set of zoomed thoughts: their detailed KV is in the active context, any other
	// thought's is not. Thoughts already zoomed are not moved.
	Zoom(ids []ThoughtID) error
	// Zoomed lists the zoomed thoughts, in zoom-slot order.
	Zoomed() []ThoughtID
	// ScoreSummaries writes dst[l,h,j] = q[l,h]·kbar[l,h/G,j] / sqrt(D) for every sealed thought j
	// (G = H/KVH): q [L, H, D] post-RoPE queries, dst [L, H, T] with T sealed thoughts.
	ScoreSummaries(q, dst []float32) error
}

// AttentionObserver is a policy that scores tokens by the attention they receive (H2O, R-KV). The
// decoder asks the model for the step's attention probabilities and passes them before appending
// the step's token.
type AttentionObserver interface {
	Cache
	// ObserveAttention takes the attention probabilities [L, H, C] of the step that read the current
	// Context (C = its capacity; masked slots hold 0).
	ObserveAttention(attn []float32) error
}

// ThoughtID names a sealed thought: 0, 1, 2, ... in sealing order.
type ThoughtID int

// Span is the position range [Start, End).
type Span struct{ Start, End int }

// Len is the number of positions in the span.
func (s Span) Len() int { return max(0, s.End-s.Start) }

// Empty reports whether the span holds no position.
func (s Span) Empty() bool { return s.End <= s.Start }

// Contains reports whether p is in the span.
func (s Span) Contains(p int) bool { return p >= s.Start && p < s.End }

// clip is the part of s at or after lo.
func (s Span) clip(lo int) Span { return Span{max(s.Start, lo), s.End} }

// last is the last n positions of s.
func (s Span) last(n int) Span { return Span{max(s.Start, s.End-n), s.End} }

// Thought is a sealed reasoning segment: its body and its summary, contiguous positions.
type Thought struct {
	ID      ThoughtID
	Body    Span
	Summary Span // markers included; empty for a thought sealed without summary (its body indexes it)
}

// Span is the whole thought, body and summary.
func (t Thought) Span() Span { return Span{t.Body.Start, t.Summary.End} }

// indexKeys is the span whose mean key indexes the thought: its summary, or its body without one.
func (t Thought) indexKeys() Span {
	if t.Summary.Empty() {
		return t.Body
	}
	return t.Summary
}

// Regions counts attended slots per region of the active context. A position attended through
// several regions (a summary token still in the window) counts once, in the first of sink, summary,
// zoom, window.
type Regions struct {
	Sink, Summary, Zoom, Window, Heavy int
}

// Total is the number of attended slots.
func (r Regions) Total() int { return r.Sink + r.Summary + r.Zoom + r.Window + r.Heavy }

// Memory is a cache's accounting. Byte counts are the sizes of buffers actually allocated, not
// estimates: ResidentBytes is the active context's (Slots.Bytes), HostBytes the host store's blocks.
type Memory struct {
	Capacity          int   // C: slots of the active context
	ResidentBytes     int64 // K + V + mask of the active context (what an accelerator holds)
	PeakResidentBytes int64 // max of ResidentBytes after any call since construction or Reset
	HostBytes         int64 // K + V blocks of the host store
	PeakHostBytes     int64
	// IndexBytes is what the policy keeps per sealed thought or per slot besides the KV: the mean
	// summary keys and thought records (ZoomR, SumR), per-slot scores and keys (H2O, R-KV), counted
	// by the capacity of the slices that hold them.
	IndexBytes int64
	MovedBytes int64   // cumulative bytes written into the active context (K, V and mask)
	Attended   Regions // attended slots per region
	Tokens     int     // tokens appended (Len)
}
