// Command tokenize converts text to token ids and back with a model's tokenizer.
//
//	printf 'Hello world' | go run ./examples/tokenize -tokenizer PATH -json     # {"ids":[...]}
//	echo '{"ids":[9707,1879]}' | go run ./examples/tokenize -tokenizer PATH -decode
//	echo '9707 1879' | go run ./examples/tokenize -tokenizer PATH -decode
//
// PATH is a tokenizer.json, a model directory holding one, a GGUF file, or a directory holding one
// GGUF file and no config.json (model.FindGGUF). Encoding reads all of
// standard input (a trailing newline is text too: use printf, not echo) and, like a Hugging Face
// tokenizer call, matches special tokens in the text and adds BOS when the vocabulary asks for it;
// -parse-special=false and -add-bos=true|false change that. Decoding accepts {"ids":[...]}, a JSON
// list, or ids separated by spaces, commas or newlines.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/zoomr-go/zoomr/examples/internal/cli"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
)

func main() {
	cli.Main("tokenize", func(_ context.Context, args []string, stdout io.Writer) error {
		return run(args, os.Stdin, stdout, os.Stderr)
	})
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tokenize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("tokenizer", "", "tokenizer.json, model directory or GGUF file (required)")
	asJSON := fs.Bool("json", false, `print {"ids":[...]} (decode: {"text":"..."})`)
	decode := fs.Bool("decode", false, "read ids on stdin and print their text")
	parseSpecial := fs.Bool("parse-special", true, "match control tokens such as <|im_start|> written in the text")
	addBOS := fs.String("add-bos", "auto", "prepend BOS: auto (the vocabulary's default), true or false")
	skipSpecial := fs.Bool("skip-special", false, "decode: leave out control tokens")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("-tokenizer PATH is required and no positional arguments are taken")
	}
	tokPath := *path
	if ggufPath, err := model.FindGGUF(tokPath); err == nil && ggufPath != "" {
		tokPath = ggufPath
	}
	tok, err := tokenizer.Load(tokPath)
	if err != nil {
		return err
	}
	in, err := io.ReadAll(stdin)
	if err != nil {
		return err
	}
	if *decode {
		ids, err := parseIDs(in)
		if err != nil {
			return err
		}
		text, err := tok.DecodeWith(ids, tokenizer.DecodeOptions{SkipSpecial: *skipSpecial})
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]string{"text": text})
		}
		_, err = io.WriteString(stdout, text)
		return err
	}
	opts := tokenizer.Options{ParseSpecial: *parseSpecial, AddBOS: tok.AddBOS()}
	switch *addBOS {
	case "auto":
	case "true", "false":
		opts.AddBOS = *addBOS == "true"
	default:
		return fmt.Errorf("-add-bos %q: want auto, true or false", *addBOS)
	}
	ids, err := tok.EncodeWith(string(in), opts)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string][]int{"ids": ids})
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(id)
	}
	_, err = fmt.Fprintln(stdout, strings.Join(parts, " "))
	return err
}

// parseIDs reads {"ids":[...]}, [...] or plain ids separated by spaces, commas or newlines.
func parseIDs(in []byte) ([]int, error) {
	s := strings.TrimSpace(string(in))
	switch {
	case strings.HasPrefix(s, "{"):
		var obj struct {
			IDs *[]int `json:"ids"`
		}
		if err := json.Unmarshal([]byte(s), &obj); err != nil || obj.IDs == nil {
			return nil, fmt.Errorf(`decode input: want {"ids":[...]}: %v`, err)
		}
		return *obj.IDs, nil
	case strings.HasPrefix(s, "["):
		var ids []int
		if err := json.Unmarshal([]byte(s), &ids); err != nil {
			return nil, fmt.Errorf("decode input: %w", err)
		}
		return ids, nil
	}
	var ids []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' }) {
		id, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("decode input: %q is not a token id", f)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
