package train

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
	"github.com/zoomr-go/zoomr/summarize/task"
)

// tinyTask is a task source of small problems over the task vocabulary, and a model for it.
func tinyTask(t *testing.T, seed uint64) (*model.Model, *TaskSource) {
	t.Helper()
	tok, err := tokenizer.NewWordLevel(task.Vocabulary())
	require.NoError(t, err)
	m := testModel(t, model.RandomSpec{Seed: seed, VocabSize: tok.VocabSize(), Hidden: 32, Heads: 4, KVHeads: 2, Layers: 2,
		Intermediate: 64, Tie: true})
	src, err := NewTaskSource(tok, []Stage{{Until: 1000, Tasks: []task.Config{{MinSteps: 2, MaxSteps: 3, MinWalk: 6, MaxWalk: 6}}}}, seed)
	require.NoError(t, err)
	return m, src
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// TestTrainingLowersTheLoss: a few steps on the task (restricted views, routing loss, clipping)
// lower the loss, and every step's stats are sane.
func TestTrainingLowersTheLoss(t *testing.T) {
	m, src := tinyTask(t, 3)
	tr, err := New(m, Config{Steps: 24, Warmup: 4, LR: 1e-2, BatchTokens: 512, Seed: 1})
	require.NoError(t, err)
	var losses []float64
	routed := 0
	require.NoError(t, tr.Run(t.Context(), src, RunOptions{OnStep: func(st StepStats) {
		require.False(t, math.IsNaN(st.Loss))
		require.Greater(t, st.LR, 0.0)
		require.Positive(t, st.Tokens)
		routed += st.RouteN
		losses = append(losses, st.Loss)
	}}))
	require.Len(t, losses, 24)
	require.Equal(t, 24, tr.StepCount())
	require.Positive(t, routed, "task examples carry routing positions")
	require.Less(t, mean(losses[20:]), mean(losses[:4])*0.8, "loss %v", losses)
}

// TestResumeContinuesTheRun: a run saved and restored into a fresh model continues where it was:
// the same weights as an uninterrupted run, up to float reordering.
func TestResumeContinuesTheRun(t *testing.T) {
	cfg := Config{Steps: 4, Warmup: 2, LR: 5e-3, BatchTokens: 256, Seed: 2}
	mA, src := tinyTask(t, 5)
	trA, err := New(mA, cfg)
	require.NoError(t, err)
	require.NoError(t, trA.Run(t.Context(), src, RunOptions{}))

	mB, _ := tinyTask(t, 5)
	half := cfg
	trB, err := New(mB, half)
	require.NoError(t, err)
	for step := range 2 {
		ex, err := src.Batch(step, cfg.BatchTokens)
		require.NoError(t, err)
		_, err = trB.Step(ex)
		require.NoError(t, err)
	}
	dir := t.TempDir()
	require.NoError(t, trB.Save(dir))
	require.True(t, HasCheckpoint(dir))

	mC, _ := tinyTask(t, 99) // other initial weights: all of them must come from the checkpoint
	trC, err := New(mC, cfg)
	require.NoError(t, err)
	require.NoError(t, trC.Restore(dir))
	require.Equal(t, 2, trC.StepCount())
	require.NoError(t, trC.Run(t.Context(), src, RunOptions{}))
	a, c := weightsOf(t, mA), weightsOf(t, mC)
	require.Equal(t, len(a), len(c))
	for i := range a {
		require.Equal(t, a[i].Name, c[i].Name)
		require.InDeltaSlice(t, a[i].Data, c[i].Data, 1e-4, a[i].Name)
	}

	// A checkpoint of another architecture is refused and changes nothing.
	other := testModel(t, model.RandomSpec{Seed: 1, VocabSize: 50, Hidden: 16, Heads: 2, KVHeads: 1, Layers: 1})
	trO, err := New(other, cfg)
	require.NoError(t, err)
	before := weightsOf(t, other)
	require.ErrorIs(t, trO.Restore(dir), ErrCheckpoint)
	require.Equal(t, 0, trO.StepCount())
	require.Equal(t, before, weightsOf(t, other))
}

// TestFineTuneCheckpointWithAddedTokens: an HF checkpoint whose tokenizer lacks the summary markers
// gets them added (vocabulary and embedding grow), trains on JSONL-style records with the loss going
// down, and saves a directory that loads back with the markers.
func TestFineTuneCheckpointWithAddedTokens(t *testing.T) {
	words := strings.Fields("add one two three four five six seven eight nine so the sum is answer check ok")
	base := t.TempDir()
	spec := tokenizer.WordLevelSpec{Specials: []string{"<eos>"}, Words: words, EOS: "<eos>"}
	require.NoError(t, tokenizer.WriteWordLevel(base, spec))
	_, err := model.WriteRandom(base, model.RandomSpec{Seed: 7, VocabSize: len(words) + 1, Hidden: 32, Heads: 4,
		KVHeads: 2, Layers: 2, Intermediate: 64})
	require.NoError(t, err)

	b, err := NewBackend()
	require.NoError(t, err)
	p := summarize.Protocol{AnswerMarker: "<|answer|>"}
	m, tok, err := LoadForFineTuning(t.Context(), base, p, 1, model.WithBackend(b), model.WithTrainingLayout())
	require.NoError(t, err)
	require.Equal(t, len(words)+4, m.Config.VocabSize, "three protocol tokens added")
	for _, s := range []string{p.Begin(), p.End(), p.AnswerMarker} {
		id, ok := tok.TokenID(s)
		require.True(t, ok, s)
		require.GreaterOrEqual(t, id, len(words)+1)
	}

	num := strings.Fields("one two three four five six seven eight nine")
	var recs []summarize.Record
	for i := range 30 {
		a, c := num[i%4], num[(i/4)%4]
		sum := num[(i%4)+(i/4)%4+1]
		recs = append(recs, summarize.Record{
			Prompt: fmt.Sprintf("add %s %s", a, c),
			Thoughts: []summarize.RecordThought{
				{Text: fmt.Sprintf("%s add %s", a, c), Summary: "so the sum is " + sum},
				{Text: "check " + sum, Summary: "ok"},
			},
			Answer: "answer " + sum,
		})
	}
	r, err := summarize.NewRenderer(tok, summarize.RenderOptions{Protocol: p, Layout: &summarize.Layout{}, EndToken: "<eos>"})
	require.NoError(t, err)
	src, err := NewRecordSource(recs, r, DefaultWeights(), 1)
	require.NoError(t, err)
	tr, err := New(m, Config{Steps: 20, Warmup: 3, LR: 1e-2, BatchTokens: 256, Seed: 1})
	require.NoError(t, err)
	var losses []float64
	require.NoError(t, tr.Run(t.Context(), src, RunOptions{OnStep: func(st StepStats) { losses = append(losses, st.Loss) }}))
	require.Less(t, mean(losses[16:]), mean(losses[:3])*0.7, "loss %v", losses)

	out := t.TempDir()
	require.NoError(t, m.Save(out, true))
	require.NoError(t, WriteTokenizer(base, out, tok, p))
	tok2, err := tokenizer.Load(filepath.Join(out, "tokenizer.json"))
	require.NoError(t, err)
	ids, err := tok2.Encode("add one two" + p.Begin() + "ok" + p.End())
	require.NoError(t, err)
	begin, _ := tok.TokenID(p.Begin())
	require.Contains(t, ids, begin)
	m2, err := model.Load(t.Context(), out)
	require.NoError(t, err)
	logits, err := m2.Forward(t.Context(), ids)
	require.NoError(t, err)
	require.Len(t, logits, len(ids)*m.Config.VocabSize)
	_, err = os.Stat(filepath.Join(out, "tokenizer_config.json"))
	require.NoError(t, err)
}

func TestConfigValidateAndSchedule(t *testing.T) {
	for _, c := range []Config{{}, {Steps: 10, LR: -1}, {Steps: 10, MinLRFactor: 2}, {Steps: 10, View: ViewConfig{Restricted: 2}},
		{Steps: 10, View: ViewConfig{WindowMin: 10, WindowMax: 5}}, {Steps: 10, BatchTokens: -1}} {
		require.ErrorIs(t, c.Validate(), ErrConfig, "%+v", c)
	}
	c := Config{Steps: 100, Warmup: 10, LR: 1e-3}
	require.InDelta(t, 1e-4, c.LearningRate(0), 1e-12)
	require.InDelta(t, 1e-3, c.LearningRate(9), 1e-12)
	require.InDelta(t, 1e-3, c.LearningRate(10), 1e-12)
	require.InDelta(t, 1e-4, c.LearningRate(100), 1e-9)
	require.Less(t, c.LearningRate(60), c.LearningRate(30))
}

func TestStepRejectsBadExamples(t *testing.T) {
	m, src := tinyTask(t, 1)
	tr, err := New(m, Config{Steps: 5})
	require.NoError(t, err)
	_, err = tr.Step(nil)
	require.ErrorIs(t, err, ErrExample)
	ex, err := src.Batch(0, 256)
	require.NoError(t, err)
	bad := *ex[0]
	bad.IDs = append([]int(nil), bad.IDs...)
	bad.IDs[3] = 10_000
	_, err = tr.Step([]*Example{&bad})
	require.ErrorIs(t, err, ErrExample)
	require.Equal(t, 0, tr.StepCount(), "a refused step changes nothing")
}

// TestRouteSkipHeadsSparesThoseHeads: with the language-model loss off, one step of the routing
// loss moves the query weights of the routed heads of the last layer and leaves the skipped ones
// exactly as they were (nothing downstream of a last-layer query reaches the routing scores).
func TestRouteSkipHeadsSparesThoseHeads(t *testing.T) {
	m, src := tinyTask(t, 5)
	skip := []HeadRef{{Layer: 1, Head: 0}, {Layer: 1, Head: 3}}
	tr, err := New(m, Config{Steps: 5, Warmup: 1, LR: 1e-2, RouteWeight: 1, RouteSkipHeads: skip})
	require.NoError(t, err)
	ex, err := src.Batch(0, 512)
	require.NoError(t, err)
	for _, e := range ex {
		clear(e.Weight) // routing loss only
	}
	q := m.Variable("model.layers.1.self_attn.q_proj.weight")
	require.NotNil(t, q)
	before := q.MustValue().Value().([][]float32)
	st, err := tr.Step(ex)
	require.NoError(t, err)
	require.Positive(t, st.RouteN)
	moved := movedHeads(m, before, q.MustValue().Value().([][]float32))
	for h, mv := range moved {
		skipped := h == 0 || h == 3
		require.Equal(t, !skipped, mv, "head %d: skipped %v, query weights moved %v", h, skipped, mv)
	}
}

// movedHeads reports per query head whether any of its rows of a q_proj weight changed.
func movedHeads(m *model.Model, before, after [][]float32) []bool {
	D := m.Config.HeadDim
	moved := make([]bool, m.Config.Heads)
	for h := range moved {
		for r := h * D; r < (h+1)*D; r++ {
			for c := range before[r] {
				moved[h] = moved[h] || before[r][c] != after[r][c]
			}
		}
	}
	return moved
}

func TestRouteSkipHeadsChecked(t *testing.T) {
	hs, err := ParseHeadRefs("1.2,0.3")
	require.NoError(t, err)
	require.Equal(t, []HeadRef{{1, 2}, {0, 3}}, hs)
	for _, bad := range []string{"1", "1.2.3", "a.b", "1.2,", " 1.2"} {
		_, err := ParseHeadRefs(bad)
		require.ErrorIs(t, err, ErrConfig, bad)
	}
	hs, err = ParseHeadRefs("")
	require.NoError(t, err)
	require.Empty(t, hs)
	m, _ := tinyTask(t, 1)
	for _, h := range []HeadRef{{2, 0}, {0, 4}, {-1, 0}} {
		_, err := New(m, Config{Steps: 5, RouteSkipHeads: []HeadRef{h}})
		require.ErrorIs(t, err, ErrConfig, "%v", h)
	}
}

func weightsOf(t *testing.T, m *model.Model) []model.NamedTensor {
	t.Helper()
	w, err := m.Weights()
	require.NoError(t, err)
	return w
}

// TestCopyLossTrainsItsHeads: with the language-model and routing losses off, steps of the copy
// loss on note questions move the query weights of the named last-layer heads only, and lower the
// loss on the same batch.
func TestCopyLossTrainsItsHeads(t *testing.T) {
	m, src := tinyTask(t, 6)
	heads := []HeadRef{{Layer: 1, Head: 1}, {Layer: 1, Head: 2}}
	tr, err := New(m, Config{Steps: 8, Warmup: 1, LR: 1e-2, RouteWeight: -1, CopyWeight: 1, CopyHeads: heads})
	require.NoError(t, err)
	ex, err := src.Batch(0, 1024)
	require.NoError(t, err)
	copies := 0
	for _, e := range ex {
		clear(e.Weight) // copy loss only
		copies += len(e.Copies)
	}
	require.Positive(t, copies, "the batch has note questions")
	q := m.Variable("model.layers.1.self_attn.q_proj.weight")
	before := q.MustValue().Value().([][]float32)
	var losses []float64
	for range 8 {
		st, err := tr.Step(ex)
		require.NoError(t, err)
		require.Positive(t, st.CopyN)
		losses = append(losses, st.Copy)
	}
	for h, mv := range movedHeads(m, before, q.MustValue().Value().([][]float32)) {
		require.Equal(t, h == 1 || h == 2, mv, "head %d: query weights moved %v", h, mv)
	}
	require.Less(t, losses[7], losses[0]*0.9, "copy loss %v", losses)
	_, err = New(m, Config{Steps: 5, CopyHeads: []HeadRef{{Layer: 2, Head: 0}}})
	require.ErrorIs(t, err, ErrConfig)
	_, err = New(m, Config{Steps: 5, CopyWeight: -1})
	require.ErrorIs(t, err, ErrConfig)
}
