package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/summarize/train"
)

var update = flag.Bool("update", false, "rewrite testdata/training-data.golden.json from the current code")

const trainingDataGolden = "testdata/training-data.golden.json"

// trainingDataCases are command lines whose training data the golden pins: the defaults, the
// bundled model's phases (testdata/zoomr-tiny/README.md), the tried question forms, and every
// emphasis at once with distinct weights (so that which one wins where they meet is pinned too).
var trainingDataCases = []struct {
	name string
	args []string
}{
	{"defaults", nil},
	{"phase 1, last resume", []string{"-steps", "1350", "-answer-weight", "40"}},
	{"phase 2", []string{"-curriculum", "2-6,20-25", "-steps", "500", "-answer-weight", "20", "-thought-weight", "0.3", "-seed", "2"}},
	{"phase 3", []string{"-curriculum", "2-6,20-25;6-12,20-25;13-20,22-25;17-20,22-25", "-steps", "800", "-answer-weight", "20",
		"-lookup-weight", "20", "-thought-weight", "0.3", "-seed", "3"}},
	{"phase 8", []string{"-curriculum", "13-20,22-25;17-20,22-25", "-steps", "450", "-answer-weight", "20", "-lookup-weight", "30",
		"-first-index-weight", "30", "-first-thought-weight", "3", "-thought-weight", "0.5", "-seed", "10"}},
	{"phase 16", []string{"-summary-value-weight", "10", "-curriculum", "13-20,22-25;17-20,22-25", "-steps", "450", "-answer-weight", "20",
		"-lookup-weight", "30", "-first-index-weight", "30", "-first-thought-weight", "3", "-thought-weight", "0.5",
		"-far-questions", "0.5", "-seed", "44"}},
	{"note weight", []string{"-note-weight", "5", "-answer-weight", "30", "-seed", "11"}},
	{"answer form, extra questions", []string{"-answer-form-weight", "20", "-extra-questions", "12", "-seed", "19"}},
	{"note-tag form", []string{"-question-form", "note-tag", "-question-tag-weight", "30", "-answer-form-weight", "9",
		"-extra-questions", "3", "-seed", "31"}},
	{"both-tags form", []string{"-question-form", "both-tags", "-answer-form-weight", "20", "-extra-questions", "4", "-seed", "5"}},
	{"thought weight 0", []string{"-thought-weight", "0", "-lookup-weight", "5", "-note-weight", "6", "-seed", "6"}},
	{"every emphasis", []string{"-lookup-weight", "7", "-note-weight", "9", "-summary-value-weight", "11", "-first-index-weight", "13",
		"-start-value-weight", "29", "-question-word-weight", "31", "-first-thought-weight", "3", "-answer-form-weight", "17", "-question-tag-weight", "19", "-answer-weight", "23",
		"-extra-questions", "3", "-far-questions", "0.5", "-thought-weight", "0.5", "-restricted", "0.3", "-seed", "8"}},
}

// trainingDataDigest pins what a command line trains on: the hash of every example (ids, loss
// weights, kinds, thought indices, routing, mask choice) of a few batches across the curriculum and
// of the held-out examples the evaluator would score, with the weights' histogram to tell which
// weights moved when the hash does not match.
type trainingDataDigest struct {
	SHA256   string         `json:"sha256"`
	Examples int            `json:"examples"`
	Weights  map[string]int `json:"weights"` // weight (%g) -> tokens
}

// TestTrainingDataMatchesTheGolden: every case's training examples are the ones the golden pinned
// (captured from the code before the loss-weight fields became a hook; go test -update rewrites it).
func TestTrainingDataMatchesTheGolden(t *testing.T) {
	got := map[string]trainingDataDigest{}
	for _, c := range trainingDataCases {
		got[c.name] = digestTrainingData(t, c.args)
	}
	if *update {
		data, err := json.MarshalIndent(got, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(trainingDataGolden), 0o755))
		require.NoError(t, os.WriteFile(trainingDataGolden, append(data, '\n'), 0o644))
		return
	}
	data, err := os.ReadFile(trainingDataGolden)
	require.NoError(t, err)
	var want map[string]trainingDataDigest
	require.NoError(t, json.Unmarshal(data, &want))
	require.Len(t, want, len(trainingDataCases))
	for _, c := range trainingDataCases {
		require.Equal(t, want[c.name], got[c.name], "case %q (%v)", c.name, c.args)
	}
}

// digestTrainingData builds the training source of a command line as examples/train does and
// digests batches at the start, middle and end of its run, and four held-out examples.
func digestTrainingData(t *testing.T, args []string) trainingDataDigest {
	t.Helper()
	f, err := parseFlags(args)
	require.NoError(t, err)
	require.NoError(t, resolveTask(&f))
	f.evalEvery = 0 // no model here: the held-out examples are digested below
	tok, err := tokenizer.NewWordLevel(task.Vocabulary())
	require.NoError(t, err)
	s, _, err := sources(f, tok, nil, train.ViewConfig{Restricted: orNone(f.restricted)})
	require.NoError(t, err)
	src := s.(*train.TaskSource)
	var examples []*train.Example
	for _, step := range []int{0, 1, f.steps / 3, f.steps / 2, f.steps - 1} {
		batch, err := src.Batch(step, f.batchTokens)
		require.NoError(t, err)
		examples = append(examples, batch...)
	}
	g, err := task.NewGenerator(task.Config{Form: f.task.Form}, task.HeldOut, f.seed+1000)
	require.NoError(t, err)
	held, err := src.Examples(g, 4)
	require.NoError(t, err)
	examples = append(examples, held...)

	h := sha256.New()
	d := trainingDataDigest{Examples: len(examples), Weights: map[string]int{}}
	for _, e := range examples {
		require.NoError(t, e.Validate())
		ints := []int{e.Len(), e.PromptLen, e.Route, e.RouteThought, boolInt(e.Causal), boolInt(e.View != nil)}
		ints = append(append(ints, e.IDs...), e.Thought...)
		for _, k := range e.Kinds {
			ints = append(ints, int(k))
		}
		for _, v := range ints {
			_ = binary.Write(h, binary.LittleEndian, int64(v))
		}
		for _, w := range e.Weight {
			_ = binary.Write(h, binary.LittleEndian, math.Float32bits(w))
			d.Weights[fmt.Sprintf("%g", w)]++
		}
		_, _ = io.WriteString(h, e.Tag)
	}
	d.SHA256 = hex.EncodeToString(h.Sum(nil))
	return d
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
