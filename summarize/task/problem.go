package task

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"

	"github.com/zoomr-go/zoomr/summarize"
)

// ErrProblem: a Problem whose fields are out of range.
var ErrProblem = errors.New("task: invalid problem")

// Kind is the kind of question.
type Kind uint8

const (
	// Value asks for the value after a step: its summary holds it.
	Value Kind = iota
	// Note asks for a step's note: only its thought body holds it.
	Note
)

func (k Kind) String() string {
	if k == Note {
		return "note"
	}
	return "value"
}

// Form is how a note question is asked (value questions are asked "QV S5" in every form).
type Form uint8

const (
	// SummaryTagForm asks a note question by the step's summary tag: "QN S5", answered "QN S5 N5 d".
	// After the restated "QN S5" the model must itself pick the note's tag N5 over the value the
	// summary S5 holds: a choice testdata/zoomr-tiny makes from the question word only when the
	// step is a few thoughts back (examples/probe).
	SummaryTagForm Form = iota
	// NoteTagForm asks a note question by the note's own tag: "QN N5", answered "QN N5 d". The
	// restated question is a copy of the prompt's, and the note is one induction copy from it (the
	// body's "N5 d"), so the answer's form needs no choice. (Fine-tuned into this form, a summary-tag
	// model answered fewer: see doc.go.)
	NoteTagForm
	// BothTagsForm asks a note question by both tags, "QN S5 N5", answered "QN S5 N5 d": the
	// restated question routes at its S tag as in SummaryTagForm (the S tag opens the asked
	// thought's summary, so routing and copying agree), and the word after it, the answer's form, is
	// one induction copy from the prompt's own "S5 N5" (a value question's prompt has no such
	// bigram, so a model can tell the forms apart without reading QN at any distance).
	BothTagsForm
	// TagFirstForm asks every question tag first, "S5 QN" or "S5 QV", and answers "S5 QN N5 d" or
	// "S5 QV S5 v6". It takes the choice of the answer's form away from any position that reads the
	// question kind at a distance: the word after the restated S tag is always a question word
	// (never a value, for either kind: the summary's "S5 v6" is never continued there), and the word
	// that picks the form (the N tag or the S tag again) is predicted at the question word itself,
	// QN or QV, from the tag just before it. The answer word then follows its tag as everywhere in
	// the trace: the note after N5 (the body's "N5 d"), the value after the repeated S5 (the
	// summary's "S5 v6"). The routing stays at the first S tag, which opens the asked thought's
	// summary.
	TagFirstForm
)

func (f Form) String() string {
	switch f {
	case SummaryTagForm:
		return "summary-tag"
	case NoteTagForm:
		return "note-tag"
	case BothTagsForm:
		return "both-tags"
	case TagFirstForm:
		return "tag-first"
	}
	return fmt.Sprintf("form(%d)", uint8(f))
}

func (f Form) valid() bool { return f <= TagFirstForm }

// ParseForm reads a Form's String.
func ParseForm(s string) (Form, error) {
	switch s {
	case "summary-tag", "":
		return SummaryTagForm, nil
	case "note-tag":
		return NoteTagForm, nil
	case "both-tags":
		return BothTagsForm, nil
	case "tag-first":
		return TagFirstForm, nil
	}
	return 0, fmt.Errorf("%w: question form %q, want summary-tag, note-tag, both-tags or tag-first", ErrConfig, s)
}

// Problem is one problem: everything else (prompt, trace, answer) is computed from it.
type Problem struct {
	Keys   []int // Keys[i] is k_i, the key of step #i; len(Keys) = K steps, run from #K-1 down to #0
	Start  int   // the start value s
	Walk   int   // n, the moves per step
	Kind   Kind  // the question
	Target int   // the step the question is about (index, 0..K-1)
	Form   Form  // how a note question is asked
}

