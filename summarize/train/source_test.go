package train

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize/task"
)

// TestLookupWeightMarksEachHeaderKey: with LookupWeight set, exactly the key of each thought's
// "#i k" header carries it, and the answer keeps its own weight.
func TestLookupWeightMarksEachHeaderKey(t *testing.T) {
	tok, src, _, e := weightedExample(t, task.Config{MinSteps: 4, MaxSteps: 4, MinWalk: 6, MaxWalk: 6}, 3,
		func(s *TaskSource) { s.LookupWeight = 7 })

	prevs, keys := weightedTokens(tok, e, 7)
	for i, prev := range prevs {
		require.True(t, strings.HasPrefix(prev, "#"), "weighted token %q follows %q, not a step index", keys[i], prev)
	}
	require.Len(t, keys, 4, "one key per thought")
	for _, k := range keys {
		require.True(t, strings.HasPrefix(k, "k"), "weighted %q is not a key", k)
	}
	require.Equal(t, src.AnswerWeight, e.Weight[e.Len()-2])
}

// TestNoteWeightMarksEachNote: with NoteWeight set, exactly each thought's note (the digit after
// its N tag, the body's last token) carries it.
func TestNoteWeightMarksEachNote(t *testing.T) {
	tok, _, p, e := weightedExample(t, task.Config{MinSteps: 5, MaxSteps: 5, MinWalk: 7, MaxWalk: 7}, 4,
		func(s *TaskSource) { s.NoteWeight = 9 })

	prevs, notes := weightedTokens(tok, e, 9)
	for _, prev := range prevs {
		require.True(t, strings.HasPrefix(prev, "N"), "weighted token follows %q, not a note tag", prev)
	}
	var want []string
	for _, st := range p.Solve() {
		want = append(want, fmt.Sprint(st.Note))
	}
	require.Equal(t, want, notes, "one note per thought, in order")
}

// TestSummaryValueWeightMarksEachValue: with SummaryValueWeight set, exactly each summary's value
// (the word after its S tag) carries it, in order.
func TestSummaryValueWeightMarksEachValue(t *testing.T) {
	tok, _, p, e := weightedExample(t, task.Config{MinSteps: 5, MaxSteps: 5, MinWalk: 7, MaxWalk: 7}, 4,
		func(s *TaskSource) { s.SummaryValueWeight = 9 })
	prevs, values := weightedTokens(tok, e, 9)
	var wantPrevs, want []string
	for _, st := range p.Solve() {
		wantPrevs = append(wantPrevs, fmt.Sprintf("S%d", st.Index))
		want = append(want, fmt.Sprintf("v%d", st.After))
	}
	require.Equal(t, wantPrevs, prevs, "each follows its summary's S tag")
	require.Equal(t, want, values, "one value per summary, in order")
}

// TestFirstIndexWeightMarksTheTraceStart: with FirstIndexWeight set, only the first thought's step
// index "#K-1" (the first token after the prompt) carries it.
func TestFirstIndexWeightMarksTheTraceStart(t *testing.T) {
	tok, _, p, e := weightedExample(t, task.Config{MinSteps: 5, MaxSteps: 5, MinWalk: 7, MaxWalk: 7}, 4,
		func(s *TaskSource) { s.FirstIndexWeight = 9 })
	prevs, words := weightedTokens(tok, e, 9)
	require.Equal(t, []string{"#4"}, words)
	prompt := strings.Fields(p.Prompt())
	require.Equal(t, []string{prompt[len(prompt)-1]}, prevs, "the token before it ends the prompt")
}

// TestFirstThoughtWeightCoversTheFirstBody: FirstThoughtWeight covers the first thought's body after
// its index, except the header key when LookupWeight is set, and nothing after that body.
func TestFirstThoughtWeightCoversTheFirstBody(t *testing.T) {
	cfg := task.Config{MinSteps: 5, MaxSteps: 5, MinWalk: 7, MaxWalk: 7}
	tok, _, p, e := weightedExample(t, cfg, 4, func(s *TaskSource) { s.FirstThoughtWeight = 9; s.FirstIndexWeight = 7 })
	_, words := weightedTokens(tok, e, 9)
	body := strings.Fields(p.Body(p.Solve()[0]))
	require.Equal(t, body[1:], words, "the first body after its index")
	_, index := weightedTokens(tok, e, 7)
	require.Equal(t, body[:1], index)

	tok, _, _, e = weightedExample(t, cfg, 4, func(s *TaskSource) { s.FirstThoughtWeight = 9; s.LookupWeight = 5 })
	_, words = weightedTokens(tok, e, 9)
	require.Equal(t, body[2:], words, "the key keeps the lookup weight")
}

