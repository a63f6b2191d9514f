package summarize

import (
	"errors"
	"fmt"
)

// Errors of the renderer.
var (
	// ErrMarkerInText: a text field encodes to a marker token, which would break the protocol.
	ErrMarkerInText = errors.New("summarize: marker token inside record text")
	// ErrTooLong: a thought body or summary is longer than the segmenter's caps allow.
	ErrTooLong = errors.New("summarize: thought or summary too long")
)

// Tokenizer is what the renderer needs from a tokenizer (model/tokenizer satisfies it). Encode must
// encode plain text without adding BOS/EOS: the renderer encodes each piece of a record separately.
type Tokenizer interface {
	Encode(text string) ([]int, error)
	TokenID(s string) (int, bool)
}

// Layout is the text the renderer puts between the pieces of a record. Markers are never padded:
// "text<|begin_of_summary|>summary<|end_of_summary|>".
type Layout struct {
	// Separator goes before every thought but the first, as the first tokens of its body (after an
	// end marker the segmenter opens the next thought, so this is where such tokens belong).
	Separator string
	// BeforeAnswer goes after the answer marker (or after the last thought when there is none), as
	// the first answer tokens.
	BeforeAnswer string
}

// DefaultLayout: paragraphs separated by a blank line, the answer after a blank line.
func DefaultLayout() Layout { return Layout{Separator: "\n\n", BeforeAnswer: "\n\n"} }

// RenderOptions configure a Renderer. The zero value: default markers, no answer marker, default
// layout, no end token, no length checks.
type RenderOptions struct {
	Protocol Protocol
	Layout   *Layout // nil means DefaultLayout()
	// EndToken, if set, is a special token (e.g. "<|im_end|>") appended after the answer, trained on,
	// so the model learns to stop.
	EndToken string
	// MaxThoughtLen and MaxSummaryLen, when > 0, reject records that the segmenter with the same Config
	// values would cut differently: a body of MaxThoughtLen tokens or more, or a summary of more than
	// MaxSummaryLen tokens (markers included).
	MaxThoughtLen, MaxSummaryLen int
}

// Renderer turns Records into token ids for training.
//
// The sequence, piece by piece (each piece is encoded on its own, so piece boundaries are token
// boundaries; nothing else is inserted):
//
//	piece                         Kind     Thought  Loss
//	prompt                        Prompt   -1       no
//	for each thought i:
//	  Separator (i > 0)           Thought  i        yes
//	  text                        Thought  i        yes
//	  <|begin_of_summary|>        Summary  i        yes
//	  summary                     Summary  i        yes
//	  <|end_of_summary|>          Summary  i        yes
//	answer marker (if any)        Answer   -1       yes
//	BeforeAnswer                  Answer   -1       yes
//	answer                        Answer   -1       yes
//	EndToken (if any)             Answer   -1       yes
//
// Texts are used verbatim (no trimming): whitespace inside them is the data's. Fed to a
// SummarySegmenter with the same markers, the generated part yields exactly these kinds and thought
// indices. Without an answer marker the segmenter cannot tell where the answer starts and would see
// it as one more thought body.
type Renderer struct {
	tok     Tokenizer
	m       Markers
	layout  Layout
	end     int   // EndToken id, -1 for none
	answer  idSet // answer marker ids
	maxBody int
	maxSum  int
}

// NewRenderer resolves the markers and end token in the tokenizer's vocabulary.
func NewRenderer(tok Tokenizer, o RenderOptions) (*Renderer, error) {
	if o.MaxThoughtLen < 0 || o.MaxSummaryLen < 0 {
		return nil, fmt.Errorf("%w: MaxThoughtLen %d, MaxSummaryLen %d", ErrConfig, o.MaxThoughtLen, o.MaxSummaryLen)
	}
	m, err := o.Protocol.Resolve(tok)
	if err != nil {
		return nil, err
	}
	r := &Renderer{tok: tok, m: m, layout: DefaultLayout(), end: -1, maxBody: o.MaxThoughtLen, maxSum: o.MaxSummaryLen}
	r.answer = newIDSet(m.Answer)
	if o.Layout != nil {
		r.layout = *o.Layout
	}
	if o.EndToken != "" {
		id, ok := tok.TokenID(o.EndToken)
		if !ok {
			return nil, fmt.Errorf("%w: end token %q", ErrUnknownToken, o.EndToken)
		}
		r.end = id
	}
	return r, nil
}

