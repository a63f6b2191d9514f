package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dlclark/regexp2"
)

// Loading Hugging Face tokenizer.json (+ tokenizer_config.json).
//
// Token types follow llama.cpp's converter (convert_hf_to_gguf.py), so that this package and
// llama.cpp agree on which added tokens need ParseSpecial: an added token is CONTROL when it is
// marked special or looks special ("<|...|>"), USER_DEFINED otherwise; model vocabulary entries are
// NORMAL. Normalizers are not applied: llama.cpp ignores Qwen's NFC normalizer too, and exactness
// to llama.cpp is this package's contract (feed NFC text if you need Hugging Face's behaviour on
// decomposed characters).

type hfAddedToken struct {
	ID      int    `json:"id"`
	Content string `json:"content"`
	Special bool   `json:"special"`
	LStrip  bool   `json:"lstrip"`
	RStrip  bool   `json:"rstrip"`
}

type hfFile struct {
	AddedTokens   []hfAddedToken  `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         struct {
		Type                    string          `json:"type"`
		VocabRaw                json.RawMessage `json:"vocab"`
		Vocab                   map[string]int  `json:"-"`
		Merges                  json.RawMessage `json:"merges"`
		UnkToken                *string         `json:"unk_token"`
		ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
		Dropout                 *float64        `json:"dropout"`
		IgnoreMerges            bool            `json:"ignore_merges"`
	} `json:"model"`
}

// hfTokenRef is a token in tokenizer_config.json: a string, {"content": ...}, or null.
type hfTokenRef struct{ text string }

func (r *hfTokenRef) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if err := json.Unmarshal(b, &r.text); err == nil {
		return nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	r.text = obj.Content
	return nil
}

type hfConfig struct {
	AddBOS             *bool                   `json:"add_bos_token"`
	BOS                hfTokenRef              `json:"bos_token"`
	EOS                hfTokenRef              `json:"eos_token"`
	UNK                hfTokenRef              `json:"unk_token"`
	AddedTokensDecoder map[string]hfAddedToken `json:"added_tokens_decoder"`
}

// ParseHF builds a tokenizer from the contents of tokenizer.json and (optionally, may be nil)
// tokenizer_config.json.
func ParseHF(tokenizerJSON, configJSON []byte) (*Tokenizer, error) {
	var f hfFile
	if err := json.Unmarshal(tokenizerJSON, &f); err != nil {
		return nil, fmt.Errorf("%w: tokenizer.json: %v", ErrInvalidFile, err)
	}
	var cfg hfConfig
	if len(configJSON) > 0 {
		if err := json.Unmarshal(configJSON, &cfg); err != nil {
			return nil, fmt.Errorf("%w: tokenizer_config.json: %v", ErrInvalidFile, err)
		}
	}
	switch f.Model.Type {
	case "BPE", "WordLevel", "":
	default:
		return nil, fmt.Errorf("%w: model type %q (supported: BPE with a ByteLevel pre-tokenizer, WordLevel)", ErrUnsupportedModel, f.Model.Type)
	}
	if !isNull(f.Model.VocabRaw) {
		if err := json.Unmarshal(f.Model.VocabRaw, &f.Model.Vocab); err != nil {
			return nil, fmt.Errorf("%w: model vocab: %v", ErrInvalidFile, err)
		}
	}
	if err := checkNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	pre, err := parsePreTokenizer(f.PreTokenizer)
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{bos: -1, eos: -1, eot: -1, unk: -1}
	if t.tokens, err = hfVocabulary(&f, &cfg); err != nil {
		return nil, err
	}
	t.ids = textIndex(t.tokens, false)

	switch f.Model.Type {
	case "BPE", "":
		if err := t.initHFBPE(&f, pre); err != nil {
			return nil, err
		}
	case "WordLevel":
		if pre.byteLevel {
			return nil, fmt.Errorf("%w: WordLevel model with a ByteLevel pre-tokenizer", ErrUnsupportedModel)
		}
		t.kind = KindWordLevel
		sp := pre.splitter()
		if sp == nil {
			sp = whitespaceSplitter{}
		}
		t.wl = &wordLevelModel{pre: sp, unk: -1, ids: t.ids}
		if f.Model.UnkToken != nil {
			if id, ok := t.ids[*f.Model.UnkToken]; ok {
				t.wl.unk, t.unk = id, id
			}
		}
	default:
		return nil, fmt.Errorf("%w: model type %q (supported: BPE with a ByteLevel pre-tokenizer, WordLevel)", ErrUnsupportedModel, f.Model.Type)
	}
	t.finish()
	if err := t.hfSpecialIDs(&f, &cfg, pre); err != nil {
		return nil, err
	}
	return t, nil
}

func checkNormalizer(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var n struct {
		Type        string            `json:"type"`
		Normalizers []json.RawMessage `json:"normalizers"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return fmt.Errorf("%w: normalizer: %v", ErrInvalidFile, err)
	}
	switch {
	case n.Type == "NFC": // ignored, as llama.cpp does (see the file comment)
		return nil
	case n.Type == "Sequence" && len(n.Normalizers) == 0:
		return nil
	}
	return fmt.Errorf("%w: normalizer %s", ErrUnsupportedModel, string(raw))
}

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

