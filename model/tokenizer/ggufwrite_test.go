package tokenizer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/zoomr-go/zoomr/internal/oracle"
	"github.com/zoomr-go/zoomr/model/gguf"
)

// writeVocabGGUF converts a tokenizer.json directory to a vocabulary-only GGUF.
func writeVocabGGUF(t *testing.T, src vocabSource) string {
	t.Helper()
	dir := filepath.Dir(src.file())
	if _, err := os.Stat(src.file()); err != nil {
		t.Skipf("vocabulary %s not available at %s (set ZOOMR_SHARED to the shared folder)", src.name, src.file())
	}
	kvs, err := GGUFMetadataFromHF(dir, GGUFOptions{BOS: -1, EOS: -1})
	if err != nil {
		t.Fatal(err)
	}
	kvs = append([]gguf.KV{{Key: "general.architecture", Value: gguf.String("llama")}}, kvs...)
	p := filepath.Join(t.TempDir(), src.name+".gguf")
	if err := gguf.WriteFile(p, kvs, nil); err != nil {
		t.Fatal(err)
	}
	return p
}

var ggufExportVocabs = []struct {
	src    vocabSource
	golden string // difftest golden made by llama.cpp from its own vocabulary file
}{
	{srcLlama3JSON, "llama-bpe"},
	{srcQwen3JSON, "qwen3"},
}

// TestGGUFExportRoundTrip: the GGUF written from a tokenizer.json tokenizes the differential corpus
// exactly as llama.cpp does with its own vocabulary file, read back by this package.
func TestGGUFExportRoundTrip(t *testing.T) {
	for _, v := range ggufExportVocabs {
		t.Run(v.golden, func(t *testing.T) {
			tok, err := Load(writeVocabGGUF(t, v.src))
			if err != nil {
				t.Fatal(err)
			}
			g := readDiffGolden(t, filepath.Join(difftestDir, v.golden+".json"))
			for i, it := range g.Items {
				ps := it.ParseSpecial != nil && *it.ParseSpecial
				got, err := tok.EncodeWith(it.Text, Options{ParseSpecial: ps})
				if err != nil || !slices.Equal(got, it.IDs) {
					t.Errorf("item %d (parse_special=%v) %.60q: got %v (%v), want %v", i, ps, it.Text, got, err, it.IDs)
				}
			}
		})
	}
}

// TestGGUFExportOracle: llama.cpp loads the exported GGUF and tokenizes the corpus as it does with
// its own vocabulary file.
func TestGGUFExportOracle(t *testing.T) {
	if testing.Short() {
		t.Skip("runs llama.cpp")
	}
	oracle.SkipUnlessAvailable(t)
	texts, err := filepath.Abs(filepath.Join(difftestDir, "texts.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range ggufExportVocabs {
		t.Run(v.golden, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "ids.json")
			if _, err := oracle.Run(context.Background(), "reference.mjs", "tokenize", "--vocab", writeVocabGGUF(t, v.src),
				"--texts", texts, "--out", out); err != nil {
				t.Fatal(err)
			}
			got, want := readDiffGolden(t, out), readDiffGolden(t, filepath.Join(difftestDir, v.golden+".json"))
			for i := range want.Items {
				if !slices.Equal(got.Items[i].IDs, want.Items[i].IDs) {
					t.Errorf("item %d: llama.cpp on the exported GGUF gives %v, on its own vocabulary %v", i, got.Items[i].IDs, want.Items[i].IDs)
				}
			}
		})
	}
}

func TestGGUFExportErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := GGUFMetadataFromHF(dir, GGUFOptions{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("no tokenizer.json: %v", err)
	}
	// A word-level vocabulary has no llama.cpp form.
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(`{"model":{"type":"WordLevel","vocab":{"a":0,"[UNK]":1},"unk_token":"[UNK]"},"pre_tokenizer":{"type":"Whitespace"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := GGUFMetadataFromHF(dir, GGUFOptions{}); !errors.Is(err, ErrUnsupportedModel) {
		t.Fatalf("word level: %v", err)
	}
}
