package train

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize/task"
)

// TestLookupWeightMarksEachHeaderKey: with LookupWeight set, exactly the key of each thought's
// "#i k" header carries it, and the answer keeps its own weight.
func TestLookupWeightMarksEachHeaderKey(t *testing.T) {
	tok, err := tokenizer.NewWordLevel(task.Vocabulary())
	require.NoError(t, err)
	src, err := NewTaskSource(tok, []Stage{{Until: 10, Tasks: []task.Config{{MinSteps: 4, MaxSteps: 4, MinWalk: 6, MaxWalk: 6}}}}, 1)
	require.NoError(t, err)
	src.LookupWeight = 7
	g, err := task.NewGenerator(task.Config{MinSteps: 4, MaxSteps: 4, MinWalk: 6, MaxWalk: 6}, task.Train, 3)
	require.NoError(t, err)
	p := g.Next()
	e, err := src.Example(p)
	require.NoError(t, err)

	var keys []string
	for i, w := range e.Weight {
		if w == 7 {
			prev, _ := tok.TokenText(e.IDs[i-1])
			cur, _ := tok.TokenText(e.IDs[i])
			require.True(t, strings.HasPrefix(prev, "#"), "weighted token %q follows %q, not a step index", cur, prev)
			keys = append(keys, cur)
		}
	}
	require.Len(t, keys, 4, "one key per thought")
	for _, k := range keys {
		require.True(t, strings.HasPrefix(k, "k"), "weighted %q is not a key", k)
	}
	require.Equal(t, src.AnswerWeight, e.Weight[e.Len()-2])
}