// TestAnswerFormWeightMarksTheWordAfterTheSTag: on a note question AnswerFormWeight lands on the
// N tag after the restated question's S tag, and only there; on a value question that word is the
// answer, which keeps AnswerWeight.
func TestAnswerFormWeightMarksTheWordAfterTheSTag(t *testing.T) {
	cfg := task.Config{MinSteps: 5, MaxSteps: 5, MinWalk: 7, MaxWalk: 7}
	for seed := uint64(1); seed < 40; seed++ {
		tok, src, p, e := weightedExample(t, cfg, seed, func(s *TaskSource) { s.AnswerFormWeight = 9 })
		prevs, words := weightedTokens(tok, e, 9)
		answer := strings.Fields(p.Answer())
		if p.Kind == task.Note {
			require.Equal(t, []string{answer[2]}, words, "the N tag of %q", p.Answer())
			require.Equal(t, []string{answer[1]}, prevs)
		} else {
			require.Empty(t, words, "value question %q", p.Answer())
			require.Equal(t, src.AnswerWeight, e.Weight[e.Route+1])
		}
	}
}

// TestNoteTagFormRoutesAtTheNTag: in task.NoteTagForm a note question's example routes at the
// restated question's N tag and its batches are asked in that form.
func TestNoteTagFormRoutesAtTheNTag(t *testing.T) {
	cfg := task.Config{MinSteps: 5, MaxSteps: 5, MinWalk: 7, MaxWalk: 7, NoteShare: 1, Form: task.NoteTagForm}
	tok, src, p, e := weightedExample(t, cfg, 3, func(*TaskSource) {})
	require.Equal(t, task.Note, p.Kind)
	route, _ := tok.TokenText(e.IDs[e.Route])
	require.Equal(t, strings.Fields(p.Answer())[1], route, "the N tag of %q", p.Answer())
	require.Equal(t, p.TargetThought(), e.RouteThought)
	_, _, _, tagged := weightedExample(t, cfg, 3, func(s *TaskSource) { s.QuestionTagWeight = 9 })
	_, words := weightedTokens(tok, tagged, 9)
	require.Equal(t, []string{route}, words, "QuestionTagWeight marks the restated tag only")

	src.Form = task.NoteTagForm
	batch, err := src.Batch(0, 2048)
	require.NoError(t, err)
	qn, _ := tok.TokenID("QN")
	for _, ex := range batch {
		require.GreaterOrEqual(t, ex.Route, 0)
		q := ex.IDs[ex.Route-1]
		tag, _ := tok.TokenText(ex.IDs[ex.Route])
		if q == qn {
			require.True(t, strings.HasPrefix(tag, "N"), tag)
		} else {
			require.True(t, strings.HasPrefix(tag, "S"), tag)
		}
	}
}

// TestBothTagsFormRoutesAtTheSTag: in task.BothTagsForm a note question's example routes at the
// restated question's S tag (the summary-tag form's routing), and AnswerFormWeight marks the N tag
// after it.
func TestBothTagsFormRoutesAtTheSTag(t *testing.T) {
	cfg := task.Config{MinSteps: 5, MaxSteps: 5, MinWalk: 7, MaxWalk: 7, NoteShare: 1, Form: task.BothTagsForm}
	tok, _, p, e := weightedExample(t, cfg, 3, func(s *TaskSource) { s.AnswerFormWeight = 9 })
	require.Equal(t, task.Note, p.Kind)
	require.Equal(t, p.TargetThought(), e.RouteThought)
	route, _ := tok.TokenText(e.IDs[e.Route])
	answer := strings.Fields(p.Answer()) // QN S5 N5 d
	require.Equal(t, answer[1], route)
	_, words := weightedTokens(tok, e, 9)
	require.Equal(t, []string{answer[2]}, words)
	prompt := strings.Fields(p.Prompt())
	require.Equal(t, answer[:3], prompt[len(prompt)-3:], "the prompt asks what the answer restates")
}

// weightedExample renders one training problem of cfg (drawn with seed) through a task source that
// set configured.
func weightedExample(t *testing.T, cfg task.Config, seed uint64, set func(*TaskSource)) (*tokenizer.Tokenizer, *TaskSource, task.Problem, *Example) {
	t.Helper()
	tok, err := tokenizer.NewWordLevel(task.Vocabulary())
	require.NoError(t, err)
	src, err := NewTaskSource(tok, []Stage{{Until: 10, Tasks: []task.Config{cfg}}}, 1)
	require.NoError(t, err)
	set(src)
	g, err := task.NewGenerator(cfg, task.Train, seed)
	require.NoError(t, err)
	p := g.Next()
	e, err := src.Example(p)
	require.NoError(t, err)
	return tok, src, p, e
}

