package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DefaultVariant is the template transformers picks from a list of named templates when none is asked for.
const DefaultVariant = "default"

// FromTokenizerConfig loads the chat template of a tokenizer_config.json (or chat_template.json) and its
// bos_token/eos_token strings. chat_template is either a string or a list of {"name", "template"}
// variants; name picks a variant ("" means "default", as in transformers; "tool_use" is the usual other).
// bos_token and eos_token may be strings, {"content": …} objects or null.
func FromTokenizerConfig(data []byte, name string) (*Template, error) {
	cfg, err := parseTokenizerConfig(data)
	if err != nil {
		return nil, err
	}
	src, err := pickVariant(cfg.chatTemplate, name)
	if err != nil {
		return nil, err
	}
	t, err := Parse(src)
	if err != nil {
		return nil, err
	}
	t.BOSToken, t.EOSToken = cfg.bos, cfg.eos
	return t, nil
}

// LoadDir loads a Hugging Face model folder's chat template as transformers does: chat_template.jinja
// (the unnamed template) if present, else chat_template.json, else tokenizer_config.json's chat_template.
// bos/eos strings come from tokenizer_config.json when it exists.
func LoadDir(dir, name string) (*Template, error) {
	var cfg tokenizerConfig
	raw, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	haveCfg := err == nil
	if haveCfg {
		if cfg, err = parseTokenizerConfig(raw); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var src string
	if jinjaSrc, err := os.ReadFile(filepath.Join(dir, "chat_template.jinja")); err == nil && (name == "" || name == DefaultVariant) {
		src = string(jinjaSrc)
	} else if tplJSON, err := os.ReadFile(filepath.Join(dir, "chat_template.json")); err == nil {
		tc, err := parseTokenizerConfig(tplJSON)
		if err != nil {
			return nil, err
		}
		if src, err = pickVariant(tc.chatTemplate, name); err != nil {
			return nil, err
		}
	} else if haveCfg {
		if src, err = pickVariant(cfg.chatTemplate, name); err != nil {
			return nil, err
		}
	} else {
		return nil, fmt.Errorf("%w in %s (no chat_template.jinja, chat_template.json or tokenizer_config.json)", ErrNoTemplate, dir)
	}
	t, err := Parse(src)
	if err != nil {
		return nil, err
	}
	t.BOSToken, t.EOSToken = cfg.bos, cfg.eos
	return t, nil
}

// tokenizerConfig is what the loader reads from tokenizer_config.json / chat_template.json.
type tokenizerConfig struct {
	chatTemplate json.RawMessage
	bos, eos     string
}

func parseTokenizerConfig(data []byte) (tokenizerConfig, error) {
	var raw struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
		BOSToken     json.RawMessage `json:"bos_token"`
		EOSToken     json.RawMessage `json:"eos_token"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return tokenizerConfig{}, fmt.Errorf("%w: tokenizer config is not a JSON object: %w", ErrNoTemplate, err)
	}
	cfg := tokenizerConfig{chatTemplate: raw.ChatTemplate}
	var err error
	if cfg.bos, err = tokenString(raw.BOSToken); err != nil {
		return cfg, fmt.Errorf("chat: bos_token: %w", err)
	}
	if cfg.eos, err = tokenString(raw.EOSToken); err != nil {
		return cfg, fmt.Errorf("chat: eos_token: %w", err)
	}
	return cfg, nil
}

// pickVariant returns the template source for name from a chat_template field.
func pickVariant(field json.RawMessage, name string) (string, error) {
	if len(field) == 0 || string(field) == "null" {
		return "", fmt.Errorf("%w: the config has no chat_template", ErrNoTemplate)
	}
	var single string
	if err := json.Unmarshal(field, &single); err == nil {
		if name != "" && name != DefaultVariant {
			return "", fmt.Errorf("%w: the config has a single template, not %q", ErrNoTemplate, name)
		}
		return single, nil
	}
	var variants []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(field, &variants); err != nil {
		return "", fmt.Errorf("%w: chat_template is neither a string nor a list of {name, template}: %w", ErrNoTemplate, err)
	}
	if name == "" {
		name = DefaultVariant
	}
	names := make([]string, 0, len(variants))
	for _, v := range variants {
		if v.Name == name {
			return v.Template, nil
		}
		names = append(names, v.Name)
	}
	sort.Strings(names)
	return "", fmt.Errorf("%w: no template named %q (the config has %s)", ErrNoTemplate, name, strings.Join(names, ", "))
}

// tokenString reads a special token that may be a string, an AddedToken object {"content": …} or null.
func tokenString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Content == nil {
		return "", fmt.Errorf("neither a string nor an object with content: %s", raw)
	}
	return *obj.Content, nil
}

// GGUFMetadata is the part of a GGUF metadata reader the loader needs (model/tokenizer's reader has it).
type GGUFMetadata interface {
	String(key string) (string, bool)
}

// FromGGUFMetadata loads the chat template a GGUF file carries: tokenizer.chat_template, or the named
// variant tokenizer.chat_template.<name> (llama.cpp's convert script writes transformers' named templates
// there). The GGUF stores token ids, not strings: set BOSToken and EOSToken from the vocabulary.
func FromGGUFMetadata(md GGUFMetadata, name string) (*Template, error) {
	key := "tokenizer.chat_template"
	if name != "" && name != DefaultVariant {
		key += "." + name
	}
	src, ok := md.String(key)
	if !ok {
		return nil, fmt.Errorf("%w: GGUF metadata has no %s", ErrNoTemplate, key)
	}
	return Parse(src)
}
