package tokenizer

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func mustEncode(t testing.TB, tok *Tokenizer, text string, opts Options) []int {
	t.Helper()
	ids, err := tok.EncodeWith(text, opts)
	if err != nil {
		t.Fatalf("EncodeWith(%q): %v", text, err)
	}
	return ids
}

func TestVocabularyDefaults(t *testing.T) {
	cases := []struct {
		src            vocabSource
		size, bos, eos int
		addBOS         bool
		kind           Kind
		encode         string
		want           []int // Encode: special tokens matched, BOS per vocabulary
	}{
		{srcQwen3JSON, 151669, -1, 151645, false, KindBPE, "<|im_start|>user", []int{151644, 872}},
		{srcLlama3JSON, 128256, 128000, 128001, true, KindBPE, "<|start_header_id|>Hello", []int{128000, 128006, 9906}},
		{srcBPEGGUF, 128256, 128000, 128001, true, KindBPE, "<|start_header_id|>Hello", []int{128000, 128006, 9906}},
		{srcQwen2GGUF, 151936, 151643, 151643, false, KindBPE, "<|im_start|>user", []int{151644, 872}},
		{srcSPMGGUF, 32000, 1, 2, true, KindSPM, "</s>Hello", []int{1, 2, 15043}},
	}
	for _, c := range cases {
		t.Run(c.src.name+"/"+filepath.Base(c.src.path), func(t *testing.T) {
			tok := loadVocab(t, c.src)
			if tok.VocabSize() != c.size || tok.BOS() != c.bos || tok.EOS() != c.eos || tok.AddBOS() != c.addBOS || tok.Kind() != c.kind {
				t.Errorf("size %d bos %d eos %d addBOS %v kind %v", tok.VocabSize(), tok.BOS(), tok.EOS(), tok.AddBOS(), tok.Kind())
			}
			got, err := tok.Encode(c.encode)
			if err != nil || !slices.Equal(got, c.want) {
				t.Errorf("Encode(%q) = %v, %v; want %v", c.encode, got, err, c.want)
			}
			if !tok.IsEOG(c.eos) {
				t.Errorf("EOS %d is not end of generation", c.eos)
			}
		})
	}
}

func TestQwen3SpecialTokens(t *testing.T) {
	tok := loadVocab(t, srcQwen3JSON)
	// <think> is a user-defined added token: matched even without ParseSpecial (as llama.cpp).
	if got := mustEncode(t, tok, "<think>x", Options{}); got[0] != 151667 {
		t.Errorf("<think> not matched: %v", got)
	}
	// <|im_end|> is a control token: text unless ParseSpecial.
	if got := mustEncode(t, tok, "<|im_end|>", Options{}); slices.Contains(got, 151645) {
		t.Errorf("control token matched without ParseSpecial: %v", got)
	}
	for _, id := range []int{151643, 151645} { // <|endoftext|>, <|im_end|>
		if !tok.IsEOG(id) || !tok.IsControl(id) {
			t.Errorf("id %d: EOG %v control %v", id, tok.IsEOG(id), tok.IsControl(id))
		}
	}
	if tok.IsEOG(872) || tok.IsControl(872) {
		t.Error("ordinary token flagged")
	}
	if id, ok := tok.TokenID("Ġthe"); !ok || id != 279 {
		t.Errorf("TokenID(Ġthe) = %d, %v", id, ok)
	}
	if s, err := tok.TokenText(279); err != nil || s != "Ġthe" {
		t.Errorf("TokenText(279) = %q, %v", s, err)
	}
	if _, err := tok.EncodeWith("x", Options{AddBOS: true}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("AddBOS without BOS: %v", err)
	}
}

