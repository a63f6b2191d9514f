package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/summarize/train"
)

// TestEmphasisMarksItsPositions: each -*-weight flag puts its weight on exactly the task positions
// it names (the weights are distinct, so a token weighted 9 is the flag's), and the answer word keeps
// the answer weight.
func TestEmphasisMarksItsPositions(t *testing.T) {
	cfg := task.Config{MinSteps: 5, MaxSteps: 5, MinWalk: 7, MaxWalk: 7}
	for _, c := range []struct {
		flag string
		want func(p task.Problem) (prevs, words []string)
	}{
		{"-lookup-weight", func(p task.Problem) (prevs, words []string) {
			for _, st := range p.Solve() {
				body := strings.Fields(p.Body(st)) // "#i k …"
				prevs, words = append(prevs, body[0]), append(words, body[1])
			}
			return prevs, words
		}},
		{"-note-weight", func(p task.Problem) (prevs, words []string) {
			for _, st := range p.Solve() {
				prevs, words = append(prevs, fmt.Sprintf("N%d", st.Index)), append(words, fmt.Sprint(st.Note))
			}
			return prevs, words
		}},
		{"-trace-tag-weight", func(p task.Problem) (prevs, words []string) {
			prompt := strings.Fields(p.Prompt())
			prev := prompt[len(prompt)-1]
			for _, st := range p.Solve() {
				body := strings.Fields(p.Body(st)) // "#i k … N_i d"
				prevs = append(prevs, prev, body[len(body)-3], task.BeginSummary)
				words = append(words, body[0], body[len(body)-2], fmt.Sprintf("S%d", st.Index))
				prev = task.EndSummary
			}
			return prevs, words
		}},
		{"-summary-value-weight", func(p task.Problem) (prevs, words []string) {
			for _, st := range p.Solve() {
				prevs, words = append(prevs, fmt.Sprintf("S%d", st.Index)), append(words, fmt.Sprintf("v%d", st.After))
			}
			return prevs, words
		}},
		{"-first-index-weight", func(p task.Problem) (prevs, words []string) {
			prompt := strings.Fields(p.Prompt())
			return prompt[len(prompt)-1:], []string{fmt.Sprintf("#%d", p.Steps()-1)}
		}},
		{"-start-value-weight", func(p task.Problem) (prevs, words []string) {
			body := strings.Fields(p.Body(p.Solve()[0])) // "#K-1 k d …"
			return body[1:2], body[2:3]
		}},
		{"-first-thought-weight", func(p task.Problem) (prevs, words []string) {
			body := strings.Fields(p.Body(p.Solve()[0]))
			return body[:len(body)-1], body[1:]
		}},
		{"-question-word-weight", func(p task.Problem) (prevs, words []string) {
			answer := strings.Fields(p.Answer()) // QN S5 …
			return []string{task.AnswerMarker}, answer[:1]
		}},
		{"-question-tag-weight", func(p task.Problem) (prevs, words []string) {
			answer := strings.Fields(p.Answer()) // QN S5 …
			return answer[:1], answer[1:2]
		}},
	} {
		for seed := uint64(1); seed < 4; seed++ {
			tok, src, p, e := weightedExample(t, cfg, seed, c.flag, "9", "-answer-weight", "7")
			prevs, words := weightedTokens(tok, e, 9)
			wantPrevs, wantWords := c.want(p)
			require.Equal(t, wantWords, words, "%s, seed %d", c.flag, seed)
			require.Equal(t, wantPrevs, prevs, "%s, seed %d: the words before", c.flag, seed)
			require.Equal(t, float32(7), e.Weight[e.Len()-2], "the answer word")
			require.True(t, src.IsAnswerWord(e, e.Len()-2))
		}
	}
}

// TestQuestionWordTagFirst: in the tag-first form the question's word follows its tag ("S5 QN").
func TestQuestionWordTagFirst(t *testing.T) {
	cfg := task.Config{MinSteps: 5, MaxSteps: 5, MinWalk: 7, MaxWalk: 7, Form: task.TagFirstForm}
	for seed := uint64(1); seed < 6; seed++ {
		tok, _, p, e := weightedExample(t, cfg, seed, "-question-form", "tag-first", "-question-word-weight", "9", "-extra-questions", "3")
		prevs, words := weightedTokens(tok, e, 9)
		answer := strings.Fields(p.Answer()) // S5 QN …
		require.Equal(t, answer[1:2], words, "seed %d", seed)
		require.Equal(t, answer[:1], prevs)
	}
}

