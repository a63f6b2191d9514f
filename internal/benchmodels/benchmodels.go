// Package benchmodels names the models the benchmarks run on and materialises them on disk, so that
// examples/bench, the go test benchmarks and llama.cpp's bench all load the very same weights.
package benchmodels

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/zoomr-go/zoomr/model"
)

func intp(v int) *int { return &v }

// Random512 is the benchmark model: d=512, 8 layers, 8 query / 2 KV heads, SwiGLU 1536, and
// the Llama 2 (SentencePiece) vocabulary size, the smallest real vocabulary llama.cpp can load it with
// (oracle vocab "llama-spm").
var Random512 = model.RandomSpec{Arch: "llama", VocabSize: 32000, Hidden: 512, Layers: 8, Heads: 8, KVHeads: 2,
	Intermediate: 1536, Seed: 512, BOS: intp(1), EOS: []int{2}}

// Random512Vocab is the oracle vocabulary that matches Random512's vocab size.
const Random512Vocab = "llama-spm"

// Materialize writes spec under the OS temp dir (once: the directory name hashes the spec) and returns
// the directory.
func Materialize(spec model.RandomSpec) (string, error) {
	data, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("zoomr-bench-%x", sum[:8]))
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
		return dir, nil
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if _, err := model.WriteRandom(tmp, spec); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	return dir, nil
}

// RepoDir finds the repository root (the directory holding go.mod) from the working directory.
func RepoDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("repository root (go.mod) not found")
		}
	}
}

// SmallModelDir is the committed trained model, testdata/zoomr-tiny.
func SmallModelDir() (string, error) {
	root, err := RepoDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "testdata", "zoomr-tiny")
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return "", fmt.Errorf("trained model not found at %s", dir)
	}
	return dir, nil
}

// Qwen05 is a random model shaped like Qwen2.5-0.5B (qwen2: hidden 896, 24 layers, 14 query / 2 KV
// heads of 64, SwiGLU 4864, vocabulary 151,936, tied embeddings, q/k/v biases): the GGUF benchmark
// model, 494M parameters.
var Qwen05 = model.RandomSpec{Arch: "qwen2", VocabSize: 151936, Hidden: 896, Layers: 24, Heads: 14, KVHeads: 2,
	Intermediate: 4864, Tie: true, RopeTheta: 1000000, Seed: 5, BOS: intp(151643), EOS: []int{151643}}

// Qwen05Vocab is the oracle vocabulary (a GGUF under the oracle's vocab/) that matches Qwen05's
// vocabulary size; its tokenizer goes into the GGUF files so that llama.cpp loads them.
const Qwen05Vocab = "ggml-vocab-qwen2.gguf"

// MaterializeGGUF writes spec as a GGUF of type typ (model.WriteGGUF, as examples/quantize does)
// with the tokenizer of the vocabulary GGUF vocab, under the OS temp dir (once per spec, type and
// vocabulary), and returns the file.
func MaterializeGGUF(spec model.RandomSpec, typ, vocab string) (string, error) {
	ft, err := model.ParseGGUFFileType(typ)
	if err != nil {
		return "", err
	}
	dir, err := Materialize(spec)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, fmt.Sprintf("model-%s-%s.gguf", typ, strings.TrimSuffix(filepath.Base(vocab), ".gguf")))
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	tmp := out + ".tmp"
	if _, err := model.WriteGGUF(dir, tmp, model.GGUFWriteOptions{Type: ft, Vocab: vocab, Name: "zoomr-bench"}); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return out, os.Rename(tmp, out)
}
