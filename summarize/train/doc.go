// Package train is the fine-tuning loop that teaches a model ZoomR's protocol: close every thought
// with a summary, and keep working when only the prompt, the summaries, a window and a few zoomed
// thoughts are visible.
//
// # One step
//
//	batch    Source.Batch(step) -> examples (ids, per-token loss weight, kind, thought index,
//	         routing position), padded to one length T
//	masks    per example [T, T]: the full causal mask, or a restricted View (prompt + every summary
//	         so far + a window + the bodies of the zoomed thoughts, with the zoomed set changing at
//	         every seal, at the answer, and at the routing position where it holds the right thought)
//	forward  model.TrainForward(tokens, masks) -> logits, per-layer Q and K (the fast matmul gradient
//	         of the model package, docs/DESIGN.md, Engines)
//	loss     weighted cross-entropy of the generated tokens (prompt tokens weigh 0)
//	       + RouteWeight × routing loss: at the routing position (the re-selection token of the
//	         restated question), every layer's and head's softmax over the sealed thoughts' scores
//	         q·kbar/sqrt(D) (kbar = mean key of the thought's summary tokens, exactly what
//	         kvcache.ScoreSummaries computes) is pulled towards the thought the answer needs, so the
//	         consensus selector's votes agree at decode time
//	update   global-norm clipping, Adam (GoMLX optimizers), learning rate warm-up then cosine decay
//
// Shapes inside the step graph: tokens, targets [B, T] int32; weights, route [B, T]; masks
// [B, T, T]; summary membership [B, J, T] (1/len over thought j's summary tokens); routing target and
// valid thoughts [B, J]; routing scores per layer [B, H, J].
//
// # Data
//
// TaskSource draws problems of the synthetic task (package summarize/task) along a curriculum
// (TaskCurriculum); RecordSource trains on summarize.Records (JSONL) of any origin. Both are
// deterministic in the step number, so a resumed run sees the data an uninterrupted one would.
// Loss weights go by token kind (Weights); TaskSource.TokenWeight reweighs single tokens, e.g. the
// positions of the task's structure that examples/train's -*-weight flags emphasise.
// LoadForFineTuning prepares a Hugging Face checkpoint: the protocol's tokens join its vocabulary
// and its embedding grows (model.ExtendVocab); WriteTokenizer writes the grown tokenizer next to the
// trained weights.
//
// # Running
//
// Trainer.Run loops over steps with a progress bar (loss, answer accuracy, routing accuracy,
// tokens/s), CSV logs, checkpoints (every variable, the optimizer state included, and the step;
// Restore continues a run) and periodic held-out evaluation (Evaluator: teacher-forced accuracy
// under full, summaries-only, oracle-zoom and selector-zoom attention). Build the model on a backend
// of its own (NewBackend) with model.WithTrainingLayout(). examples/train is the command line.
package train
