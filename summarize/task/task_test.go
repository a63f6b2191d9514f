package task

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
)

func TestMoveTableIsOneTenCyclePerKey(t *testing.T) {
	for k := range 10 {
		seen := map[int]bool{}
		u := 0
		for range 10 {
			require.False(t, seen[u], "key %d revisits %d before 10 moves", k, u)
			seen[u] = true
			u = Move(u, k)
		}
		require.Equal(t, 0, u, "key %d: 10 moves return to the start", k)
	}
}

func TestSolveSmallProblem(t *testing.T) {
	p := Problem{Keys: []int{3, 5}, Start: 7, Walk: 6, Kind: Note, Target: 1}
	steps := p.Solve()
	require.Len(t, steps, 2)
	require.Equal(t, 1, steps[0].Index, "steps run from #K-1 down to #0")
	require.Equal(t, 7, steps[0].Before)
	u := 7
	for i := range 6 {
		u = Move(u, 5)
		require.Equal(t, u, steps[0].Walk[i])
	}
	require.Equal(t, u, steps[0].After)
	require.Equal(t, steps[0].Walk[0], steps[0].Note, "walk 6: the note is the first move (after w6)")
	require.Equal(t, steps[0].After, steps[1].Before, "each step starts from the previous value")
	require.Equal(t, "W w6 = v7 P #1 k5 #0 k3 QN S1", p.Prompt())
	body := p.Body(steps[0])
	require.True(t, strings.HasPrefix(body, "#1 k5 7 w6 "), body)
	require.True(t, strings.HasSuffix(body, " N1 "+digit(steps[0].Note)), body)
	require.Equal(t, "S1 "+value(steps[0].After), p.Summary(steps[0]))
	require.Equal(t, "QN S1 N1 "+digit(steps[0].Note), p.Answer())
	require.Equal(t, digit(steps[0].Note), p.AnswerToken())
	require.True(t, p.Correct(" QN S1 N1 "+digit(steps[0].Note)+" <eos>"))
	require.False(t, p.Correct("QN S1 N1"))
	p.Kind = Value
	require.Equal(t, "QV S1 "+value(steps[0].After), p.Answer())
}

// TestBothTagsForm: a note question names both tags and is answered like the summary-tag form's;
// it re-selects at S tags only, and value questions and the held-out split are unchanged.
func TestBothTagsForm(t *testing.T) {
	p := Problem{Keys: []int{3, 5}, Start: 7, Walk: 6, Kind: Note, Target: 1, Form: BothTagsForm}
	require.NoError(t, p.Validate())
	note := digit(p.Solve()[0].Note)
	require.Equal(t, "W w6 = v7 P #1 k5 #0 k3 QN S1 N1", p.Prompt())
	require.Equal(t, "QN S1 N1 "+note, p.Answer())
	require.True(t, p.WellFormed("QN S1 N1 "+digit((p.Solve()[0].Note+1)%10)))
	require.False(t, p.WellFormed("QN S1 v3"))
	trace, _, _ := p.ReferenceTrace()
	require.True(t, p.Recalled(trace, p.Answer()))
	s := p
	s.Form = SummaryTagForm
	require.Equal(t, s.Answer(), p.Answer(), "answered as in the summary-tag form")
	require.Equal(t, s.HeldOut(), p.HeldOut())
	v, w := p, s
	v.Kind, w.Kind = Value, Value
	require.Equal(t, w.Prompt(), v.Prompt(), "value questions are asked alike")
	require.Equal(t, ReselectWords(SummaryTagForm), ReselectWords(BothTagsForm))
}

// TestNoteTagForm: a note question names the note's tag and is answered by it; value questions and
// the held-out split are the same in both forms.
func TestNoteTagForm(t *testing.T) {
	p := Problem{Keys: []int{3, 5}, Start: 7, Walk: 6, Kind: Note, Target: 1, Form: NoteTagForm}
	require.NoError(t, p.Validate())
	note := digit(p.Solve()[0].Note)
	require.Equal(t, "W w6 = v7 P #1 k5 #0 k3 QN N1", p.Prompt())
	require.Equal(t, "QN N1 "+note, p.Answer())
	require.Equal(t, note, p.AnswerToken())
	require.True(t, p.Correct("QN N1 "+note+" <eos>"))
	require.False(t, p.Correct("QN S1 N1 "+note), "the other form's answer")
	require.True(t, p.WellFormed("QN N1 "+digit((p.Solve()[0].Note+1)%10)))
	require.False(t, p.WellFormed("QN S1 N1 "+note))
	trace, _, _ := p.ReferenceTrace()
	require.True(t, p.Recalled(trace, p.Answer()))

	v := p
	v.Kind = Value
	w := v
	w.Form = SummaryTagForm
	require.Equal(t, w.Prompt(), v.Prompt(), "value questions are asked alike")
	require.Equal(t, w.Answer(), v.Answer())

	g1, err := NewGenerator(Config{}, HeldOut, 4)
	require.NoError(t, err)
	g2, err := NewGenerator(Config{Form: NoteTagForm}, HeldOut, 4)
	require.NoError(t, err)
	for range 50 {
		a, b := g1.Next(), g2.Next()
		require.Equal(t, NoteTagForm, b.Form)
		b.Form = SummaryTagForm
		require.Equal(t, a, b, "the same held-out problems in both forms")
	}

	require.Len(t, ReselectWords(SummaryTagForm), MaxSteps)
	require.Contains(t, ReselectWords(NoteTagForm), "N5")
	require.NotContains(t, ReselectWords(SummaryTagForm), "N5")
	for _, f := range []Form{SummaryTagForm, NoteTagForm, BothTagsForm} {
		got, err := ParseForm(f.String())
		require.NoError(t, err)
		require.Equal(t, f, got)
	}
	_, err = ParseForm("n-tag")
	require.ErrorIs(t, err, ErrConfig)
	p.Form = 7
	require.ErrorIs(t, p.Validate(), ErrProblem)
	_, err = NewGenerator(Config{Form: 7}, Train, 1)
	require.ErrorIs(t, err, ErrConfig)
}

