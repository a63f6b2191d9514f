package tokenizer_test

import (
	"fmt"
	"log"

	"github.com/zoomr-go/zoomr/model/tokenizer"
)

// The Llama 2 (SentencePiece) vocabulary committed for tests.
const spmVocab = "../../testdata/tokenizer/ggml-vocab-llama-spm.gguf"

func ExampleLoad() {
	tok, err := tokenizer.Load(spmVocab) // or a tokenizer.json, or a model directory
	if err != nil {
		log.Fatal(err)
	}
	ids, err := tok.Encode("Hello world") // BOS added: this vocabulary asks for it
	if err != nil {
		log.Fatal(err)
	}
	text, _ := tok.Decode(ids[1:])
	fmt.Println(ids, tok.BOS(), tok.EOS(), text)
	// Output: [1 15043 3186] 1 2 Hello world
}

func ExampleTokenizer_EncodeWith() {
	tok, err := tokenizer.Load(spmVocab)
	if err != nil {
		log.Fatal(err)
	}
	// llama.cpp's test convention: no BOS, special-token text left as text.
	plain, _ := tok.EncodeWith("</s>", tokenizer.Options{})
	special, _ := tok.EncodeWith("</s>", tokenizer.Options{ParseSpecial: true})
	fmt.Println(plain, special)
	// Output: [1533 29879 29958] [2]
}

func ExampleTokenizer_AddSpecialTokens() {
	tok, err := tokenizer.Load(spmVocab)
	if err != nil {
		log.Fatal(err)
	}
	ids := tok.AddSpecialTokens("<|begin_of_summary|>", "<|end_of_summary|>")
	enc, _ := tok.EncodeWith("<|begin_of_summary|>ok<|end_of_summary|>", tokenizer.Options{ParseSpecial: true})
	fmt.Println(ids, tok.VocabSize(), enc)
	// Output: [32000 32001] 32002 [32000 3431 32001]
}

func ExampleStreamDecoder() {
	tok, err := tokenizer.Load(spmVocab)
	if err != nil {
		log.Fatal(err)
	}
	ids, _ := tok.EncodeWith("𝔸", tokenizer.Options{}) // not in the vocabulary: "▁", then its 4 bytes
	d := tok.NewStreamDecoder()
	for _, id := range ids {
		piece, _ := d.Next(id)
		fmt.Printf("%d -> %q\n", id, piece)
	}
	// Output:
	// 29871 -> " "
	// 243 -> ""
	// 160 -> ""
	// 151 -> ""
	// 187 -> "𝔸"
}

func ExampleNewWordLevel() {
	tok, err := tokenizer.NewWordLevel(tokenizer.WordLevelSpec{
		Specials: []string{"<|endoftext|>", "<unk>"},
		Words:    []string{"the", "cat", "sat"},
		Unknown:  "<unk>",
		EOS:      "<|endoftext|>",
	})
	if err != nil {
		log.Fatal(err)
	}
	ids, _ := tok.Encode("the cat sat down<|endoftext|>")
	text, _ := tok.Decode(ids)
	fmt.Println(ids, text)
	// Output: [2 3 4 1 0] the cat sat <unk> <|endoftext|>
}
