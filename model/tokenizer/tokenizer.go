package tokenizer

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// Kind is the tokenization algorithm of a vocabulary.
type Kind int

const (
	// KindBPE is byte-level BPE (GPT-2 style alphabet, ranked merges, regex pre-tokenizer):
	// Llama 3, Qwen2/2.5/3, DeepSeek-R1-Distill.
	KindBPE Kind = iota + 1
	// KindSPM is SentencePiece-style BPE (scores, "▁" for spaces, <0xXX> byte fallback): Llama 2, Mistral.
	KindSPM
	// KindWordLevel maps whitespace-separated words to ids (Hugging Face "WordLevel" models).
	KindWordLevel
)

func (k Kind) String() string {
	switch k {
	case KindBPE:
		return "byte-level BPE"
	case KindSPM:
		return "SentencePiece BPE"
	case KindWordLevel:
		return "word level"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// attr is a token's type, as llama.cpp's llama_token_attr (bit flags: the loaders can add CONTROL
// to a user-defined token, as llama.cpp does for end-of-generation texts).
type attr uint16

const (
	attrUndefined   attr = 0
	attrUnknown     attr = 1 << 0
	attrUnused      attr = 1 << 1
	attrNormal      attr = 1 << 2
	attrControl     attr = 1 << 3 // special: matched in text only with ParseSpecial
	attrUserDefined attr = 1 << 4 // added token: always matched in text
	attrByte        attr = 1 << 5 // SentencePiece <0xXX>
	attrLStrip      attr = 1 << 6 // matching eats ASCII spaces on its left
	attrRStrip      attr = 1 << 7 // ... and on its right
)

// tokenData is one vocabulary entry.
type tokenData struct {
	text  string  // as stored in the vocabulary (byte-level alphabet for BPE, "▁" spaces for SPM)
	score float32 // SentencePiece merge score
	attr  attr
	piece string // the bytes Decode writes for it (special tokens: their text)
}

// Options control one EncodeWith call. The zero value is llama.cpp's tokenizer-test convention
// (add_special=false, parse_special=false).
type Options struct {
	// AddBOS prepends the BOS token. It is an error when the vocabulary has none.
	AddBOS bool
	// ParseSpecial matches control tokens such as "<|im_start|>" written in the text. User-defined
	// added tokens (e.g. Qwen3's "<think>") are matched either way, as llama.cpp and Hugging Face do.
	ParseSpecial bool
}

// DecodeOptions control DecodeWith.
type DecodeOptions struct {
	// SkipSpecial drops control and unknown tokens (llama.cpp's special=false).
	SkipSpecial bool
}

// Tokenizer converts text to token ids and back. It is safe for concurrent use; AddSpecialTokens
// may run concurrently with encoding (it takes a write lock).
type Tokenizer struct {
	mu sync.RWMutex

	kind   Kind
	tokens []tokenData
	ids    map[string]int // vocabulary text -> id (last id wins on duplicates, as llama.cpp)

	special specialIndex // CONTROL / USER_DEFINED / UNKNOWN tokens, for partitioning text

	bos, eos, eot, unk int // -1 when absent
	eog                map[int]bool
	addBOS             bool // the vocabulary's default for Encode
	addSpacePrefix     bool // SPM: a space is inserted before text that starts a sequence or follows a special token

	bpe *bpeModel
	spm *spmModel
	wl  *wordLevelModel
}

// Kind reports the tokenization algorithm.
func (t *Tokenizer) Kind() Kind { return t.kind }

// VocabSize is the number of token ids (including added and special tokens).
func (t *Tokenizer) VocabSize() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.tokens)
}

// BOS is the beginning-of-sequence token id, or -1.
func (t *Tokenizer) BOS() int { return t.bos }

// EOS is the end-of-sequence token id, or -1.
func (t *Tokenizer) EOS() int { return t.eos }

// AddBOS reports whether Encode prepends BOS for this vocabulary (llama.cpp's add_bos).
func (t *Tokenizer) AddBOS() bool { return t.addBOS }

// IsEOG reports whether id ends generation: EOS, EOT, or a token whose text llama.cpp treats as
// end of generation ("<|im_end|>", "<|eot_id|>", "<|endoftext|>", "</s>", ...).
func (t *Tokenizer) IsEOG(id int) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return id >= 0 && (id == t.eos || id == t.eot || t.eog[id])
}

