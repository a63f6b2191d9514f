// Package kvcache holds where the key/value (KV) entries of a decoding run live: the active context
// the model attends to, the host store that keeps everything else, and the policies that decide which
// is which — ZoomR (the paper's hierarchical cache) and the baselines it is compared with at equal
// resident budgets: Full, StreamingLLM, SumR and H2O. It never imports the model: tokens arrive as
// float32 K/V slices, and the policy exposes tensors the model reads.
//
// # Shapes
//
// L = layers, KVH = KV heads, D = head dim, H = query heads (G = H/KVH per KV head), C = capacity.
//
//	one token's K or V (Append)          [L, KVH, D]      float32, K post-RoPE
//	a prompt chunk's K or V (AppendPrompt) [L, KVH, n, D] float32
//	Context().K[l]                       [KVH, C, D]      storage dtype (float32 or bfloat16)
//	Context().V[l]                       [KVH, D, C]      TRANSPOSED: both attention products contract on last axes
//	Context().Mask                       [C] float32      1 = attend, 0 = skip; shared by all layers and heads
//	ScoreSummaries q / dst               [L, H, D] / [L, H, T]
//	ObserveAttention attn                [L, H, C]
//
// # One decode step
//
//	kv := cache.Context()                                   // same tensors as last step, edited in place
//	res := model.Step(tok, cache.Len(), kv, {ReturnAttention: cache.NeedsAttention()})
//	if cache.NeedsAttention() { cache.ObserveAttention(res.Attn) }   // H2O, before Append
//	if tok opens a summary     { cache.BeginSummary() }      // the begin marker belongs to the summary
//	cache.Append(pos, res.K, res.V)                          // host store + one window slot
//	if tok closes the summary  { id, _ := cache.Seal() }     // after appending the end marker
//	at a re-selection point:   cache.ScoreSummaries(res.Q, scores); ids := selector(scores); cache.Zoom(ids)
//
// The prompt goes in first with AppendPrompt (any number of chunks); the first Append, BeginSummary or
// seal closes it. Paragraph mode (a model never taught to summarize) seals with SealWithoutSummary(tail).
//
// # The ZoomR active context
//
// Four regions of fixed size, in slot order (Config documents each knob): sink, summary ring,
// zoom slots 0..c-1, window ring.
//
//   - sink: the whole prompt (default; sized to the prompt rounded up to SinkAlign), or the first Sinks
//     tokens of the stream, in which case the rest of the prompt flows through the window.
//   - summary ring: the KV of every sealed thought's summary (markers included). When a new summary does
//     not fit, the OLDEST summaries leave the ring (FIFO): their KV stays in the host store and their
//     mean keys stay in the index, so they can still be scored and zoomed. A summary longer than the
//     ring keeps its last part.
//   - zoom slots: the detailed body KV of the thoughts chosen by Zoom, copied from the host store.
//     A body longer than a slot keeps its LAST ZoomSlotLen tokens (the reasoning that leads into its
//     summary and to what follows; splitting a thought over several slots would let one thought crowd
//     out the others). A zoomed thought's summary stays in the ring.
//   - window ring: the Window most recent tokens.
//
// The capacity C is fixed once the prompt is in, so the decode graph is built once for a run however
// long the output grows. SummaryGrow trades that for a smaller start: the ring doubles from 64 slots up
// to SummaryCap (a new graph per bucket, log2 of them in all).
//
// Every position is attended AT MOST once, which is what makes a ZoomR cache whose regions cover
// everything give exactly the full cache's tokens: positions below the sink end live only in the sink;
// a position in the window is masked there while a copy of it is active in the summary ring or a zoom
// slot, and unmasked again when that copy leaves (ring eviction, re-selection). Only the slots that
// change are written: an Append writes one slot, a Seal the summary's slots plus the window masks it
// shadows, a Zoom only the thoughts that enter (thoughts already zoomed stay where they are).
//
// # Host store and index
//
// The host store keeps the KV of every position (prompt, thought bodies, summaries) in the storage
// dtype, token-major, in blocks of HostBlock tokens: growing it never copies and its size is exact.
// The blocks live in memory mapped outside the Go heap (Linux, macOS and the BSDs; elsewhere the Go
// heap): the store is the one thing that grows with every token, and on the Go heap it made the
// runtime's overhead (collector goal, span metadata) grow with it. Off-heap, the process grows by the
// store's pages and nothing else; the mappings are returned on Reset, when a SumR store drops a
// prefix, and when a cache is dropped without Reset (a runtime cleanup).
// The index keeps one float32 mean summary key [L, KVH, D] per sealed thought (the mean of its summary's
// keys; for SealWithoutSummary(0), of its body's keys). ScoreSummaries scores every sealed thought,
// including those whose summary left the ring.
//
// # Accounting
//
// Memory reports sizes of buffers actually allocated: ResidentBytes is the sum of the Context
// tensors (= Layout.ContextBytes(C) = C * (2*L*KVH*D*elem + 4)), HostBytes the host blocks (resident from
// allocation), IndexBytes the mean keys and per-thought records; peaks are the maxima after any call (a capacity change briefly holds the old and new
// context together; that transient is not counted). MovedBytes counts every byte written into the active
// context: what a host-to-accelerator transfer would carry. Config.Budget predicts ResidentBytes
// before anything is allocated.
//
// # Baselines
//
//   - Full: every token, slot = position, capacity doubling in power-of-two buckets from MinCapacity (256).
//   - StreamingLLM: the first Sinks (4) tokens + a window; no host store.
//   - SumR: sink/prompt + summary ring + window, no zoom; its host store keeps only the open thought.
//   - H2O: a pool of Heavy + Window slots; a token's score is the attention it received summed over
//     layers, query heads and steps; the new token replaces the lowest-scored token outside the Window
//     most recent (ties: the oldest). Prompt tokens start at 0 (prefill returns no attention).
//
// All policies track the thought protocol (IDs, spans, wrong-use errors) so that a decoder drives them
// alike; those without an index or zoom slots answer ScoreSummaries / Zoom with ErrNotSupported.
//
// # Tensors edited in place
//
// Context tensors are allocated once per capacity and edited with tensors.MutableFlatData. On the pure-Go
// backend they become shared buffers after their first use as inputs, so edits are zero-copy. On a backend
// with device memory (XLA), each edit invalidates the device copy, and the next step uploads the edited
// tensors whole: correct, but the transfer is C slots per step rather than the slots that changed.
// When the capacity changes (Full buckets, whole-prompt growth, SummaryGrow) or on Reset, the old
// tensors are finalized: do not hold Context tensors across those calls.
//
// # Errors
//
// Every error wraps one of the package's sentinels (errors.Is) with the numbers involved, and a call
// that returns an error has changed nothing — except ErrInternal, which means the cache's own tensors were
// found finalized or invalid (someone else freed them) and the cache should be Reset. A cache is not safe
// for concurrent use.
package kvcache
