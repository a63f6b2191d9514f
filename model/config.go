package model

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// Config is the architecture of a Llama-family decoder, read from a Hugging Face config.json.
//
// Field names follow llama2.c's spirit: one number per idea, with the HF key in the comment.
type Config struct {
	// Arch is the HF model_type: "llama", "qwen2", "qwen3" or "mistral".
	Arch string `json:"model_type"`

	VocabSize    int `json:"vocab_size"`              // rows of the embedding and the LM head
	Hidden       int `json:"hidden_size"`             // d_model
	Intermediate int `json:"intermediate_size"`       // SwiGLU inner width
	Layers       int `json:"num_hidden_layers"`       // decoder blocks
	Heads        int `json:"num_attention_heads"`     // query heads
	KVHeads      int `json:"num_key_value_heads"`     // key/value heads (GQA); 0 in the file means Heads
	HeadDim      int `json:"head_dim"`                // per-head width; 0 in the file means Hidden/Heads
	MaxPositions int `json:"max_position_embeddings"` // informative: RoPE works beyond it

	RMSNormEps float64 `json:"rms_norm_eps"`
	RopeTheta  float64 `json:"rope_theta"`
	// RopeScaling is nil for plain RoPE; "linear" and "llama3" are supported.
	RopeScaling *RopeScaling `json:"rope_scaling"`

	TieEmbeddings bool `json:"tie_word_embeddings"`
	// AttentionBias adds q/k/v (and, for llama, o) projection biases. qwen2 always has q/k/v biases.
	AttentionBias bool `json:"attention_bias"`
	MLPBias       bool `json:"mlp_bias"`

	HiddenAct        string `json:"hidden_act"`
	UseSlidingWindow bool   `json:"use_sliding_window"`
	TorchDType       string `json:"torch_dtype"`

	BOSTokenID  *int  `json:"-"`
	EOSTokenIDs []int `json:"-"`
}

// RopeScaling is HF's rope_scaling (or rope_parameters) object.
type RopeScaling struct {
	Type                          string  `json:"rope_type"`
	LegacyType                    string  `json:"type"`
	Factor                        float64 `json:"factor"`
	LowFreqFactor                 float64 `json:"low_freq_factor"`
	HighFreqFactor                float64 `json:"high_freq_factor"`
	OriginalMaxPositionEmbeddings int     `json:"original_max_position_embeddings"`
	RopeTheta                     float64 `json:"rope_theta"` // only in rope_parameters
}

// Kind returns the scaling type, whichever key the file used.
func (r *RopeScaling) Kind() string {
	if r == nil {
		return ""
	}
	if r.Type != "" {
		return r.Type
	}
	return r.LegacyType
}

// rawConfig holds the keys whose JSON shape varies between checkpoints.
type rawConfig struct {
	Config
	Architectures  []string        `json:"architectures"`
	RopeParameters *RopeScaling    `json:"rope_parameters"`
	BOS            json.RawMessage `json:"bos_token_id"`
	EOS            json.RawMessage `json:"eos_token_id"`
	QKNorm         *bool           `json:"-"`
}

var archFromClass = map[string]string{
	"LlamaForCausalLM":   "llama",
	"Qwen2ForCausalLM":   "qwen2",
	"Qwen3ForCausalLM":   "qwen3",
	"MistralForCausalLM": "mistral",
}

// LoadConfig reads and validates dir/config.json.
func LoadConfig(dir string) (*Config, error) {
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return ParseConfig(data)
}

