// Command quantize converts a Hugging Face model directory into a GGUF file that llama.cpp loads.
//
//	go run ./examples/quantize -in HF_DIR -out FILE.gguf -type q4_k_m
//
// HF_DIR holds config.json, model.safetensors (or shards with model.safetensors.index.json),
// tokenizer.json and tokenizer_config.json. The file gets the architecture metadata
// convert_hf_to_gguf.py writes, the tokenizer (byte-level BPE: tokens, types, merges, special ids,
// add_bos_token) and tokenizer_config.json's chat template. -vocab FILE.gguf copies another GGUF's
// tokenizer instead (for a directory without tokenizer.json, such as a random test model).
//
// Types: f32, f16, bf16, q8_0, q4_0, q4_1, q4_k_m. Quantized files choose each tensor's type as
// llama-quantize does without an importance matrix (model.WriteGGUF): 1-D tensors stay F32, the
// output matrix gets Q6_K, q4_k_m gives attn_v and ffn_down Q6_K on the "use_more_bits" layers, and
// rows that are not whole blocks fall back to Q5_0/Q8_0/F16.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/zoomr-go/zoomr/model"
)

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "quantize:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("quantize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "Hugging Face model directory (required)")
	out := fs.String("out", "", "GGUF file to write (required)")
	typ := fs.String("type", "q8_0", "f32, f16, bf16, q8_0, q4_0, q4_1 or q4_k_m")
	vocab := fs.String("vocab", "", "copy the tokenizer from this GGUF instead of HF_DIR's tokenizer.json")
	name := fs.String("name", "", "general.name (default: the architecture)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		fs.Usage()
		return errors.New("-in and -out are required")
	}
	ft, err := model.ParseGGUFFileType(*typ)
	if err != nil {
		return err
	}
	sum, err := model.WriteGGUF(*in, *out, model.GGUFWriteOptions{Type: ft, Vocab: *vocab, Name: *name})
	if err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	var types []string
	for t, n := range sum.Types {
		types = append(types, fmt.Sprintf("%s×%d", t, n))
	}
	sort.Strings(types)
	fmt.Fprintf(stdout, "wrote %s: %s %s, %d tensors (%s), %d bytes\n", *out, sum.Arch, ft.Name, sum.Tensors,
		strings.Join(types, " "), st.Size())
	return nil
}
