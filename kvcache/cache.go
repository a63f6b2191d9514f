package kvcache

// Cache is a KV-cache policy driven by the decoder once per token. It never sees the model: tokens
// arrive as K/V slices in the model's layout, and the policy exposes a Context of tensors the model
// attends to. See the package documentation for the per-step call order.
//
// Shapes (L = layers, KVH = KV heads, D = head dim, H = query heads, T = sealed thoughts):
//
//	one token's K or V      [L, KVH, D]      float32
//	a prompt chunk's K or V [L, KVH, n, D]   float32
//	query for scoring       [L, H, D]        float32, post-RoPE
//	summary scores          [L, H, T]        float32
//	attention probabilities [L, H, C]        float32, C = Capacity()
type Cache interface {
	// Layout is the per-token KV shape and storage dtype.
	Layout() Layout
	// Len is the number of tokens appended so far: the position the next token must have.
	Len() int
	// Capacity is C, the slot count of the current Context.
	Capacity() int

	// AppendPrompt appends n prompt tokens (positions Len()..Len()+n-1). Only before generation starts.
	AppendPrompt(k, v []float32, n int) error
	// Append appends one generated token at position pos (which must equal Len()). It joins the open
	// thought (opening one if none is open) and the recent window.
	Append(pos int, k, v []float32) error

	// BeginSummary closes the open thought's body: the tokens appended next (the begin marker first)
	// are its summary.
	BeginSummary() error
	// Seal closes the open summary (after its end marker was appended) and seals the thought.
	Seal() (ThoughtID, error)
	// SealWithoutSummary seals the open thought body without a summary (paragraph mode). Its last tail
	// tokens act as its summary (tail = 0: its mean key is the mean of all its keys).
	SealWithoutSummary(tail int) (ThoughtID, error)
	// NumThoughts is the number of sealed thoughts; their IDs are 0..NumThoughts()-1, in order.
	NumThoughts() int
	// Thought describes a sealed thought.
	Thought(id ThoughtID) (Thought, bool)

	// ZoomCapacity is how many thoughts one Zoom can hold (0: the policy has no zoom slots).
	ZoomCapacity() int
	// Zoom makes ids the set of zoomed thoughts: their detailed KV is in the active context, any other
	// thought's is not. Thoughts already zoomed are not moved.
	Zoom(ids []ThoughtID) error
	// Zoomed lists the zoomed thoughts, in slot order.
	Zoomed() []ThoughtID
	// ScoreSummaries writes dst[l,h,j] = q[l,h]·kbar[l,h/G,j] / sqrt(D) for every sealed thought j
	// (G = H/KVH). ErrNotSupported if the policy keeps no summary index.
	ScoreSummaries(q, dst []float32) error

	// NeedsAttention reports whether the policy wants the step's attention probabilities (H2O).
	NeedsAttention() bool
	// ObserveAttention feeds the attention probabilities [L, H, C] of the step that used the current
	// Context. Call it before Append of that step's token.
	ObserveAttention(attn []float32) error

	// Context is the active context for the next step.
	Context() Context
	// Memory is the exact byte and token accounting of the cache.
	Memory() Memory
	// Reset empties the cache, frees its buffers and returns it to its freshly built state.
	Reset()
}

// ThoughtID names a sealed thought: 0, 1, 2, ... in sealing order.
type ThoughtID int

// Span is the position range [Start, End).
type Span struct{ Start, End int }

// Len is the number of positions in the span.
func (s Span) Len() int { return max(0, s.End-s.Start) }

func (s Span) contains(p int) bool { return p >= s.Start && p < s.End }

// Thought is a sealed reasoning segment: its body and its summary, contiguous positions.
type Thought struct {
	ID      ThoughtID
	Body    Span
	Summary Span // markers included; empty after SealWithoutSummary(0)
}

// Regions counts attended slots (mask = 1) per region of the active context.
type Regions struct {
	Sink, Summary, Zoom, Window, Heavy int
}

// Total is the number of attended slots.
func (r Regions) Total() int { return r.Sink + r.Summary + r.Zoom + r.Window + r.Heavy }

// Memory is a cache's accounting. Byte counts are the sizes of buffers actually allocated, not
// estimates: ResidentBytes is the sum of the Context tensors' sizes, HostBytes that of the host blocks.
type Memory struct {
	Capacity          int   // C: slots of the active context
	ResidentBytes     int64 // K + V + mask tensors of the active context (what an accelerator holds)
	PeakResidentBytes int64 // max of ResidentBytes after any call since construction or Reset
	HostBytes         int64 // K + V blocks of the host segment store
	PeakHostBytes     int64
	IndexBytes        int64   // per sealed thought: mean summary key (float32 [L,KVH,D]) and its record, on the host
	MovedBytes        int64   // cumulative bytes written into the active context (K, V and mask)
	Attended          Regions // attended slots per region, read from the mask
	Tokens            int     // tokens appended (Len)
}