// hfVocabulary lays out the id -> token table: model vocabulary, then added tokens on top.
func hfVocabulary(f *hfFile, cfg *hfConfig) ([]tokenData, error) {
	added := append([]hfAddedToken(nil), f.AddedTokens...)
	seenAdded := map[int]bool{}
	for _, a := range added {
		seenAdded[a.ID] = true
	}
	for key, a := range cfg.AddedTokensDecoder { // transformers merges these in too
		var id int
		if _, err := fmt.Sscan(key, &id); err != nil {
			return nil, fmt.Errorf("%w: added_tokens_decoder key %q is not an id", ErrInvalidFile, key)
		}
		if !seenAdded[id] {
			a.ID = id
			added = append(added, a)
			seenAdded[id] = true
		}
	}
	n := 0
	for text, id := range f.Model.Vocab {
		if id < 0 {
			return nil, fmt.Errorf("%w: vocabulary id %d for %q", ErrInvalidFile, id, text)
		}
		n = max(n, id+1)
	}
	for _, a := range added {
		if a.ID < 0 || a.Content == "" {
			return nil, fmt.Errorf("%w: added token %d %q", ErrInvalidFile, a.ID, a.Content)
		}
		n = max(n, a.ID+1)
	}
	if n > 1<<24 {
		return nil, fmt.Errorf("%w: vocabulary of %d ids", ErrInvalidFile, n)
	}
	tokens := make([]tokenData, n)
	for text, id := range f.Model.Vocab {
		if tokens[id].attr != attrUndefined {
			return nil, fmt.Errorf("%w: id %d used by both %q and %q", ErrInvalidFile, id, tokens[id].text, text)
		}
		tokens[id] = tokenData{text: text, attr: attrNormal}
	}
	for _, a := range added {
		at := attrUserDefined
		if a.Special || looksSpecial(a.Content) {
			at = attrControl
		}
		if a.LStrip {
			at |= attrLStrip
		}
		if a.RStrip {
			at |= attrRStrip
		}
		tokens[a.ID] = tokenData{text: a.Content, attr: at}
	}
	for id := range tokens {
		if tokens[id].attr == attrUndefined { // a hole in the id space, as llama.cpp's converter pads it
			tokens[id] = tokenData{text: fmt.Sprintf("[PAD%d]", id), attr: attrUnused}
		}
	}
	return tokens, nil
}

// looksSpecial is convert_hf_to_gguf.py's does_token_look_special.
func looksSpecial(s string) bool {
	switch s {
	case "<pad>", "<mask>", "<2mass>", "[@BOS@]":
		return true
	}
	return (strings.HasPrefix(s, "<|") && strings.HasSuffix(s, "|>")) ||
		(strings.HasPrefix(s, "<｜") && strings.HasSuffix(s, "｜>")) ||
		(strings.HasPrefix(s, "<unused") && strings.HasSuffix(s, ">"))
}

// textIndex maps token texts to ids; on duplicate texts the later id wins, as in llama.cpp.
// Unused tokens (placeholders) are left out unless includeUnused (GGUF files list them as real
// entries, and llama.cpp indexes them).
func textIndex(tokens []tokenData, includeUnused bool) map[string]int {
	ids := make(map[string]int, len(tokens))
	for id, td := range tokens {
		if includeUnused || td.attr != attrUnused {
			ids[td.text] = id
		}
	}
	return ids
}

