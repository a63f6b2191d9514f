package tokenizer

import (
	"errors"
	"fmt"
	"github.com/zoomr-go/zoomr/model/gguf"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Load reads a tokenizer from path, which may be
//   - a model directory holding tokenizer.json (and usually tokenizer_config.json),
//   - a tokenizer.json file (tokenizer_config.json is read from the same directory if present),
//   - a GGUF file (its tokenizer.ggml.* metadata; only the header is read).
func Load(path string) (*Tokenizer, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		tj := filepath.Join(path, "tokenizer.json")
		if _, err := os.Stat(tj); err != nil {
			return nil, fmt.Errorf("tokenizer: directory %s has no tokenizer.json: %w", path, fs.ErrNotExist)
		}
		return loadHFFile(tj)
	}
	gguf, err := hasGGUFMagic(path)
	if err != nil {
		return nil, err
	}
	if gguf {
		return loadGGUF(path)
	}
	return loadHFFile(path)
}

func hasGGUFMagic(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return false, nil
		}
		return false, err
	}
	return string(magic[:]) == "GGUF", nil
}

func loadHFFile(path string) (*Tokenizer, error) {
	tj, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cj []byte
	cfgPath := filepath.Join(filepath.Dir(path), "tokenizer_config.json")
	if b, err := os.ReadFile(cfgPath); err == nil {
		cj = b
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	t, err := ParseHF(tj, cj)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func loadGGUF(path string) (*Tokenizer, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidGGUF, err)
	}
	defer f.Close() // token texts are copied out of the mapping by the parser
	t, err := FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// GGUF token types (llama.cpp's llama_token_type).
var ggufTokenAttr = map[int64]attr{
	0: attrUndefined, 1: attrNormal, 2: attrUnknown, 3: attrControl, 4: attrUserDefined, 5: attrUnused, 6: attrByte,
}

// llama.cpp's pre-tokenizer names whose regex and flags this package implements.
var (
	ggufPreLlama3 = map[string]bool{"llama3": true, "llama-v3": true, "llama-bpe": true, "falcon3": true, "falcon-h1": true, "pixtral": true, "midm-2.0": true, "lfm2": true, "jina-v5-nano": true}
	ggufPreQwen2  = map[string]bool{"qwen2": true, "deepseek-r1-qwen": true, "kormo": true, "f2llmv2": true}
	// GPT-2's regex alone (llama.cpp's LLAMA_VOCAB_PRE_TYPE_GPT2, MPT and OLMO).
	ggufPreGPT2 = map[string]bool{"gpt-2": true, "phi-2": true, "jina-es": true, "jina-de": true, "gigachat": true,
		"jina-v2-es": true, "jina-v2-de": true, "a.x-4.0": true, "mellum": true, "modern-bert": true, "exaone4": true,
		"mpt": true, "olmo": true}
	// Every digit a word of its own, then GPT-2's regex (llama.cpp's SMOLLM, STARCODER and kin).
	ggufPreSmolLM = map[string]bool{"smollm": true, "starcoder": true, "refact": true, "command-r": true,
		"codeshell": true, "exaone": true}
)

// FromGGUF builds a tokenizer from a GGUF file's tokenizer.ggml.* metadata, following llama.cpp's
// llama_vocab::load. The tokenizer does not keep f: it may be closed afterwards.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	model, ok := f.String("tokenizer.ggml.model")
	if !ok {
		return nil, fmt.Errorf("%w: no tokenizer.ggml.model key", ErrInvalidGGUF)
	}
	texts := ggufStrings(f, "tokenizer.ggml.tokens")
	if len(texts) == 0 {
		return nil, fmt.Errorf("%w: tokenizer.ggml.tokens is missing or not a string array", ErrInvalidGGUF)
	}
	n := len(texts)
	t := &Tokenizer{bos: -1, eos: -1, eot: -1, unk: -1, tokens: make([]tokenData, n)}
	scores, err := ggufNumbers(f, "tokenizer.ggml.scores", n)
	if err != nil {
		return nil, err
	}
	types, err := ggufNumbers(f, "tokenizer.ggml.token_type", n)
	if err != nil {
		return nil, err
	}
	for i, s := range texts {
		if s == "" {
			s = fmt.Sprintf("[EMPTY_%d]", i) // as llama.cpp
		}
		td := tokenData{text: s, attr: attrNormal}
		if scores != nil {
			td.score = float32(scores[i])
		}
		if types != nil {
			td.attr = ggufTokenAttr[int64(types[i])] // unknown types read as undefined, as llama.cpp
		}
		t.tokens[i] = td
	}
	t.ids = textIndex(t.tokens, true)

	switch model {
	case "llama":
		t.kind = KindSPM
		t.spm = newSPM(t.ids)
		t.bos, t.eos, t.unk = 1, 2, 0
		t.addBOS, t.addSpacePrefix = true, true
	case "gpt2":
		if err := t.initGGUFBPE(f); err != nil {
			return nil, err
		}
		t.bos, t.eos = 11, 11 // llama.cpp's defaults for gpt2 vocabularies, overridden by the keys below
	default:
		return nil, fmt.Errorf("%w: GGUF tokenizer model %q (supported: llama, gpt2)", ErrUnsupportedModel, model)
	}
	if v, ok := f.Bool("tokenizer.ggml.add_space_prefix"); ok {
		t.addSpacePrefix = v && t.kind == KindSPM
	}
	for _, k := range []struct {
		key string
		dst *int
	}{
		{"tokenizer.ggml.bos_token_id", &t.bos}, {"tokenizer.ggml.eos_token_id", &t.eos},
		{"tokenizer.ggml.unknown_token_id", &t.unk}, {"tokenizer.ggml.eot_token_id", &t.eot},
	} {
		if *k.dst >= n {
			*k.dst = -1
		}
		if v, ok := f.Int(k.key); ok && v >= 0 && v < int64(n) {
			*k.dst = int(v)
		}
	}
	if v, ok := f.Bool("tokenizer.ggml.add_bos_token"); ok {
		t.addBOS = v
	}
	if t.bos < 0 {
		t.addBOS = false
	}
	t.finish()
	return t, nil
}

