package task

import (
	"fmt"
	"slices"

	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/summarize"
)

// AnswerGrammar constrains what a decoder may write after the answer marker to the shape of an
// answer in a question form: a restated question, then the answer word of that question's kind,
// then EOS. In the summary-tag and both-tags forms that is "QN S_j N_j d <eos>" or
// "QV S_j v <eos>"; in the note-tag form a note answer is "QN N_j d <eos>". It fixes the schema,
// not the content: the model still chooses the question word, the step j and the answer word, so
// a wrong restatement still gives a wrong answer; what it rules out is an answer of the other
// kind's form ("QV S5 N5 …", "QN S5 v3"), which the bundled model writes for far steps (see
// docs/training-history.md), and a value answer that runs on into a new thought. The trace
// before the marker is not constrained. In the tag-first form the schema is "S_j QN N_j d <eos>"
// or "S_j QV S_j v <eos>". Over a long-scale vocabulary (VocabularyOf(Long)) the step tags run to
// S47 and N47.
//
// It is a zoomr.LogitsProcessor that keeps no state, so one grammar may serve any number of
// generations: zoomr.Config{NewLogitsProcessor: func() zoomr.LogitsProcessor { return g }}.
type AnswerGrammar struct {
	form                   Form
	marker, eos, qn, qv    int
	sTags, nTags           []int // by step index
	digits, values         []int
	sIndex                 map[int]int // S tag id -> step index
	questionWords, eosOnly []int
}

// NewAnswerGrammar builds the grammar of form f over tok's ids; every word of the answer schema
// must be a token of tok (summarize.ErrUnknownToken otherwise).
func NewAnswerGrammar(tok summarize.Tokenizer, f Form) (*AnswerGrammar, error) {
	if !f.valid() {
		return nil, fmt.Errorf("%w: question form %d", ErrConfig, f)
	}
	g := &AnswerGrammar{form: f, sIndex: map[int]int{}}
	var err error
	id := func(w string) int {
		v, ok := tok.TokenID(w)
		if !ok && err == nil {
			err = fmt.Errorf("%w: answer word %q", summarize.ErrUnknownToken, w)
		}
		return v
	}
	g.marker, g.eos, g.qn, g.qv = id(AnswerMarker), id(EOS), id(wordNote), id(wordValue)
	for d := range 10 {
		g.digits = append(g.digits, id(digit(d)))
		g.values = append(g.values, id(value(d)))
	}
	for i := range MaxSteps {
		g.sTags = append(g.sTags, id(tagS(i)))
		g.nTags = append(g.nTags, id(tagN(i)))
		g.sIndex[g.sTags[i]] = i
	}
	if err != nil {
		return nil, err
	}
	// The long scale's further step tags, when tok has them (VocabularyOf(Long)).
	for i := MaxSteps; i < LongMaxSteps; i++ {
		s, okS := tok.TokenID(tagS(i))
		n, okN := tok.TokenID(tagN(i))
		if !okS || !okN {
			break
		}
		g.sTags, g.nTags = append(g.sTags, s), append(g.nTags, n)
		g.sIndex[s] = i
	}
	g.questionWords, g.eosOnly = []int{g.qn, g.qv}, []int{g.eos}
	return g, nil
}

// Allowed returns the tokens the schema allows after generated, or nil when it does not constrain
// the next token (no answer marker yet). The slice is the grammar's own: do not modify it.
func (g *AnswerGrammar) Allowed(generated []int) []int {
	at := slices.Index(generated, g.marker)
	if at < 0 {
		return nil
	}
	a := generated[at+1:]
	if g.form == TagFirstForm {
		return g.tagFirst(a)
	}
	switch len(a) {
	case 0:
		return g.questionWords
	case 1:
		if a[0] == g.qn && g.form == NoteTagForm {
			return g.nTags
		}
		return g.sTags // QV, or QN in the S-tag forms (any other word: the schema was left)
	}
	if a[0] != g.qn && a[0] != g.qv {
		return g.eosOnly
	}
	if a[0] == g.qv {
		return g.after(a, 3, g.values)
	}
	if g.form == NoteTagForm {
		return g.after(a, 3, g.digits)
	}
	if len(a) == 2 {
		j, ok := g.sIndex[a[1]]
		if !ok {
			return g.eosOnly
		}
		return g.nTags[j : j+1]
	}
	return g.after(a, 4, g.digits)
}

// tagFirst is Allowed in TagFirstForm, after the answer's words a: "S_j QN N_j d <eos>" or
// "S_j QV S_j v <eos>".
func (g *AnswerGrammar) tagFirst(a []int) []int {
	if len(a) == 0 {
		return g.sTags
	}
	j, ok := g.sIndex[a[0]]
	if !ok {
		return g.eosOnly
	}
	switch {
	case len(a) == 1:
		return g.questionWords
	case a[1] == g.qn && len(a) == 2:
		return g.nTags[j : j+1]
	case a[1] == g.qv && len(a) == 2:
		return g.sTags[j : j+1]
	case a[1] == g.qn:
		return g.after(a, 4, g.digits)
	case a[1] == g.qv:
		return g.after(a, 4, g.values)
	}
	return g.eosOnly
}

// after allows answer (the answer word) as the answer's (n-1)th word and EOS after it.
func (g *AnswerGrammar) after(a []int, n int, answer []int) []int {
	if len(a) == n-1 {
		return answer
	}
	return g.eosOnly
}

// Process sets every logit the schema does not allow after generated to -Inf (see Allowed).
func (g *AnswerGrammar) Process(generated []int, logits []float32) error {
	if allowed := g.Allowed(generated); allowed != nil {
		model.AllowOnly(logits, allowed...)
	}
	return nil
}