// ParseConfig parses the bytes of a config.json, fills HF defaults and validates the result.
func ParseConfig(data []byte) (*Config, error) {
	var raw rawConfig
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: config.json: %w", ErrInvalidConfig, err)
	}
	c := raw.Config
	if c.Arch == "" && len(raw.Architectures) > 0 {
		c.Arch = archFromClass[raw.Architectures[0]]
		if c.Arch == "" {
			return nil, fmt.Errorf("%w: architectures[0] = %q", ErrUnsupportedArchitecture, raw.Architectures[0])
		}
	}
	if c.RopeScaling == nil && raw.RopeParameters != nil {
		rp := *raw.RopeParameters
		if c.RopeTheta == 0 && rp.RopeTheta != 0 {
			c.RopeTheta = rp.RopeTheta
		}
		if k := rp.Kind(); k != "" && k != "default" {
			c.RopeScaling = &rp
		}
	}
	if c.RopeScaling != nil && (c.RopeScaling.Kind() == "" || c.RopeScaling.Kind() == "default") {
		c.RopeScaling = nil
	}
	var err error
	if c.BOSTokenID, err = parseOptionalID(raw.BOS); err != nil {
		return nil, fmt.Errorf("%w: bos_token_id: %w", ErrInvalidConfig, err)
	}
	if c.EOSTokenIDs, err = parseIDList(raw.EOS); err != nil {
		return nil, fmt.Errorf("%w: eos_token_id: %w", ErrInvalidConfig, err)
	}
	c.fillDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func parseOptionalID(raw json.RawMessage) (*int, error) {
	ids, err := parseIDList(raw)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	return &ids[0], nil
}

// parseIDList accepts null, a number, or a list of numbers.
func parseIDList(raw json.RawMessage) ([]int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one int
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int{one}, nil
	}
	var many []int
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, err
	}
	return many, nil
}

// fillDefaults applies Hugging Face's defaults for keys a config.json may omit.
func (c *Config) fillDefaults() {
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.HeadDim == 0 && c.Heads > 0 {
		c.HeadDim = c.Hidden / c.Heads
	}
	if c.RMSNormEps == 0 {
		c.RMSNormEps = 1e-6
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = 10000
	}
	if c.HiddenAct == "" {
		c.HiddenAct = "silu"
	}
	if c.MaxPositions == 0 {
		c.MaxPositions = 2048
		if c.Arch == "qwen2" || c.Arch == "qwen3" {
			c.MaxPositions = 32768
		}
	}
}

// HasQKNorm reports whether the architecture applies RMSNorm to each query and key head (qwen3).
func (c *Config) HasQKNorm() bool { return c.Arch == "qwen3" }

// HasQKVBias reports whether q/k/v projections carry biases.
func (c *Config) HasQKVBias() bool { return c.Arch == "qwen2" || c.AttentionBias }

// HasOBias reports whether the output projection carries a bias (llama-style attention_bias only).
func (c *Config) HasOBias() bool {
	return c.AttentionBias && (c.Arch == "llama" || c.Arch == "mistral")
}

// GroupSize is the number of query heads that share one KV head.
func (c *Config) GroupSize() int { return c.Heads / c.KVHeads }