// IsControl reports whether id is a control (special) token, rendered by Decode unless SkipSpecial.
func (t *Tokenizer) IsControl(id int) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return id >= 0 && id < len(t.tokens) && t.tokens[id].attr&attrControl != 0
}

// TokenID returns the id of a vocabulary entry by its stored text (e.g. "<|im_end|>"; byte-level
// vocabularies store "Ġthe" for " the").
func (t *Tokenizer) TokenID(text string) (int, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	id, ok := t.ids[text]
	return id, ok
}

// TokenText returns the stored text of id.
func (t *Tokenizer) TokenText(id int) (string, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if id < 0 || id >= len(t.tokens) {
		return "", fmt.Errorf("%w: id %d outside [0, %d)", ErrUnknownToken, id, len(t.tokens))
	}
	return t.tokens[id].text, nil
}

// Encode tokenizes text the way a Hugging Face tokenizer call does: added and special tokens in the
// text are matched, and BOS is prepended when the vocabulary asks for it (AddBOS).
func (t *Tokenizer) Encode(text string) ([]int, error) {
	return t.EncodeWith(text, Options{AddBOS: t.addBOS, ParseSpecial: true})
}

// EncodeWith tokenizes text with explicit options. Text must be valid UTF-8.
func (t *Tokenizer) EncodeWith(text string, opts Options) ([]int, error) {
	if !utf8.ValidString(text) {
		i := firstInvalidUTF8(text)
		return nil, fmt.Errorf("%w: at byte %d of %d", ErrInvalidUTF8, i, len(text))
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]int, 0, len(text)/4+1) // about one id per 3-4 bytes of text
	if opts.AddBOS {
		if t.bos < 0 {
			return nil, fmt.Errorf("%w: AddBOS set but the vocabulary has no BOS token", ErrInvalidArgument)
		}
		out = append(out, t.bos)
	}
	st := getScratch()
	defer putScratch(st)
	frags := t.special.partition(text, opts.ParseSpecial, t.tokens, st.frags[:0])
	st.frags = frags
	prevSpecial := true // SPM: the first text fragment gets the space prefix
	for _, f := range frags {
		if f.id >= 0 {
			out = append(out, f.id)
			prevSpecial = true
			continue
		}
		var err error
		switch t.kind {
		case KindBPE:
			out = t.bpe.encode(f.text, st, out)
		case KindSPM:
			out, err = t.spm.encode(f.text, t.addSpacePrefix && prevSpecial, t, st, out)
		case KindWordLevel:
			out, err = t.wl.encode(f.text, st, out)
		}
		if err != nil {
			return nil, err
		}
		prevSpecial = false
	}
	return out, nil
}

// firstInvalidUTF8 is the byte offset of the first invalid UTF-8 sequence in s (len(s) if none).
func firstInvalidUTF8(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				return i
			}
		}
	}
	return len(s)
}

// AddSpecialTokens adds control tokens (e.g. "<|begin_of_summary|>", "<|end_of_summary|>") at the end
// of the vocabulary and returns their ids, as Hugging Face's add_special_tokens does: a text that is
// already in the vocabulary keeps its id and becomes a control token. They are then matched in text
// by Encode (ParseSpecial) and rendered by Decode. An empty text cannot be a token: its id is -1 and
// nothing is added for it.
func (t *Tokenizer) AddSpecialTokens(texts ...string) []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]int, len(texts))
	for i, s := range texts {
		if s == "" {
			out[i] = -1
			continue
		}
		if id, ok := t.ids[s]; ok {
			t.tokens[id].attr = (t.tokens[id].attr &^ (attrNormal | attrUserDefined | attrUnused)) | attrControl
			t.tokens[id].piece = s
			out[i] = id
			continue
		}
		id := len(t.tokens)
		t.tokens = append(t.tokens, tokenData{text: s, attr: attrControl, piece: s})
		t.ids[s] = id
		if t.spm != nil { // SentencePiece merges may now reach this text
			t.spm.addText(s)
			t.spm.cache.reset()
		}
		out[i] = id
	}
	t.special = buildSpecialIndex(t.tokens)
	return out
}

// resetCaches forgets the word caches (benchmarks of cold encoding).
func (t *Tokenizer) resetCaches() {
	if t.bpe != nil {
		t.bpe.cache.reset()
	}
	if t.spm != nil {
		t.spm.cache.reset()
	}
}