// Validate checks the ranges (those of the long scale: a problem beyond the standard scale's
// needs VocabularyOf(Long)).
func (p Problem) Validate() error {
	switch {
	case len(p.Keys) < 1 || len(p.Keys) > LongMaxSteps:
		return fmt.Errorf("%w: %d steps, want 1..%d", ErrProblem, len(p.Keys), LongMaxSteps)
	case p.Walk < NoteAt || p.Walk > LongMaxWalk:
		return fmt.Errorf("%w: walk %d, want %d..%d", ErrProblem, p.Walk, NoteAt, LongMaxWalk)
	case p.Start < 0 || p.Start > 9:
		return fmt.Errorf("%w: start value %d", ErrProblem, p.Start)
	case p.Target < 0 || p.Target >= len(p.Keys):
		return fmt.Errorf("%w: target step %d of %d", ErrProblem, p.Target, len(p.Keys))
	case p.Kind != Value && p.Kind != Note:
		return fmt.Errorf("%w: question kind %d", ErrProblem, p.Kind)
	case !p.Form.valid():
		return fmt.Errorf("%w: question form %d", ErrProblem, p.Form)
	}
	for i, k := range p.Keys {
		if k < 0 || k > 9 {
			return fmt.Errorf("%w: key %d of step %d", ErrProblem, k, i)
		}
	}
	return nil
}

// Steps is K.
func (p Problem) Steps() int { return len(p.Keys) }

// Step is the worked solution of one step.
type Step struct {
	Index  int   // i
	Before int   // the value before the step (u_0)
	Walk   []int // u_1..u_n
	After  int   // u_n, the new value
	Note   int   // the digit after counter w6
}

// Solve runs the steps in order (#K-1 first) and returns them in that order.
func (p Problem) Solve() []Step {
	out := make([]Step, 0, len(p.Keys))
	v := p.Start
	for i := len(p.Keys) - 1; i >= 0; i-- {
		s := Step{Index: i, Before: v, Walk: make([]int, p.Walk)}
		u := v
		for t := range p.Walk {
			u = Move(u, p.Keys[i])
			s.Walk[t] = u
		}
		s.After = u
		s.Note = s.Walk[p.Walk-NoteAt] // the move written after counter w6 (counters run n..1)
		out = append(out, s)
		v = u
	}
	return out
}

// Prompt is the problem statement: "W w24 = v3 P #17 k4 … #0 k7 QN S5" ("… QN N5" in NoteTagForm,
// "… QN S5 N5" in BothTagsForm).
func (p Problem) Prompt() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s %s %s", wordWalk, counter(p.Walk), wordStart, value(p.Start), wordSteps)
	for i := len(p.Keys) - 1; i >= 0; i-- {
		fmt.Fprintf(&b, " %s %s", index(i), key(p.Keys[i]))
	}
	fmt.Fprintf(&b, " %s", p.question())
	return b.String()
}

// question is the prompt's question: "QV S5" or, for a note, "QN S5", "QN N5" or "QN S5 N5" by form;
// in TagFirstForm "S5 QV" or "S5 QN".
func (p Problem) question() string {
	if p.Form == TagFirstForm {
		return tagS(p.Target) + " " + questionWord(p.Kind)
	}
	tags := tagS(p.Target)
	if p.Kind == Note {
		switch p.Form {
		case NoteTagForm:
			tags = tagN(p.Target)
		case BothTagsForm:
			tags += " " + tagN(p.Target)
		}
	}
	return questionWord(p.Kind) + " " + tags
}

// Body is the reference thought body of a step: "#i k_i u_0 w_n u_1 … w1 u_n N_i note".
func (p Problem) Body(s Step) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", index(s.Index), key(p.Keys[s.Index]), digit(s.Before))
	for t, u := range s.Walk {
		fmt.Fprintf(&b, " %s %s", counter(p.Walk-t), digit(u))
	}
	fmt.Fprintf(&b, " %s %s", tagN(s.Index), digit(s.Note))
	return b.String()
}

// Summary is the reference summary text of a step (between the markers): "S_i v_after".
func (p Problem) Summary(s Step) string { return tagS(s.Index) + " " + value(s.After) }

// Answer is the reference answer (after the answer marker, before EOS): the restated question and
// its answer, "QN S5 N5 2" ("QN N5 2" in NoteTagForm) or "QV S5 v6".
func (p Problem) Answer() string {
	st := p.Solve()[len(p.Keys)-1-p.Target]
	if p.Kind == Note {
		return p.answerWith(digit(st.Note))
	}
	return p.answerWith(value(st.After))
}

