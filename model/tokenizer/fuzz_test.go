package tokenizer

import (
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/zoomr-go/zoomr/model/gguf"
)

// Fuzz targets. The committed seed corpus is in testdata/fuzz/<Target>; go test runs the seeds,
// go test -fuzz=FuzzRoundTrip -run '^$' ./model/tokenizer explores. Real vocabularies are used
// when the shared folder is present (their GGUF forms: with fuzzing's instrumentation a 10 MB
// tokenizer.json loads too slowly for the fuzzer's hang detection), a synthetic byte-level BPE
// always. They are loaded before f.Fuzz, outside any timed input.

var (
	fuzzVocabsOnce sync.Once
	fuzzVocabs     []*Tokenizer
)

// fuzzTokenizers returns the synthetic BPE, the committed SentencePiece vocabulary, and the Qwen2
// and Llama 3 BPE vocabularies when available.
func fuzzTokenizers(t testing.TB) []*Tokenizer {
	fuzzVocabsOnce.Do(func() {
		syn, _, _ := synthBPE(t, 5, 100)
		fuzzVocabs = append(fuzzVocabs, syn)
		for _, src := range []vocabSource{srcSPMGGUF, srcQwen2GGUF, srcBPEGGUF} {
			if _, err := os.Stat(src.file()); err != nil {
				continue
			}
			tok, err := Load(src.file())
			if err != nil {
				t.Fatal(err)
			}
			fuzzVocabs = append(fuzzVocabs, tok)
		}
	})
	return fuzzVocabs
}

// maxFuzzLen bounds fuzz inputs (bytes of text): every input runs through up to four vocabularies.
const maxFuzzLen = 4096

func addTextSeeds(f *testing.F) {
	for _, s := range []string{
		"", " ", "Hello world", "  leading", "trailing  ", "\n\n\t \r\n", "it's DON'T we'LL",
		"12345678 3.14 ½ ²", "日本語テキスト 한국어", "👨‍👩‍👧‍👦🇫🇷", "<|im_start|>user\nhi<|im_end|>",
		"<think>x</think>", "<s>[INST]</s>", "e\u0301\u0378\ue000\u200d", "▁▁x", "\xff\xfe", "ok\xc3",
	} {
		f.Add(s)
	}
}

// FuzzRoundTrip: for valid UTF-8, byte-level BPE decodes what it encodes (with and without
// special-token parsing) and the stream decoder emits the same text in valid UTF-8 pieces;
// invalid UTF-8 is rejected with ErrInvalidUTF8.
func FuzzRoundTrip(f *testing.F) {
	fuzzTokenizers(f)
	addTextSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > maxFuzzLen {
			t.Skip("long inputs make minimization outlast the fuzzer's patience; unit tests cover them")
		}
		for _, tok := range fuzzTokenizers(t) {
			if !utf8.ValidString(s) {
				if ids, err := tok.EncodeWith(s, Options{}); !errors.Is(err, ErrInvalidUTF8) || ids != nil {
					t.Fatalf("invalid UTF-8 %q: %v, %v", s, ids, err)
				}
				continue
			}
			for _, ps := range []bool{false, true} {
				ids, err := tok.EncodeWith(s, Options{ParseSpecial: ps})
				if err != nil {
					t.Fatalf("%v %q: %v", tok.Kind(), s, err)
				}
				for _, id := range ids {
					if id < 0 || id >= tok.VocabSize() {
						t.Fatalf("id %d out of range", id)
					}
				}
				got, err := tok.Decode(ids)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case tok.Kind() == KindBPE:
					if got != s {
						t.Fatalf("parseSpecial=%v: Decode(Encode(%q)) = %q (ids %v)", ps, s, got, ids)
					}
					checkStream(t, tok, ids, s)
				case tok.Kind() == KindSPM && !ps && !strings.Contains(s, "▁"):
					// SentencePiece cannot tell a space from a literal "▁"; special tokens get a
					// space inserted after them. Other text round-trips.
					if got != s {
						t.Fatalf("SPM: Decode(Encode(%q)) = %q (ids %v)", s, got, ids)
					}
				}
			}
		}
	})
}

