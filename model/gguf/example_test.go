package gguf_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/zoomr-go/zoomr/model/gguf"
)

func Example() {
	dir, _ := os.MkdirTemp("", "gguf-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tiny.gguf")

	// A 2×3 F32 matrix: ggml dims are [cols, rows].
	data := make([]byte, 2*3*4)
	err := gguf.WriteFile(path, []gguf.KV{
		{Key: "general.architecture", Value: gguf.String("llama")},
		{Key: "llama.block_count", Value: gguf.Uint32(1)},
		{Key: "tokenizer.ggml.tokens", Value: gguf.Strings([]string{"a", "b"})},
	}, []gguf.WriteTensor{{Name: "token_embd.weight", Type: gguf.F32, Dims: []int64{3, 2}, Data: data}})
	if err != nil {
		fmt.Println(err)
		return
	}

	f, err := gguf.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	arch, _ := f.String("general.architecture")
	layers, _ := f.Int("llama.block_count")
	tokens, _ := f.Array("tokenizer.ggml.tokens")
	emb, _ := f.Tensor("token_embd.weight")
	fmt.Println(arch, layers, tokens.Len())
	fmt.Println(emb.Type, emb.Dims, emb.Shape(), len(emb.Data))
	// Output:
	// llama 1 2
	// f32 [3 2] [2 3] 24
}