func (t *Tokenizer) initGGUFBPE(f *gguf.File) error {
	pre, _ := f.String("tokenizer.ggml.pre")
	var (
		sp           splitter
		ignoreMerges bool
	)
	switch {
	case ggufPreLlama3[pre]:
		sp, ignoreMerges, t.addBOS = letterSplitter{maxDigits: 3}, true, true
	case ggufPreQwen2[pre]:
		sp = letterSplitter{maxDigits: 1}
	case ggufPreGPT2[pre], ggufPreSmolLM[pre]:
		gpt2, err := newRegexSplitter(patGPT2, true, true)
		if err != nil {
			return err
		}
		sp = gpt2
		if ggufPreSmolLM[pre] {
			digits, err := newRegexSplitter(`\p{N}`, true, true)
			if err != nil {
				return err
			}
			sp = seqSplitter{digits, gpt2}
		}
	default:
		return fmt.Errorf("%w: GGUF pre-tokenizer %q (supported: the llama-bpe, qwen2, gpt-2 and smollm families)", ErrUnsupportedModel, pre)
	}
	mv, ok := f.Array("tokenizer.ggml.merges")
	var strs []string
	if ok {
		strs, ok = mv.Strings()
	}
	if !ok {
		return fmt.Errorf("%w: tokenizer.ggml.merges is missing or not a string array", ErrInvalidGGUF)
	}
	merges := make([][2]string, 0, len(strs))
	for _, s := range strs {
		// llama.cpp splits at the first space after the first byte; a merge without one is ("", "")
		// and never applies, but it still takes its rank (newBPE skips empty sides).
		var mg [2]string
		if len(s) > 1 {
			if k := strings.IndexByte(s[1:], ' '); k >= 0 {
				mg = [2]string{s[:k+1], s[k+2:]}
			}
		}
		merges = append(merges, mg)
	}
	t.kind = KindBPE
	var err error
	t.bpe, err = newBPE(t.tokens, t.ids, merges, sp, ignoreMerges)
	return err
}

// ggufStrings returns a string array's elements (nil if key is absent or of another type).
func ggufStrings(f *gguf.File, key string) []string {
	a, ok := f.Array(key)
	if !ok {
		return nil
	}
	s, _ := a.Strings()
	return s
}

// ggufNumbers returns a numeric array (integers or floats, as float64) of at least n elements, nil
// when the key is absent.
func ggufNumbers(f *gguf.File, key string, n int) ([]float64, error) {
	v, ok := f.Get(key)
	if !ok {
		return nil, nil
	}
	a, ok := v.Array()
	if !ok {
		return nil, fmt.Errorf("%w: %s is a %v, want an array", ErrInvalidGGUF, key, v.Type)
	}
	if fl, ok := a.Floats(); ok {
		if len(fl) < n {
			return nil, fmt.Errorf("%w: %d %s for %d tokens", ErrInvalidGGUF, len(fl), key, n)
		}
		return fl, nil
	}
	ints, ok := a.Ints()
	if !ok || len(ints) < n {
		return nil, fmt.Errorf("%w: %s has %d %v elements for %d tokens", ErrInvalidGGUF, key, a.Len(), a.Elem, n)
	}
	out := make([]float64, len(ints))
	for i, x := range ints {
		out[i] = float64(x)
	}
	return out, nil
}
