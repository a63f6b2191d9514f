package train

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"

	"github.com/zoomr-go/zoomr/summarize"
	"github.com/zoomr-go/zoomr/summarize/task"
)

// Source supplies training batches. Batch must be deterministic in (step): a resumed run sees the
// same data as an uninterrupted one.
type Source interface {
	// Batch returns the examples of optimizer step `step`, about `tokens` tokens in all (at least one
	// example).
	Batch(step, tokens int) ([]*Example, error)
}

// Stage is one stage of a curriculum: until step Until (exclusive), each batch draws its problems
// from one of Tasks, picked uniformly (list a config twice to weigh it double).
type Stage struct {
	Until int
	Tasks []task.Config
}

// DefaultAnswerWeight is the loss weight of each answer word (TaskSource.IsAnswerWord) when
// TaskSource.TokenWeight is nil; the rest of an answer has Weights.Answer.
const DefaultAnswerWeight = 5

// TokenWeight gives token t of e its loss weight; w is its weight by kind (TaskSource.Weights: 0 for
// the prompt, and for the words of an extra question that are fed in rather than predicted). It is
// asked for every token but the first (nothing predicts token 0). It sees e's ids, kinds, thought
// indices and routing; e.Weight is not final while it runs.
type TokenWeight func(e *Example, t int, w float32) float32

// TaskSource draws training problems of the synthetic task (package task), following a curriculum.
type TaskSource struct {
	Stages []Stage // in order; the last stage also covers every later step
	Seed   uint64
	render *summarize.Renderer
	// Weights are the loss weights by token kind (NewTaskSource: thought 1, summary 1, answer 2).
	Weights Weights
	// TokenWeight, when set, gives each token of every example (and of the extra questions) its
	// loss weight, to emphasise positions the task's structure singles out (examples/train's
	// -lookup-weight and the like). Nil: the weight by kind, DefaultAnswerWeight on each answer word.
	TokenWeight TokenWeight
	// ExtraQuestions, when > 0, appends that many more questions about random steps of the same
	// trace after the answer's EOS, in the causally-masked examples only (tokens after EOS change no
	// earlier prediction, and a decoder stops at EOS): "<|answer|> QV S12 v3 <eos>", the question's
	// words fed in (weight 0), the rest weighted as an answer's.
	ExtraQuestions int
	// FarQuestionShare, when > 0, is the share of training problems whose question is re-asked about
	// a thought in the first half of the trace (at least half the trace back when answered); the
	// others keep the generator's uniform step. A re-asked problem that would fall in the held-out
	// split keeps its own question.
	FarQuestionShare float64
	// Form is how note questions are asked (it overrides the stages' task configs).
	Form task.Form
	// Scale is the task's token families (it overrides the stages' task configs): task.Long needs
	// a vocabulary with its words (task.VocabularyOf(task.Long)).
	Scale task.Scale
	// QuestionCopy records, besides the note copies, the restated question word's copy where the
	// answer predicts it right after its routing tag (task.TagFirstForm: "S5 QN …"): the prediction
	// at the tag copies the prompt's question word (see Example.Copies).
	QuestionCopy bool
	// IndexCopy records the trace's first step index's copy: the prediction of the trace's first
	// token ("#K-1", the step the prompt lists first) at the prompt's last copies the prompt's tag.
	IndexCopy bool
	// View draws the restricted views (a share View.Restricted of the examples); the others are
	// trained under the causal mask.
	View      ViewConfig
	routeTags map[int]bool // ids of the S and N tags: the restated question's last word routes
	questions map[int]bool // ids of the question words (QN, QV)
	tok       summarize.Tokenizer
	eos       int // EOS's id: the word before it is an answer word
}

// NewTaskSource renders with tok (the task's vocabulary, task.Vocabulary, or a larger one that
// contains it).
func NewTaskSource(tok summarize.Tokenizer, stages []Stage, seed uint64) (*TaskSource, error) {
	if len(stages) == 0 {
		return nil, fmt.Errorf("%w: no curriculum stages", ErrConfig)
	}
	for i, s := range stages {
		if len(s.Tasks) == 0 {
			return nil, fmt.Errorf("%w: stage %d has no tasks", ErrConfig, i)
		}
		for _, c := range s.Tasks {
			if err := c.Validate(); err != nil {
				return nil, fmt.Errorf("stage %d: %w", i, err)
			}
		}
	}
	r, err := summarize.NewRenderer(tok, task.RenderOptions())
	if err != nil {
		return nil, err
	}
	src := &TaskSource{Stages: stages, Seed: seed, render: r, Weights: Weights{Thought: 1, Summary: 1, Answer: 2},
		routeTags: map[int]bool{}, questions: map[int]bool{}, tok: tok}
	if src.eos, err = taskWordID(tok, task.EOS); err != nil {
		return nil, err
	}
	for _, w := range task.QuestionWords() {
		id, err := taskWordID(tok, w)
		if err != nil {
			return nil, err
		}
		src.questions[id] = true
	}
	for i, w := range task.ReselectWordsOf(task.NoteTagForm, task.Long) { // every form's question tags
		id, err := taskWordID(tok, w)
		if err != nil {
			if i < 2*task.MaxSteps {
				return nil, err
			}
			break // a standard vocabulary: no long-scale tags
		}
		src.routeTags[id] = true
	}
	return src, nil
}

