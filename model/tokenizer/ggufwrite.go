package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/zoomr-go/zoomr/model/gguf"
)

// Writing a Hugging Face tokenizer as GGUF metadata, as llama.cpp's convert_hf_to_gguf.py does for a
// byte-level BPE vocabulary (_set_vocab_gpt2 with gguf-py's SpecialVocab), so that llama.cpp loads
// the result with the same tokenization as this package gives the tokenizer.json.

// GGUFOptions complete what tokenizer.json and tokenizer_config.json leave out.
type GGUFOptions struct {
	// VocabSize is the model's vocab_size (the embedding's rows): the token list is padded to it with
	// "[PAD<id>]" tokens of type UNUSED. 0 means the tokenizer's own size.
	VocabSize int
	// BOS and EOS are config.json's bos_token_id / eos_token_id, used when tokenizer_config.json does
	// not name them (SpecialVocab falls back to config.json the same way). Negative: none.
	BOS, EOS int
}

// GGUF token types (llama.cpp's llama_token_type).
const (
	ggufTypeNormal      = 1
	ggufTypeUnknown     = 2
	ggufTypeControl     = 3
	ggufTypeUserDefined = 4
	ggufTypeUnused      = 5
	ggufTypeByte        = 6
)

// GGUFMetadataFromHF reads dir's tokenizer.json, tokenizer_config.json and chat template, and
// returns the tokenizer.* metadata llama.cpp needs: tokenizer.ggml.model "gpt2", the pre-tokenizer
// name, tokens, token types, merges, special token ids, add_bos_token, and tokenizer.chat_template.
// Only byte-level BPE vocabularies whose pre-tokenizer llama.cpp knows by name are supported
// (Llama 3, Qwen2/2.5/3, GPT-2, SmolLM); others fail with ErrUnsupportedModel.
func GGUFMetadataFromHF(dir string, opts GGUFOptions) ([]gguf.KV, error) {
	tj, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, err
	}
	cj, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	t, err := ParseHF(tj, cj)
	if err != nil {
		return nil, err
	}
	var f hfFile
	var cfg hfConfig
	if err := json.Unmarshal(tj, &f); err != nil {
		return nil, fmt.Errorf("%w: tokenizer.json: %v", ErrInvalidFile, err)
	}
	if len(cj) > 0 {
		if err := json.Unmarshal(cj, &cfg); err != nil {
			return nil, fmt.Errorf("%w: tokenizer_config.json: %v", ErrInvalidFile, err)
		}
	}
	if t.kind != KindBPE {
		return nil, fmt.Errorf("%w: GGUF export of a %v tokenizer (only byte-level BPE)", ErrUnsupportedModel, t.kind)
	}
	pre, err := ggufPreName(f.PreTokenizer)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(f.Model.VocabRaw, &f.Model.Vocab); err != nil {
		return nil, fmt.Errorf("%w: model vocab: %v", ErrInvalidFile, err)
	}
	tokens, err := hfVocabulary(&f, &cfg) // types as the file gives them, before llama.cpp's EOG marking
	if err != nil {
		return nil, err
	}
	texts, types, err := ggufTokenList(tokens, opts.VocabSize)
	if err != nil {
		return nil, err
	}
	merges, err := parseMerges(f.Model.Merges)
	if err != nil {
		return nil, err
	}
	mergeStrs := make([]string, len(merges))
	for i, m := range merges {
		mergeStrs[i] = m[0] + " " + m[1]
	}
	kvs := []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: gguf.String("gpt2")},
		{Key: "tokenizer.ggml.pre", Value: gguf.String(pre)},
		{Key: "tokenizer.ggml.tokens", Value: gguf.Strings(texts)},
		{Key: "tokenizer.ggml.token_type", Value: gguf.Int32s(types)},
		{Key: "tokenizer.ggml.merges", Value: gguf.Strings(mergeStrs)},
	}
	kvs = append(kvs, ggufSpecialIDs(t, &cfg, cj, opts, len(texts))...)
	tmpl, err := chatTemplate(dir, cj)
	if err != nil {
		return nil, err
	}
	if tmpl != "" {
		kvs = append(kvs, gguf.KV{Key: "tokenizer.chat_template", Value: gguf.String(tmpl)})
	}
	return kvs, nil
}

// ggufTokenList lays out the token texts and types, padded to vocabSize.
func ggufTokenList(tokens []tokenData, vocabSize int) ([]string, []int32, error) {
	if vocabSize == 0 {
		vocabSize = len(tokens)
	}
	if vocabSize < len(tokens) {
		return nil, nil, fmt.Errorf("%w: vocab_size %d is smaller than the tokenizer's %d tokens", ErrInvalidArgument, vocabSize, len(tokens))
	}
	texts := make([]string, vocabSize)
	types := make([]int32, vocabSize)
	for id := range texts {
		if id >= len(tokens) {
			texts[id], types[id] = fmt.Sprintf("[PAD%d]", id), ggufTypeUnused
			continue
		}
		td := tokens[id]
		texts[id], types[id] = td.text, ggufTokenType(td.attr)
		if types[id] == ggufTypeUserDefined {
			texts[id] = strings.ReplaceAll(td.text, "▁", " ") // gguf-py pre-normalizes user-defined spaces
		}
	}
	return texts, types, nil
}

