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
	dir, _ := os.MkdirTemp("", "zoomr-example")
	defer os.RemoveAll(dir)
	if _, err := model.WriteRandom(dir, model.RandomSpec{Seed: 1, VocabSize: 128}); err != nil {
		panic(err)
	}
	ctx := context.Background()
	m, err := model.Load(ctx, dir)
	if err != nil {
		panic(err)
	}
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
