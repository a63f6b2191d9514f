// Package consensus chooses which past thoughts to zoom into: ZoomR's global consensus of attention
// heads, and the baselines it is compared with.
//
// # Where it sits in a decode step
//
// At a re-selection point (end of a summary, end of a sentence; see package summarize) the decoder
// has, for the current token, a score per layer, query head and sealed thought:
//
//	zoomer.ScoreSummaries(q, scores.Data)   // Data [L, H, T]: q[l,h] · kbar[l,h/G,j] / sqrt(D)
//	sel, err := selector.Select(scores, valid, c)
//	zoomer.Zoom(sel.IDs)                    // detailed KV of the c chosen thoughts joins the context
//
// (zoomer is the cache as a kvcache.Zoomer.)
//
// One set of thoughts is shared by every layer and head, so the attention context keeps one layout.
// valid marks the thoughts that may be chosen (nil: all); a thought that is invalid never receives a
// vote and is never selected.
//
// # Selectors
//
//   - GlobalVote (the paper's): each voting (layer, head) votes for its top-k thoughts; votes are
//     summed and the c thoughts with most votes win. Agreeability, the share of all votes that landed
//     in the chosen set, measures how much the heads agree.
//   - ScoreSum (InfLLM-style): sum over heads of a softmax of the scores; the c with most mass win.
//   - PerHead: the union of every head's top-k, capped at c by each thought's best rank.
//   - Recent: the c most recent thoughts, ignoring scores.
//
// Options choose the voting layers (a list, or skip the first N) and k. All selectors are
// deterministic (ties are broken by documented keys ending in recency), return exactly
// min(c, valid thoughts) ids in ascending order, treat NaN scores as -inf, and return errors
// wrapping ErrShape, ErrBudget, ErrOptions, ErrLayer or ErrNoVoters on bad input, never panicking.
//
// # Cost and concurrency
//
// A selector reuses its scratch buffers: after the first call with a given size, Select allocates
// nothing, and the returned Selection's slices alias those buffers until the next call (Clone keeps
// one). For the same reason a selector is not safe for concurrent use; make one per decoder.
// GlobalVote reads each score once (a top-k scan per head); over 32 layers × 32 heads × 4096 thoughts
// it takes a few milliseconds on one core (see BenchmarkGlobalVote).
package consensus
