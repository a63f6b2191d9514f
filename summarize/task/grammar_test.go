package task

import (
	"github.com/zoomr-go/zoomr/zoomr"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
)

// TestAnswerGrammar: in every form, every word of every reference answer (and EOS after it) is
// allowed at its place, the trace before the marker is free, and the other kind's form is not:
// after "QN S5" only N5, after "QV S5" only values, after the answer word only EOS.
func TestAnswerGrammar(t *testing.T) {
	tok, err := tokenizer.NewWordLevel(Vocabulary())
	require.NoError(t, err)
	ids := func(words ...string) []int { return wordIDs(t, tok, words...) }
	trace := ids("#3", "k4", "3", "w24", "8", BeginSummary, "S3", "v6", EndSummary)
	for _, form := range []Form{SummaryTagForm, NoteTagForm, BothTagsForm} {
		g, err := NewAnswerGrammar(tok, form)
		require.NoError(t, err)
		require.Nil(t, g.Allowed(trace), "%v: the trace is not constrained", form)
		gen, err := NewGenerator(Config{}, HeldOut, 3)
		require.NoError(t, err)
		for range 20 {
			p := gen.Next()
			p.Form = form
			answer := append(ids(AnswerMarker), ids(strings.Fields(p.Answer())...)...)
			answer = append(answer, ids(EOS)...)
			for i := 1; i < len(answer); i++ {
				require.Contains(t, g.Allowed(append(slices.Clone(trace), answer[:i]...)), answer[i],
					"%v: %q, word %d", form, p.Answer(), i)
			}
			// Processing keeps exactly the allowed logits.
			logits := make([]float32, tok.VocabSize())
			for i := range logits {
				logits[i] = float32(i)
			}
			prefix := append(slices.Clone(trace), answer[:3]...)
			require.NoError(t, g.Process(prefix, logits))
			for id, l := range logits {
				if slices.Contains(g.Allowed(prefix), id) {
					require.Equal(t, float32(id), l)
				} else {
					require.True(t, math.IsInf(float64(l), -1), "%v: token %d not allowed", form, id)
				}
			}
		}
		s5 := "S5"
		if form == NoteTagForm {
			require.Equal(t, ids(tagN(0), tagN(1)), g.Allowed(append(slices.Clone(trace), ids(AnswerMarker, "QN")...))[:2])
		} else {
			require.Equal(t, ids("N5"), g.Allowed(ids(AnswerMarker, "QN", s5)), "%v", form)
		}
		require.Equal(t, ids(values()...), g.Allowed(ids(AnswerMarker, "QV", s5)), "%v", form)
		require.Equal(t, ids(EOS), g.Allowed(ids(AnswerMarker, "QV", s5, "v3")), "%v", form)
		require.Equal(t, ids("QN", "QV"), g.Allowed(ids(AnswerMarker)))
	}
}

// TestAnswerGrammarNeedsTheWords: a vocabulary without the answer's words is a typed error.
func TestAnswerGrammarNeedsTheWords(t *testing.T) {
	spec := Vocabulary()
	spec.Words = slices.DeleteFunc(spec.Words, func(w string) bool { return w == "N7" })
	tok, err := tokenizer.NewWordLevel(spec)
	require.NoError(t, err)
	_, err = NewAnswerGrammar(tok, BothTagsForm)
	require.ErrorIs(t, err, summarize.ErrUnknownToken)
	full, err := tokenizer.NewWordLevel(Vocabulary())
	require.NoError(t, err)
	_, err = NewAnswerGrammar(full, Form(9))
	require.ErrorIs(t, err, ErrConfig)
}

func values() []string {
	var v []string
	for d := range 10 {
		v = append(v, value(d))
	}
	return v
}

// The grammar is a zoomr.LogitsProcessor (checked here: the task package does not import zoomr).
var _ zoomr.LogitsProcessor = (*AnswerGrammar)(nil)

// wordIDs are the ids of task words (each must be in tok's vocabulary).
func wordIDs(t *testing.T, tok *tokenizer.Tokenizer, words ...string) []int {
	t.Helper()
	out := make([]int, len(words))
	for i, w := range words {
		id, ok := tok.TokenID(w)
		require.True(t, ok, w)
		out[i] = id
	}
	return out
}