func TestValidate(t *testing.T) {
	good := Problem{Keys: []int{1, 2, 3}, Start: 4, Walk: 8, Target: 2}
	require.NoError(t, good.Validate())
	for name, mut := range map[string]func(p *Problem){
		"no steps":      func(p *Problem) { p.Keys = nil },
		"many steps":    func(p *Problem) { p.Keys = make([]int, LongMaxSteps+1) },
		"short walk":    func(p *Problem) { p.Walk = NoteAt - 1 },
		"long walk":     func(p *Problem) { p.Walk = LongMaxWalk + 1 },
		"start":         func(p *Problem) { p.Start = 10 },
		"target":        func(p *Problem) { p.Target = 3 },
		"key":           func(p *Problem) { p.Keys = []int{1, -1, 3} },
		"question kind": func(p *Problem) { p.Kind = 7 },
	} {
		t.Run(name, func(t *testing.T) {
			p := good
			p.Keys = append([]int(nil), good.Keys...)
			mut(&p)
			require.ErrorIs(t, p.Validate(), ErrProblem)
		})
	}
	for _, c := range []Config{{MinSteps: 0, MaxSteps: 30}, {MinSteps: 5, MaxSteps: 4}, {MinWalk: 2, MaxWalk: 8},
		{MinWalk: 8, MaxWalk: 40}, {NoteShare: 1.5}} {
		_, err := NewGenerator(c, Train, 1)
		require.ErrorIs(t, err, ErrConfig, "%+v", c)
	}
}

// TestEvaluationDistribution: default problems have traces of at least 1,000 tokens in 18+ thoughts,
// every thought fits a 64-token window, and the record renders and segments back consistently.
func TestEvaluationDistribution(t *testing.T) {
	tok, err := tokenizer.NewWordLevel(Vocabulary())
	require.NoError(t, err)
	r, err := summarize.NewRenderer(tok, RenderOptions())
	require.NoError(t, err)
	m, err := Protocol().Resolve(tok)
	require.NoError(t, err)
	g, err := NewGenerator(Config{}, HeldOut, 7)
	require.NoError(t, err)
	kinds := map[Kind]int{}
	for range 50 {
		p := g.Next()
		require.NoError(t, p.Validate())
		require.GreaterOrEqual(t, p.Steps(), 18)
		kinds[p.Kind]++
		out, err := r.Render(p.Record())
		require.NoError(t, err)
		require.GreaterOrEqual(t, out.Len()-out.PromptLen, 1000, "trace length")
		seg, err := summarize.NewSummarySegmenter(m, summarize.Config{})
		require.NoError(t, err)
		for i := out.PromptLen; i < out.Len(); i++ {
			ev := seg.Observe(out.IDs[i])
			require.Equal(t, out.Kinds[i], ev.Kind, "token %d", i)
			if ev.ThoughtSealed {
				require.Less(t, ev.Seal.BodyLen+ev.Seal.SummaryLen, 64, "a thought and its summary fit the window")
			}
		}
	}
	require.Greater(t, kinds[Note], 10)
	require.Greater(t, kinds[Value], 10)
}

// TestNoteOnlyInBody: the pair "N_j note" that answers a note question occurs in the target thought's
// body and nowhere in the prompt or any summary; "S_j value" only in summary j.
func TestNoteOnlyInBody(t *testing.T) {
	g, err := NewGenerator(Config{NoteShare: 1}, Train, 3)
	require.NoError(t, err)
	for range 20 {
		p := g.Next()
		rec := p.Record()
		ans := strings.Fields(p.Answer())
		pair := ans[2] + " " + ans[3]
		require.NotContains(t, p.Prompt(), ans[2])
		for i, th := range rec.Thoughts {
			require.NotContains(t, th.Summary, "N")
			if i == p.TargetThought() {
				require.True(t, strings.HasSuffix(th.Text, pair), th.Text)
			} else {
				require.NotContains(t, th.Text, ans[2]+" ")
			}
		}
	}
}

