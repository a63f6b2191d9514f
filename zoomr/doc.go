// Package zoomr is the front door of ZoomR for Go: a Decoder that composes a model graph (package
// model), a hierarchical KV cache (kvcache), a consensus selector (consensus) and a stream segmenter
// (summarize), and generates with memory that stops growing.
//
//	m, _ := model.Load(ctx, dir)
//	tok, _ := tokenizer.Load(dir)
//	dec, _ := zoomr.New(m, tok, zoomr.Config{})          // the paper's ZoomR, greedy
//	for t, err := range dec.Generate(ctx, "Question: ...") {
//		if err != nil { ... }
//		fmt.Print(t.Text)
//	}
//
// # One decode step
//
// For every sampled token t at position p (docs/DESIGN.md, "One decode step"):
//
//	ev := segmenter.Observe(t)                       thought body / summary / answer; boundaries
//	res := model.Step(t, p, cache.Context())         logits, K/V of t, queries q [L,H,D]
//	cache.Append(p, res.K, res.V)                    window + the host store
//	if ev sealed a thought: sealer.Seal(spans)       the decoder's tracker names the thought's spans;
//	                                                 its mean key joins the index, its summary the region
//	if ev.Reselect:                                   (end of a summary; optionally a sentence end)
//	    scores = q·kbar per layer, query head, thought
//	    ids := selector.Select(scores, c)            every head votes its top-k; top-c overall
//	    zoomer.Zoom(ids)                             copy those thoughts' detail into the active context
//	next token = sample(res.Logits)
//
// What the cache can do is discovered once per generation by type assertion (kvcache.Sealer,
// kvcache.Zoomer, kvcache.AttentionObserver): policies without thoughts are only appended to.
//
// The active context grows in power-of-two buckets up to a fixed budget (prompt + summary region + c
// zoom slots + window), so the decode graph is compiled once per bucket and never again once the
// budget is reached however long the output grows (Stats.GraphBuilds, StepStats.GraphBuilds). The
// full KV of every thought stays in the host store, so any thought can be zoomed later.
//
// # Policies and budgets
//
// Config.Policy names a policy of kvcache's registry: zoomr (default), full, sumr (summaries, no
// zoom), streaming (StreamingLLM), h2o (heavy hitters), rkv (R-KV), or one registered by the
// application (kvcache.Register). The bounded baselines get the same number of resident slots as
// ZoomR would for the same prompt (Config.ResidentBudget), for honest comparisons.
//
// # Chat and reasoning models
//
// Decoder.Chat (and Batcher.Chat; ChatJSON for a request's JSON messages) renders messages with
// Config.ChatTemplate (LoadChatTemplate reads a Hugging Face directory's or a GGUF's; Load finds it) and
// starts a generation from them; WithChatVars passes
// template variables (enable_thinking, tools) and WithGenerationPrompt(false) continues the last
// message:
//
//	tpl, _ := zoomr.LoadChatTemplate(dir, "")
//	dec, _ := zoomr.New(m, tok, zoomr.Config{ChatTemplate: tpl})
//	g := dec.Chat(ctx, []chat.Message{{Role: "user", Content: "..."}})
//	for t, err := range g.Tokens() { ... }       // t.Kind: thought, summary or answer
//	reasoning, answer := g.Text()                // reasoning_content and content
//
// The reasoning is the thinking span (Config.Think: <think> … </think>): a prompt that opens it is
// continued inside it, a model whose template leaves the open marker to it (Qwen3) opens it itself,
// and the close marker, like the protocol's answer marker, starts the answer. Thoughts, summaries,
// seals and zooms happen inside the span only; tokens outside it are answer. Token.Delta splits each
// token's text as a streaming server sends it (the markers and special tokens are Hidden).
//
// # Constraining the output
//
// Config.NewLogitsProcessor gives every generation a LogitsProcessor that edits the logits before
// each sampled token (greedy or sampled): a grammar for an answer whose schema the application
// knows, banned tokens, a bias. AllowOnly is the building block of a grammar; summarize/task's
// AnswerGrammar is one. A processor that leaves no token gives ErrNoToken.
//
// # Concurrency and errors
//
// A Decoder is safe for concurrent use: every generation has its own cache, segmenter, selector and
// sampler. Bad prompts (empty, too long, ids outside the vocabulary) give ErrPrompt, bad
// configurations ErrConfig, a vocabulary without summary markers under the summary segmenter
// ErrProtocol. Context cancellation is honoured before every step.
package zoomr
