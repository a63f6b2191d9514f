package summarize

import "fmt"

// Default caps on thought and summary lengths. The cache sizes its zoom slots and summary index from
// the same numbers, so a decoder should pass one Config to both.
const (
	DefaultMaxThoughtLen = 512 // body tokens
	DefaultMaxSummaryLen = 64  // summary tokens, both markers included
)

// Config configures a SummarySegmenter. The zero value means the default caps, no tail, and
// re-selection at every boundary only.
type Config struct {
	// MaxThoughtLen caps a body: the token that reaches it seals the thought without summary
	// (SealMaxThought). 0 means DefaultMaxThoughtLen.
	MaxThoughtLen int
	// MaxSummaryLen caps a summary, markers included: the token that reaches it closes the summary
	// (SealMaxSummary). 0 means DefaultMaxSummaryLen; otherwise at least 2 (begin and end marker).
	MaxSummaryLen int
	// Tail is reported as Seal.Tail (capped at the body length) for thoughts sealed without summary.
	Tail     int
	Reselect Reselect
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.MaxThoughtLen < 0:
		return fmt.Errorf("%w: MaxThoughtLen %d < 0", ErrConfig, c.MaxThoughtLen)
	case c.MaxSummaryLen < 0 || c.MaxSummaryLen == 1:
		return fmt.Errorf("%w: MaxSummaryLen %d (0 for the default, or at least 2)", ErrConfig, c.MaxSummaryLen)
	case c.Tail < 0:
		return fmt.Errorf("%w: Tail %d < 0", ErrConfig, c.Tail)
	}
	return c.Reselect.validate()
}

func (c Config) withDefaults() Config {
	if c.MaxThoughtLen == 0 {
		c.MaxThoughtLen = DefaultMaxThoughtLen
	}
	if c.MaxSummaryLen == 0 {
		c.MaxSummaryLen = DefaultMaxSummaryLen
	}
	return c
}

// phase is where in the stream a segmenter stands.
type phase uint8

const (
	inBody    phase = iota // in a thought's body (possibly empty: no token yet)
	inSummary              // between a begin marker and its end
	inAnswer               // after the answer marker
)

// SummarySegmenter follows the summary protocol of a model tuned to write
// "body <|begin_of_summary|> summary <|end_of_summary|>" for each thought.
//
// Clean streams: body tokens are Thought; the begin marker is Summary and fires SummaryBegan; summary
// tokens are Summary; the end marker is Summary and fires ThoughtSealed (SealEndMarker). The next
// token starts the next thought's body.
//
// Malformed streams are repaired, never fatal:
//   - Begin marker inside a summary: ignored; it is one more Summary token of the open summary.
//   - End marker with no summary open, body non-empty: it closes the body. It is the body's last
//     token (Kind Thought) and the thought is sealed without summary (SealStrayEnd): a model that
//     writes an end marker has finished the unit, and leaving the thought open would only defer a
//     forced split to an arbitrary place.
//   - End marker with no summary open and an empty body (right after a seal, or first token): an
//     ordinary Thought token that starts the body; sealing it would spend a thought slot on nothing.
//   - Summary that never closes: the token that brings it to MaxSummaryLen closes it (SealMaxSummary,
//     still ThoughtSealed: the summary exists, truncated).
//   - Thought that never ends: the token that brings the body to MaxThoughtLen seals it without
//     summary (SealMaxThought).
//   - Begin marker with an empty body (a summary right after a seal, or as the first token): allowed;
//     the thought is sealed with BodyLen 0. Its summary still indexes something the model wrote.
//   - Answer marker (if configured): Kind Answer, AnswerBegan; an open thought is sealed before it
//     (Seal.BeforeToken; ThoughtSealed with SealAnswer if its summary was open, otherwise
//     SealedWithoutSummary if its body had tokens). Every later token is Answer, markers included.
//
// Not safe for concurrent use.
type SummarySegmenter struct {
	m      Markers
	answer idSet
	cfg    Config
	tick   ticker

	phase   phase
	thought int // index of the open (or next) thought
	bodyLen int // tokens in the open thought's body
	sumLen  int // tokens in the open summary
}

// NewSummarySegmenter returns a segmenter for the given marker ids.
func NewSummarySegmenter(m Markers, c Config) (*SummarySegmenter, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.withDefaults()
	return &SummarySegmenter{m: m, answer: newIDSet(m.Answer), cfg: c, tick: newTicker(c.Reselect)}, nil
}

// Reset implements Segmenter.
func (s *SummarySegmenter) Reset() {
	s.phase, s.thought, s.bodyLen, s.sumLen = inBody, 0, 0, 0
	s.tick.reset()
}

// Sealed returns the number of thoughts sealed so far.
func (s *SummarySegmenter) Sealed() int { return s.thought }

// Observe implements Segmenter.
func (s *SummarySegmenter) Observe(tok int) Event {
	var ev Event
	switch {
	case s.phase == inAnswer:
		ev = Event{Kind: Answer, Thought: -1}
	case s.answer.has(tok):
		ev = s.startAnswer()
	case s.phase == inSummary:
		ev = s.summaryToken(tok)
	default:
		ev = s.bodyToken(tok)
	}
	ev.Reselect = s.tick.point(tok, ev.Kind, ev.Sealed() || ev.AnswerBegan)
	return ev
}

// startAnswer handles the answer marker: seal what is open, then switch to the answer.
func (s *SummarySegmenter) startAnswer() Event {
	ev := Event{Kind: Answer, Thought: -1, AnswerBegan: true}
	switch {
	case s.phase == inSummary:
		ev.ThoughtSealed = true
		ev.Seal = s.seal(SealAnswer)
		ev.Seal.BeforeToken = true
	case s.bodyLen > 0:
		ev.SealedWithoutSummary = true
		ev.Seal = s.seal(SealAnswer)
		ev.Seal.BeforeToken = true
	}
	s.phase = inAnswer
	return ev
}

// summaryToken handles a token inside an open summary.
func (s *SummarySegmenter) summaryToken(tok int) Event {
	ev := Event{Kind: Summary, Thought: s.thought}
	s.sumLen++
	switch {
	case tok == s.m.End:
		ev.ThoughtSealed, ev.Seal = true, s.seal(SealEndMarker)
	case s.sumLen >= s.cfg.MaxSummaryLen:
		ev.ThoughtSealed, ev.Seal = true, s.seal(SealMaxSummary)
	}
	return ev
}

// bodyToken handles a token while a body is open (possibly still empty).
func (s *SummarySegmenter) bodyToken(tok int) Event {
	if tok == s.m.Begin {
		s.phase, s.sumLen = inSummary, 1
		return Event{Kind: Summary, Thought: s.thought, SummaryBegan: true}
	}
	ev := Event{Kind: Thought, Thought: s.thought}
	s.bodyLen++
	switch {
	case tok == s.m.End && s.bodyLen > 1:
		ev.SealedWithoutSummary, ev.Seal = true, s.seal(SealStrayEnd)
	case s.bodyLen >= s.cfg.MaxThoughtLen:
		ev.SealedWithoutSummary, ev.Seal = true, s.seal(SealMaxThought)
	}
	return ev
}

// seal closes the open thought and describes it.
func (s *SummarySegmenter) seal(r SealReason) Seal {
	sl := Seal{Thought: s.thought, BodyLen: s.bodyLen, Reason: r}
	if s.phase == inSummary {
		sl.SummaryLen = s.sumLen
	} else {
		sl.Tail = min(s.cfg.Tail, s.bodyLen)
	}
	s.phase, s.thought, s.bodyLen, s.sumLen = inBody, s.thought+1, 0, 0
	return sl
}
