// Package kvcache holds where the key/value (KV) entries of a decoding run live: the active context
// the model attends to, the host store that keeps everything else, and the policies that decide which
// is which — ZoomR (the paper's hierarchical cache) and the baselines it is compared with at equal
// resident budgets: Full, SumR, StreamingLLM, H2O and R-KV. It never imports the model: tokens arrive
// as float32 K/V slices, and a policy exposes tensors the model reads.
//
// # Shapes
//
// L = layers, KVH = KV heads, D = head dim, H = query heads (G = H/KVH per KV head), C = capacity.
//
//	one token's K or V (Append)            [L, KVH, D]      float32, K post-RoPE
//	a prompt chunk's K or V (AppendPrompt) [L, KVH, n, D]   float32
//	Context.K[l]                           [KVH, C, D]      storage dtype (float32 or bfloat16)
//	Context.V[l]                           [KVH, D, C]      TRANSPOSED: both attention products contract on last axes
//	Context.Mask                           [C] float32      1 = attend, 0 = skip; shared by all layers and heads
//	ScoreSummaries q / dst                 [L, H, D] / [L, H, T]
//	ObserveAttention attn                  [L, H, C]
//
// # The interface
//
// Cache is the core every policy has (7 methods: layout, length, append prompt/token, the active
// context, memory accounting, reset). What only some policies do is an optional capability the
// decoder discovers by type assertion: Sealer (told about every sealed thought: ZoomR, SumR), Zoomer
// (a summary index and zoom slots: ZoomR) and AttentionObserver (each step's attention: H2O, R-KV).
// The decoder owns the one thought tracker and passes finished thoughts as spans (Thought); the cache
// never re-derives them.
//
// Policies are registered by name (Register, Lookup, New): every constructor takes the same Config,
// which sizes a ZoomR cache, and bounded policies split ZoomR's resident budget their own way, so any
// two compare at a matched budget. A policy is a small file on the exported building blocks:
//
//	SlotPool    positions -> slots of the active context, reference-counted, capacity in buckets
//	Slots       the active context's storage (Go memory by default; a device engine brings its own:
//	            NewBackendSlots, or NewShardedBackendSlots split by KV head across devices)
//	HostStore   every position's KV on the host, off the Go heap, exact size
//	PoolCache   a Cache over one pool for policies that are an eviction rule
//	SlotScores  a score per slot from observed attention
//	ScoreSummaries, AttendedSpans and the Config's region spans: the summary scores and ZoomR's regions
//
// R-KV (rkv.go) is written on these only, as a policy outside the package would be.
//
// # One decode step
//
//	ctx, _ := cache.Context()                               // same tensors as last step, edited in place
//	res := model.Step(tok, cache.Len(), ctx)                 // with attention for an AttentionObserver
//	observer.ObserveAttention(res.Attn)                      // H2O, R-KV: before Append
//	cache.Append(pos, res.K, res.V)                          // host store + one slot (the window's)
//	if the token closed a thought: sealer.Seal(thought)      // its mean key, its summary into the region
//	at a re-selection point: zoomer.ScoreSummaries(res.Q, scores); ids := selector(scores); zoomer.Zoom(ids)
//
// The prompt goes in first with AppendPrompt (any number of chunks); the first Append closes it.
//
// # The ZoomR active context
//
// Four regions (spans.go defines each as a pure function of the config and the thoughts, shared
// with the training masks of summarize/train): sink (the whole prompt by default), summary (the
// newest summaries that fit SummaryCap tokens; older ones leave, their mean keys stay in the index so
// they can still be scored and zoomed), zoom (the last ZoomSlotLen body tokens of each zoomed thought,
// copied from the host store) and window (the Window most recent tokens). Regions take references on
// positions in a SlotPool, so a position held by two regions (a fresh summary still in the window) has
// one slot and is attended once — which is what makes a ZoomR cache whose regions cover everything give
// exactly the full cache's tokens. Only what changes is written: an Append writes one slot, a Seal the
// summary positions the window no longer holds, a Zoom only the thoughts that enter.
//
// The capacity grows in power-of-two buckets as the regions fill, up to the budget (Config.Budget):
// resident bytes never exceed a full cache's at the same length, and the decode graph is built once
// per bucket.
//
// # Host store and index
//
// The host store keeps the KV of every position in the storage dtype, token-major, in blocks of
// HostBlock tokens: growing it never copies and its size is exact. The blocks live in memory mapped
// outside the Go heap (Linux, macOS and the BSDs; elsewhere the Go heap): the store is the one thing
// that grows with every token, and on the Go heap it made the runtime's overhead grow with it. The
// index keeps one float32 mean summary key [L, KVH, D] per sealed thought (the mean of its summary's
// keys; for a thought sealed without a summary, of its body's keys).
//
// # Accounting
//
// Memory reports sizes of buffers actually allocated, not estimates: ResidentBytes is the active
// context's storage (= Layout.ContextBytes(C) = C * (2*L*KVH*D*elem + 4)), HostBytes the host blocks
// (resident from allocation), IndexBytes the mean keys and per-thought records (per-slot scores and
// keys for H2O and R-KV); peaks are the maxima after any call. MovedBytes counts every byte written
// into the active context: what a host-to-device transfer carries.
//
// # Baselines
//
//   - Full: every token, capacity doubling in power-of-two buckets from MinCapacity (256).
//   - SumR: sink/prompt + summary region + window, no zoom; its host store keeps only the open thought.
//   - StreamingLLM: the first Sinks tokens + a window; no host store.
//   - H2O: Heavy + Window slots; a token's score is the attention it received summed over layers,
//     query heads and steps; the new token replaces the lowest-scored one outside the window.
//   - R-KV: Budget + Window slots; importance (decayed attention) minus key redundancy; evicts a
//     buffer of tokens at once when full.
//
// # Errors
//
// Every error wraps one of the package's sentinels (errors.Is) with the numbers involved, and a call
// that returns an error has changed nothing — except ErrInternal, which means the cache's own buffers
// were found invalid (finalized by someone else, or a device refused memory) and the cache should be
// Reset. A cache is not safe for concurrent use.
package kvcache
