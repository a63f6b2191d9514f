package main

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/zoomr"
)

// TestTeacherForcedPerplexityMatchesForward: forcing the text through the decoder with the full cache
// gives the perplexity of one causal forward pass over the same tokens; bounded policies run at the
// same budget, hold less and score worse or equal within reason.
func TestTeacherForcedPerplexityMatchesForward(t *testing.T) {
	dir := t.TempDir()
	_, err := model.WriteRandom(dir, model.RandomSpec{Arch: "qwen2", VocabSize: 300, Seed: 9})
	require.NoError(t, err)
	ctx := context.Background()
	m, err := model.Load(ctx, dir)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([]int, 160)
	for i := range ids {
		ids[i] = rng.IntN(300)
	}
	logits, err := m.Forward(ctx, ids)
	require.NoError(t, err)
	var nll float64
	V := m.Config.VocabSize
	for i := range len(ids) - 1 {
		nll -= logSoftmaxAt(logits[i*V:(i+1)*V], ids[i+1])
	}
	want := math.Exp(nll / float64(len(ids)-1))

	o := textOptions{sinks: 4, paragraphTail: 8, windowShare: 0.5, zoomShare: 0.25}
	full, err := perplexity(ctx, m, nil, ids, zoomr.PolicyFull, 1, o)
	require.NoError(t, err)
	require.InEpsilon(t, want, full.Perplexity, 1e-4)
	require.Equal(t, len(ids)-1, full.Tokens)
	for _, p := range []string{zoomr.PolicyZoomR, zoomr.PolicySumR, zoomr.PolicyStreaming, zoomr.PolicyH2O, zoomr.PolicyRKV} {
		r, err := perplexity(ctx, m, nil, ids, p, 0.25, o)
		require.NoError(t, err, p)
		require.Equal(t, 40, r.BudgetTokens)
		require.Less(t, r.ResidentBytes, full.ResidentBytes, p)
		require.False(t, math.IsNaN(r.Perplexity) || math.IsInf(r.Perplexity, 0), p)
	}
}

func TestHTMLText(t *testing.T) {
	doc := `<!--{"Title": "x"}--><h2 id="a">Types</h2>
<p>
A <i>type</i> determines a set of values &amp; operations.
</p>
<pre class="ebnf">
Type = TypeName .
</pre><script>ignored()</script><p>Done.</p>`
	got, err := htmlText(doc)
	require.NoError(t, err)
	require.Equal(t, "Types\n\nA type determines a set of values & operations.\n\nType = TypeName .\n\nDone.\n", got)
}

func TestParseFractions(t *testing.T) {
	f, err := parseFractions("0.25, 0.125")
	require.NoError(t, err)
	require.Equal(t, []float64{0.25, 0.125}, f)
	for _, bad := range []string{"0", "1.5", "x", ""} {
		_, err := parseFractions(bad)
		require.Error(t, err, bad)
	}
}
