package model

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// RandomSpec describes a seeded-random test model. Zero fields take small defaults.
type RandomSpec struct {
	Arch         string // llama (default), qwen2, qwen3, mistral
	VocabSize    int    // default 256
	Hidden       int    // default 64
	Layers       int    // default 2
	Heads        int    // default 4
	KVHeads      int    // default 2
	HeadDim      int    // default Hidden/Heads
	Intermediate int    // default 2*Hidden
	Tie          bool   // tie_word_embeddings
	Bias         bool   // llama: q/k/v/o biases (attention_bias); qwen2 always has q/k/v biases
	RopeTheta    float64
	RopeScaling  *RopeScaling
	MaxPositions int
	BOS          *int
	EOS          []int
	Seed         uint64
}

func (s *RandomSpec) fill() {
	if s.Arch == "" {
		s.Arch = "llama"
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&s.VocabSize, 256)
	def(&s.Hidden, 64)
	def(&s.Layers, 2)
	def(&s.Heads, 4)
	def(&s.KVHeads, 2)
	def(&s.HeadDim, s.Hidden/s.Heads)
	def(&s.Intermediate, 2*s.Hidden)
	if s.RopeTheta == 0 {
		s.RopeTheta = 10000
	}
}

// Config returns the config.json content the spec describes.
func (s RandomSpec) Config() map[string]any {
	s.fill()
	cls := map[string]string{"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM",
		"mistral": "MistralForCausalLM"}[s.Arch]
	cfg := map[string]any{
		"architectures":           []string{cls},
		"model_type":              s.Arch,
		"vocab_size":              s.VocabSize,
		"hidden_size":             s.Hidden,
		"intermediate_size":       s.Intermediate,
		"num_hidden_layers":       s.Layers,
		"num_attention_heads":     s.Heads,
		"num_key_value_heads":     s.KVHeads,
		"head_dim":                s.HeadDim,
		"rms_norm_eps":            1e-6,
		"rope_theta":              s.RopeTheta,
		"tie_word_embeddings":     s.Tie,
		"hidden_act":              "silu",
		"max_position_embeddings": max(s.MaxPositions, 32768),
		"torch_dtype":             "float32",
	}
	if s.Bias && s.Arch != "qwen2" {
		cfg["attention_bias"] = true
	}
	if s.RopeScaling != nil {
		cfg["rope_scaling"] = s.RopeScaling
	}
	if s.BOS != nil {
		cfg["bos_token_id"] = *s.BOS
	}
	if len(s.EOS) == 1 {
		cfg["eos_token_id"] = s.EOS[0]
	} else if len(s.EOS) > 1 {
		cfg["eos_token_id"] = s.EOS
	}
	return cfg
}

func jsonOf(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }

// WriteRandom writes a seeded-random model in Hugging Face layout (config.json + model.safetensors, F32)
// to dir and returns its parsed config. Each tensor draws from its own stream seeded by (Seed, name), with
// std 1/sqrt(fan_in) so attention and logits are O(1); norm weights are 1 + N(0, 0.1), biases N(0, 0.1).
func WriteRandom(dir string, spec RandomSpec) (*Config, error) {
	spec.fill()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cfgJSON, err := json.MarshalIndent(spec.Config(), "", "  ")
	if err != nil {
		return nil, err
	}
	cfg, err := ParseConfig(cfgJSON)
	if err != nil {
		return nil, err
	}
	var list []NamedTensor
	for _, s := range cfg.ExpectedTensors() {
		list = append(list, NamedTensor{Name: s.Name, Shape: s.Shape, Data: randomTensor(spec.Seed, s)})
	}
	if err := WriteSafetensors(filepath.Join(dir, "model.safetensors"), list, false); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfgJSON, 0o644); err != nil {
		return nil, err
	}
	return cfg, nil
}

func randomTensor(seed uint64, s tensorSpec) []float32 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d:%s", seed, s.Name)
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	out := make([]float32, n)
	isNorm := len(s.Shape) == 1 && (hasSuffix(s.Name, "norm.weight"))
	switch {
	case isNorm:
		for i := range out {
			out[i] = float32(1 + 0.1*rng.NormFloat64())
		}
	case len(s.Shape) == 1: // biases
		for i := range out {
			out[i] = float32(0.1 * rng.NormFloat64())
		}
	default:
		std := 1 / math.Sqrt(float64(s.Shape[len(s.Shape)-1]))
		for i := range out {
			out[i] = float32(std * rng.NormFloat64())
		}
	}
	return out
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}
