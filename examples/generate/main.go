// Command generate decodes from a Hugging Face model directory.
//
//	go run ./examples/generate -model DIR -prompt-ids 1,2,3 -max-tokens 32 -greedy -json
//
// prints {"prompt_ids":[...],"tokens":[...]}.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/zoomr-go/zoomr/model"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
}

func run() error {
	modelDir := flag.String("model", "", "Hugging Face model directory (config.json + safetensors)")
	promptIDs := flag.String("prompt-ids", "", "comma-separated prompt token ids")
	maxTokens := flag.Int("max-tokens", 32, "number of tokens to generate")
	greedy := flag.Bool("greedy", false, "greedy decoding (argmax)")
	asJSON := flag.Bool("json", false, "print JSON")
	flag.Parse()
	if *modelDir == "" {
		return errors.New("-model is required")
	}
	if !*greedy {
		return errors.New("only -greedy decoding is available in this build")
	}
	ids, err := parseIDs(*promptIDs)
	if err != nil {
		return err
	}
	ctx := context.Background()
	m, err := model.Load(ctx, *modelDir)
	if err != nil {
		return err
	}
	tokens, err := m.GenerateGreedy(ctx, ids, *maxTokens)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(map[string]any{"prompt_ids": ids, "tokens": tokens})
	}
	fmt.Println(tokens)
	return nil
}

func parseIDs(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("-prompt-ids is required")
	}
	var ids []int
	for _, f := range strings.Split(s, ",") {
		id, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("bad token id %q in -prompt-ids", f)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