// Markers returns the resolved marker ids.
func (r *Renderer) Markers() Markers { return r.m }

// Rendered is one record as training tokens; all slices have one entry per token.
type Rendered struct {
	IDs []int
	// Loss[i] marks token i as a training target (predicted from the tokens before it): every
	// generated token (thoughts, markers, summaries, answer), never the prompt.
	Loss    []bool
	Kinds   []Kind
	Thought []int // thought index of each token; -1 for prompt and answer tokens
	// PromptLen is the number of prompt tokens: IDs[PromptLen:] is what a model generates.
	PromptLen int
}

// Len returns the number of tokens.
func (r *Rendered) Len() int { return len(r.IDs) }

func (r *Rendered) add(ids []int, k Kind, thought int) {
	for _, id := range ids {
		r.IDs = append(r.IDs, id)
		r.Loss = append(r.Loss, k != Prompt)
		r.Kinds = append(r.Kinds, k)
		r.Thought = append(r.Thought, thought)
	}
}

// Render turns a record into tokens. The record is validated first.
func (r *Renderer) Render(rec Record) (Rendered, error) {
	if err := rec.Validate(); err != nil {
		return Rendered{}, err
	}
	var out Rendered
	ids, err := r.tok.Encode(rec.Prompt) // markers may appear in a prompt: it is neither segmented nor trained
	if err != nil {
		return Rendered{}, fmt.Errorf("summarize: encoding prompt: %w", err)
	}
	out.add(ids, Prompt, -1)
	out.PromptLen = out.Len()
	for i, th := range rec.Thoughts {
		start := out.Len()
		if i > 0 {
			if err := r.piece(&out, r.layout.Separator, "separator", Thought, i); err != nil {
				return Rendered{}, err
			}
		}
		if err := r.piece(&out, th.Text, fmt.Sprintf("thoughts[%d].text", i), Thought, i); err != nil {
			return Rendered{}, err
		}
		if body := out.Len() - start; r.maxBody > 0 && body >= r.maxBody {
			return Rendered{}, fmt.Errorf("%w: thoughts[%d] body has %d tokens, the segmenter splits at %d",
				ErrTooLong, i, body, r.maxBody)
		}
		start = out.Len()
		out.add([]int{r.m.Begin}, Summary, i)
		if err := r.piece(&out, th.Summary, fmt.Sprintf("thoughts[%d].summary", i), Summary, i); err != nil {
			return Rendered{}, err
		}
		out.add([]int{r.m.End}, Summary, i)
		if n := out.Len() - start; r.maxSum > 0 && n > r.maxSum {
			return Rendered{}, fmt.Errorf("%w: thoughts[%d] summary has %d tokens with markers, the cap is %d",
				ErrTooLong, i, n, r.maxSum)
		}
	}
	if len(r.m.Answer) > 0 {
		out.add(r.m.Answer[:1], Answer, -1)
	}
	if err := r.piece(&out, r.layout.BeforeAnswer, "before-answer", Answer, -1); err != nil {
		return Rendered{}, err
	}
	if err := r.piece(&out, rec.Answer, "answer", Answer, -1); err != nil {
		return Rendered{}, err
	}
	if r.end >= 0 {
		out.add([]int{r.end}, Answer, -1)
	}
	return out, nil
}

// piece encodes one text piece and appends it.
func (r *Renderer) piece(out *Rendered, text, field string, k Kind, thought int) error {
	if text == "" {
		return nil
	}
	ids, err := r.encode(text, field)
	if err != nil {
		return err
	}
	out.add(ids, k, thought)
	return nil
}

// encode encodes generated text and rejects marker tokens inside it.
func (r *Renderer) encode(text, field string) ([]int, error) {
	ids, err := r.tok.Encode(text)
	if err != nil {
		return nil, fmt.Errorf("summarize: encoding %s: %w", field, err)
	}
	for i, id := range ids {
		if id == r.m.Begin || id == r.m.End || (r.end >= 0 && id == r.end) || r.answer.has(id) {
			return nil, fmt.Errorf("%w: %s token %d is marker id %d", ErrMarkerInText, field, i, id)
		}
	}
	return ids, nil
}
