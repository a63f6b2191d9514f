// Package server is the HTTP side of examples/serve: an OpenAI-compatible API over one
// zoomr.Decoder and its zoomr.Batcher, so concurrent requests share every decode step.
//
//	POST /v1/chat/completions   messages → the model's chat template → a generation (JSON or SSE)
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
//   - Stop strings are matched by the server anywhere in the new text and the output ends before
//     them (OpenAI's rule); text that could begin a stop string is held back, never streamed.
//   - Reasoning: with a chat template and a vocabulary that has <think> and </think>, the reply is
//     split into reasoning_content and content (streamed deltas too), as vLLM's reasoning parsers do.
//   - Control tokens (<|im_end|>, </s>) write no text, as skip_special_tokens does.
//   - A model without a tokenizer takes prompts as token ids and always returns token_ids.
//   - Limits: body bytes (413), prompt tokens (400 context_length_exceeded), max_tokens (400).
//   - Draining: Drain makes new generations 503 and /health 503 while running streams finish.
//   - Logs: one log/slog record per request (status, tokens, finish reason, time to first token).
//
// The library packages stay free of HTTP: this package and api are examples/serve's.
package server