// TestAddSpecialTokens adds the ZoomR summary markers, as the fine-tuning does.
func TestAddSpecialTokens(t *testing.T) {
	check := func(t *testing.T, tok *Tokenizer) {
		n := tok.VocabSize()
		text := "A thought.<|begin_of_summary|>Short.<|end_of_summary|>Next"
		before := mustEncode(t, tok, text, Options{ParseSpecial: true})
		ids := tok.AddSpecialTokens("<|begin_of_summary|>", "<|end_of_summary|>", "")
		if !slices.Equal(ids, []int{n, n + 1, -1}) || tok.VocabSize() != n+2 {
			t.Fatalf("ids %v, vocab %d -> %d", ids, n, tok.VocabSize())
		}
		if again := tok.AddSpecialTokens("<|end_of_summary|>"); !slices.Equal(again, []int{n + 1}) || tok.VocabSize() != n+2 {
			t.Fatalf("re-adding: %v, vocab %d", again, tok.VocabSize())
		}
		got := mustEncode(t, tok, text, Options{ParseSpecial: true})
		if !slices.Contains(got, n) || !slices.Contains(got, n+1) {
			t.Fatalf("markers not matched: %v", got)
		}
		if plain := mustEncode(t, tok, text, Options{}); !slices.Equal(plain, before) {
			t.Errorf("without ParseSpecial the markers must stay text:\n%v\n%v", plain, before)
		}
		if s, err := tok.Decode(got); err != nil || (tok.Kind() == KindBPE && s != text) {
			t.Errorf("Decode = %q, %v", s, err)
		}
		if !tok.IsControl(n) || tok.IsEOG(n) {
			t.Error("marker should be a control token, not end of generation")
		}
		if id, ok := tok.TokenID("<|begin_of_summary|>"); !ok || id != n {
			t.Errorf("TokenID = %d, %v", id, ok)
		}
	}
	t.Run("synthetic-bpe", func(t *testing.T) {
		tok, _, _ := synthBPE(t, 1, 30)
		check(t, tok)
	})
	t.Run("llama-spm", func(t *testing.T) {
		tok, err := Load(srcSPMGGUF.file())
		if err != nil {
			t.Fatal(err)
		}
		check(t, tok)
	})
	t.Run("qwen3", func(t *testing.T) {
		if testing.Short() {
			t.Skip("loads an 11 MB tokenizer.json")
		}
		loadVocab(t, srcQwen3JSON) // skips when absent
		tok, err := Load(srcQwen3JSON.file())
		if err != nil {
			t.Fatal(err)
		}
		check(t, tok) // Hugging Face gives 151669 and 151670
	})
}

// roundTripVocabs are the vocabularies for which decode(encode(s)) == s.
var roundTripVocabs = []vocabSource{srcQwen3JSON, srcLlama3JSON, srcSPMGGUF}

func TestDecodeInvertsEncode(t *testing.T) {
	g := readDiffGolden(t, filepath.Join(difftestDir, "qwen3.json"))
	for _, src := range roundTripVocabs {
		t.Run(src.name, func(t *testing.T) {
			tok := loadVocab(t, src)
			for i, it := range g.Items {
				ps := it.ParseSpecial != nil && *it.ParseSpecial
				if ps && tok.Kind() == KindSPM {
					continue // SPM inserts a space after each special token; decode keeps it
				}
				ids := mustEncode(t, tok, it.Text, Options{ParseSpecial: ps})
				got, err := tok.Decode(ids)
				if err != nil || got != it.Text {
					t.Errorf("item %d: Decode(Encode(s)) = %q, %v\nwant %q", i, got, err, it.Text)
				}
			}
		})
	}
}

func TestDecodeDetails(t *testing.T) {
	tok := loadVocab(t, srcQwen3JSON)
	ids := mustEncode(t, tok, "é𮯰", Options{}) // a rare character: several byte-level tokens
	if len(ids) < 3 {
		t.Fatalf("want several tokens, got %v", ids)
	}
	raw, err := tok.DecodeBytes(ids[:len(ids)-1], DecodeOptions{})
	if err != nil || utf8.Valid(raw) {
		t.Fatalf("a cut emoji must give invalid bytes: %q %v", raw, err)
	}
	s, _ := tok.Decode(ids[:len(ids)-1])
	if !utf8.ValidString(s) || !strings.HasSuffix(s, "\uFFFD") {
		t.Errorf("Decode must replace the cut character: %q", s)
	}
	for _, bad := range [][]int{{-1}, {tok.VocabSize()}, {872, 1 << 40}} {
		if _, err := tok.Decode(bad); !errors.Is(err, ErrUnknownToken) {
			t.Errorf("Decode(%v): %v", bad, err)
		}
	}
	chat := mustEncode(t, tok, "<|im_start|>user\nhi<|im_end|>", Options{ParseSpecial: true})
	if s, _ := tok.DecodeWith(chat, DecodeOptions{SkipSpecial: true}); s != "user\nhi" {
		t.Errorf("SkipSpecial: %q", s)
	}
	if s, _ := tok.Decode(nil); s != "" {
		t.Errorf("Decode(nil) = %q", s)
	}
}