func (t *Tokenizer) initHFBPE(f *hfFile, pre preTokenizer) error {
	m := &f.Model
	if !pre.byteLevel && !isByteLevelDecoder(f.Decoder) {
		return fmt.Errorf("%w: BPE without a ByteLevel pre-tokenizer or decoder (SentencePiece-style BPE in tokenizer.json); load the model's GGUF instead", ErrUnsupportedModel)
	}
	if (m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "") || (m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "") {
		return fmt.Errorf("%w: BPE with continuing_subword_prefix / end_of_word_suffix", ErrUnsupportedModel)
	}
	if m.Dropout != nil && *m.Dropout > 0 {
		return fmt.Errorf("%w: BPE dropout %g", ErrUnsupportedModel, *m.Dropout)
	}
	merges, err := parseMerges(m.Merges)
	if err != nil {
		return err
	}
	sp := pre.splitter()
	if sp == nil {
		sp = seqSplitter{} // one word per fragment
	}
	t.kind = KindBPE
	t.bpe, err = newBPE(t.tokens, t.ids, merges, sp, m.IgnoreMerges)
	if err != nil {
		return err
	}
	t.bpe.prefixSpace = pre.prefixSpace
	return nil
}

func isByteLevelDecoder(raw json.RawMessage) bool {
	var d struct {
		Type     string            `json:"type"`
		Decoders []json.RawMessage `json:"decoders"`
	}
	if isNull(raw) || json.Unmarshal(raw, &d) != nil {
		return false
	}
	if d.Type == "ByteLevel" {
		return true
	}
	for _, sub := range d.Decoders {
		if isByteLevelDecoder(sub) {
			return true
		}
	}
	return false
}

// parseMerges accepts both encodings: ["a b", ...] and [["a", "b"], ...].
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var asStrings []string
	if err := json.Unmarshal(raw, &asStrings); err == nil {
		out := make([][2]string, 0, len(asStrings))
		for i, s := range asStrings {
			a, b, ok := strings.Cut(s, " ")
			if !ok || a == "" || b == "" {
				return nil, fmt.Errorf("%w: merge %d %q has no space", ErrInvalidFile, i, s)
			}
			out = append(out, [2]string{a, b})
		}
		return out, nil
	}
	var asPairs [][]string
	if err := json.Unmarshal(raw, &asPairs); err != nil {
		return nil, fmt.Errorf("%w: merges: %v", ErrInvalidFile, err)
	}
	out := make([][2]string, 0, len(asPairs))
	for i, p := range asPairs {
		if len(p) != 2 || p[0] == "" || p[1] == "" {
			return nil, fmt.Errorf("%w: merge %d is %q", ErrInvalidFile, i, p)
		}
		out = append(out, [2]string{p[0], p[1]})
	}
	return out, nil
}

// preTokenizer is a parsed pre_tokenizer: the splitting steps and the ByteLevel flags.
type preTokenizer struct {
	steps       []splitter
	byteLevel   bool
	prefixSpace bool
	llama3      bool // the Llama 3 pattern: llama.cpp adds BOS by default for it
}

func (p preTokenizer) splitter() splitter {
	switch len(p.steps) {
	case 0:
		return nil
	case 1:
		return p.steps[0]
	}
	return seqSplitter(p.steps)
}

type hfPre struct {
	Type          string            `json:"type"`
	Pretokenizers []json.RawMessage `json:"pretokenizers"`
	Pattern       *struct {
		Regex  *string `json:"Regex"`
		String *string `json:"String"`
	} `json:"pattern"`
	Behavior         string `json:"behavior"`
	Invert           bool   `json:"invert"`
	AddPrefixSpace   bool   `json:"add_prefix_space"`
	UseRegex         *bool  `json:"use_regex"`
	IndividualDigits bool   `json:"individual_digits"`
}

func parsePreTokenizer(raw json.RawMessage) (preTokenizer, error) {
	var p preTokenizer
	if isNull(raw) {
		return p, nil
	}
	return p, p.add(raw)
}

