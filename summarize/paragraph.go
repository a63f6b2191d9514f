package summarize

import "fmt"

// ParagraphConfig configures a ParagraphSegmenter. Set Breaks, TokenText, or both.
type ParagraphConfig struct {
	// Breaks lists the ids of tokens that end a paragraph, typically every token whose text holds a
	// blank line ("\n\n", ".\n\n", ...): see ParagraphBreakIDs.
	Breaks []int
	// TokenText, if set, gives each token's text, and a paragraph ends at the token that completes a
	// blank line in the decoded stream: a line break, optional spaces, tabs or "\r", and another
	// line break, even when they are spread over several tokens ("\n" then "\n"). It must not
	// allocate per call to keep Observe allocation-free (e.g. index a precomputed table).
	TokenText func(token int) string
	// Answer lists answer-marker ids (e.g. the id of "</think>"); empty for none.
	Answer []int
	// Tail r: the last r tokens of each thought act as its summary region (reported as Seal.Tail,
	// capped at the body length); 0 means the whole thought's mean key stands in for a summary.
	Tail int
	// MinThoughtLen: a break only seals a body of at least max(2, MinThoughtLen) tokens, the break
	// included; a shorter one (a lone blank line) is folded into the next thought.
	MinThoughtLen int
	// MaxThoughtLen: the token that brings a body to this length seals it (SealMaxThought).
	// 0 means DefaultMaxThoughtLen.
	MaxThoughtLen int
	Reselect      Reselect
}

// Validate checks the configuration.
func (c ParagraphConfig) Validate() error {
	switch {
	case len(c.Breaks) == 0 && c.TokenText == nil:
		return fmt.Errorf("%w: no paragraph breaks: set Breaks or TokenText", ErrConfig)
	case c.Tail < 0:
		return fmt.Errorf("%w: Tail %d < 0", ErrConfig, c.Tail)
	case c.MinThoughtLen < 0:
		return fmt.Errorf("%w: MinThoughtLen %d < 0", ErrConfig, c.MinThoughtLen)
	case c.MaxThoughtLen < 0:
		return fmt.Errorf("%w: MaxThoughtLen %d < 0", ErrConfig, c.MaxThoughtLen)
	}
	for _, a := range c.Answer {
		if a < 0 {
			return fmt.Errorf("%w: answer marker %d < 0", ErrConfig, a)
		}
	}
	return c.Reselect.validate()
}

// ParagraphSegmenter is the training-free segmenter, for models never tuned to summarize: a thought
// ends at a paragraph break, and is sealed without summary (SealParagraph): the cache uses the mean
// of the thought's own keys (or of its last Tail tokens) where a tuned model's summary would be. With
// it ZoomR runs on any off-the-shelf reasoning model.
//
// Every token before the answer is Thought; the break token is the last token of its thought. A
// body reaching MaxThoughtLen is split (SealMaxThought). The answer marker, if configured, behaves
// as in SummarySegmenter: an open body is sealed before it (Seal.BeforeToken, SealAnswer).
//
// Not safe for concurrent use.
type ParagraphSegmenter struct {
	breaks  idSet
	text    func(int) string
	answer  idSet
	tail    int
	minLen  int
	maxLen  int
	tick    ticker
	phase   phase
	thought int
	bodyLen int
	blank   bool // text mode: the decoded text since the last line break is only blanks
}

// NewParagraphSegmenter returns a ParagraphSegmenter.
func NewParagraphSegmenter(c ParagraphConfig) (*ParagraphSegmenter, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p := &ParagraphSegmenter{
		breaks: newIDSet(c.Breaks),
		text:   c.TokenText,
		answer: newIDSet(c.Answer),
		tail:   c.Tail,
		minLen: max(2, c.MinThoughtLen),
		maxLen: c.MaxThoughtLen,
		tick:   newTicker(c.Reselect),
	}
	if p.maxLen == 0 {
		p.maxLen = DefaultMaxThoughtLen
	}
	return p, nil
}

// Reset implements Segmenter.
func (p *ParagraphSegmenter) Reset() {
	p.phase, p.thought, p.bodyLen, p.blank = inBody, 0, 0, false
	p.tick.reset()
}

// Sealed returns the number of thoughts sealed so far.
func (p *ParagraphSegmenter) Sealed() int { return p.thought }

// Observe implements Segmenter.
func (p *ParagraphSegmenter) Observe(tok int) Event {
	var ev Event
	switch {
	case p.phase == inAnswer:
		ev = Event{Kind: Answer, Thought: -1}
	case p.answer.has(tok):
		ev = Event{Kind: Answer, Thought: -1, AnswerBegan: true}
		if p.bodyLen > 0 {
			ev.SealedWithoutSummary, ev.Seal = true, p.seal(SealAnswer)
			ev.Seal.BeforeToken = true
		}
		p.phase = inAnswer
	default:
		ev = Event{Kind: Thought, Thought: p.thought}
		p.bodyLen++
		brk := p.isBreak(tok)
		switch {
		case brk && p.bodyLen >= p.minLen:
			ev.SealedWithoutSummary, ev.Seal = true, p.seal(SealParagraph)
		case p.bodyLen >= p.maxLen:
			ev.SealedWithoutSummary, ev.Seal = true, p.seal(SealMaxThought)
		}
	}
	ev.Reselect = p.tick.point(tok, ev.Kind, ev.Sealed() || ev.AnswerBegan)
	return ev
}

// isBreak reports whether tok ends a paragraph (updating the text-mode line state).
func (p *ParagraphSegmenter) isBreak(tok int) bool {
	brk := p.breaks.has(tok)
	if p.text != nil {
		var found bool
		found, p.blank = scanBlankLine(p.text(tok), p.blank)
		brk = brk || found
	}
	return brk
}

func (p *ParagraphSegmenter) seal(r SealReason) Seal {
	sl := Seal{Thought: p.thought, BodyLen: p.bodyLen, Tail: min(p.tail, p.bodyLen), Reason: r}
	p.thought, p.bodyLen = p.thought+1, 0
	return sl
}

// scanBlankLine reads text given whether the current line so far is blank after a line break
// (atBlank), and reports whether the text completes a blank line, and the new state.
func scanBlankLine(text string, atBlank bool) (found, state bool) {
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '\n':
			if atBlank {
				found = true
			}
			atBlank = true
		case ' ', '\t', '\r':
		default:
			atBlank = false
		}
	}
	return found, atBlank
}

// ParagraphBreakIDs returns the ids, among 0..vocabSize-1, whose text (as given by text) contains a
// blank line: the Breaks of a ParagraphConfig. text may return "" for ids it cannot decode alone.
func ParagraphBreakIDs(vocabSize int, text func(id int) string) []int {
	var ids []int
	for id := range vocabSize {
		if found, _ := scanBlankLine(text(id), false); found {
			ids = append(ids, id)
		}
	}
	return ids
}
