package zoomr

import (
	"context"
	"errors"
	"testing"

	"github.com/zoomr-go/zoomr/model"
)

// FuzzConfig: any decoder configuration either fails Validate/New with a typed error, or decodes a few
// tokens with a tiny model without panicking, within its resident budget.
func FuzzConfig(f *testing.F) {
	f.Add("zoomr", "paragraph", 8, 0, 2, 4, 2, 8, 4, 0.0, 0, 0.0, 3, false)
	f.Add("full", "paragraph", 0, 0, 0, 0, 0, 0, 0, 0.7, 5, 0.9, 5, true)
	f.Add("h2o", "paragraph", 4, 2, 1, 2, 1, 4, 2, 1.5, 0, 0.5, 4, false)
	f.Add("sumr", "summary", 4, 2, 1, 2, 1, 4, 2, 0.0, 0, 0.0, 2, false)
	f.Add("streaming", "paragraph", 1, 1, 1, 1, 1, 1, 1, 0.0, 1, 1.0, 1, true)
	f.Add("lru", "x", -1, -5, 0, 0, 0, 0, 0, -1.0, -1, 2.0, -3, false)
	m := fuzzModel(f)
	f.Fuzz(func(t *testing.T, policy, segmenter string, window, sinks, zoom, slot, votes, summaryCap, maxThought int,
		temp float64, topK int, topP float64, maxTokens int, bf16 bool) {
		clamp := func(v int) int { return min(v, 64) } // keep runs small; negative values still reach Validate
		cfg := Config{Policy: policy, Segmenter: SegmenterKind(segmenter), Window: clamp(window),
			Sinks: clamp(sinks), Zoom: clamp(zoom), ZoomSlotLen: clamp(slot), Votes: clamp(votes),
			SummaryCap: clamp(summaryCap), MaxThoughtLen: clamp(maxThought), Temperature: temp, TopK: topK,
			TopP: topP, MaxTokens: clamp(maxTokens), BFloat16: bf16, IgnoreEOS: true, MaxPromptTokens: 16}
		d, err := New(m, nil, cfg)
		if err != nil {
			if !errors.Is(err, ErrConfig) && !errors.Is(err, ErrProtocol) {
				t.Fatalf("untyped error from New: %v", err)
			}
			return
		}
		toks, stats, err := d.Run(context.Background(), []int{1, 2, 3})
		if err != nil {
			if !errors.Is(err, ErrConfig) && !errors.Is(err, ErrPrompt) {
				t.Fatalf("untyped error from Run: %v", err)
			}
			return
		}
		if len(toks) == 0 || len(toks) > d.Config().MaxTokens {
			t.Fatalf("%d tokens for MaxTokens %d", len(toks), d.Config().MaxTokens)
		}
		if d.Config().Policy != PolicyFull {
			b, err := d.Config().ResidentBudget(d.layout, 3)
			if err == nil && stats.PeakResidentBytes > b.Bytes {
				t.Fatalf("resident %d bytes over the budget %d", stats.PeakResidentBytes, b.Bytes)
			}
		}
	})
}

func fuzzModel(t testing.TB) *model.Model {
	dir := t.TempDir()
	if _, err := model.WriteRandom(dir, model.RandomSpec{Seed: 3, VocabSize: 32, Hidden: 16, Layers: 1, Heads: 2, KVHeads: 1}); err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
