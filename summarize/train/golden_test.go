package train

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
)

var update = flag.Bool("update", false, "rewrite testdata/task-source.golden.json from the current code")

const taskSourceGolden = "testdata/task-source.golden.json"

// taskSourceCases configure a TaskSource left at its defaults (no weight hook) but for the data
// options; the golden pins the examples each draws.
var taskSourceCases = []struct {
	name string
	set  func(*TaskSource)
}{
	{"defaults", func(*TaskSource) {}},
	{"extra and far questions", func(s *TaskSource) { s.ExtraQuestions, s.FarQuestionShare = 4, 0.5 }},
	{"note-tag form, extra questions", func(s *TaskSource) { s.Form, s.ExtraQuestions = task.NoteTagForm, 2 }},
	{"both-tags form, extra questions", func(s *TaskSource) { s.Form, s.ExtraQuestions = task.BothTagsForm, 3 }},
	{"kind weights, all causal", func(s *TaskSource) {
		s.Weights, s.View.Restricted, s.ExtraQuestions = Weights{Thought: 0.5, Summary: 1.5, Answer: 3}, -1, 1
	}},
}

// sourceDigest is the hash of every example of a few batches and held-out examples, with the
// weights' histogram to tell which weights moved when the hash does not match.
type sourceDigest struct {
	SHA256   string         `json:"sha256"`
	Examples int            `json:"examples"`
	Weights  map[string]int `json:"weights"` // weight (%g) -> tokens
}

// TestTaskSourceMatchesTheGolden: with no weight hook, every case draws the examples the golden
// pinned (captured from the code before the loss-weight fields became a hook; go test -update
// rewrites it).
func TestTaskSourceMatchesTheGolden(t *testing.T) {
	got := map[string]sourceDigest{}
	for _, c := range taskSourceCases {
		got[c.name] = digestTaskSource(t, c.set)
	}
	if *update {
		data, err := json.MarshalIndent(got, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(taskSourceGolden), 0o755))
		require.NoError(t, os.WriteFile(taskSourceGolden, append(data, '\n'), 0o644))
		return
	}
	data, err := os.ReadFile(taskSourceGolden)
	require.NoError(t, err)
	var want map[string]sourceDigest
	require.NoError(t, json.Unmarshal(data, &want))
	require.Len(t, want, len(taskSourceCases))
	for _, c := range taskSourceCases {
		require.Equal(t, want[c.name], got[c.name], "case %q", c.name)
	}
}

// digestTaskSource digests batches across TaskCurriculum(1200) and four held-out examples.
func digestTaskSource(t *testing.T, set func(*TaskSource)) sourceDigest {
	t.Helper()
	tok, err := tokenizer.NewWordLevel(task.Vocabulary())
	require.NoError(t, err)
	src, err := NewTaskSource(tok, TaskCurriculum(1200), 1)
	require.NoError(t, err)
	set(src)
	var examples []*Example
	for _, step := range []int{0, 1, 400, 600, 1199} {
		batch, err := src.Batch(step, 3072)
		require.NoError(t, err)
		examples = append(examples, batch...)
	}
	g, err := task.NewGenerator(task.Config{Form: src.Form}, task.HeldOut, 1001)
	require.NoError(t, err)
	held, err := src.Examples(g, 4)
	require.NoError(t, err)
	examples = append(examples, held...)

	h := sha256.New()
	d := sourceDigest{Examples: len(examples), Weights: map[string]int{}}
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
