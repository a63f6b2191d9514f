package task

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
)

// TestLongEvaluationDistribution: held-out problems of the long scale have traces of at least
// 4,000 tokens in at least 40 thoughts, render and segment back under the long vocabulary, and a
// thought with its summary fits the evaluation's 128-token window.
func TestLongEvaluationDistribution(t *testing.T) {
	tok, err := tokenizer.NewWordLevel(VocabularyOf(Long))
	require.NoError(t, err)
	r, err := summarize.NewRenderer(tok, RenderOptions())
	require.NoError(t, err)
	m, err := Protocol().Resolve(tok)
	require.NoError(t, err)
	for _, form := range []Form{SummaryTagForm, TagFirstForm} {
		g, err := NewGenerator(Config{Scale: Long, Form: form}, HeldOut, 11)
		require.NoError(t, err)
		kinds := map[Kind]int{}
		for range 40 {
			p := g.Next()
			require.NoError(t, p.Validate())
			require.True(t, p.HeldOut())
			kinds[p.Kind]++
			out, err := r.Render(p.Record())
			require.NoError(t, err)
			require.GreaterOrEqual(t, out.Len()-out.PromptLen, 4000, "trace length")
			seg, err := summarize.NewSummarySegmenter(m, summarize.Config{})
			require.NoError(t, err)
			thoughts := 0
			for i := out.PromptLen; i < out.Len(); i++ {
				ev := seg.Observe(out.IDs[i])
				require.Equal(t, out.Kinds[i], ev.Kind, "token %d", i)
				if ev.ThoughtSealed {
					thoughts++
					require.Less(t, ev.Seal.BodyLen+ev.Seal.SummaryLen, 128, "a thought and its summary fit the window")
				}
			}
			require.GreaterOrEqual(t, thoughts, 40)
		}
		require.Greater(t, kinds[Note], 5)
		require.Greater(t, kinds[Value], 5)
	}
	// The standard vocabulary cannot render them: a typed error, not a panic.
	std, err := tokenizer.NewWordLevel(Vocabulary())
	require.NoError(t, err)
	rs, err := summarize.NewRenderer(std, RenderOptions())
	require.NoError(t, err)
	g, err := NewGenerator(Config{Scale: Long}, HeldOut, 11)
	require.NoError(t, err)
	_, err = rs.Render(g.Next().Record())
	require.ErrorIs(t, err, tokenizer.ErrUnknownToken)
}

// TestLongScaleConfig: the long scale's limits, its defaults, and that the standard scale is as
// before (its defaults and its limits).
func TestLongScaleConfig(t *testing.T) {
	require.Equal(t, Config{MinSteps: 18, MaxSteps: 20, MinWalk: 24, MaxWalk: 24, NoteShare: 0.5}, Config{}.WithDefaults())
	require.Equal(t, Config{MinSteps: 40, MaxSteps: 44, MinWalk: 48, MaxWalk: 48, NoteShare: 0.5, Scale: Long},
		Config{Scale: Long}.WithDefaults())
	require.NoError(t, Config{Scale: Long, MinSteps: 48, MaxSteps: 48, MinWalk: 48, MaxWalk: 48}.Validate())
	for _, c := range []Config{{MinSteps: 25, MaxSteps: 25}, {MinWalk: 33, MaxWalk: 33},
		{Scale: Long, MinSteps: 49, MaxSteps: 49}, {Scale: Long, MinWalk: 49, MaxWalk: 49}, {Scale: 9}} {
		_, err := NewGenerator(c, Train, 1)
		require.ErrorIs(t, err, ErrConfig, "%+v", c)
	}
	for _, s := range []Scale{Standard, Long} {
		got, err := ParseScale(s.String())
		require.NoError(t, err)
		require.Equal(t, s, got)
	}
	_, err := ParseScale("huge")
	require.ErrorIs(t, err, ErrConfig)
}

// TestLongVocabularyExtendsTheStandard: every standard word keeps its id in the long vocabulary
// (a standard model grows into it), and the long one covers the largest long problem.
func TestLongVocabularyExtendsTheStandard(t *testing.T) {
	std, long := Vocabulary(), VocabularyOf(Long)
	require.Equal(t, std.Specials, long.Specials)
	require.Equal(t, std.Words, long.Words[:len(std.Words)])
	require.Len(t, long.Words, len(std.Words)+3*(LongMaxSteps-MaxSteps)+(LongMaxWalk-MaxWalk))
	tok, err := tokenizer.NewWordLevel(long)
	require.NoError(t, err)
	g, err := NewGenerator(Config{Scale: Long, MinSteps: LongMaxSteps, MaxSteps: LongMaxSteps, MinWalk: LongMaxWalk, MaxWalk: LongMaxWalk}, Train, 2)
	require.NoError(t, err)
	rec := g.Next().Record()
	texts := []string{rec.Prompt, rec.Answer}
	for _, th := range rec.Thoughts {
		texts = append(texts, th.Text, th.Summary)
	}
	for _, s := range texts {
		_, err := tok.Encode(s)
		require.NoError(t, err, s)
	}
	for _, w := range ReselectWordsOf(NoteTagForm, Long) {
		_, ok := tok.TokenID(w)
		require.True(t, ok, w)
	}
	require.Equal(t, ReselectWords(SummaryTagForm), ReselectWordsOf(SummaryTagForm, Long)[:MaxSteps])
	require.Len(t, ReselectWordsOf(TagFirstForm, Long), LongMaxSteps)
}

