package model

import (
	"errors"
	"testing"
)

// FuzzParseConfig: any bytes either parse to a config that validates and lists its tensors, or give
// ErrInvalidConfig / ErrUnsupportedArchitecture; never a panic.
func FuzzParseConfig(f *testing.F) {
	spec := RandomSpec{Arch: "qwen3", Seed: 1}
	for _, seed := range []string{
		`{"model_type":"llama","vocab_size":32,"hidden_size":16,"intermediate_size":32,"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":1}`,
		`{"architectures":["Qwen2ForCausalLM"],"vocab_size":32,"hidden_size":16,"intermediate_size":32,"num_hidden_layers":1,"num_attention_heads":2,"eos_token_id":[1,2]}`,
		`{"model_type":"llama","vocab_size":8,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":1,"rope_scaling":{"rope_type":"llama3","factor":8,"low_freq_factor":1,"high_freq_factor":4,"original_max_position_embeddings":64}}`,
		`{"model_type":"mistral","rope_parameters":{"rope_type":"linear","factor":2,"rope_theta":1e6},"vocab_size":8,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":1}`,
		`{"model_type":"gpt2"}`, `[]`, `{`, `{"model_type":"llama","hidden_size":-1}`,
	} {
		f.Add([]byte(seed))
	}
	if data, err := jsonOf(spec.Config()); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) && !errors.Is(err, ErrUnsupportedArchitecture) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config does not validate: %v", err)
		}
		if len(c.InvFreq()) != c.HeadDim/2 {
			t.Fatal("InvFreq length")
		}
		if c.Layers < 1000 {
			_ = c.ExpectedTensors()
		}
	})
}