func checkStream(t *testing.T, tok *Tokenizer, ids []int, want string) {
	d := tok.NewStreamDecoder()
	var b strings.Builder
	for _, id := range ids {
		p, err := d.Next(id)
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.ValidString(p) {
			t.Fatalf("stream emitted broken UTF-8 %q", p)
		}
		b.WriteString(p)
	}
	b.WriteString(d.Flush())
	if b.String() != want {
		t.Fatalf("stream %q, want %q", b.String(), want)
	}
}

// FuzzDecode: any id sequence decodes to valid UTF-8 or fails with ErrUnknownToken; the stream
// decoder agrees with Decode.
func FuzzDecode(f *testing.F) {
	fuzzTokenizers(f)
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0})
	f.Add(binary.LittleEndian.AppendUint32(nil, 151645))
	f.Add(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 240), 252))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 4*maxFuzzLen {
			t.Skip("long input")
		}
		for _, tok := range fuzzTokenizers(t) {
			n := tok.VocabSize()
			var ids []int
			for i := 0; i+4 <= len(raw); i += 4 {
				v := int(int32(binary.LittleEndian.Uint32(raw[i:])))
				if v >= 0 { // mostly valid ids, sometimes just past the end
					v %= n + 2
				}
				ids = append(ids, v)
			}
			text, err := tok.Decode(ids)
			outOfRange := false
			for _, id := range ids {
				outOfRange = outOfRange || id < 0 || id >= n
			}
			if outOfRange {
				if !errors.Is(err, ErrUnknownToken) {
					t.Fatalf("ids %v: err %v", ids, err)
				}
				continue
			}
			if err != nil || !utf8.ValidString(text) {
				t.Fatalf("ids %v: %q %v", ids, text, err)
			}
			if tok.Kind() != KindBPE {
				continue
			}
			d := tok.NewStreamDecoder()
			var b strings.Builder
			for _, id := range ids {
				p, err := d.Next(id)
				if err != nil || !utf8.ValidString(p) {
					t.Fatalf("stream: %q %v", p, err)
				}
				b.WriteString(p)
			}
			if b.WriteString(d.Flush()); b.String() != text {
				t.Fatalf("stream %q != Decode %q", b.String(), text)
			}
		}
	})
}

// FuzzGGUF: arbitrary bytes never crash the GGUF reader or the vocabulary builder.
func FuzzGGUF(f *testing.F) {
	f.Add(writeTestGGUF([]ggufKV{{"tokenizer.ggml.model", "llama"}, {"tokenizer.ggml.tokens", []string{"<unk>", "a", "▁"}},
		{"tokenizer.ggml.scores", []float32{0, -1, -2}}, {"tokenizer.ggml.token_type", []int32{2, 1, 1}}}))
	f.Add(writeTestGGUF([]ggufKV{{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.pre", "qwen2"},
		{"tokenizer.ggml.tokens", []string{"a", "b", "ab"}}, {"tokenizer.ggml.merges", []string{"a b", "x"}},
		{"tokenizer.ggml.bos_token_id", uint32(7)}}))
	f.Add([]byte("GGUF\x03\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := gguf.Parse(b)
		if err != nil {
			if !errors.Is(err, gguf.ErrInvalidFile) {
				t.Fatalf("error not typed: %v", err)
			}
			return
		}
		tok, err := FromGGUF(m)
		if err != nil {
			if !errors.Is(err, ErrInvalidGGUF) && !errors.Is(err, ErrUnsupportedModel) && !errors.Is(err, ErrInvalidFile) {
				t.Fatalf("error not typed: %v", err)
			}
			return
		}
		if ids, err := tok.EncodeWith("ab a\n", Options{ParseSpecial: true}); err == nil {
			if _, err := tok.Decode(ids); err != nil {
				t.Fatalf("decode of own ids: %v", err)
			}
		}
	})
}