// answerWith is the answer's form with w as the answer word: "QN S5 N5 w" ("QN N5 w") or "QV S5 w";
// in TagFirstForm "S5 QN N5 w" or "S5 QV S5 w".
func (p Problem) answerWith(w string) string {
	restated := p.question() // the prompt's question
	if p.Form == TagFirstForm {
		if p.Kind == Note {
			return restated + " " + tagN(p.Target) + " " + w
		}
		return restated + " " + tagS(p.Target) + " " + w
	}
	if p.Kind == Note && p.Form == SummaryTagForm {
		return restated + " " + tagN(p.Target) + " " + w // the note's tag picks the form
	}
	return restated + " " + w
}

// normalizeAnswer drops EOS and collapses whitespace.
func normalizeAnswer(answer string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(answer, EOS, " ")), " ")
}

// AnswerToken is the answer's last word: the note digit or the value.
func (p Problem) AnswerToken() string {
	f := strings.Fields(p.Answer())
	return f[len(f)-1]
}

// TargetThought is the position (0-based, in generation order) of the thought the question is about.
func (p Problem) TargetThought() int { return len(p.Keys) - 1 - p.Target }

// Record is the problem as a training record in the summarize JSONL format.
func (p Problem) Record() summarize.Record {
	steps := p.Solve()
	rec := summarize.Record{Prompt: p.Prompt(), Answer: p.Answer(), Thoughts: make([]summarize.RecordThought, len(steps))}
	for t, s := range steps {
		rec.Thoughts[t] = summarize.RecordThought{Text: p.Body(s), Summary: p.Summary(s)}
	}
	return rec
}

// Correct reports whether a generated answer (the text after the answer marker, EOS and surrounding
// space ignored) is the reference answer, word for word.
func (p Problem) Correct(answer string) bool {
	return normalizeAnswer(answer) == p.Answer()
}

// HeldOut reports whether the problem belongs to the held-out split: a hash of its prompt (as asked
// in SummaryTagForm, so a problem is held out in every form) falls in the reserved eighth of the
// hash space. Training generators never produce such problems.
func (p Problem) HeldOut() bool {
	p.Form = SummaryTagForm
	h := fnv.New64a()
	h.Write([]byte(p.Prompt()))
	return h.Sum64()%8 == 0
}

// Move is the walk's table F(u, k): the successor of digit u in the 10-cycle of key k.
func Move(u, k int) int { return moveTable[k][u] }

// moveTable[k] is a permutation of the digits made of one 10-cycle, fixed for the task (seeded).
var moveTable = func() (t [10][10]int) {
	rng := rand.New(rand.NewPCG(0x200f, 0x7a5c))
	for k := range t {
		order := rng.Perm(10)
		for j := range order {
			t[k][order[j]] = order[(j+1)%10]
		}
	}
	return t
}()

// Recalled reports whether a generated answer is right about the trace the model itself wrote
// (trace: the generated words before the answer marker, summary markers included). The reference
// answer (Correct) needs every walk move of every earlier step to be right; this grade isolates what
// the cache policy decides — whether the model could read back its own step Target — by expecting
// the note written after N_Target in the model's own body, or the value after S_Target in its own
// summary. A trace that wrote the target's tag other than exactly once (followed by a digit or a
// value) cannot be graded this way and counts as wrong.
func (p Problem) Recalled(trace []string, answer string) bool {
	tag := tagS(p.Target)
	if p.Kind == Note {
		tag = tagN(p.Target)
	}
	var own string
	for i, w := range trace {
		if w != tag || i+1 >= len(trace) {
			continue
		}
		if own != "" {
			return false // written twice: ambiguous
		}
		own = trace[i+1]
	}
	return wellFormedAnswer(p.Kind, own) && normalizeAnswer(answer) == p.answerWith(own)
}

// WellFormed reports whether answer has the question's form ("QN S5 N5 d", "QN N5 d" or "QV S5 vd", for this
// problem's target) whatever its answer word: a wrong answer that is well formed misread the
// digit or the value; one that is not answered another question or wandered off.
func (p Problem) WellFormed(answer string) bool {
	a := normalizeAnswer(answer)
	w := a[strings.LastIndexByte(a, ' ')+1:] // the last word ("" for an empty answer)
	return wellFormedAnswer(p.Kind, w) && a == p.answerWith(w)
}

// wellFormedAnswer: a note is a digit, a value is v0..v9.
func wellFormedAnswer(k Kind, w string) bool {
	for d := range 10 {
		if (k == Note && w == digit(d)) || (k == Value && w == value(d)) {
			return true
		}
	}
	return false
}