func TestSPMDecode(t *testing.T) {
	tok := loadVocab(t, srcSPMGGUF)
	ids := mustEncode(t, tok, "Hello world", Options{AddBOS: true})
	if !slices.Equal(ids, []int{1, 15043, 3186}) {
		t.Fatalf("ids %v", ids)
	}
	if s, _ := tok.Decode(ids); s != "<s> Hello world" { // llama.cpp strips only the first piece's space
		t.Errorf("Decode = %q", s)
	}
	if s, _ := tok.Decode(ids[1:]); s != "Hello world" {
		t.Errorf("Decode = %q", s)
	}
	if s, _ := tok.DecodeWith(ids, DecodeOptions{SkipSpecial: true}); s != " Hello world" {
		t.Errorf("SkipSpecial = %q", s)
	}
	bytesIDs := mustEncode(t, tok, "\u0378", Options{}) // not in the vocabulary: <0xCD> <0xB8>
	if !slices.Equal(bytesIDs, []int{29871, 0xCD + 3, 0xB8 + 3}) {
		t.Errorf("byte fallback: %v", bytesIDs)
	}
}

func TestStreamDecoder(t *testing.T) {
	for _, src := range roundTripVocabs {
		t.Run(src.name, func(t *testing.T) {
			tok := loadVocab(t, src)
			text := "Emoji 👨‍👩‍👧‍👦 and 日本語, é, \u0378 end."
			ids := mustEncode(t, tok, text, Options{})
			d := tok.NewStreamDecoder()
			var b strings.Builder
			for _, id := range ids {
				s, err := d.Next(id)
				if err != nil {
					t.Fatal(err)
				}
				if !utf8.ValidString(s) {
					t.Fatalf("broken UTF-8 emitted: %q", s)
				}
				b.WriteString(s)
			}
			b.WriteString(d.Flush())
			want := text
			if tok.addSpacePrefix {
				want = " " + text // pieces are verbatim: the encoder's space prefix stays
			}
			if b.String() != want {
				t.Errorf("stream = %q\nwant     %q", b.String(), want)
			}
			if _, err := d.Next(-5); !errors.Is(err, ErrUnknownToken) {
				t.Errorf("Next(-5): %v", err)
			}
		})
	}
}

func TestStreamDecoderHoldsPartialCharacters(t *testing.T) {
	tok := loadVocab(t, srcQwen3JSON)
	// The byte tokens of "😀" (F0 9F 98 80) one by one.
	var ids []int
	for _, b := range []byte("😀") {
		id, ok := tok.TokenID(string(byteToRune[b]))
		if !ok {
			t.Fatalf("no byte token for %x", b)
		}
		ids = append(ids, id)
	}
	d := tok.NewStreamDecoder()
	for i, id := range ids[:3] {
		if s, _ := d.Next(id); s != "" {
			t.Fatalf("byte %d emitted %q", i, s)
		}
	}
	if s, _ := d.Next(ids[3]); s != "😀" {
		t.Fatalf("got %q", s)
	}
	// A sequence that can never complete is replaced, not held forever.
	d.Next(ids[0])
	if s, _ := d.Next(872); s != "\uFFFDuser" {
		t.Fatalf("got %q", s)
	}
	d.Next(ids[0])
	if s := d.Flush(); s != "\uFFFD" {
		t.Fatalf("Flush = %q", s)
	}
}

func TestEncodeRejectsInvalidUTF8(t *testing.T) {
	tok := loadVocab(t, srcSPMGGUF)
	_, err := tok.Encode("ok\xffno")
	if !errors.Is(err, ErrInvalidUTF8) || !strings.Contains(err.Error(), "byte 2") {
		t.Fatalf("err = %v", err)
	}
	if ids, err := tok.EncodeWith("", Options{}); err != nil || ids == nil || len(ids) != 0 {
		t.Fatalf("empty text: %v %v", ids, err)
	}
}

