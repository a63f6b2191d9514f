// Package model is a Llama-family decoder (Llama 2/3, Qwen2/2.5, Qwen3, Mistral) in GoMLX that loads
// Hugging Face checkpoints and runs over an attention context supplied by the caller.
//
// # Loading
//
//	m, err := model.Load(ctx, "path/to/hf-model")   // config.json + model.safetensors (or sharded)
//
// Config comes from config.json (model_type llama, qwen2, qwen3, mistral; rope_scaling linear or llama3;
// anything else is ErrUnsupportedArchitecture). Weights are F32, BF16 or F16 safetensors, widened to float32
// at load, tensor by tensor, straight into their final buffers. Every tensor is checked against the config
// by name, shape and dtype; errors name the tensor and both shapes.
//
// # Running
//
// The model keeps no per-sequence state. A caller — usually a kvcache policy driven by zoomr.Decoder —
// owns the KV cache and passes, on every call, a KV: per-layer keys [KVHeads, C, HeadDim], TRANSPOSED
// values [KVHeads, HeadDim, C] and a mask [C] (1 attend, 0 skip), where C is a capacity fixed by the
// caller. The graph is compiled once per (graph kind, C), so a cache with a fixed capacity never
// triggers a rebuild (GraphBuilds counts them).
//
//	res, err := m.Step(ctx, token, pos, kv, model.StepOptions{})
//	// res.Logits [Vocab]; res.K, res.V [Layers, KVHeads, HeadDim] for the cache to append;
//	// res.Q [Layers, Heads, HeadDim] post-RoPE queries, for scoring summaries.
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
// # The host step
//
// On the pure-Go backend (the default here and in CI) Step and Prefill do not run graphs: they run
// the same arithmetic as Go code over the same weights and the caller's context tensors, with the
// weight products and the attention products done by gonum's BLAS (assembly kernels on amd64 and
// arm64; hoststep.go). The backend's own matmul kernels are scalar Go, and a decode step is nothing
// but one pass over every weight: the host step is ≈4x faster on the d=512 benchmark model
// (BenchmarkDecodeStep), and prefill chunks become matrix-matrix products. The host path reads the
// graph variables' own float32 buffers in the Hugging Face layout in place (the pure-Go backend
// shares them with Go, so the weights are held once), reads only the valid runs of the context
// mask, falls back to the graph for
// bfloat16 contexts, and agrees with the graph to float32 rounding (TestHostStepMatchesGraph,
// TestHostPrefillMatchesGraph; the llama.cpp goldens run through it). WithGraphStep turns it off;
// every other backend (XLA on a GPU) always runs the graphs.
//
// # Layouts (docs/DESIGN.md, Engines)
//
// Every product contracts the last axis of both operands, the pure-Go backend's fast path, and values are
// kept transposed for the same reason. The matrices the decode step multiplies by are stored in a
// blocked layout, [in/B, P, out/P, B] (layout.go): a [1, in] row times it is a batch of small products
// that each stream contiguous memory, stay on the backend's small-matrix kernel and run in parallel —
// about 3x faster than the [out, in] layout on the pure-Go backend. Prefill and training see the
// Hugging Face layout (WithTrainingLayout keeps it throughout, for trainers); Save writes it.
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