// TestEmphasisPrecedence: where two emphases meet the more specific wins: the first index and the
// header key over the first thought's body, the answer word over the answer's form word.
func TestEmphasisPrecedence(t *testing.T) {
	cfg := task.Config{MinSteps: 5, MaxSteps: 5, MinWalk: 7, MaxWalk: 7}
	tok, _, p, e := weightedExample(t, cfg, 4, "-first-thought-weight", "9", "-first-index-weight", "7", "-lookup-weight", "5",
		"-start-value-weight", "3")
	body := strings.Fields(p.Body(p.Solve()[0]))
	_, words := weightedTokens(tok, e, 9)
	require.Equal(t, body[3:], words, "the first body after its index, key and start value")
	_, words = weightedTokens(tok, e, 3)
	require.Equal(t, body[2:3], words)
	_, words = weightedTokens(tok, e, 7)
	require.Equal(t, body[:1], words)

	for seed := uint64(1); seed < 40; seed++ {
		tok, _, p, e := weightedExample(t, cfg, seed, "-answer-form-weight", "9", "-answer-weight", "7")
		prevs, words := weightedTokens(tok, e, 9)
		answer := strings.Fields(p.Answer()) // QN S5 N5 d, or QV S5 v
		if p.Kind == task.Note {
			require.Equal(t, answer[2:3], words, "the N tag of %q", p.Answer())
			require.Equal(t, answer[1:2], prevs)
		} else {
			require.Empty(t, words, "value question %q", p.Answer())
			require.Equal(t, float32(7), e.Weight[e.Route+1], "the value answered keeps the answer weight")
		}
	}
}

// TestEmphasisReachesTheExtraQuestions: the answer form and answer weights also mark the questions
// appended after the answer; their fed-in words stay at 0 and EOS at the answer's kind weight.
func TestEmphasisReachesTheExtraQuestions(t *testing.T) {
	f, err := parseFlags([]string{"-answer-form-weight", "9", "-answer-weight", "7", "-extra-questions", "6",
		"-restricted", "-1", "-eval-every", "0"})
	require.NoError(t, err)
	tok, err := tokenizer.NewWordLevel(task.Vocabulary())
	require.NoError(t, err)
	s, _, err := sources(f, tok, nil, train.ViewConfig{Restricted: orNone(f.restricted)})
	require.NoError(t, err)
	src := s.(*train.TaskSource)
	batch, err := src.Batch(2, 2048)
	require.NoError(t, err)
	eos, _ := tok.TokenID(task.EOS)
	for _, e := range batch {
		require.True(t, e.Causal)
		end := slices.Index(e.IDs[e.PromptLen:], eos) + e.PromptLen // the example's own answer ends here
		require.GreaterOrEqual(t, end, e.PromptLen)
		var questions []string
		var weights [][]float32
		for start := end + 1; start < e.Len(); {
			n := start
			for e.IDs[n] != eos {
				n++
			}
			var words []string
			for _, id := range e.IDs[start : n+1] {
				w, _ := tok.TokenText(id)
				words = append(words, w)
			}
			questions, weights = append(questions, strings.Join(words, " ")), append(weights, e.Weight[start:n+1])
			start = n + 1
		}
		require.Len(t, questions, 6)
		for i, q := range questions {
			words := strings.Fields(q)
			want := []float32{0, 0, 0, 9, 7, src.Weights.Answer} // <|answer|> QN S5 N5 d <eos>
			if words[1] == "QV" {
				want = []float32{0, 0, 0, 7, src.Weights.Answer} // <|answer|> QV S5 v <eos>
			}
			require.Equal(t, want, weights[i], "%q", q)
		}
	}
}

// weightedExample renders one training problem of cfg (drawn with seed) through the task source of
// a command line.
func weightedExample(t *testing.T, cfg task.Config, seed uint64, args ...string) (*tokenizer.Tokenizer, *train.TaskSource, task.Problem, *train.Example) {
	t.Helper()
	f, err := parseFlags(append(args, "-eval-every", "0"))
	require.NoError(t, err)
	require.NoError(t, resolveTask(&f))
	tok, err := tokenizer.NewWordLevel(task.Vocabulary())
	require.NoError(t, err)
	s, _, err := sources(f, tok, nil, train.ViewConfig{})
	require.NoError(t, err)
	src := s.(*train.TaskSource)
	g, err := task.NewGenerator(cfg, task.Train, seed)
	require.NoError(t, err)
	p := g.Next()
	e, err := src.Example(p)
	require.NoError(t, err)
	return tok, src, p, e
}

// weightedTokens returns the words at the positions of e weighted w, and the word before each.
func weightedTokens(tok *tokenizer.Tokenizer, e *train.Example, w float32) (prevs, words []string) {
	for i, wi := range e.Weight {
		if wi == w {
			prev, _ := tok.TokenText(e.IDs[i-1])
			cur, _ := tok.TokenText(e.IDs[i])
			prevs, words = append(prevs, prev), append(words, cur)
		}
	}
	return prevs, words
}