func (p *preTokenizer) add(raw json.RawMessage) error {
	var h hfPre
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf("%w: pre_tokenizer: %v", ErrInvalidFile, err)
	}
	switch h.Type {
	case "Sequence":
		for _, sub := range h.Pretokenizers {
			if err := p.add(sub); err != nil {
				return err
			}
		}
		return nil
	case "Split":
		return p.addSplit(&h)
	case "ByteLevel":
		if p.byteLevel {
			return fmt.Errorf("%w: two ByteLevel pre-tokenizers", ErrUnsupportedModel)
		}
		p.byteLevel = true
		if h.AddPrefixSpace {
			if len(p.steps) > 0 {
				// Hugging Face would prefix every word of the previous steps; no model does that.
				return fmt.Errorf("%w: ByteLevel add_prefix_space after another pre-tokenizer", ErrUnsupportedModel)
			}
			p.prefixSpace = true
		}
		if h.UseRegex == nil || *h.UseRegex {
			s, err := newRegexSplitter(patGPT2, true, true)
			if err != nil {
				return err
			}
			p.steps = append(p.steps, s)
		}
		return nil
	case "Whitespace":
		s, err := newRegexSplitter(patWordPunct, true, false)
		if err != nil {
			return err
		}
		p.steps = append(p.steps, s)
		return nil
	case "WhitespaceSplit":
		p.steps = append(p.steps, whitespaceSplitter{})
		return nil
	case "Digits":
		pat := `\p{N}+`
		if h.IndividualDigits {
			pat = `\p{N}`
		}
		s, err := newRegexSplitter(pat, true, true)
		if err != nil {
			return err
		}
		p.steps = append(p.steps, s)
		return nil
	}
	return fmt.Errorf("%w: pre-tokenizer %q", ErrUnsupportedModel, h.Type)
}

func (p *preTokenizer) addSplit(h *hfPre) error {
	if h.Pattern == nil || (h.Pattern.Regex == nil && h.Pattern.String == nil) {
		return fmt.Errorf("%w: Split pre-tokenizer without a pattern", ErrInvalidFile)
	}
	pattern := ""
	if h.Pattern.Regex != nil {
		pattern = *h.Pattern.Regex
	} else {
		pattern = regexp2.Escape(*h.Pattern.String)
	}
	var (
		s   splitter
		err error
	)
	switch h.Behavior {
	case "Isolated": // matches and the text between them are all words (invert changes nothing)
		s, err = splitterFor(pattern)
		p.llama3 = p.llama3 || pattern == patLlama3HF || pattern == patLlama3
	case "Removed":
		s, err = newRegexSplitter(pattern, h.Invert, !h.Invert)
	default:
		return fmt.Errorf("%w: Split behavior %q", ErrUnsupportedModel, h.Behavior)
	}
	if err != nil {
		return err
	}
	p.steps = append(p.steps, s)
	return nil
}

// hfSpecialIDs resolves BOS/EOS/UNK and the add-BOS default.
func (t *Tokenizer) hfSpecialIDs(f *hfFile, cfg *hfConfig, pre preTokenizer) error {
	lookup := func(what, text string) (int, error) {
		if text == "" {
			return -1, nil
		}
		id, ok := t.ids[text]
		if !ok {
			return -1, fmt.Errorf("%w: tokenizer_config.json %s %q is not in the vocabulary", ErrInvalidFile, what, text)
		}
		return id, nil
	}
	var err error
	if t.bos, err = lookup("bos_token", cfg.BOS.text); err != nil {
		return err
	}
	if t.eos, err = lookup("eos_token", cfg.EOS.text); err != nil {
		return err
	}
	if cfg.UNK.text != "" {
		if t.unk, err = lookup("unk_token", cfg.UNK.text); err != nil {
			return err
		}
		if t.wl != nil {
			t.wl.unk = t.unk
		}
	}
	tmplBOS := templateBOS(f.PostProcessor)
	if t.bos < 0 && tmplBOS != "" {
		t.bos, _ = lookup("template token", tmplBOS)
	}
	switch {
	case cfg.AddBOS != nil:
		t.addBOS = *cfg.AddBOS
	case tmplBOS != "":
		t.addBOS = true
	default:
		t.addBOS = pre.llama3 // llama.cpp's default for the llama-bpe pre-tokenizer
	}
	if t.bos < 0 {
		t.addBOS = false
	}
	return nil
}

// templateBOS returns the special token a TemplateProcessing post-processor puts before a single
// sequence ("" if none).
func templateBOS(raw json.RawMessage) string {
	var pp struct {
		Type       string            `json:"type"`
		Processors []json.RawMessage `json:"processors"`
		Single     []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
		} `json:"single"`
	}
	if isNull(raw) || json.Unmarshal(raw, &pp) != nil {
		return ""
	}
	if pp.Type == "Sequence" {
		for _, sub := range pp.Processors {
			if s := templateBOS(sub); s != "" {
				return s
			}
		}
		return ""
	}
	if pp.Type == "TemplateProcessing" && len(pp.Single) > 0 && pp.Single[0].SpecialToken != nil {
		return pp.Single[0].SpecialToken.ID
	}
	return ""
}