func TestSplitsAreDisjointAndSeeded(t *testing.T) {
	cfg := Config{MinSteps: 1, MaxSteps: 2, MinWalk: 6, MaxWalk: 6}
	train, err := NewGenerator(cfg, Train, 5)
	require.NoError(t, err)
	held, err := NewGenerator(cfg, HeldOut, 5)
	require.NoError(t, err)
	for range 300 {
		require.False(t, train.Next().HeldOut())
		require.True(t, held.Next().HeldOut())
	}
	a, _ := NewGenerator(cfg, Train, 9)
	b, _ := NewGenerator(cfg, Train, 9)
	c, _ := NewGenerator(cfg, Train, 10)
	same, diff := true, false
	for range 20 {
		pa, pb, pc := a.Next(), b.Next(), c.Next()
		same = same && pa.Prompt() == pb.Prompt()
		diff = diff || pa.Prompt() != pc.Prompt()
	}
	require.True(t, same, "same seed, same problems")
	require.True(t, diff, "another seed, other problems")
}

func TestWriteJSONLRoundTrip(t *testing.T) {
	g, err := NewGenerator(Config{MinSteps: 2, MaxSteps: 3, MinWalk: 6, MaxWalk: 7}, HeldOut, 1)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, g.WriteJSONL(&buf, 5))
	n := 0
	for rec, err := range summarize.NewReader(&buf).All() {
		require.NoError(t, err)
		require.NoError(t, rec.Validate())
		n++
	}
	require.Equal(t, 5, n)
}

func TestVocabularyCoversEveryWord(t *testing.T) {
	tok, err := tokenizer.NewWordLevel(Vocabulary())
	require.NoError(t, err)
	g, _ := NewGenerator(Config{MinSteps: MaxSteps, MaxSteps: MaxSteps, MinWalk: MaxWalk, MaxWalk: MaxWalk}, Train, 2)
	p := g.Next()
	rec := p.Record()
	texts := []string{rec.Prompt, rec.Answer}
	for _, th := range rec.Thoughts {
		texts = append(texts, th.Text, th.Summary)
	}
	for _, s := range texts {
		_, err := tok.Encode(s)
		require.NoError(t, err, s)
	}
	for _, w := range append(ReselectWords(NoteTagForm), AnswerMarker, EOS, BeginSummary, EndSummary) {
		_, ok := tok.TokenID(w)
		require.True(t, ok, w)
	}
	_, err = tok.Encode("zzz")
	require.True(t, errors.Is(err, tokenizer.ErrUnknownToken))
}

func TestRecalledGradesAgainstTheOwnTrace(t *testing.T) {
	p := Problem{Keys: []int{3, 1, 4}, Start: 2, Walk: 8, Kind: Note, Target: 1}
	trace, _, _ := p.ReferenceTrace()
	// The reference trace: the reference answer is also the recalled one.
	require.True(t, p.Recalled(trace, p.Answer()))
	// A wrong walk upstream: the model wrote a different note for step 1 and recalls it.
	at := slices.Index(trace, "N1")
	require.Positive(t, at)
	own := slices.Clone(trace)
	own[at+1] = digit((p.Solve()[1].Note + 1) % 10)
	mine := "QN S1 N1 " + own[at+1] + " <eos>"
	require.True(t, p.Recalled(own, mine))
	require.False(t, p.Correct(mine))
	require.False(t, p.Recalled(own, p.Answer()))
	// The tag written twice, or never: ungradeable, wrong.
	require.False(t, p.Recalled(append(slices.Clone(own), "N1", "5"), mine))
	require.False(t, p.Recalled(slices.Delete(slices.Clone(own), at, at+2), mine))
	// Value questions read the own summary.
	v := p
	v.Kind = Value
	require.True(t, v.Recalled(trace, v.Answer()))
	require.False(t, v.Recalled(trace, "QV S1 v"+digit((p.Solve()[1].After+1)%10)))
}

// TestWellFormedIgnoresOnlyTheAnswerWord: any digit/value in the answer slot is well formed; the
// other question's form, a wrong target or trailing words are not.
func TestWellFormedIgnoresOnlyTheAnswerWord(t *testing.T) {
	v := Problem{Keys: []int{3, 1, 4}, Start: 2, Walk: 8, Kind: Value, Target: 1}
	require.True(t, v.WellFormed(v.Answer()))
	require.True(t, v.WellFormed("QV S1 v7 "+EOS))
	require.False(t, v.WellFormed("QV S1 N1 7"))
	require.False(t, v.WellFormed("QV S2 v7"))
	require.False(t, v.WellFormed("QV S1 v7 w3"))
	require.False(t, v.WellFormed(""))
	n := Problem{Keys: []int{3, 1, 4}, Start: 2, Walk: 8, Kind: Note, Target: 0}
	require.True(t, n.WellFormed("QN S0 N0 4"))
	require.False(t, n.WellFormed("QN S0 N0 v4"))
}