// StageAt returns the curriculum stage of a step.
func (s *TaskSource) StageAt(step int) Stage {
	for _, st := range s.Stages {
		if step < st.Until {
			return st
		}
	}
	return s.Stages[len(s.Stages)-1]
}

// Batch draws the problems of a step from a generator seeded by (Seed, step).
func (s *TaskSource) Batch(step, tokens int) ([]*Example, error) {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d", s.Seed, step)
	// One K and one walk length per batch: equal lengths, no padding waste.
	rng := rand.New(rand.NewPCG(h.Sum64(), 0x5eed))
	st := s.StageAt(step)
	c := st.Tasks[rng.IntN(len(st.Tasks))]
	c.Form = s.Form
	c.Scale = s.Scale
	if c.MinSteps == 0 && c.MaxSteps == 0 {
		c.MinSteps, c.MaxSteps = c.WithDefaults().MinSteps, c.WithDefaults().MaxSteps
	}
	if c.MinWalk == 0 && c.MaxWalk == 0 {
		c.MinWalk, c.MaxWalk = c.WithDefaults().MinWalk, c.WithDefaults().MaxWalk
	}
	c.MinSteps = c.MinSteps + rng.IntN(c.MaxSteps-c.MinSteps+1)
	c.MaxSteps = c.MinSteps
	c.MinWalk = c.MinWalk + rng.IntN(c.MaxWalk-c.MinWalk+1)
	c.MaxWalk = c.MinWalk
	g, err := task.NewGenerator(c, task.Train, h.Sum64())
	if err != nil {
		return nil, err
	}
	var out []*Example
	for n := 0; ; {
		p := g.Next()
		if s.FarQuestionShare > 0 && rng.Float64() < s.FarQuestionShare {
			p = askFar(p, rng)
		}
		e, err := s.trainExample(p, rng)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		n += roundUp(e.Len(), 64)
		if n+roundUp(e.Len(), 64) > tokens {
			return out, nil
		}
	}
}

// askFar re-asks p's question about a thought in the first half of its trace (step indices count
// down, so a high step), keeping p when every draw would move it into the held-out split.
func askFar(p task.Problem, rng *rand.Rand) task.Problem {
	for range 8 {
		q := p
		q.Target = p.Steps() - 1 - rng.IntN(max(1, p.Steps()/2))
		if !q.HeldOut() {
			return q
		}
	}
	return p
}

