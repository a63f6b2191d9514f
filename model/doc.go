// Package model is a Llama-family decoder (Llama 2/3, Qwen2/2.5, Qwen3, Mistral) in GoMLX that loads
// Hugging Face checkpoints and GGUF files and runs over an attention context supplied by the caller.
//
// # Loading
//
//	m, err := model.Load(ctx, "path/to/hf-model")   // config.json + model.safetensors (or sharded)
//	m, err := model.Load(ctx, "model.Q4_K_M.gguf")   // a GGUF file, or a directory holding one (FindGGUF)
//	defer m.Close()                                  // unmaps a GGUF
//
// Config comes from config.json (model_type llama, qwen2, qwen3, mistral; rope_scaling linear or llama3;
// anything else is ErrUnsupportedArchitecture) or a GGUF file's metadata. Weights are kept as stored:
// F32, BF16 or F16 safetensors read into buffers of exactly their size, GGUF blocks (Q8_0, Q4_K, …)
// viewed in the file's memory mapping (model/gguf, model/quant). Every tensor is checked against the
// config by name and shape; errors name the tensor and both shapes. A GGUF's reference is llama.cpp on
// the same file: the host engine rounds activations as ggml does for the stored type (ggufmodel.go);
// the graph engine dequantizes the blocks into float32 variables at load and unmaps the file. A
// corrupt GGUF is ErrInvalidGGUF (FuzzLoadGGUF).
//
// # Engines
//
// A model runs on one of two engines, chosen once when it is built (WithEngine; docs/DESIGN.md,
// Engines):
//
//   - EngineHost (the default on the pure-Go backend): steps and prefill as Go code over the stored
//     weights — model/quant's kernels for every weight product (AVX2 assembly on amd64, ggml's
//     numerics for GGUF files, exact float32 activations for Hugging Face F16/BF16) and gonum's BLAS
//     for attention over the valid runs of the context mask, float32 or bfloat16 contexts read in
//     place. No graph variables are made: the weights are held once, at their stored size
//     (WeightBytes). One pass runs several sequences (segments): StepBatch multiplies the rows of
//     every request by each weight matrix at once.
//   - EngineGraph (any other backend; WithTrainingLayout for trainers): GoMLX graphs built from one
//     layer block (builder.forward/block) for the decode step, the batched decode step, the prefill
//     chunk and the training pass, which differ only in the attention they plug in. The stored
//     weights are widened to float32 variables at load. On a device, StepOptions.Greedy picks the
//     next token where the logits are and SkipQueries keeps the queries there; StepResult's
//     TransferBytes counts what crossed.
//
// The engines agree to float32 rounding (≈1e-6 on the logits; TestHostStepMatchesGraph,
// TestHostPrefillMatchesGraph; the llama.cpp goldens run through both).
//
// # Running
//
// The model keeps no per-sequence state. A caller — usually a kvcache policy driven by zoomr.Decoder —
// owns the KV cache and passes, on every call, a KV: per-layer keys [KVHeads, C, HeadDim], TRANSPOSED
// values [KVHeads, HeadDim, C] and a mask [C] (1 attend, 0 skip), where C is a capacity fixed by the
// caller. The graph engine compiles once per (graph kind, C), so a cache whose capacity grows in
// buckets triggers a handful of builds (GraphBuilds counts them).
//
//	res, err := m.Step(ctx, token, pos, kv, model.StepOptions{})
//	// res.Logits [Vocab], res.Next its argmax; res.K, res.V [Layers, KVHeads, HeadDim] for the cache
//	// to append; res.Q [Layers, Heads, HeadDim] post-RoPE queries, for scoring summaries.
//
// One decode step, per layer:
//
//	x ─ RMSNorm ─ q,k,v projections (+bias: qwen2) ─ q/k RMSNorm (qwen3) ─ RoPE(pos)
//	    scores = q·Kᵀ over the context (masked) and q·k over the token itself, one softmax over both
//	    o = probs·Vᵀ + p_self·v ─ o_proj ─ residual ─ RMSNorm ─ SwiGLU ─ residual
//
// then the final RMSNorm and the LM head (tied or not). Prefill runs a chunk of tokens causally,
// optionally over a context as well (chunked prefill), and returns the chunk's K/V [Layers, KVHeads, n,
// HeadDim]. GenerateGreedy is a simple full-cache generation path for tests.
//
// # Layouts
//
// Every product contracts the last axis of both operands — weights [out, in], as Hugging Face stores
// them — and values are kept transposed for the same reason: it is the pure-Go backend's fast path,
// and XLA chooses its own layouts. (An earlier "blocked" weight layout served only the pure-Go
// backend's graph step, which the host engine replaces; it is gone.)
//
// # Several devices
//
// WithDevices(n) splits the graph engine's model across n devices of its backend (tensor parallelism
// by GoMLX's AutoSharding, devices.go): q/k/v/gate/up column-parallel, o/down row-parallel,
// embeddings and norms replicated, the context split by KV head (n must divide the KV heads; else
// ErrDevices). XLA's sharding propagation partitions the graphs and adds the collectives. A step takes
// the context whole (split on the host per call) or already split in the devices' buffers
// (KV.ShardedK/ShardedV/ShardedMask, as kvcache.NewShardedBackendSlots keeps it).
//
// # Training
//
// TrainLogits builds a differentiable forward pass with a caller-supplied attention mask [B, T, T] (so a
// trainer can show the model ZoomR's restricted attention patterns). Its matmuls use a custom gradient
// made of two DotGenerals (fastDot): v0.26's built-in DotGeneral gradient materialises a
// [batch, M, N, K] tensor and is several times slower.
//
// # Test fixtures
//
// WriteRandom writes seeded-random models in Hugging Face layout at any size; the committed goldens under
// testdata/golden were made from such models by llama.cpp (../shared/oracle).
package model
