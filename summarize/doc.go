// Package summarize is ZoomR's thought/summary protocol: which generated tokens are thought bodies,
// summaries or the answer, where a thought ends, and when to re-select the zoomed thoughts; plus the
// training-data format that teaches a model the protocol.
//
// # The protocol
//
// A tuned model closes every reasoning paragraph (a "thought") with a summary between two special
// tokens:
//
//	…the body of thought 0…<|begin_of_summary|>its summary<|end_of_summary|>\n\n…thought 1…
//
// Each token has a Kind: Prompt, Thought (a body), Summary (the markers included) or Answer (from
// an optional answer marker such as "</think>" on). Protocol names the markers by text and
// Resolve turns them into Markers (token ids) through any Vocab.
//
// # One decode step
//
// A Segmenter is fed each generated token, once it is sampled, and returns an Event that tells the
// decoder how to drive the cache (package kvcache):
//
//	ev := seg.Observe(tok)
//	if ev.Sealed() && ev.Seal.BeforeToken { seal(ev.Seal, pos) }    // the answer marker closed an open thought
//	k, v := model.Step(tok, …); cache.Append(pos, k, v)              // the token's KV (markers belong to the summary)
//	if ev.Sealed() && !ev.Seal.BeforeToken { seal(ev.Seal, pos+1) } // this token was the thought's last
//	if ev.Reselect { selector.Select(scores, valid, c); cache.Zoom(ids) }
//
// where seal(s, end) turns the Seal's lengths into the thought's position spans (its body, then its
// summary — or, sealed without one, its last Tail body tokens — ending at end) and tells the cache
// (kvcache.Sealer). Seal carries the thought index, body and summary lengths and the reason.
//
// SummarySegmenter follows the marker protocol and repairs malformed streams (begin inside a
// summary, end without begin, summaries or thoughts that never end) by the rules on its type.
// ParagraphSegmenter needs no tuned model: a thought ends at a blank line, and its own keys (or its
// last Tail tokens) stand in for a summary. Both cap thought length (MaxThoughtLen), so the cache's
// zoom slots have a known size, and both mark re-selection points at seals, the answer start, and
// optionally at sentence ends or every N tokens (Reselect).
//
// # Training data
//
// Records are JSONL, one per line:
//
//	{"prompt": "...", "thoughts": [{"text": "...", "summary": "..."}], "answer": "..."}
//
// Reader and Writer stream them with errors that carry line numbers (*LineError). Renderer turns a
// record into token ids with the markers, a loss mask (every generated token, not the prompt), and
// per-token Kind and thought index, from which a trainer builds restricted attention masks. Its
// type documentation gives exactly where separators go. The rendered generated tokens, fed to a
// SummarySegmenter, give back the same kinds and thought indices.
package summarize
