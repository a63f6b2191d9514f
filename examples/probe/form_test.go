package main

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/summarize/train"
)

func TestMassOfIsTheSoftmaxShareOfThePickedTokens(t *testing.T) {
	logits := []float32{0, float32(math.Log(3)), 1000, 1000}
	require.InDelta(t, 0.5, massOf(logits, []bool{false, false, true, false}), 1e-6, "the large logits do not overflow")
	require.InDelta(t, 0.75, massOf(logits[:2], []bool{false, true}), 1e-6)
	require.Zero(t, massOf(logits[:2], []bool{false, false}))
}

// TestAttentionIsTheCausalSoftmax: one head of dimension 1: the attention from position 2 is the
// softmax of q·k over positions 0..2, large scores included; from position 1 it sees 0..1 only.
func TestAttentionIsTheCausalSoftmax(t *testing.T) {
	f := &qkPass{c: &model.Config{Layers: 1, Heads: 1, KVHeads: 1, HeadDim: 1}, T: 3,
		q: []float32{0, 1, 1}, k: []float32{1000, 1000, float32(math.Log(2))}}
	att := f.attention(0, 0, 2)
	require.InDeltaSlice(t, []float64{0.5, 0.5, 0}, att, 1e-9, "large scores do not overflow")
	f.k = []float32{0, float32(math.Log(3)), 5}
	require.InDeltaSlice(t, []float64{0.25, 0.75}, f.attention(0, 0, 1), 1e-6)
}

// TestProbeHeadsOnARandomModel: the heads table has one share per head, each in [0, 1], in both
// question forms.
func TestProbeHeadsOnARandomModel(t *testing.T) {
	tok, err := tokenizer.NewWordLevel(task.Vocabulary())
	require.NoError(t, err)
	dir := t.TempDir()
	_, err = model.WriteRandom(dir, model.RandomSpec{Seed: 1, VocabSize: tok.VocabSize(), Hidden: 32, Heads: 4, KVHeads: 2,
		Layers: 2, Intermediate: 64, Tie: true})
	require.NoError(t, err)
	m, err := model.Load(t.Context(), dir, model.WithTrainingLayout())
	require.NoError(t, err)
	src, err := train.NewTaskSource(tok, train.TaskCurriculum(1), 3)
	require.NoError(t, err)
	for _, form := range []task.Form{task.SummaryTagForm, task.NoteTagForm} {
		r, err := probeHeads(m, src, form, 2, 3)
		require.NoError(t, err)
		require.Equal(t, 2, r.N)
		require.Len(t, r.Copy, 8)
		require.Len(t, r.Route, 8)
		for i := range r.Copy {
			require.True(t, r.Copy[i] >= 0 && r.Copy[i] <= 1, "copy %v", r.Copy)
			require.True(t, r.Route[i] >= 0 && r.Route[i] <= 1, "route %v", r.Route)
		}
	}
}