func ggufTokenType(a attr) int32 {
	switch {
	case a&attrControl != 0:
		return ggufTypeControl
	case a&attrUserDefined != 0:
		return ggufTypeUserDefined
	case a&attrUnused != 0:
		return ggufTypeUnused
	case a&attrUnknown != 0:
		return ggufTypeUnknown
	case a&attrByte != 0:
		return ggufTypeByte
	}
	return ggufTypeNormal
}

// ggufPreName names the pre-tokenizer as llama.cpp does (its converter identifies it by hashing
// the tokenization of a test text; here the pre_tokenizer's structure identifies it).
func ggufPreName(raw json.RawMessage) (string, error) {
	var steps []string
	var walk func(raw json.RawMessage) error
	walk = func(raw json.RawMessage) error {
		var h hfPre
		if isNull(raw) {
			return nil
		}
		if err := json.Unmarshal(raw, &h); err != nil {
			return fmt.Errorf("%w: pre_tokenizer: %v", ErrInvalidFile, err)
		}
		switch h.Type {
		case "Sequence":
			for _, sub := range h.Pretokenizers {
				if err := walk(sub); err != nil {
					return err
				}
			}
		case "Split":
			if h.Pattern == nil || h.Pattern.Regex == nil {
				steps = append(steps, "split?")
				break
			}
			steps = append(steps, "split:"+h.Behavior+":"+*h.Pattern.Regex)
		case "ByteLevel":
			s := "bytelevel"
			if h.UseRegex == nil || *h.UseRegex {
				s += "+regex"
			}
			if h.AddPrefixSpace {
				s += "+prefix"
			}
			steps = append(steps, s)
		case "Digits":
			steps = append(steps, fmt.Sprintf("digits:%v", h.IndividualDigits))
		default:
			steps = append(steps, h.Type)
		}
		return nil
	}
	if err := walk(raw); err != nil {
		return "", err
	}
	sig := strings.Join(steps, " | ")
	known := map[string]string{
		"split:Isolated:" + patLlama3HF + " | bytelevel": "llama-bpe",
		"split:Isolated:" + patQwen2HF + " | bytelevel":  "qwen2",
		"bytelevel+regex":               "gpt-2",
		"digits:true | bytelevel+regex": "smollm",
	}
	if name, ok := known[sig]; ok {
		return name, nil
	}
	return "", fmt.Errorf("%w: no llama.cpp pre-tokenizer is known for %s (supported: Llama 3, Qwen2, GPT-2, SmolLM)",
		ErrUnsupportedModel, sig)
}

// ggufSpecialIDs writes bos/eos/unknown/padding ids and add_bos_token.
func ggufSpecialIDs(t *Tokenizer, cfg *hfConfig, cj []byte, opts GGUFOptions, n int) []gguf.KV {
	var kvs []gguf.KV
	add := func(key string, id int) {
		if id >= 0 && id < n {
			kvs = append(kvs, gguf.KV{Key: key, Value: gguf.Uint32(uint32(id))})
		}
	}
	bos, eos := t.bos, t.eos
	if bos < 0 {
		bos = opts.BOS
	}
	if eos < 0 {
		eos = opts.EOS
	}
	add("tokenizer.ggml.bos_token_id", bos)
	add("tokenizer.ggml.eos_token_id", eos)
	if cfg.UNK.text != "" {
		add("tokenizer.ggml.unknown_token_id", t.unk)
	}
	var pad struct {
		Pad hfTokenRef `json:"pad_token"`
	}
	if len(cj) > 0 && json.Unmarshal(cj, &pad) == nil && pad.Pad.text != "" {
		if id, ok := t.ids[pad.Pad.text]; ok {
			add("tokenizer.ggml.padding_token_id", id)
		}
	}
	kvs = append(kvs, gguf.KV{Key: "tokenizer.ggml.add_bos_token", Value: gguf.Bool(t.addBOS)})
	return kvs
}

// chatTemplate returns tokenizer_config.json's chat_template (a string, or the "default" entry of
// a list of named templates), else the chat_template.jinja file beside it, else "".
func chatTemplate(dir string, cj []byte) (string, error) {
	if len(cj) > 0 {
		var c struct {
			Template json.RawMessage `json:"chat_template"`
		}
		if err := json.Unmarshal(cj, &c); err != nil {
			return "", fmt.Errorf("%w: tokenizer_config.json: %v", ErrInvalidFile, err)
		}
		var s string
		if json.Unmarshal(c.Template, &s) == nil && s != "" {
			return s, nil
		}
		var named []struct {
			Name     string `json:"name"`
			Template string `json:"template"`
		}
		if json.Unmarshal(c.Template, &named) == nil {
			for _, nt := range named {
				if nt.Name == "default" {
					return nt.Template, nil
				}
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "chat_template.jinja"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return string(b), err
}
