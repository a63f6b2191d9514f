package taskrun

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/kvcache"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/zoomr"
)

// TestTaskFile: a model directory without task.json holds a summary-tag model whose every layer
// votes; WriteTask and LoadTask round-trip; a corrupt file, an unknown form or unusable vote layers
// are errors.
func TestTaskFile(t *testing.T) {
	dir := t.TempDir()
	tt, err := LoadTask(dir)
	require.NoError(t, err)
	require.Equal(t, Task{}, tt)
	want := Task{Form: task.NoteTagForm, VoteLayers: []int{2}}
	require.NoError(t, WriteTask(dir, want))
	tt, err = LoadTask(dir)
	require.NoError(t, err)
	require.Equal(t, want, tt)
	settings, err := zoomr.ModelDefaults(dir)
	require.NoError(t, err)
	require.Equal(t, Config("", 0, want), settings, "WriteTask records the decoder settings as zoomr.json")
	require.ErrorIs(t, WriteTask(dir, Task{VoteLayers: []int{1, 1}}), zoomr.ErrConfig)
	for content, wantErr := range map[string]error{
		`{"question_form": "n"}`:                                task.ErrConfig,
		`{"question_form": "note-tag", "vote_layers": []}`:      zoomr.ErrConfig,
		`{"question_form": "note-tag", "vote_layers": [0, -1]}`: zoomr.ErrConfig,
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, TaskFile), []byte(content), 0o644))
		_, err = LoadTask(dir)
		require.ErrorIs(t, err, wantErr, content)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, TaskFile), []byte(`{"question_form"`), 0o644))
	_, err = LoadTask(dir)
	require.Error(t, err)
}

// TestBundledModelSettings: the bundled model's zoomr.json holds the settings it is evaluated with, so
// zoomr.Load decodes it as examples/eval does (without the answer grammar, which is an option there).
func TestBundledModelSettings(t *testing.T) {
	dir := filepath.Join("..", "..", "..", DefaultModel)
	tt, err := LoadTask(dir)
	require.NoError(t, err)
	settings, err := zoomr.ModelDefaults(dir)
	require.NoError(t, err)
	require.Equal(t, Config("", 0, tt), settings)
}

// TestSolveRunsEveryPolicy: the task's decoder settings are valid for every policy, and Solve
// decodes a problem end to end (a random model answers wrong, within MaxTokens).
func TestSolveRunsEveryPolicy(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, tokenizer.WriteWordLevel(dir, task.Vocabulary()))
	tok, err := tokenizer.Load(dir + "/tokenizer.json")
	require.NoError(t, err)
	_, err = model.WriteRandom(dir, model.RandomSpec{Seed: 1, VocabSize: tok.VocabSize(), Hidden: 16, Heads: 2, KVHeads: 1, Layers: 1})
	require.NoError(t, err)
	m, tok2, err := Load(t.Context(), dir)
	require.NoError(t, err)
	g, err := task.NewGenerator(task.Config{MinSteps: 2, MaxSteps: 2, MinWalk: 6, MaxWalk: 6, Form: task.NoteTagForm}, task.HeldOut, 1)
	require.NoError(t, err)
	p := g.Next()
	for _, pol := range kvcache.PolicyNames() {
		cfg := Config(pol, 32, Task{Form: task.NoteTagForm, VoteLayers: []int{0}})
		cfg.MaxTokens = 40
		dec, err := zoomr.New(m, tok2, cfg)
		require.NoError(t, err, pol)
		n := 0
		r, err := Solve(t.Context(), dec, p, true, func(zoomr.Token) { n++ })
		require.NoError(t, err, pol)
		require.Equal(t, n, len(r.Trace))
		require.Equal(t, n, r.Stats.Tokens)
		require.LessOrEqual(t, n, 40)
		require.Positive(t, r.Stats.PeakResidentBytes)
	}
	require.Equal(t, "QN S5 N5 2", Words(tok, mustIDs(t, tok, "QN S5 N5 2")...))
}

func mustIDs(t *testing.T, tok *tokenizer.Tokenizer, s string) []int {
	ids, err := tok.Encode(s)
	require.NoError(t, err)
	return ids
}

// TestLongTaskFile: the long scale round-trips through task.json (a standard task's file has no
// scale field), its decoder holds every summary of the longest problem and re-selects at every
// long-scale S tag, and an unknown scale is a typed error.
func TestLongTaskFile(t *testing.T) {
	dir := t.TempDir()
	want := Task{Form: task.TagFirstForm, Scale: task.Long}
	require.NoError(t, WriteTask(dir, want))
	got, err := LoadTask(dir)
	require.NoError(t, err)
	require.Equal(t, want, got)
	cfg := Config("", 0, got)
	require.Equal(t, LongSummaryCap, cfg.SummaryCap)
	require.Equal(t, LongMaxTokens, cfg.MaxTokens)
	require.Len(t, cfg.ReselectAt, task.LongMaxSteps)
	std := Config("", 0, Task{})
	require.Equal(t, SummaryCap, std.SummaryCap, "the standard scale is unchanged")
	require.Equal(t, MaxTokens, std.MaxTokens)
	require.NoError(t, WriteTask(dir, Task{}))
	b, err := os.ReadFile(filepath.Join(dir, TaskFile))
	require.NoError(t, err)
	require.NotContains(t, string(b), "scale")
	require.NoError(t, os.WriteFile(filepath.Join(dir, TaskFile), []byte(`{"question_form": "tag-first", "scale": "x"}`), 0o644))
	_, err = LoadTask(dir)
	require.ErrorIs(t, err, task.ErrConfig)
	g, err := want.Generator(task.HeldOut, 1)
	require.NoError(t, err)
	require.GreaterOrEqual(t, g.Next().Steps(), 40)
}