// trainExample is a problem as a training example under a drawn restricted view or the causal mask.
func (s *TaskSource) trainExample(p task.Problem, rng *rand.Rand) (*Example, error) {
	e, err := s.Example(p)
	if err != nil {
		return nil, err
	}
	vc := s.View.withDefaults()
	if rng.Float64() < vc.Restricted {
		v := vc.Draw(e, rng)
		e.View = &v
	} else {
		e.Causal = true
		if err := s.appendQuestions(e, p, rng); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// taskWordID is the id of a word of the task's vocabulary in tok.
func taskWordID(tok summarize.Tokenizer, w string) (int, error) {
	id, ok := tok.TokenID(w)
	if !ok {
		return 0, fmt.Errorf("%w: task word %q is not in the vocabulary", summarize.ErrUnknownToken, w)
	}
	return id, nil
}

// appendQuestions appends ExtraQuestions questions about random steps of p to e (see
// ExtraQuestions).
func (s *TaskSource) appendQuestions(e *Example, p task.Problem, rng *rand.Rand) error {
	for range s.ExtraQuestions {
		q := p
		q.Target = rng.IntN(p.Steps())
		q.Kind = task.Kind(rng.IntN(2))
		words := strings.Fields(q.Answer()) // "QN S5 N5 2" or "QV S5 v6"
		start := e.Len()
		for i, w := range append([]string{task.AnswerMarker}, append(words, task.EOS)...) {
			id, err := taskWordID(s.tok, w)
			if err != nil {
				return err
			}
			weight := s.Weights.Answer
			if i < 3 { // the marker, QN/QV and the question's tag are fed in
				weight = 0
			}
			e.IDs = append(e.IDs, id)
			e.Weight = append(e.Weight, weight)
			e.Kinds = append(e.Kinds, summarize.Answer)
			e.Thought = append(e.Thought, -1)
		}
		s.weigh(e, start)
		if q.Kind == task.Note {
			if err := e.addNoteCopy(q.TargetThought()); err != nil {
				return err
			}
		}
	}
	return nil
}

// weigh passes the weights of e's tokens from `from` on through the TokenWeight hook.
func (s *TaskSource) weigh(e *Example, from int) {
	for t := max(from, 1); t < e.Len(); t++ {
		if s.TokenWeight != nil {
			e.Weight[t] = s.TokenWeight(e, t, e.Weight[t])
		} else if s.IsAnswerWord(e, t) {
			e.Weight[t] = DefaultAnswerWeight
		}
	}
}

// IsAnswerWord reports whether token t of e is an answer word: the last word of an answer (the note
// or the value asked for, right before EOS), the one an answer is graded on.
func (s *TaskSource) IsAnswerWord(e *Example, t int) bool {
	return t+1 < e.Len() && e.Kinds[t] == summarize.Answer && e.IDs[t+1] == s.eos
}

// Example renders a problem with its routing position: the tag the restated question ends with (S_j,
// or a note question's N_j in task.NoteTagForm).
func (s *TaskSource) Example(p task.Problem) (*Example, error) {
	r, err := s.render.Render(p.Record())
	if err != nil {
		return nil, err
	}
	e := FromRendered(r, s.Weights)
	e.RouteThought = p.TargetThought()
	for t := r.PromptLen; t < r.Len(); t++ {
		if r.Kinds[t] == summarize.Answer && s.routeTags[r.IDs[t]] {
			e.Route = t
			break
		}
	}
	if e.Route < 0 {
		return nil, fmt.Errorf("%w: no question tag in the answer of %q", ErrExample, p.Answer())
	}
	s.weigh(&e, 0)
	e.Tag = p.Kind.String()
	if p.Kind == task.Note {
		if err := e.addNoteCopy(p.TargetThought()); err != nil {
			return nil, err
		}
	}
	if s.QuestionCopy {
		s.addQuestionCopy(&e)
	}
	if s.IndexCopy {
		e.addIndexCopy()
	}
	return &e, nil
}

// addIndexCopy records the copy of the trace's first token from the prompt, where the prompt holds
// that token (the task's first step index, "P #17 k4 …" → "#17").
func (e *Example) addIndexCopy() {
	first := e.PromptLen
	if first < 1 || first >= e.Len() {
		return
	}
	for t := range first {
		if e.IDs[t] == e.IDs[first] {
			e.Copies = append(e.Copies, Copy{At: first - 1, From: t})
			return
		}
	}
}

// addQuestionCopy records the restated question word's copy when the answer predicts that word at
// its routing tag ("<|answer|> S5 QN …", the tag-first form): the source is the prompt's question
// word, the last one the prompt holds. In the other forms the word comes before the tag: no copy.
func (s *TaskSource) addQuestionCopy(e *Example) {
	at := e.Route
	if at+1 >= e.Len() || !s.questions[e.IDs[at+1]] {
		return
	}
	for t := e.PromptLen - 1; t >= 0; t-- {
		if e.IDs[t] == e.IDs[at+1] {
			e.Copies = append(e.Copies, Copy{At: at, From: t})
			return
		}
	}
}

// addNoteCopy records the note copy of the note answer e ends with ("… N5 d <eos>"): the answer's
// N tag copies the digit that follows the same tag in the asked thought's body.
func (e *Example) addNoteCopy(thought int) error {
	at := e.Len() - 3
	for t := e.PromptLen; t < at; t++ {
		if e.Thought[t] == thought && e.Kinds[t] == summarize.Thought && e.IDs[t] == e.IDs[at] {
			e.Copies = append(e.Copies, Copy{At: at, From: t + 1})
			return nil
		}
	}
	return fmt.Errorf("%w: the note answer's tag (position %d) is not in thought %d's body", ErrExample, at, thought)
}

// Examples renders the next n problems of g (a held-out generator, say) as examples.
func (s *TaskSource) Examples(g *task.Generator, n int) ([]*Example, error) {
	out := make([]*Example, 0, n)
	for range n {
		e, err := s.Example(g.Next())
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// RecordSource trains on a fixed set of records (e.g. read from JSONL), drawn at random per step
// with a stream seeded by (seed, step). Examples have no routing position; restricted views are
// drawn by the trainer (Config.View).
type RecordSource struct {
	examples []*Example
	seed     uint64
}

// NewRecordSource renders every record once.
func NewRecordSource(recs []summarize.Record, r *summarize.Renderer, w Weights, seed uint64) (*RecordSource, error) {
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: no records", ErrExample)
	}
	src := &RecordSource{seed: seed}
	for i, rec := range recs {
		out, err := r.Render(rec)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		e := FromRendered(out, w)
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		src.examples = append(src.examples, &e)
	}
	return src, nil
}

// Batch draws records until the token budget is reached.
func (s *RecordSource) Batch(step, tokens int) ([]*Example, error) {
	rng := rand.New(rand.NewPCG(s.seed, uint64(step)))
	var out []*Example
	for n := 0; ; {
		e := s.examples[rng.IntN(len(s.examples))]
		out = append(out, e)
		n += roundUp(e.Len(), 64)
		if n+roundUp(e.Len(), 64) > tokens {
			return out, nil
		}
	}
}