// TestTagFirstForm: the question is asked tag first and answered with the question word right
// before the word that picks the form: "S1 QN N1 d" and "S1 QV S1 v"; so after the restated S tag
// comes a question word for both kinds, and the word after a question word is N_j after QN and
// S_j after QV, whatever the step.
func TestTagFirstForm(t *testing.T) {
	p := Problem{Keys: []int{3, 5}, Start: 7, Walk: 6, Kind: Note, Target: 1, Form: TagFirstForm}
	require.NoError(t, p.Validate())
	st := p.Solve()[0]
	note, val := digit(st.Note), value(st.After)
	require.Equal(t, "W w6 = v7 P #1 k5 #0 k3 S1 QN", p.Prompt())
	require.Equal(t, "S1 QN N1 "+note, p.Answer())
	require.Equal(t, note, p.AnswerToken())
	require.True(t, p.Correct(" S1 QN N1 "+note+" <eos>"))
	require.True(t, p.WellFormed("S1 QN N1 "+digit((st.Note+1)%10)))
	require.False(t, p.WellFormed("S1 QN "+val))
	trace, _, _ := p.ReferenceTrace()
	require.True(t, p.Recalled(trace, p.Answer()))
	v := p
	v.Kind = Value
	require.Equal(t, "W w6 = v7 P #1 k5 #0 k3 S1 QV", v.Prompt())
	require.Equal(t, "S1 QV S1 "+val, v.Answer())
	require.True(t, v.Recalled(trace, v.Answer()))
	require.False(t, v.WellFormed("S1 QV N1 "+note))
	s := p
	s.Form = SummaryTagForm
	require.Equal(t, s.HeldOut(), p.HeldOut(), "a problem is in the same split in every form")
	require.Equal(t, ReselectWords(SummaryTagForm), ReselectWords(TagFirstForm))
	f, err := ParseForm("tag-first")
	require.NoError(t, err)
	require.Equal(t, TagFirstForm, f)

	// The token layout over many problems: the word after each question word is fixed by it.
	g, err := NewGenerator(Config{Form: TagFirstForm, Scale: Long}, HeldOut, 5)
	require.NoError(t, err)
	for range 50 {
		p := g.Next()
		a := strings.Fields(p.Answer())
		require.Len(t, a, 4, p.Answer())
		require.Equal(t, tagS(p.Target), a[0])
		require.Equal(t, questionWord(p.Kind), a[1])
		if p.Kind == Note {
			require.Equal(t, tagN(p.Target), a[2])
		} else {
			require.Equal(t, tagS(p.Target), a[2])
		}
		require.True(t, strings.HasSuffix(p.Prompt(), " "+a[0]+" "+a[1]), "the answer restates the prompt's question")
	}
}

// TestTagFirstGrammar: the answer grammar of the tag-first form over the long vocabulary allows
// each reference answer word by word and rules the other kind's form out, for steps past 23 too.
func TestTagFirstGrammar(t *testing.T) {
	tok, err := tokenizer.NewWordLevel(VocabularyOf(Long))
	require.NoError(t, err)
	ids := func(words ...string) []int { return wordIDs(t, tok, words...) }
	g, err := NewAnswerGrammar(tok, TagFirstForm)
	require.NoError(t, err)
	gen, err := NewGenerator(Config{Form: TagFirstForm, Scale: Long}, HeldOut, 3)
	require.NoError(t, err)
	for range 20 {
		p := gen.Next()
		answer := append(ids(AnswerMarker), ids(strings.Fields(p.Answer())...)...)
		answer = append(answer, ids(EOS)...)
		for i := 1; i < len(answer); i++ {
			require.Contains(t, g.Allowed(answer[:i]), answer[i], "%q, word %d", p.Answer(), i)
		}
	}
	require.Len(t, g.Allowed(ids(AnswerMarker)), LongMaxSteps)
	require.Equal(t, ids("QN", "QV"), g.Allowed(ids(AnswerMarker, "S40")))
	require.Equal(t, ids("N40"), g.Allowed(ids(AnswerMarker, "S40", "QN")))
	require.Equal(t, ids("S40"), g.Allowed(ids(AnswerMarker, "S40", "QV")))
	require.Equal(t, ids(values()...), g.Allowed(ids(AnswerMarker, "S40", "QV", "S40")))
	require.Len(t, g.Allowed(ids(AnswerMarker, "S40", "QN", "N40")), 10)
	require.False(t, slices.Contains(g.Allowed(ids(AnswerMarker, "S40", "QN", "N40")), ids("v3")[0]))
	require.Equal(t, ids(EOS), g.Allowed(ids(AnswerMarker, "S40", "QN", "N40", "3")))
	require.Equal(t, ids(EOS), g.Allowed(ids(AnswerMarker, "QN")), "a word off the schema ends the answer")
	// Over the standard vocabulary the grammar stops at S23.
	std, err := tokenizer.NewWordLevel(Vocabulary())
	require.NoError(t, err)
	gs, err := NewAnswerGrammar(std, TagFirstForm)
	require.NoError(t, err)
	require.Len(t, gs.Allowed([]int{4}), MaxSteps) // 4: the answer marker's id
}