// Validate checks that the numbers describe a model this package can run.
func (c *Config) Validate() error {
	switch c.Arch {
	case "llama", "qwen2", "qwen3", "mistral":
	case "":
		return fmt.Errorf("%w: config.json has no model_type or known architectures", ErrUnsupportedArchitecture)
	default:
		return fmt.Errorf("%w: model_type %q (supported: llama, qwen2, qwen3, mistral)", ErrUnsupportedArchitecture, c.Arch)
	}
	dims := []struct {
		name string
		v    int
	}{
		{"vocab_size", c.VocabSize}, {"hidden_size", c.Hidden}, {"intermediate_size", c.Intermediate},
		{"num_hidden_layers", c.Layers}, {"num_attention_heads", c.Heads}, {"num_key_value_heads", c.KVHeads},
		{"head_dim", c.HeadDim},
	}
	for _, d := range dims {
		if d.v <= 0 {
			return fmt.Errorf("%w: %s = %d must be positive", ErrInvalidConfig, d.name, d.v)
		}
		if d.v > 1<<24 {
			return fmt.Errorf("%w: %s = %d is implausibly large", ErrInvalidConfig, d.name, d.v)
		}
	}
	if c.Heads%c.KVHeads != 0 {
		return fmt.Errorf("%w: num_attention_heads %d is not a multiple of num_key_value_heads %d",
			ErrInvalidConfig, c.Heads, c.KVHeads)
	}
	if c.HeadDim%2 != 0 {
		return fmt.Errorf("%w: head_dim %d must be even for RoPE", ErrInvalidConfig, c.HeadDim)
	}
	if !(c.RMSNormEps > 0) || math.IsInf(c.RMSNormEps, 0) {
		return fmt.Errorf("%w: rms_norm_eps %v must be positive", ErrInvalidConfig, c.RMSNormEps)
	}
	if !(c.RopeTheta > 1) || math.IsInf(c.RopeTheta, 0) {
		return fmt.Errorf("%w: rope_theta %v must be > 1", ErrInvalidConfig, c.RopeTheta)
	}
	if c.HiddenAct != "silu" {
		return fmt.Errorf("%w: hidden_act %q (only silu)", ErrInvalidConfig, c.HiddenAct)
	}
	if c.UseSlidingWindow {
		return fmt.Errorf("%w: use_sliding_window=true is not supported", ErrInvalidConfig)
	}
	if c.Arch == "qwen3" && c.AttentionBias {
		return fmt.Errorf("%w: qwen3 with attention_bias=true", ErrInvalidConfig)
	}
	return c.RopeScaling.validate()
}

func (r *RopeScaling) validate() error {
	if r == nil {
		return nil
	}
	switch r.Kind() {
	case "linear":
		if !(r.Factor > 0) {
			return fmt.Errorf("%w: rope_scaling linear factor %v must be positive", ErrInvalidConfig, r.Factor)
		}
	case "llama3":
		if !(r.Factor > 0) || !(r.LowFreqFactor > 0) || !(r.HighFreqFactor > r.LowFreqFactor) ||
			r.OriginalMaxPositionEmbeddings <= 0 {
			return fmt.Errorf("%w: rope_scaling llama3 needs factor>0, 0<low_freq_factor<high_freq_factor and "+
				"original_max_position_embeddings>0, got %+v", ErrInvalidConfig, *r)
		}
	default:
		return fmt.Errorf("%w: rope_scaling type %q (supported: linear, llama3)", ErrUnsupportedArchitecture, r.Kind())
	}
	return nil
}

// InvFreq returns the RoPE inverse frequencies [HeadDim/2] in float32, scaling applied, computed the way
// llama.cpp does (theta_scale = base^(-2/d) in float32, multiplied up per pair), so angles match the oracle.
func (c *Config) InvFreq() []float32 {
	half := c.HeadDim / 2
	out := make([]float32, half)
	scale := float32(math.Pow(c.RopeTheta, -2.0/float64(c.HeadDim)))
	f := float32(1)
	for i := range half {
		out[i] = f
		f *= scale
	}
	switch c.RopeScaling.Kind() {
	case "linear":
		for i := range out {
			out[i] /= float32(c.RopeScaling.Factor)
		}
	case "llama3":
		r := c.RopeScaling
		oldCtx := float64(r.OriginalMaxPositionEmbeddings)
		lowWavelen := oldCtx / r.LowFreqFactor
		highWavelen := oldCtx / r.HighFreqFactor
		for i, fr := range out {
			freq := float64(fr)
			wavelen := 2 * math.Pi / freq
			switch {
			case wavelen < highWavelen:
			case wavelen > lowWavelen:
				freq /= r.Factor
			default:
				smooth := (oldCtx/wavelen - r.LowFreqFactor) / (r.HighFreqFactor - r.LowFreqFactor)
				freq = (1-smooth)*freq/r.Factor + smooth*freq
			}
			out[i] = float32(freq)
		}
	}
	return out
}