func TestConcurrentUse(t *testing.T) {
	tok, err := Load(srcSPMGGUF.file())
	if err != nil {
		t.Fatal(err)
	}
	const text = "The quick brown fox <|x|> jumps"
	want := mustEncode(t, tok, text, Options{ParseSpecial: true})
	other, err := Load(srcSPMGGUF.file())
	if err != nil {
		t.Fatal(err)
	}
	other.AddSpecialTokens("<|x|>")
	wantAfter := mustEncode(t, other, text, Options{ParseSpecial: true})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				got, err := tok.EncodeWith(text, Options{ParseSpecial: true})
				if err != nil || (!slices.Equal(got, want) && !slices.Equal(got, wantAfter)) {
					t.Errorf("goroutine %d: %v %v", g, got, err)
					return
				}
				if g == 0 && i == 100 {
					tok.AddSpecialTokens("<|x|>")
				}
			}
		}()
	}
	wg.Wait()
	if got := mustEncode(t, tok, text, Options{ParseSpecial: true}); !slices.Equal(got, wantAfter) || !slices.Contains(got, 32000) {
		t.Errorf("added token not used: %v", got)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		path string
		want error
	}{
		{"missing", filepath.Join(dir, "nope.json"), os.ErrNotExist},
		{"dir without tokenizer.json", dir, os.ErrNotExist},
		{"bad json", writeTemp(t, "tokenizer.json", []byte("{")), ErrInvalidFile},
		{"unigram", writeTemp(t, "tokenizer.json", []byte(`{"model":{"type":"Unigram","vocab":[]}}`)), ErrUnsupportedModel},
		{"spm-style bpe json", writeTemp(t, "tokenizer.json", []byte(`{"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}`)), ErrUnsupportedModel},
		{"normalizer", writeTemp(t, "tokenizer.json", []byte(`{"normalizer":{"type":"Lowercase"},"model":{"type":"WordLevel","vocab":{"a":0}}}`)), ErrUnsupportedModel},
		{"bad merge", writeTemp(t, "tokenizer.json", []byte(`{"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":0},"merges":["ab"]}}`)), ErrInvalidFile},
		{"duplicate id", writeTemp(t, "tokenizer.json", []byte(`{"model":{"type":"WordLevel","vocab":{"a":0,"b":0}}}`)), ErrInvalidFile},
		{"truncated gguf", writeTemp(t, "x.gguf", writeTestGGUF([]ggufKV{{"tokenizer.ggml.model", "llama"}})[:30]), ErrInvalidGGUF},
		{"gguf without tokens", writeTemp(t, "x.gguf", writeTestGGUF([]ggufKV{{"tokenizer.ggml.model", "llama"}})), ErrInvalidGGUF},
		{"gguf bert", writeTemp(t, "x.gguf", writeTestGGUF([]ggufKV{{"tokenizer.ggml.model", "bert"}, {"tokenizer.ggml.tokens", []string{"a"}}})), ErrUnsupportedModel},
		{"gguf unknown pre", writeTemp(t, "x.gguf", writeTestGGUF([]ggufKV{{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.pre", "falcon"},
			{"tokenizer.ggml.tokens", []string{"a"}}, {"tokenizer.ggml.merges", []string{}}})), ErrUnsupportedModel},
		{"gguf short scores", writeTemp(t, "x.gguf", writeTestGGUF([]ggufKV{{"tokenizer.ggml.model", "llama"},
			{"tokenizer.ggml.tokens", []string{"a", "b"}}, {"tokenizer.ggml.scores", []float32{0}}})), ErrInvalidGGUF},
	}
	for _, c := range cases {
		if _, err := Load(c.path); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestGGUFMinimalSPM(t *testing.T) {
	tokens := []string{"<unk>", "<s>", "</s>", "▁", "a", "b", "▁a", "ab", "▁ab"}
	scores := []float32{0, 0, 0, -1, -2, -3, -1.5, -0.5, -0.1}
	types := []int32{2, 3, 3, 1, 1, 1, 1, 1, 1}
	p := writeTemp(t, "spm.gguf", writeTestGGUF([]ggufKV{
		{"general.name", "tiny"},
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.scores", scores},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.add_bos_token", false},
	}))
	tok, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AddBOS() || tok.BOS() != 1 || tok.EOS() != 2 {
		t.Errorf("addBOS %v bos %d eos %d", tok.AddBOS(), tok.BOS(), tok.EOS())
	}
	// "▁ab" scores best: "a"+"b" -> "ab" (-0.5) first, then "▁"+"ab" -> "▁ab" (-0.1).
	if got := mustEncode(t, tok, "ab a", Options{}); !slices.Equal(got, []int{8, 6}) {
		t.Errorf("got %v", got)
	}
	if _, err := tok.EncodeWith("c", Options{}); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("no byte tokens for 'c': %v", err)
	}
}
