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

// TaskSource draws training problems of the synthetic task (package task), following a curriculum.
type TaskSource struct {
	Stages []Stage // in order; the last stage also covers every later step
	Seed   uint64
	render *summarize.Renderer
	// AnswerWeight is the loss weight of the answer's last token (the note or value; default 5);
	// Weights apply to the rest.
	AnswerWeight float32
	// LookupWeight, when > 0, is the loss weight of each thought header's key (the token after the
	// step index #i, which the model must look up in the prompt): one token per thought among ~55
	// easy ones, so at the thought weight the lookup never forms and every free-running trace
	// follows a wrong key from its first thought.
	LookupWeight float32
	// NoteWeight, when > 0, is the loss weight of each thought's note (its body's last token: the
	// digit the walk showed at counter w6, copied from a fixed distance back): like the lookup, one
	// token per thought, and the only body-only detail a note question can ask for.
	NoteWeight float32
	// SummaryValueWeight, when > 0, is the loss weight of each summary's value (the word after its S
	// tag, copied from the walk's last move five tokens back): one token per thought that every
	// later step and every value question reads. With phase 11 of testdata/zoomr-tiny it is where
	// most exact-until-then traces first went wrong (8.5%; examples/eval's divergence table).
	SummaryValueWeight float32
	// FirstIndexWeight, when > 0, is the loss weight of the trace's first token: the first thought's
	// step index "#K-1", copied from the prompt (every later index counts down from the summary
	// just closed). One token per problem: at the thought weight, phase 6 of testdata/zoomr-tiny wrote
	// it wrong in 3 of 4 held-out traces (examples/eval's divergence table), which mislabels every
	// thought after.
	FirstIndexWeight float32
	// FirstThoughtWeight, when > 0, is the loss weight of the other body tokens of the first thought
	// (its key, start value, walk and note; LookupWeight and NoteWeight, when set, override it on the
	// key and the note): free-running, most of phase 7's walk errors were in the first thought's
	// first moves.
	FirstThoughtWeight float32
	// AnswerFormWeight, when > 0, is the loss weight of the word after the restated question's S
	// tag: a note question's N tag ("QN S5 N5 d") picks the answer's form. With phase 11 of
	// testdata/zoomr-tiny, 58% of note answers took a value's form instead ("QN S5 v3"; the eval's
	// "answer form" column). On a value question that word is the answer itself, which keeps
	// AnswerWeight; so it is in task.NoteTagForm, where the question names the N tag.
	AnswerFormWeight float32
	// QuestionTagWeight, when > 0, is the loss weight of the restated question's tag (the routing
	// position, copied from the prompt's question ~1,000 tokens back): in task.NoteTagForm a fine-tune
	// of phase 11 of testdata/zoomr-tiny restated a wrong N tag in most free-running answers.
	QuestionTagWeight float32
	// ExtraQuestions, when > 0, appends that many more questions about random steps of the same
	// trace after the answer's EOS, in the causally-masked examples only (the tokens after EOS change
	// no earlier prediction, and a decoder stops at EOS): "<|answer|> QV S12 v3 <eos>", the
	// question's words fed in (weight 0), the answer's form word and answer word weighted like the
	// answer's. One question per trace teaches the answer's form slowly: phase 11 of
	// testdata/zoomr-tiny picks it from QN/QV only when the asked step is 0–2 thoughts back
	// (examples/probe), although it copies a far note's digit once the N tag is written. Measured
	// there, 300 steps with 4 or 12 extra questions lowered its held-out accuracy (its README).
	ExtraQuestions int
	// FarQuestionShare, when > 0, is the share of training problems whose question is re-asked
	// about a thought in the first half of the trace (at least half the trace back when answered);
	// the others keep the generator's uniform step. The held-out split is unchanged: a re-asked
	// problem that would fall in it keeps its own question. Why: under the full cache phase 15 of
	// testdata/zoomr-tiny read back 42% of notes 16–19 thoughts back but all of those 0–11 back;
	// with a uniform step and half the examples under restricted views, a batch of three problems
	// held ≈0.3 far questions under the causal mask. Phases 16–22, trained with 0.5 then 0.75,
	// read back 83% of them (its README).
	FarQuestionShare float64
	// Form is how note questions are asked (it overrides the stages' task configs).
	Form    task.Form
	Weights Weights
	// View draws the restricted views (a share View.Restricted of the examples); the others are
	// trained under the causal mask.
	View      ViewConfig
	routeTags map[int]bool // ids of the S and N tags: the restated question's last word routes
	tok       summarize.Tokenizer
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
	src := &TaskSource{Stages: stages, Seed: seed, render: r, AnswerWeight: 5, Weights: Weights{Thought: 1, Summary: 1, Answer: 2},
		routeTags: map[int]bool{}, tok: tok}
	for _, w := range task.ReselectWords(task.NoteTagForm) { // every form's question tags
		id, err := taskWordID(tok, w)
		if err != nil {
			return nil, err
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
	if c.MinSteps == 0 && c.MaxSteps == 0 {
		c.MinSteps, c.MaxSteps = task.DefaultMinSteps, task.DefaultMaxSteps
	}
	if c.MinWalk == 0 && c.MaxWalk == 0 {
		c.MinWalk, c.MaxWalk = task.DefaultWalk, task.DefaultWalk
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
	marker, err := taskWordID(s.tok, task.AnswerMarker)
	if err != nil {
		return err
	}
	formWeight := s.Weights.Answer
	if s.AnswerFormWeight > 0 {
		formWeight = s.AnswerFormWeight
	}
	for range s.ExtraQuestions {
		q := p
		q.Target = rng.IntN(p.Steps())
		q.Kind = task.Kind(rng.IntN(2))
		words := strings.Fields(q.Answer()) // "QN S5 N5 2" or "QV S5 v6"
		ids := make([]int, 0, len(words)+2)
		ids = append(ids, marker)
		for _, w := range append(words, task.EOS) {
			id, err := taskWordID(s.tok, w)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		weights := make([]float32, len(ids)) // marker, QN/QV and the question's tag are fed in
		weights[3] = formWeight              // the N tag, or the answer itself
		weights[len(ids)-2] = s.AnswerWeight
		weights[len(ids)-1] = s.Weights.Answer
		for i, id := range ids {
			e.IDs = append(e.IDs, id)
			e.Weight = append(e.Weight, weights[i])
			e.Kinds = append(e.Kinds, summarize.Answer)
			e.Thought = append(e.Thought, -1)
		}
	}
	return nil
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
	start := traceStart(&e)
	if s.FirstThoughtWeight > 0 && start >= 0 { // before the specific weights, which override it
		for t := start + 1; t < e.Len() && sameThought(&e, start, t); t++ {
			e.Weight[t] = s.FirstThoughtWeight
		}
	}
	if s.LookupWeight > 0 {
		for _, t := range headerKeys(&e) {
			e.Weight[t] = s.LookupWeight
		}
	}
	if s.NoteWeight > 0 {
		for _, t := range bodyEnds(&e) {
			e.Weight[t] = s.NoteWeight
		}
	}
	if s.SummaryValueWeight > 0 {
		for _, t := range summaryValues(&e) {
			e.Weight[t] = s.SummaryValueWeight
		}
	}
	if s.FirstIndexWeight > 0 && start >= 0 {
		e.Weight[start] = s.FirstIndexWeight
	}
	if s.QuestionTagWeight > 0 {
		e.Weight[e.Route] = s.QuestionTagWeight
	}
	if s.AnswerFormWeight > 0 && e.Route+1 < e.Len() {
		e.Weight[e.Route+1] = s.AnswerFormWeight
	}
	// The answer's last token before EOS carries the answer.
	e.Weight[r.Len()-2] = s.AnswerWeight
	e.Tag = p.Kind.String()
	return &e, nil
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

// headerKeys returns the position of each thought's second token: the key of the task's header
// "#i k".
func headerKeys(e *Example) []int {
	var out []int
	for t := max(e.PromptLen, 1); t+1 < e.Len(); t++ {
		first := e.Kinds[t] == summarize.Thought && !sameThought(e, t-1, t)
		if first && sameThought(e, t, t+1) {
			out = append(out, t+1)
		}
	}
	return out
}

// bodyEnds returns the position of each thought body's last token: the note of the task's thought.
func bodyEnds(e *Example) []int {
	var out []int
	for t := e.PromptLen; t+1 < e.Len(); t++ {
		if e.Kinds[t] == summarize.Thought && !sameThought(e, t, t+1) {
			out = append(out, t)
		}
	}
	return out
}

// summaryValues returns the position of each summary's third token: the value of the task's
// summary "<|begin_of_summary|> S_i v <|end_of_summary|>".
func summaryValues(e *Example) []int {
	var out []int
	for t := max(e.PromptLen, 2); t < e.Len(); t++ {
		inSummary := func(p int) bool { return e.Kinds[p] == summarize.Summary && e.Thought[p] == e.Thought[t] }
		if inSummary(t) && inSummary(t-1) && inSummary(t-2) && (t < 3 || !inSummary(t-3)) {
			out = append(out, t)
		}
	}
	return out
}

// traceStart returns the position of the first thought's first token (-1: none).
func traceStart(e *Example) int {
	for t := e.PromptLen; t < e.Len(); t++ {
		if e.Kinds[t] == summarize.Thought {
			return t
		}
	}
	return -1
}

// sameThought reports whether positions a and b are both in the body of one thought.
func sameThought(e *Example, a, b int) bool {
	return e.Kinds[a] == summarize.Thought && e.Kinds[b] == summarize.Thought && e.Thought[a] == e.Thought[b]
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
