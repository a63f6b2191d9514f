package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/gguf"
	"github.com/zoomr-go/zoomr/model/tokenizer"
)

func TestHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run([]string{"-h"}, &out, &errOut); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	if !strings.Contains(errOut.String(), "-type") {
		t.Fatalf("usage does not list -type: %q", errOut.String())
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"-in", dir, "-out", filepath.Join(dir, "x.gguf"), "-type", "q3_k_s"},
		{"-in", dir, "-out", filepath.Join(dir, "x.gguf")}, // no config.json
	} {
		if err := run(args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// TestConvert writes a random model with a small vocabulary copied from a GGUF and reads the result.
func TestConvert(t *testing.T) {
	dir := t.TempDir()
	if _, err := model.WriteRandom(dir, model.RandomSpec{Arch: "qwen3", Seed: 1, Tie: true}); err != nil {
		t.Fatal(err)
	}
	tokens := make([]string, 256)
	for i := range tokens {
		tokens[i] = fmt.Sprint(i)
	}
	vocab := filepath.Join(dir, "vocab.gguf")
	if err := gguf.WriteFile(vocab, []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: gguf.String("gpt2")},
		{Key: "tokenizer.ggml.pre", Value: gguf.String("qwen2")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.Strings(tokens)},
		{Key: "tokenizer.ggml.merges", Value: gguf.Strings(nil)},
	}, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "m.gguf")
	var stdout bytes.Buffer
	if err := run([]string{"-in", dir, "-out", out, "-type", "q8_0", "-vocab", vocab}, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "qwen3 q8_0") {
		t.Errorf("summary: %q", stdout.String())
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ft, _ := f.Int("general.file_type"); ft != 7 {
		t.Errorf("general.file_type %d, want 7 (MOSTLY_Q8_0)", ft)
	}
	if _, err := tokenizer.FromGGUF(f); err != nil {
		t.Errorf("tokenizer: %v", err)
	}
}
