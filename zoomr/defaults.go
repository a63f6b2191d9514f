package zoomr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"

	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/chat"
	"github.com/zoomr-go/zoomr/model/gguf"
	"github.com/zoomr-go/zoomr/model/tokenizer"
)

// SettingsFile names the file in a model directory that holds the model's own ZoomR settings: a
// JSON object of Config's fields by their json names, for what the model was trained or tuned with,
// e.g. {"window": 128, "protocol": {"answer_marker": "<|answer|>"}, "reselect_at": ["S0"]}.
const SettingsFile = "zoomr.json"

// Transformers' sampling defaults when generation_config.json samples without saying how.
const (
	hfDefaultTemperature = 1.0
	hfDefaultTopK        = 50
)

// ModelDefaults reads what a model's files say about decoding it, as a Config whose other fields are
// zero (Or applies it under a caller's Config). path is what model.Load takes:
//   - a Hugging Face directory: generation_config.json's eos_token_id gives EOSTokens; with do_sample,
//     its temperature, top_k and top_p (transformers' 1.0 and 50 when absent) give the sampling,
//     without it decoding is greedy; then SettingsFile (zoomr.json), whose fields win;
//   - a GGUF file, or a directory holding one: general.sampling.temp, top_k and top_p when present
//     (llama.cpp's converter writes them from generation_config.json; the EOS ids come with the model,
//     model.Config.EOSTokenIDs); then a directory's SettingsFile.
//
// Absent files are skipped; a malformed one gives an error wrapping ErrConfig, as does a SettingsFile
// field that Config does not have.
func ModelDefaults(path string) (Config, error) {
	info, err := os.Stat(path)
	if err != nil {
		return Config{}, err
	}
	var def Config
	ggufPath, err := findGGUF(path)
	if err != nil {
		return Config{}, err
	}
	if ggufPath != "" {
		if def, err = ggufDefaults(ggufPath); err != nil {
			return Config{}, err
		}
	} else if def, err = generationConfig(filepath.Join(path, "generation_config.json")); err != nil {
		return Config{}, err
	}
	if !info.IsDir() {
		return def, nil
	}
	own, err := readSettings(filepath.Join(path, SettingsFile))
	if err != nil {
		return Config{}, err
	}
	return own.Or(def), nil
}

// Or returns c with every zero field taken from def (each field as cmp.Or would): the caller's
// settings first, a model's defaults (ModelDefaults) for the rest. A field set to its zero value
// cannot override def: to decode a sampling model greedily, pass WithSampling(0, 0, 0, 0) to each
// generation.
func (c Config) Or(def Config) Config {
	// Every field, by reflection, so that a field added to Config needs no code here.
	cv, dv := reflect.ValueOf(&c).Elem(), reflect.ValueOf(def)
	for i := range cv.NumField() {
		if f := cv.Field(i); f.IsZero() {
			f.Set(dv.Field(i))
		}
	}
	return c
}

// readSettings reads a SettingsFile (the zero Config when absent).
func readSettings(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, nil
	}
	if err != nil {
		return Config{}, err
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%w: %s: data after the JSON object", ErrConfig, path)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// WriteSettings writes cfg's non-zero JSON fields as dir's SettingsFile (what a trainer records
// beside the weights it saves).
func WriteSettings(dir string, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // markers such as "<|answer|>" stay readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(cfg); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, SettingsFile), b.Bytes(), 0o644)
}

// generationConfig reads the decoding defaults of a Hugging Face generation_config.json (none when
// absent).
func generationConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, nil
	}
	if err != nil {
		return Config{}, err
	}
	var raw struct {
		EOS         json.RawMessage `json:"eos_token_id"`
		DoSample    bool            `json:"do_sample"`
		Temperature *float64        `json:"temperature"`
		TopK        *int            `json:"top_k"`
		TopP        *float64        `json:"top_p"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Config{}, fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	var c Config
	if c.EOSTokens, err = idList(raw.EOS); err != nil {
		return Config{}, fmt.Errorf("%w: %s: eos_token_id: %w", ErrConfig, path, err)
	}
	if raw.DoSample {
		c.Temperature, c.TopK = hfDefaultTemperature, hfDefaultTopK
		if raw.Temperature != nil {
			c.Temperature = *raw.Temperature
		}
		if raw.TopK != nil {
			c.TopK = *raw.TopK
		}
		if raw.TopP != nil {
			c.TopP = *raw.TopP
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// idList reads a token id or a list of them (null or absent: none).
func idList(raw json.RawMessage) ([]int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one int
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int{one}, nil
	}
	var many []int
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("neither an id nor a list of ids: %s", raw)
	}
	return many, nil
}

// ggufDefaults reads a GGUF's sampling keys (llama.cpp's general.sampling.*).
func ggufDefaults(path string) (Config, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	defer f.Close()
	var c Config
	if v, ok := f.Float("general.sampling.temp"); ok {
		c.Temperature = v
	}
	if v, ok := f.Int("general.sampling.top_k"); ok {
		c.TopK = int(v)
	}
	if v, ok := f.Float("general.sampling.top_p"); ok {
		c.TopP = v
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// findGGUF returns the GGUF file that path names: path itself when it is a file, or a directory's only
// *.gguf when it has no config.json; "" for a Hugging Face directory. The same rule as model.Load's.
func findGGUF(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !info.IsDir() {
		return path, nil
	}
	if _, err := os.Stat(filepath.Join(path, "config.json")); err == nil {
		return "", nil
	}
	files, err := filepath.Glob(filepath.Join(path, "*.gguf"))
	if err != nil || len(files) != 1 {
		return "", err
	}
	return files[0], nil
}

// Load reads the model at path for decoding: its weights (model.Load with opts: a Hugging Face
// directory, or a GGUF file or a directory holding one), its tokenizer (LoadTokenizer),
// its chat template when it has one (LoadChatTemplate, unless cfg has one) and its defaults
// (ModelDefaults), which fill the fields of cfg left zero. The Decoder owns the model: Close releases it.
func Load(ctx context.Context, path string, cfg Config, opts ...model.Option) (*Decoder, error) {
	def, err := ModelDefaults(path)
	if err != nil {
		return nil, err
	}
	cfg = cfg.Or(def)
	if cfg.ChatTemplate == nil {
		tpl, err := LoadChatTemplate(path, "")
		if err != nil && !errors.Is(err, chat.ErrNoTemplate) {
			return nil, err
		}
		cfg.ChatTemplate = tpl
	}
	tok, err := LoadTokenizer(path)
	if err != nil {
		return nil, err
	}
	m, err := model.Load(ctx, path, opts...)
	if err != nil {
		return nil, err
	}
	d, err := New(m, tok, cfg)
	if err != nil {
		return nil, errors.Join(err, m.Close())
	}
	d.owned = true
	return d, nil
}

// LoadTokenizer reads the tokenizer of the model at path (what model.Load takes): a directory's
// tokenizer.json, or the GGUF's vocabulary. A directory without one gives nil and no error (prompts
// are then token ids).
func LoadTokenizer(path string) (*tokenizer.Tokenizer, error) {
	ggufPath, err := findGGUF(path)
	if err != nil {
		return nil, err
	}
	if ggufPath != "" {
		return tokenizer.Load(ggufPath)
	}
	tok, err := tokenizer.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return tok, err
}

// Close releases the model if the Decoder loaded it (Load); a Decoder from New leaves its model to
// the caller. Generations must have ended.
func (d *Decoder) Close() error {
	if !d.owned {
		return nil
	}
	return d.model.Close()
}
