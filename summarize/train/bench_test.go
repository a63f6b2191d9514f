package train

import (
	"testing"

	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize/task"
)

// BenchmarkTrainStep: one optimizer step of the committed model's architecture on task batches of
// ~2k tokens, short traces (T=256) and evaluation-length ones (T~1,150).
func BenchmarkTrainStep(b *testing.B) {
	tok, err := tokenizer.NewWordLevel(task.Vocabulary())
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		task task.Config
	}{
		{"short", task.Config{MinSteps: 8, MaxSteps: 8, MinWalk: 8, MaxWalk: 8}},
		{"eval-length", task.Config{MinSteps: 18, MaxSteps: 18, MinWalk: 24, MaxWalk: 24}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := testModel(b, model.RandomSpec{Seed: 1, VocabSize: tok.VocabSize(), Hidden: 128, Heads: 4, KVHeads: 2,
				HeadDim: 16, Layers: 3, Intermediate: 256, Tie: true})
			tr, err := New(m, Config{Steps: 1 << 20, BatchTokens: 2048})
			if err != nil {
				b.Fatal(err)
			}
			src, err := NewTaskSource(tok, []Stage{{Until: 1, Tasks: []task.Config{bc.task}}}, 1)
			if err != nil {
				b.Fatal(err)
			}
			ex, err := src.Batch(0, 2048)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := tr.Step(ex); err != nil { // compile
				b.Fatal(err)
			}
			tokens := 0
			b.ResetTimer()
			for b.Loop() {
				st, err := tr.Step(ex)
				if err != nil {
					b.Fatal(err)
				}
				tokens += st.Tokens
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
