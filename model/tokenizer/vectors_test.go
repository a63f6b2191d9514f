package tokenizer

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestLlamaCppVectors runs llama.cpp's own tokenizer test vectors (tests/test-tokenizer-0, as
// shipped in the oracle's vocab folder): add_special=false, parse_special=false. Every case must
// match.
func TestLlamaCppVectors(t *testing.T) {
	cases := []struct {
		src     vocabSource
		vectors string
	}{
		{srcQwen3JSON, "ggml-vocab-qwen2.gguf"},
		{srcLlama3JSON, "ggml-vocab-llama-bpe.gguf"},
		{srcSPMGGUF, "ggml-vocab-llama-spm.gguf"},
		{srcQwen2GGUF, "ggml-vocab-qwen2.gguf"},
		{srcBPEGGUF, "ggml-vocab-llama-bpe.gguf"},
	}
	for _, c := range cases {
		t.Run(c.src.name+"/"+filepath.Base(c.src.path), func(t *testing.T) {
			tok := loadVocab(t, c.src)
			base := filepath.Join(testdataDir, "vectors", c.vectors)
			inputs, want := readInp(t, base+".inp"), readOut(t, base+".out")
			if len(inputs) != len(want) {
				t.Fatalf("%d inputs, %d expected lines", len(inputs), len(want))
			}
			pass := 0
			for i, in := range inputs {
				got, err := tok.EncodeWith(in, Options{})
				if err != nil {
					t.Errorf("case %d %q: %v", i, in, err)
					continue
				}
				if !slices.Equal(got, want[i]) {
					t.Errorf("case %d %q:\n got %v\nwant %v", i, in, got, want[i])
					continue
				}
				pass++
			}
			t.Logf("%d/%d cases match", pass, len(inputs))
		})
	}
}
