package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
)

// Word-level vocabularies (Hugging Face "WordLevel" model) map each pre-tokenizer word to an id,
// or to the unknown token. The project's tiny trained model uses one, written by WriteWordLevel.

type wordLevelModel struct {
	pre splitter
	unk int            // -1: unknown words are an error
	ids map[string]int // the tokenizer's map (shared)
}

func (m *wordLevelModel) encode(text string, st *scratch, out []int) ([]int, error) {
	var err error
	m.pre.split(text, st, func(a, b int) {
		if err != nil {
			return
		}
		word := text[a:b]
		id, ok := m.ids[word]
		if !ok {
			if m.unk < 0 {
				err = fmt.Errorf("%w: word %q is not in the vocabulary, which has no unknown token", ErrUnknownToken, word)
				return
			}
			id = m.unk
		}
		out = append(out, id)
	})
	return out, err
}

// WordLevelSpec describes a word-level tokenizer. Ids are assigned in order: Specials first
// (0..len(Specials)-1), then Words.
type WordLevelSpec struct {
	// Specials are control tokens, matched in text before splitting into words (with ParseSpecial)
	// and kept whole: e.g. "<|endoftext|>", "<|begin_of_summary|>", "<|end_of_summary|>".
	Specials []string
	// Words are the ordinary vocabulary entries. They must not contain whitespace.
	Words []string
	// Unknown, if set, is the token unknown words map to; it must be one of Specials.
	// When empty, encoding a word outside the vocabulary fails with ErrUnknownToken.
	Unknown string
	// BOS and EOS, if set, must be among Specials. AddBOS makes Encode prepend BOS.
	BOS, EOS string
	AddBOS   bool
	// SplitPunctuation selects Hugging Face's "Whitespace" pre-tokenizer (words are \w+ or runs of
	// punctuation: "end." is "end", ".") instead of "WhitespaceSplit" (words are runs of non-space).
	SplitPunctuation bool
}

// validate checks the spec and returns the vocabulary in id order.
func (s WordLevelSpec) validate() ([]string, error) {
	all := append(append([]string(nil), s.Specials...), s.Words...)
	seen := make(map[string]bool, len(all))
	for i, w := range all {
		if w == "" {
			return nil, fmt.Errorf("%w: entry %d of the word list is empty", ErrInvalidArgument, i)
		}
		if seen[w] {
			return nil, fmt.Errorf("%w: %q appears twice in the word list", ErrInvalidArgument, w)
		}
		seen[w] = true
		if i >= len(s.Specials) && strings.IndexFunc(w, unicode.IsSpace) >= 0 {
			return nil, fmt.Errorf("%w: word %q contains whitespace", ErrInvalidArgument, w)
		}
	}
	isSpecial := func(x string) bool {
		for _, sp := range s.Specials {
			if sp == x {
				return true
			}
		}
		return false
	}
	for _, x := range []struct{ name, tok string }{{"Unknown", s.Unknown}, {"BOS", s.BOS}, {"EOS", s.EOS}} {
		if x.tok != "" && !isSpecial(x.tok) {
			return nil, fmt.Errorf("%w: %s token %q is not one of Specials", ErrInvalidArgument, x.name, x.tok)
		}
	}
	if s.AddBOS && s.BOS == "" {
		return nil, fmt.Errorf("%w: AddBOS without a BOS token", ErrInvalidArgument)
	}
	return all, nil
}

// MarshalWordLevel returns the tokenizer.json and tokenizer_config.json of spec, in the Hugging Face
// format (loadable by the transformers / tokenizers libraries and by Load).
func MarshalWordLevel(spec WordLevelSpec) (tokenizerJSON, configJSON []byte, err error) {
	all, err := spec.validate()
	if err != nil {
		return nil, nil, err
	}
	type addedToken struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	}
	added := make([]addedToken, len(spec.Specials))
	for i, s := range spec.Specials {
		added[i] = addedToken{ID: i, Content: s, Special: true}
	}
	vocab := make(orderedVocab, len(all))
	for i, w := range all {
		vocab[i] = w
	}
	pre := "WhitespaceSplit"
	if spec.SplitPunctuation {
		pre = "Whitespace"
	}
	unk := spec.Unknown
	if unk == "" {
		// Hugging Face defaults a missing unk_token to "<unk>"; name one that is not in the
		// vocabulary so that unknown words fail there too.
		unk = "<unk>"
		for i := 0; slices.Contains(all, unk); i++ {
			unk = fmt.Sprintf("<unk-absent-%d>", i)
		}
	}
	doc := map[string]any{
		"version":        "1.0",
		"truncation":     nil,
		"padding":        nil,
		"added_tokens":   added,
		"normalizer":     nil,
		"pre_tokenizer":  map[string]any{"type": pre},
		"post_processor": nil,
		"decoder":        nil,
		"model":          map[string]any{"type": "WordLevel", "vocab": vocab, "unk_token": unk},
	}
	if tokenizerJSON, err = json.MarshalIndent(doc, "", "  "); err != nil {
		return nil, nil, err
	}
	cfg := map[string]any{
		"tokenizer_class": "PreTrainedTokenizerFast",
		"add_bos_token":   spec.AddBOS,
		"add_eos_token":   false,
		"bos_token":       nullIfEmpty(spec.BOS),
		"eos_token":       nullIfEmpty(spec.EOS),
		"unk_token":       nullIfEmpty(spec.Unknown),
	}
	if configJSON, err = json.MarshalIndent(cfg, "", "  "); err != nil {
		return nil, nil, err
	}
	return tokenizerJSON, configJSON, nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// orderedVocab marshals as a JSON object {"word": id, ...} in id order (readable diffs).
type orderedVocab []string

func (v orderedVocab) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, w := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(w)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%s:%d", k, i)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// WriteWordLevel writes tokenizer.json and tokenizer_config.json for spec into dir (created if
// needed).
func WriteWordLevel(dir string, spec WordLevelSpec) error {
	tj, cj, err := MarshalWordLevel(spec)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), append(tj, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), append(cj, '\n'), 0o644)
}

// NewWordLevel builds a word-level tokenizer in memory (the same one WriteWordLevel + Load give).
func NewWordLevel(spec WordLevelSpec) (*Tokenizer, error) {
	tj, cj, err := MarshalWordLevel(spec)
	if err != nil {
		return nil, err
	}
	return ParseHF(tj, cj)
}
