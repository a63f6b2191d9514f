package train

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
	"github.com/zoomr-go/zoomr/summarize/task"
)

// TestDefaultWeightsEmphasiseTheAnswerWord: without a hook every token keeps its weight by kind but
// the answer word (the note or value, before EOS), which gets DefaultAnswerWeight.
func TestDefaultWeightsEmphasiseTheAnswerWord(t *testing.T) {
	for seed := uint64(1); seed < 6; seed++ {
		tok, src, p, e := weightedExample(t, task.Config{MinSteps: 4, MaxSteps: 4, MinWalk: 6, MaxWalk: 6}, seed, nil)
		byKind := FromRendered(mustRender(t, src, p), src.Weights)
		_, words := weightedTokens(tok, e, DefaultAnswerWeight)
		answer := strings.Fields(p.Answer())
		require.Equal(t, answer[len(answer)-1:], words, "%q", p.Answer())
		for i := range e.Weight {
			if !src.IsAnswerWord(e, i) {
				require.Equal(t, byKind.Weight[i], e.Weight[i], "token %d", i)
			}
		}
	}
}

// TestTokenWeightGivesEachTokenItsWeight: the hook is asked once for every token after the first,
// with its weight by kind, and its answer is the token's weight.
func TestTokenWeightGivesEachTokenItsWeight(t *testing.T) {
	_, src, p, _ := weightedExample(t, task.Config{MinSteps: 4, MaxSteps: 4, MinWalk: 6, MaxWalk: 6}, 3, nil)
	byKind := FromRendered(mustRender(t, src, p), src.Weights)
	var asked []int
	var given []float32
	src.TokenWeight = func(e *Example, t int, w float32) float32 {
		asked, given = append(asked, t), append(given, w)
		return w + float32(t)
	}
	e, err := src.Example(p)
	require.NoError(t, err)
	require.Len(t, asked, e.Len()-1)
	for i := 1; i < e.Len(); i++ {
		require.Equal(t, i, asked[i-1])
		require.Equal(t, byKind.Weight[i], given[i-1], "token %d", i)
		require.Equal(t, byKind.Weight[i]+float32(i), e.Weight[i], "token %d", i)
	}
}

// mustRender renders p as src does.
func mustRender(t *testing.T, src *TaskSource, p task.Problem) summarize.Rendered {
	t.Helper()
	r, err := src.render.Render(p.Record())
	require.NoError(t, err)
	return r
}

