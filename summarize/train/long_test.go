package train

import (
	"context"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize/task"
)

// TestTagFirstFormRoutesAtTheFirstSTag: in the tag-first form over the long vocabulary the routing
// position is the restated question's S tag (the answer's first word), for steps past 23 too, and
// a batch of the long scale draws long-scale problems.
func TestTagFirstFormRoutesAtTheFirstSTag(t *testing.T) {
	tok, err := tokenizer.NewWordLevel(task.VocabularyOf(task.Long))
	require.NoError(t, err)
	cfg := task.Config{Scale: task.Long, MinSteps: 30, MaxSteps: 30, MinWalk: 7, MaxWalk: 7, Form: task.TagFirstForm}
	src, err := NewTaskSource(tok, []Stage{{Until: 10, Tasks: []task.Config{cfg}}}, 1)
	require.NoError(t, err)
	src.Form, src.Scale = task.TagFirstForm, task.Long
	g, err := task.NewGenerator(cfg, task.Train, 4)
	require.NoError(t, err)
	far := false
	for range 20 {
		p := g.Next()
		e, err := src.Example(p)
		require.NoError(t, err)
		answer := strings.Fields(p.Answer()) // S5 QN N5 d, S5 QV S5 v
		route, _ := tok.TokenText(e.IDs[e.Route])
		require.Equal(t, answer[0], route)
		marker, _ := tok.TokenText(e.IDs[e.Route-1])
		require.Equal(t, task.AnswerMarker, marker)
		require.Equal(t, p.TargetThought(), e.RouteThought)
		far = far || p.Target >= task.MaxSteps
	}
	require.True(t, far, "some questions ask about steps past 23")
	batch, err := src.Batch(0, 4096)
	require.NoError(t, err)
	require.NotEmpty(t, batch)
	// The standard scale's stage limits still hold for a standard source.
	std, err := tokenizer.NewWordLevel(task.Vocabulary())
	require.NoError(t, err)
	_, err = NewTaskSource(std, []Stage{{Until: 10, Tasks: []task.Config{{MinSteps: 30, MaxSteps: 30}}}}, 1)
	require.ErrorIs(t, err, task.ErrConfig)
}

// TestLongCurriculum: every stage's configs are of the long scale and valid, and the last stage
// holds the long evaluation distribution.
func TestLongCurriculum(t *testing.T) {
	for name, curriculum := range map[string]func(int) []Stage{"grown": LongCurriculum, "scratch": LongScratchCurriculum} {
		stages := curriculum(1000)
		require.Equal(t, 1000, stages[len(stages)-1].Until, name)
		for _, st := range stages {
			for _, c := range st.Tasks {
				require.Equal(t, task.Long, c.Scale, name)
				require.NoError(t, c.Validate(), name)
			}
		}
		require.Contains(t, stages[len(stages)-1].Tasks, task.Config{Scale: task.Long}, name)
	}
}

// TestLoadGrown: a saved model grows into a larger vocabulary with its old rows unchanged and new
// rows spread apart; the same size loads unchanged; a smaller one is a typed error.
func TestLoadGrown(t *testing.T) {
	dir := t.TempDir()
	_, err := model.WriteRandom(dir, model.RandomSpec{Seed: 3, VocabSize: 12, Hidden: 16, Heads: 2, KVHeads: 1, Layers: 1})
	require.NoError(t, err)
	ctx := context.Background()
	m, err := model.Load(ctx, dir)
	require.NoError(t, err)
	g, err := LoadGrown(ctx, dir, 20, 1)
	require.NoError(t, err)
	require.Equal(t, 20, g.Config.VocabSize)
	emb := func(m *model.Model) []float32 {
		named, err := m.Weights()
		require.NoError(t, err)
		for _, w := range named {
			if w.Name == "model.embed_tokens.weight" {
				return tensors.MustCopyFlatData[float32](tensors.FromFlatDataAndDimensions(w.Data, w.Shape...))
			}
		}
		t.Fatal("no embedding")
		return nil
	}
	old, grown := emb(m), emb(g)
	d := m.Config.Hidden
	require.Equal(t, old, grown[:12*d], "old rows unchanged")
	var dist float64
	for j := range d {
		x := float64(grown[12*d+j] - grown[13*d+j])
		dist += x * x
	}
	require.Greater(t, dist, 1e-3, "new rows differ")
	same, err := LoadGrown(ctx, dir, 12, 1)
	require.NoError(t, err)
	require.Equal(t, old, emb(same))
	_, err = LoadGrown(ctx, dir, 8, 1)
	require.ErrorIs(t, err, model.ErrInvalidInput)
}

// TestPaddedLen: multiples of padTo up to 8×padTo, then at most an eighth of the length's power of
// two more, and never shorter than the sequence.
func TestPaddedLen(t *testing.T) {
	for n, want := range map[int]int{1: 64, 64: 64, 65: 128, 512: 512, 513: 576, 1025: 1152, 2100: 2304, 4206: 4608, 4600: 4608, 4626: 5120} {
		require.Equal(t, want, paddedLen(n, 64), "n=%d", n)
	}
	lengths := map[int]bool{}
	for n := 1; n <= 4800; n++ {
		p := paddedLen(n, 64)
		require.GreaterOrEqual(t, p, n)
		require.LessOrEqual(t, float64(p), max(float64(n)*1.125, float64(n+63)), "n=%d", n)
		lengths[p] = true
	}
	require.Less(t, len(lengths), 40, "distinct padded lengths up to 4,800 tokens")
}