// weightedTokens returns the words at the positions of e weighted w, and the word before each.
func weightedTokens(tok *tokenizer.Tokenizer, e *Example, w float32) (prevs, words []string) {
	for i, wi := range e.Weight {
		if wi == w {
			prev, _ := tok.TokenText(e.IDs[i-1])
			cur, _ := tok.TokenText(e.IDs[i])
			prevs, words = append(prevs, prev), append(words, cur)
		}
	}
	return prevs, words
}

// TestExtraQuestionsFollowTheAnswerInCausalExamples: ExtraQuestions appends well-formed, correctly
// answered questions about the same trace after the answer's EOS, with only the form word and the
// answer word (and EOS) weighted, and leaves restricted-view examples as they were.
func TestExtraQuestionsFollowTheAnswerInCausalExamples(t *testing.T) {
	cfg := task.Config{MinSteps: 6, MaxSteps: 6, MinWalk: 7, MaxWalk: 7}
	tok, src, p, plain := weightedExample(t, cfg, 3, func(s *TaskSource) {
		s.ExtraQuestions = 5
		s.AnswerFormWeight = 9
		s.AnswerWeight = 7
	})
	seen := map[string]bool{}
	for seed := uint64(0); seed < 20; seed++ {
		e, err := src.trainExample(p, rand.New(rand.NewPCG(seed, 1)))
		require.NoError(t, err)
		require.NoError(t, e.Validate())
		if !e.Causal {
			require.Equal(t, plain.IDs, e.IDs, "a restricted view gets no extra questions")
			continue
		}
		require.Equal(t, plain.IDs, e.IDs[:plain.Len()], "the example itself is unchanged")
		require.Equal(t, plain.Weight, e.Weight[:plain.Len()])
		extra := e.IDs[plain.Len():]
		text := make([]string, len(extra))
		for i, id := range extra {
			text[i], _ = tok.TokenText(id)
		}
		questions := strings.Split(strings.Join(text, " "), task.EOS)
		require.Len(t, questions, 6, "five questions, each closed by EOS")
		for _, q := range questions[:5] {
			words := strings.Fields(q)
			require.Equal(t, task.AnswerMarker, words[0])
			asked := p
			asked.Kind = task.Value
			if words[1] == "QN" {
				asked.Kind = task.Note
			}
			var target int
			_, err := fmt.Sscanf(words[2], "S%d", &target)
			require.NoError(t, err)
			asked.Target = target
			require.True(t, asked.Correct(strings.Join(words[1:], " ")), "%q answers its question", q)
			seen[words[1]] = true
		}
		_, formWords := weightedTokens(tok, e, 9)
		for _, w := range formWords {
			require.Equal(t, "N", w[:1], "the form weight is on N tags only: %v", formWords)
		}
		for i := plain.Len(); i < e.Len(); i++ {
			if e.Weight[i] > 0 {
				require.Contains(t, []float32{9, 7, src.Weights.Answer}, e.Weight[i])
			}
		}
	}
	require.True(t, seen["QN"] && seen["QV"], "both kinds are asked")
}

// TestFarQuestionShareAsksTheTracesFirstHalf: with the share at 1 every training question is
// about a thought in the first half of the trace, and re-asking never moves a problem into the
// held-out split; at 0 the generator's uniform steps reach the second half too.
func TestFarQuestionShareAsksTheTracesFirstHalf(t *testing.T) {
	cfg := task.Config{MinSteps: 8, MaxSteps: 8, MinWalk: 7, MaxWalk: 7}
	asked := func(share float64) (first, second int) {
		tok, err := tokenizer.NewWordLevel(task.Vocabulary())
		require.NoError(t, err)
		src, err := NewTaskSource(tok, []Stage{{Until: 100, Tasks: []task.Config{cfg}}}, 3)
		require.NoError(t, err)
		src.FarQuestionShare = share
		for step := range 20 {
			batch, err := src.Batch(step, 1024)
			require.NoError(t, err)
			for _, e := range batch {
				require.GreaterOrEqual(t, e.RouteThought, 0)
				if e.RouteThought < 4 {
					first++
				} else {
					second++
				}
			}
		}
		return first, second
	}
	first, second := asked(1)
	require.Positive(t, first)
	require.Zero(t, second, "every question re-asked about steps 0..3 of 8")
	first, second = asked(0)
	require.Positive(t, first)
	require.Positive(t, second, "uniform steps reach the second half")

	g, err := task.NewGenerator(cfg, task.Train, 9)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(9, 9))
	for range 500 {
		p := g.Next()
		q := askFar(p, rng)
		require.False(t, q.HeldOut(), "a training problem stays out of the held-out split")
		if q.Target != p.Target {
			require.Less(t, q.TargetThought(), 4)
			q.Target = p.Target
		}
		require.Equal(t, p, q, "only the asked step changes")
	}
}