// Decode turns ids into text. Special tokens are rendered as their text. Bytes that do not form
// valid UTF-8 (e.g. a sequence cut inside a multi-byte character) become U+FFFD, one per byte.
func (t *Tokenizer) Decode(ids []int) (string, error) {
	return t.DecodeWith(ids, DecodeOptions{})
}

// DecodeWith is Decode with options.
func (t *Tokenizer) DecodeWith(ids []int, opts DecodeOptions) (string, error) {
	b, err := t.DecodeBytes(ids, opts)
	if err != nil {
		return "", err
	}
	return sanitizeUTF8(b, true), nil
}

// DecodeBytes returns the exact bytes the ids stand for, which need not be valid UTF-8.
//
// It follows llama.cpp's detokenizer (remove_special=false): SentencePiece vocabularies drop the
// leading space of the first piece (the one the encoder inserted), word-level vocabularies join
// words with single spaces. Unlike llama.cpp it never "cleans up" spaces before punctuation, so
// that decoding inverts encoding byte for byte.
func (t *Tokenizer) DecodeBytes(ids []int, opts DecodeOptions) ([]byte, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var b []byte
	for i, id := range ids {
		p, err := t.piece(id, opts.SkipSpecial)
		if err != nil {
			return nil, fmt.Errorf("decoding position %d: %w", i, err)
		}
		if i == 0 && t.addSpacePrefix {
			p = strings.TrimPrefix(p, " ")
		}
		if t.kind == KindWordLevel && i > 0 && p != "" && len(b) > 0 {
			b = append(b, ' ')
		}
		b = append(b, p...)
	}
	return b, nil
}

// piece is the rendering of one token (caller holds the read lock).
func (t *Tokenizer) piece(id int, skipSpecial bool) (string, error) {
	if id < 0 || id >= len(t.tokens) {
		return "", fmt.Errorf("%w: id %d outside [0, %d)", ErrUnknownToken, id, len(t.tokens))
	}
	td := &t.tokens[id]
	if skipSpecial && td.attr&(attrControl|attrUnknown) != 0 {
		return "", nil
	}
	return td.piece, nil
}

// renderPiece computes what Decode writes for a token of a vocabulary of the given kind, as
// llama.cpp's token_to_piece(special=true).
func renderPiece(kind Kind, td tokenData) string {
	switch {
	case td.attr&(attrControl|attrUnknown|attrUserDefined) != 0:
		return td.text
	case td.attr&attrNormal != 0:
		switch kind {
		case KindBPE:
			return byteLevelDecodeLossy(td.text)
		case KindSPM:
			return strings.ReplaceAll(td.text, "▁", " ")
		default:
			return td.text
		}
	case td.attr&attrByte != 0:
		if b, ok := parseByteToken(td.text); ok {
			return string([]byte{b})
		}
	}
	return "" // unused / undefined tokens render as nothing
}

// parseByteToken parses SentencePiece byte tokens "<0xXX>".
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || !strings.HasPrefix(s, "<0x") || s[5] != '>' {
		return 0, false
	}
	var v byte
	for _, c := range s[3:5] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= byte(c - '0')
		case c >= 'A' && c <= 'F':
			v |= byte(c-'A') + 10
		case c >= 'a' && c <= 'f':
			v |= byte(c-'a') + 10
		default:
			return 0, false
		}
	}
	return v, true
}

// finish completes a freshly loaded vocabulary: pieces, EOG set, special index.
func (t *Tokenizer) finish() {
	t.eog = map[int]bool{}
	for id := range t.tokens {
		td := &t.tokens[id]
		if eogTexts[td.text] {
			// llama.cpp marks end-of-generation texts as control tokens whatever the file says.
			td.attr |= attrControl
			t.eog[id] = true
		}
		td.piece = renderPiece(t.kind, *td)
	}
	t.special = buildSpecialIndex(t.tokens)
}

// eogTexts are the token texts llama.cpp treats as end of generation (llama-vocab.cpp).
var eogTexts = map[string]bool{
	"<|eot_id|>": true, "<|im_end|>": true, "<|end|>": true, "<end_of_turn>": true, "<|endoftext|>": true,
	"<|eom_id|>": true, "<EOT>": true, "_<EOT>": true, "<|end_of_text|>": true, "<end_of_utterance>": true,
	"<｜end▁of▁sentence｜>": true, "</s>": true,
}
