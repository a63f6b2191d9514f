package zoomr_test

import (
	"context"
	"fmt"
	"os"

	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/zoomr"
)

// A random model has no tokenizer and never writes summary markers, so this example uses the
// training-free paragraph segmenter (thoughts split every 16 tokens) and token ids.
func Example() {
	ctx := context.Background()
	m := randomModel(ctx)
	dec, err := zoomr.New(m, nil, zoomr.Config{Segmenter: zoomr.SegmentParagraph, MaxThoughtLen: 16,
		Window: 32, SummaryCap: 32, ZoomSlotLen: 16, MaxTokens: 100, IgnoreEOS: true})
	if err != nil {
		panic(err)
	}
	g := dec.StartIDs(ctx, []int{1, 2, 3, 4})
	for _, err := range g.Tokens() {
		if err != nil {
			panic(err)
		}
	}
	st := g.Stats()
	fmt.Println("tokens:", st.Tokens, "re-selections:", st.Reselections, "resident bytes:", st.PeakResidentBytes)
	// 160 slots (prompt 64 + summaries 32 + zoom 2×16 + window 32) × 516 bytes.
	// Output: tokens: 100 re-selections: 6 resident bytes: 82560
}

// A LogitsProcessor constrains what may be sampled: here the generation may only use token ids
// below 10 (a grammar would allow a different set at each step, from the tokens generated so far).
func ExampleLogitsProcessorFunc() {
	ctx := context.Background()
	m := randomModel(ctx)
	digitsOnly := zoomr.LogitsProcessorFunc(func(generated []int, logits []float32) error {
		zoomr.AllowOnly(logits, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
		return nil
	})
	dec, err := zoomr.New(m, nil, zoomr.Config{Segmenter: zoomr.SegmentParagraph, MaxTokens: 20, IgnoreEOS: true,
		NewLogitsProcessor: func() zoomr.LogitsProcessor { return digitsOnly }})
	if err != nil {
		panic(err)
	}
	toks, _, err := dec.Run(ctx, []int{50, 60, 70})
	if err != nil {
		panic(err)
	}
	below := 0
	for _, t := range toks {
		if t.ID < 10 {
			below++
		}
	}
	fmt.Printf("%d of %d tokens below 10\n", below, len(toks))
	// Output: 20 of 20 tokens below 10
}

// randomModel writes a small random Llama (vocabulary 128) to a temporary directory and loads it.
func randomModel(ctx context.Context) *model.Model {
	dir, err := os.MkdirTemp("", "zoomr-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir) // the weights are in memory once loaded
	if _, err := model.WriteRandom(dir, model.RandomSpec{Seed: 1, VocabSize: 128}); err != nil {
		panic(err)
	}
	m, err := model.Load(ctx, dir)
	if err != nil {
		panic(err)
	}
	return m
}
