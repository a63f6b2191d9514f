// Package server is the HTTP side of examples/serve: an OpenAI-compatible API over one
// zoomr.Decoder and its zoomr.Batcher, so concurrent requests share every decode step.
//
//	POST /v1/chat/completions   messages → the Decoder's chat template (Batcher.ChatJSON) → a generation
//	POST /v1/completions        prompt (text or token ids) → a generation (JSON or SSE)
//	GET  /v1/models, /v1/models/{id}
//	GET  /health                200 {"status":"ok", running, waiting, steps, rows}; 503 while draining
//
// Requests are decoded by package api (its doc lists the fields and every error). What the server
// adds:
//
//   - Admission: a generation joins the Batcher's queue; when the queue is full the request gets 429
//     with Retry-After. The response (status and headers) is written when the first token is known,
//     so a refused or failed generation is still an ordinary JSON error, not an error in a stream.
//   - Cancellation: the generation runs under the request's context, so a client that disconnects
//     cancels it and it leaves the batch at the next step; a failed write ends it the same way.
//   - Reasoning: chat replies are split as the Decoder splits them (zoomr.Token.Delta: the thinking
//     span, or a ZoomR model's thoughts before its answer marker, is reasoning_content; the rest
//     content; markers and control tokens write nothing), streamed deltas too, trimmed as
//     zoomr.Generation.Text trims. A completion's text is every token's, control tokens left out
//     (skip_special_tokens).
//   - Stop strings end the content before them, wherever they fall in a token's text (OpenAI's rule;
//     a reasoning model's thinking is not searched). The server matches them itself: zoomr's stop
//     strings are seen only at the end of the text and Token.Text streams them, so a stream would
//     show a stop string's beginning before the match; text that could begin one is held back here.
//   - A model without a tokenizer takes prompts as token ids and always returns token_ids.
//   - Limits: body bytes (413), prompt tokens (400 context_length_exceeded), max_tokens (400).
//   - Draining: Drain makes new generations 503 and /health 503 while running streams finish.
//   - Logs: one log/slog record per request (status, tokens, finish reason, time to first token).
//
// The library packages stay free of HTTP: this package and api are examples/serve's.
package server
