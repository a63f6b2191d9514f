package taskrun

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/zoomr"
)

// TestCommittedModelWritesTraces: the committed model (testdata/zoomr-tiny) writes the protocol on
// held-out problems — a trace of ~1,000 tokens in 15+ sealed thoughts (the task asks 18-20; the
// model sometimes skips a step), then an answer that restates the question and (all runs but at
// most one) EOS — under the full cache and under ZoomR, which zooms at the re-selection points and holds at least 2.5× less KV.
// Answer accuracy is measured by examples/eval, not here.
func TestCommittedModelWritesTraces(t *testing.T) {
	m, tok, tt := bundledModel(t)
	g, err := task.NewGenerator(task.Config{Form: tt.Form}, task.HeldOut, 3)
	require.NoError(t, err)
	stopped, runs := 0, 0
	for range 3 {
		p := g.Next()
		peak := map[string]int64{}
		for _, pol := range []string{zoomr.PolicyFull, zoomr.PolicyZoomR} {
			dec, err := zoomr.New(m, tok, Config(pol, 0, tt))
			require.NoError(t, err)
			r, err := Solve(t.Context(), dec, p, false, nil)
			require.NoError(t, err)
			t.Logf("%s %s: %q (reference %q) correct=%v recalled=%v; %d tokens, %d thoughts, %d zoom changes; first divergence %+v",
				pol, p.Kind, r.Answer, p.Answer(), r.Correct, r.Recalled, r.Stats.Tokens, r.Sealed, r.Zooms, r.Divergence)
			require.GreaterOrEqual(t, r.Stats.Tokens, 900)
			require.GreaterOrEqual(t, r.Sealed, 15)
			runs++
			if r.Stats.StopReason == zoomr.StopToken {
				stopped++
			}
			want := "QV"
			if p.Kind == task.Note {
				want = "QN"
			}
			require.Regexp(t, "^"+want+" S[0-9]+ ", r.Answer, "the answer restates the question")
			if pol == zoomr.PolicyZoomR {
				require.Positive(t, r.Zooms)
			}
			peak[pol] = r.Stats.PeakResidentBytes
		}
		// Full grows by power-of-two buckets: 2.9× at a 1,024-token bucket, 5.8× at 2,048.
		require.Greater(t, 2*peak[zoomr.PolicyFull], 5*peak[zoomr.PolicyZoomR])
	}
	// The model sometimes keeps writing after a malformed answer (examples/eval: 98-100% of
	// generations finish, by policy); most must end on the stop token.
	require.GreaterOrEqual(t, stopped, runs-1, "generations that ended on the stop token")
}

// TestAnswerGrammarKeepsTheForm: on a held-out problem where the committed model answers out of
// the question's form when free (a third to a half of them, examples/eval), the same decoding with
// WithAnswerGrammar writes the same trace and an answer in the question's form, then stops at EOS.
func TestAnswerGrammarKeepsTheForm(t *testing.T) {
	m, tok, tt := bundledModel(t)
	free, err := zoomr.New(m, tok, Config(zoomr.PolicyZoomR, 0, tt))
	require.NoError(t, err)
	cfg, err := WithAnswerGrammar(Config(zoomr.PolicyZoomR, 0, tt), tok, tt.Form)
	require.NoError(t, err)
	constrained, err := zoomr.New(m, tok, cfg)
	require.NoError(t, err)
	g, err := task.NewGenerator(task.Config{Form: tt.Form}, task.HeldOut, 5)
	require.NoError(t, err)
	for range 30 {
		p := g.Next()
		r, err := Solve(t.Context(), free, p, true, nil)
		require.NoError(t, err)
		if p.WellFormed(r.Answer) {
			continue
		}
		c, err := Solve(t.Context(), constrained, p, true, nil)
		require.NoError(t, err)
		t.Logf("%s question: free %q, constrained %q (reference %q)", p.Kind, r.Answer, c.Answer, p.Answer())
		require.Equal(t, r.Divergence, c.Divergence, "the trace is not constrained")
		// The answer has the form of the question it restates (which need not be the one asked).
		words := strings.Fields(c.Answer)
		require.NotEmpty(t, words)
		restated := p
		restated.Kind = task.Value
		if words[0] == "QN" {
			restated.Kind = task.Note
		}
		require.Len(t, words, len(strings.Fields(restated.Answer())), "%q", c.Answer)
		restated.Target, err = strconv.Atoi(words[1][1:])
		require.NoError(t, err)
		require.True(t, restated.WellFormed(c.Answer), "%q", c.Answer)
		require.Equal(t, zoomr.StopToken, c.Stats.StopReason)
		return
	}
	t.Fatal("no free-running answer out of form in 30 held-out problems: the test would prove nothing")
}

// bundledModel loads testdata/zoomr-tiny, or skips the test in -short mode (its tests decode
// held-out problems of ~1,100 tokens).
func bundledModel(t *testing.T) (*model.Model, *tokenizer.Tokenizer, Task) {
	t.Helper()
	if testing.Short() {
		t.Skip("decodes held-out problems of ~1,100 tokens")
	}
	dir := "../../../" + DefaultModel
	m, tok, err := Load(t.Context(), dir)
	require.NoError(t, err)
	tt, err := LoadTask(dir)
	require.NoError(t, err)
	return m, tok, tt
}
