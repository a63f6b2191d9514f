package kvcache_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/zoomr-go/zoomr/kvcache"
	"github.com/zoomr-go/zoomr/model"
)

// decodeRun is what greedy decoding through the model with one cache produced.
type decodeRun struct {
	tokens []int
	logits [][]float32
}

// greedy prefills prompt, then decodes steps tokens greedily through m with cache c. A thought closes
// every 23 tokens (18 body + a 5-token summary); after each seal the newest thoughts are zoomed.
// With attention-based policies it feeds the step's attention back before appending.
func greedy(t *testing.T, m *model.Model, c kvcache.Cache, prompt []int, steps int) decodeRun {
	t.Helper()
	ctx := context.Background()
	pre, err := m.Prefill(ctx, prompt, 0, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AppendPrompt(pre.K, pre.V, len(prompt)); err != nil {
		t.Fatal(err)
	}
	var run decodeRun
	var thoughts []kvcache.Thought
	logits := pre.Logits
	for s := range steps {
		tok := model.Argmax(logits)
		run.tokens = append(run.tokens, tok)
		run.logits = append(run.logits, logits)
		if s == steps-1 {
			break
		}
		kv, err := c.Context()
		if err != nil {
			t.Fatal(err)
		}
		observer, observes := c.(kvcache.AttentionObserver)
		res, err := m.Step(ctx, tok, c.Len(), model.KV{K: kv.K, V: kv.V, Mask: kv.Mask},
			model.StepOptions{ReturnAttention: observes})
		if err != nil {
			t.Fatal(err)
		}
		if observes {
			if err := observer.ObserveAttention(res.Attn); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Append(c.Len(), res.K, res.V); err != nil {
			t.Fatal(err)
		}
		if s%23 == 22 { // a thought of 18 body + 5 summary tokens ends
			end := c.Len()
			th := kvcache.Thought{ID: kvcache.ThoughtID(len(thoughts)), Body: kvcache.Span{Start: end - 23, End: end - 5},
				Summary: kvcache.Span{Start: end - 5, End: end}}
			thoughts = append(thoughts, th)
			if sealer, ok := c.(kvcache.Sealer); ok {
				if err := sealer.Seal(th); err != nil {
					t.Fatal(err)
				}
			}
			if z, ok := c.(kvcache.Zoomer); ok {
				var ids []kvcache.ThoughtID
				for id := len(thoughts) - 1; id >= 0 && len(ids) < z.ZoomCapacity(); id-- {
					ids = append(ids, kvcache.ThoughtID(id))
				}
				if err := z.Zoom(ids); err != nil {
					t.Fatal(err)
				}
			}
		}
		logits = res.Logits
	}
	return run
}

func maxLogitDiff(a, b decodeRun) float64 {
	d := 0.0
	for i := range min(len(a.logits), len(b.logits)) {
		for j := range a.logits[i] {
			d = math.Max(d, math.Abs(float64(a.logits[i][j]-b.logits[i][j])))
		}
	}
	return d
}

// TestOracleZoomRCoveringEqualsFull: through the model API, a ZoomR cache whose regions cover every
// thought gives exactly the full cache's 256 greedy tokens (and logits up to float reordering), in
// float32 and in bfloat16 storage; a tight ZoomR's logits differ (the test can fail).
func TestOracleZoomRCoveringEqualsFull(t *testing.T) {
	dir := t.TempDir()
	cfg, err := model.WriteRandom(dir, model.RandomSpec{Arch: "llama", Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	prompt := []int{1, 17, 42, 99, 3, 250, 7, 64, 128, 5}
	const steps = 256
	for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16} {
		t.Run(dt.String(), func(t *testing.T) {
			layout := kvcache.Layout{Layers: cfg.Layers, KVHeads: cfg.KVHeads, HeadDim: cfg.HeadDim, DType: dt}
			full, err := kvcache.NewFull(kvcache.FullConfig{Layout: layout})
			if err != nil {
				t.Fatal(err)
			}
			zoomr, err := kvcache.NewZoomR(kvcache.Config{Layout: layout, Window: 32, SummaryCap: 60, ZoomSlots: 12, ZoomSlotLen: 18})
			if err != nil {
				t.Fatal(err)
			}
			want := greedy(t, m, full, prompt, steps)
			got := greedy(t, m, zoomr, prompt, steps)
			if !slices.Equal(got.tokens, want.tokens) {
				t.Fatalf("ZoomR (covering) tokens differ from Full:\n%v\n%v", got.tokens, want.tokens)
			}
			if distinct := len(slices.Compact(slices.Sorted(slices.Values(want.tokens)))); distinct < 5 {
				t.Fatalf("the random model's greedy output has %d distinct tokens: too degenerate to compare", distinct)
			}
			d := maxLogitDiff(got, want)
			t.Logf("%d tokens equal; max |logit diff| %.3g; ZoomR resident %d B vs Full %d B",
				steps, d, zoomr.Memory().ResidentBytes, full.Memory().ResidentBytes)
			if d > 1e-3 {
				t.Fatalf("max |logit diff| %g", d)
			}
			if dt != dtypes.Float32 {
				return
			}
			tight, err := kvcache.NewZoomR(kvcache.Config{Layout: layout, Window: 8, SummaryCap: 10, ZoomSlots: 1, ZoomSlotLen: 4})
			if err != nil {
				t.Fatal(err)
			}
			if d := maxLogitDiff(greedy(t, m, tight, prompt, 64), want); d < 1e-3 {
				t.Fatalf("a tight ZoomR's logits are within %g of Full's: the test would not see a broken cache", d)
			}
		})
	}
}

// TestModelDrivesEveryPolicy: every policy's Context is accepted by the model's Step, H2O included
// with its attention feedback ([L, H, C] over the context it supplied).
func TestModelDrivesEveryPolicy(t *testing.T) {
	dir := t.TempDir()
	cfg, err := model.WriteRandom(dir, model.RandomSpec{Arch: "qwen2", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	l := kvcache.Layout{Layers: cfg.Layers, KVHeads: cfg.KVHeads, HeadDim: cfg.HeadDim}
	for _, name := range kvcache.PolicyNames() {
		t.Run(name, func(t *testing.T) {
			c, err := kvcache.New(name, kvcache.Config{Layout: l, Window: 4, SummaryCap: 8, ZoomSlots: 1, ZoomSlotLen: 4,
				PromptLen: 12, SinkAlign: 4})
			if err != nil {
				t.Fatal(err)
			}
			run := greedy(t, m, c, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 30)
			if len(run.tokens) != 30 || c.Len() != 12+29 {
				t.Fatalf("%d tokens, cache length %d", len(run.tokens), c.Len())
			}
			if mem := c.Memory(); mem.Attended.Total() > mem.Capacity || mem.Attended.Total() == 0 {
				t.Fatalf("memory %+v", mem)
			}
		})
	}
}
