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
// For every sampled token t at position p (see DESIGN §3):
//
//	ev := segmenter.Observe(t)                       thought body / summary / answer; boundaries
//	if ev.SummaryBegan: cache.BeginSummary()         the body ended; the marker opens its summary
//	res := model.Step(t, p, cache.Context())         logits, K/V of t, queries q [L,H,D]
//	cache.Append(p, res.K, res.V)                    window + the open segment in the host store
//	if ev sealed a thought: cache.Seal()             summary KV into the index, mean key kbar
//	if ev.Reselect:                                   (end of a summary; optionally a sentence end)
//	    scores = q·kbar per layer, query head, thought
//	    ids := selector.Select(scores, c)            every head votes its top-k; top-c overall
//	    cache.Zoom(ids)                              copy those thoughts' detail into the zoom slots
//	next token = sample(res.Logits)
//
// The active context has a fixed capacity (prompt + summary region + c zoom slots + window), so the
// decode graph is compiled once per prompt-length bucket and never again as the output grows
// (Stats.GraphBuilds, StepStats.GraphBuilds). The full KV of every thought stays in the host store,
// so any thought can be zoomed later.
//
// # Policies and budgets
//
// Config.Policy selects the cache: zoomr (default), full, sumr (summaries, no zoom), streaming
// (StreamingLLM) or h2o (heavy hitters). The bounded baselines get the same number of resident slots
// as ZoomR would for the same prompt (Config.ResidentBudget), for honest comparisons.
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