// TestNoteTagFormRoutesAtTheNTag: in task.NoteTagForm a note question's example routes at the
// restated question's N tag and its batches are asked in that form.
func TestNoteTagFormRoutesAtTheNTag(t *testing.T) {
	cfg := task.Config{MinSteps: 5, MaxSteps: 5, MinWalk: 7, MaxWalk: 7, NoteShare: 1, Form: task.NoteTagForm}
	tok, src, p, e := weightedExample(t, cfg, 3, nil)
	require.Equal(t, task.Note, p.Kind)
	route, _ := tok.TokenText(e.IDs[e.Route])
	require.Equal(t, strings.Fields(p.Answer())[1], route, "the N tag of %q", p.Answer())
	require.Equal(t, p.TargetThought(), e.RouteThought)

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
// restated question's S tag (the summary-tag form's routing), the N tag after it.
func TestBothTagsFormRoutesAtTheSTag(t *testing.T) {
	cfg := task.Config{MinSteps: 5, MaxSteps: 5, MinWalk: 7, MaxWalk: 7, NoteShare: 1, Form: task.BothTagsForm}
	tok, _, p, e := weightedExample(t, cfg, 3, nil)
	require.Equal(t, task.Note, p.Kind)
	require.Equal(t, p.TargetThought(), e.RouteThought)
	route, _ := tok.TokenText(e.IDs[e.Route])
	answer := strings.Fields(p.Answer()) // QN S5 N5 d
	require.Equal(t, answer[1], route)
	next, _ := tok.TokenText(e.IDs[e.Route+1])
	require.Equal(t, answer[2], next)
	prompt := strings.Fields(p.Prompt())
	require.Equal(t, answer[:3], prompt[len(prompt)-3:], "the prompt asks what the answer restates")
}

// weightedExample renders one training problem of cfg (drawn with seed) through a task source that
// set (when not nil) configured.
func weightedExample(t *testing.T, cfg task.Config, seed uint64, set func(*TaskSource)) (*tokenizer.Tokenizer, *TaskSource, task.Problem, *Example) {
	t.Helper()
	tok, err := tokenizer.NewWordLevel(task.Vocabulary())
	require.NoError(t, err)
	src, err := NewTaskSource(tok, []Stage{{Until: 10, Tasks: []task.Config{cfg}}}, 1)
	require.NoError(t, err)
	if set != nil {
		set(src)
	}
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
// answered questions about the same trace after the answer's EOS, the question's words fed in
// (weight 0) and the rest weighted through the hook, and leaves restricted-view examples as they
// were.
func TestExtraQuestionsFollowTheAnswerInCausalExamples(t *testing.T) {
	cfg := task.Config{MinSteps: 6, MaxSteps: 6, MinWalk: 7, MaxWalk: 7}
	tok, src, p, plain := weightedExample(t, cfg, 3, func(s *TaskSource) {
		s.ExtraQuestions = 5
		s.TokenWeight = func(e *Example, t int, w float32) float32 {
			if s.IsAnswerWord(e, t) {
				return 7
			}
			return w
		}
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
		at := plain.Len()
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
			want := make([]float32, len(words)+1) // the words and EOS; the first three fed in
			for i := 3; i < len(want); i++ {
				want[i] = src.Weights.Answer
			}
			want[len(words)-1] = 7 // the answer word, through the hook
			require.Equal(t, want, e.Weight[at:at+len(want)], "%q", q)
			at += len(want)
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

// copySource is a task source over the standard vocabulary, for the copy tests.
func copySource(t *testing.T) (*tokenizer.Tokenizer, *TaskSource) {
	t.Helper()
	tok, err := tokenizer.NewWordLevel(task.Vocabulary())
	require.NoError(t, err)
	src, err := NewTaskSource(tok, TaskCurriculum(1), 3)
	require.NoError(t, err)
	return tok, src
}

// TestNoteCopiesPointAtTheBodysNote: a note question's example, and each note question appended
// after it, records its copy: the answer's N tag, and the digit after the same tag in the asked
// thought's body, which is the answer's digit. A value question has none.
func TestNoteCopiesPointAtTheBodysNote(t *testing.T) {
	tok, src := copySource(t)
	src.ExtraQuestions = 6
	src.View.Restricted = -1 // causal: the extra questions are appended
	g, err := task.NewGenerator(task.Config{MinSteps: 5, MaxSteps: 5, MinWalk: 8, MaxWalk: 8}, task.Train, 4)
	require.NoError(t, err)
	notes, values := 0, 0
	for range 12 {
		p := g.Next()
		e, err := src.trainExample(p, rand.New(rand.NewPCG(1, 2)))
		require.NoError(t, err)
		require.NoError(t, e.Validate())
		var eos []int // the answers' ends: the problem's own, then the extra questions'
		for pos := range e.Len() {
			if w, _ := tok.TokenText(e.IDs[pos]); w == task.EOS && e.Kinds[pos] == summarize.Answer {
				eos = append(eos, pos)
			}
		}
		require.Len(t, eos, 1+src.ExtraQuestions)
		if p.Kind == task.Note {
			notes++
			require.NotEmpty(t, e.Copies)
			require.Equal(t, eos[0]-2, e.Copies[0].At, "the problem's own answer comes first")
			require.Equal(t, p.TargetThought(), e.Thought[e.Copies[0].From])
		} else {
			values++
		}
		require.LessOrEqual(t, len(e.Copies), len(eos))
		for _, c := range e.Copies {
			tag, _ := tok.TokenText(e.IDs[c.At])
			require.Equal(t, "N", tag[:1], "the copy's query is an N tag")
			require.Equal(t, e.IDs[c.At], e.IDs[c.From-1], "the source follows the same tag")
			require.Equal(t, e.IDs[c.At+1], e.IDs[c.From], "the source is the answer's digit")
			require.Equal(t, summarize.Thought, e.Kinds[c.From])
		}
	}
	require.Positive(t, notes)
	require.Positive(t, values)
}

// TestQuestionCopyPointsAtThePromptsWord: in the tag-first form, with QuestionCopy, every example
// records the restated question word's copy: from the restated tag (the routing position) to the
// prompt's question word, the word the answer restates; a note question's note copy stays first.
// The summary-tag form restates the word before the tag: no question copy there.
func TestQuestionCopyPointsAtThePromptsWord(t *testing.T) {
	tok, src := copySource(t)
	src.QuestionCopy = true
	for _, form := range []task.Form{task.TagFirstForm, task.SummaryTagForm} {
		g, err := task.NewGenerator(task.Config{MinSteps: 5, MaxSteps: 5, MinWalk: 8, MaxWalk: 8, Form: form}, task.Train, 4)
		require.NoError(t, err)
		for range 12 {
			p := g.Next()
			e, err := src.Example(p)
			require.NoError(t, err)
			require.NoError(t, e.Validate())
			var question []Copy
			for _, c := range e.Copies {
				if c.At == e.Route {
					question = append(question, c)
				}
			}
			if form != task.TagFirstForm {
				require.Empty(t, question)
				continue
			}
			require.Len(t, question, 1)
			c := question[0]
			word, _ := tok.TokenText(e.IDs[c.At+1])
			require.Contains(t, task.QuestionWords(), word, "the restated tag is followed by the question word")
			require.Equal(t, e.IDs[c.At+1], e.IDs[c.From], "the source is the same word")
			require.Less(t, c.From, e.PromptLen, "in the prompt")
			require.Equal(t, p.Kind == task.Note, len(e.Copies) == 2)
			if p.Kind == task.Note {
				require.NotEqual(t, e.Route, e.Copies[0].At, "the note copy comes first")
			}
		}
	}
}

// TestIndexCopyPointsAtThePromptsFirstStep: with IndexCopy, the trace's first token, the first step's
// index, is copied from the prompt's first step (right after the steps' marker), the prediction made
// at the prompt's last token.
func TestIndexCopyPointsAtThePromptsFirstStep(t *testing.T) {
	tok, src := copySource(t)
	src.IndexCopy = true
	g, err := task.NewGenerator(task.Config{MinSteps: 3, MaxSteps: 12, MinWalk: 8, MaxWalk: 8}, task.Train, 5)
	require.NoError(t, err)
	word := func(id int) string { s, _ := tok.TokenText(id); return s }
	for range 12 {
		p := g.Next()
		e, err := src.Example(p)
		require.NoError(t, err)
		require.NoError(t, e.Validate())
		c := e.Copies[len(e.Copies)-1]
		require.Equal(t, e.PromptLen-1, c.At)
		require.Equal(t, summarize.Thought, e.Kinds[c.At+1])
		require.Equal(t, fmt.Sprintf("#%d", p.Steps()-1), word(e.IDs[c.At+1]))
		require.Equal(t, e.IDs[c.At+1], e.IDs[c.From])
		require.Equal(t, "P", word(e.IDs[c.From-1]), "the prompt's first step")
	}
}
