package model

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TrainLogits builds the training forward pass inside a GoMLX graph (for a trainer's context.Exec over
// m.Context()): tokens [B, T] int32 at positions 0..T-1, attnMask [B, T, T] float32 (1 where query row may
// attend key column; the caller makes it causal and may restrict it further, e.g. to ZoomR's active
// sets) -> logits [B, T, Vocab]. Every matmul uses the fast custom gradient (docs/DESIGN.md, Engines) and every op is
// differentiable on the pure-Go backend.
func (m *Model) TrainLogits(tokens, attnMask *Node) *Node {
	return m.TrainForward(tokens, attnMask).Logits
}

// TrainOutputs are the nodes of one training forward pass.
type TrainOutputs struct {
	Logits *Node   // [B, T, Vocab]
	Q      []*Node // per layer [B, H, T, D]: post-RoPE (post q-norm) queries
	K      []*Node // per layer [B, KVH, T, D]: post-RoPE (post k-norm) keys
}

// TrainForward is TrainLogits that also returns every layer's queries and keys, e.g. for a loss that
// teaches the queries at a re-selection point to score the right thought's mean summary key highest
// (what kvcache.ScoreSummaries and the consensus selector read at decode time). Keep Logits (or a loss
// made from them) among the graph's outputs: v0.26's pure-Go executor fails on graphs with nodes that no
// output depends on.
func (m *Model) TrainForward(tokens, attnMask *Node) TrainOutputs {
	b := &builder{m: m, g: tokens.Graph(), train: true}
	return b.trainForward(tokens, attnMask)
}

// RandomWeights returns freshly initialised weights for cfg (the same scheme as WriteRandom), for training
// a model from scratch.
func RandomWeights(cfg *Config, seed uint64) map[string]*tensors.Tensor {
	out := map[string]*tensors.Tensor{}
	for _, s := range cfg.ExpectedTensors() {
		out[s.Name] = tensors.FromFlatDataAndDimensions(randomTensor(seed, s), s.Shape...)
	}
	return out
}

// Weights returns a copy of the current weights as named float32 tensors (sorted by name): the graph
// variables' values on the graph engine, the stored weights widened on the host engine.
func (m *Model) Weights() ([]NamedTensor, error) {
	names := make([]string, 0, len(m.hfShapes))
	for name := range m.hfShapes {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]NamedTensor, 0, len(names))
	for _, name := range names {
		var data []float32
		if v, ok := m.vars[name]; ok {
			data = tensors.MustCopyFlatData[float32](v.MustValue())
		} else {
			var err error
			if data, err = floats(m.stored.t[name]); err != nil {
				return nil, err
			}
		}
		out = append(out, NamedTensor{Name: name, Shape: m.hfShapes[name], Data: data})
	}
	return out, nil
}

// Save writes the model in Hugging Face layout: config.json and model.safetensors (F32, or BF16 when bf16).
func (m *Model) Save(dir string, bf16 bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	weights, err := m.Weights()
	if err != nil {
		return err
	}
	if err := WriteSafetensors(filepath.Join(dir, "model.safetensors"), weights, bf16); err != nil {
		return err
	}
	data, err := json.MarshalIndent(m.Config.toJSON(bf16), "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644)
}

// toJSON renders the config with HF key names.
func (c *Config) toJSON(bf16 bool) map[string]any {
	cls := map[string]string{"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM",
		"mistral": "MistralForCausalLM"}[c.Arch]
	dtype := "float32"
	if bf16 {
		dtype = "bfloat16"
	}
	out := map[string]any{
		"architectures": []string{cls}, "model_type": c.Arch, "vocab_size": c.VocabSize, "hidden_size": c.Hidden,
		"intermediate_size": c.Intermediate, "num_hidden_layers": c.Layers, "num_attention_heads": c.Heads,
		"num_key_value_heads": c.KVHeads, "head_dim": c.HeadDim, "max_position_embeddings": c.MaxPositions,
		"rms_norm_eps": c.RMSNormEps, "rope_theta": c.RopeTheta, "tie_word_embeddings": c.TieEmbeddings,
		"attention_bias": c.AttentionBias, "mlp_bias": c.MLPBias, "hidden_act": c.HiddenAct, "torch_dtype": dtype,
	}
	if c.RopeScaling != nil {
		out["rope_scaling"] = c.RopeScaling
	}
	if c.BOSTokenID != nil {
		out["bos_token_id"] = *c.BOSTokenID
	}
	if len(c.EOSTokenIDs) == 1 {
		out["eos_token_id"] = c.EOSTokenIDs[0]
	} else if len(c.EOSTokenIDs) > 1 {
		out["eos_token_id"] = c.EOSTokenIDs
	}
	return out
}

// ExtendVocab returns a copy of weights with the embedding (and untied LM head) grown to newVocab rows, for
// fine-tuning with added tokens (e.g. the summary markers). New embedding rows are the mean of the existing
// rows plus small noise — the usual choice, so new tokens start as "average" tokens rather than outliers.
// cfg.VocabSize is updated.
func ExtendVocab(cfg *Config, weights map[string]*tensors.Tensor, newVocab int, seed uint64) (map[string]*tensors.Tensor, error) {
	if newVocab < cfg.VocabSize {
		return nil, fmt.Errorf("%w: ExtendVocab to %d rows from %d", ErrInvalidInput, newVocab, cfg.VocabSize)
	}
	out := make(map[string]*tensors.Tensor, len(weights))
	for k, v := range weights {
		out[k] = v
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	names := []string{"model.embed_tokens.weight"}
	if !cfg.TieEmbeddings {
		names = append(names, "lm_head.weight")
	}
	d := cfg.Hidden
	for _, name := range names {
		old, ok := weights[name]
		if !ok {
			return nil, fmt.Errorf("%w: missing tensor %q", ErrWeightMismatch, name)
		}
		src := tensors.MustCopyFlatData[float32](old)
		if len(src) != cfg.VocabSize*d {
			return nil, fmt.Errorf("%w: tensor %q has %d values, want %d", ErrWeightMismatch, name, len(src), cfg.VocabSize*d)
		}
		mean := make([]float64, d)
		for r := range cfg.VocabSize {
			for j := range d {
				mean[j] += float64(src[r*d+j])
			}
		}
		dst := make([]float32, newVocab*d)
		copy(dst, src)
		noise := 0.02 / math.Sqrt(float64(d))
		for r := cfg.VocabSize; r < newVocab; r++ {
			for j := range d {
				dst[r*d+j] = float32(mean[j]/float64(cfg.VocabSize) + noise*rng.NormFloat64())
			}
		}
		out[name] = tensors.FromFlatDataAndDimensions(dst, newVocab, d)
	}
	cfg.VocabSize = newVocab
	return out, nil
}
