package zoomr

import (
	"strings"
	"sync"

	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
)

// thinkStart is where a generation's reasoning starts.
type thinkStart uint8

const (
	// thinkOpen: reasoning from the first token until an answer marker (Start and StartIDs, whose
	// prompt is expected to open the reasoning; Chat when the rendered prompt opens the span, as
	// DeepSeek-R1 distills' "<｜Assistant｜><think>\n" does, or when the model has an answer marker but
	// no thinking span).
	thinkOpen thinkStart = iota
	// thinkAwait: answer, unless the model opens the span itself with its first token that is not
	// whitespace (Qwen3's template leaves "<think>" to the model).
	thinkAwait
	// thinkNone: no thinking span: every token is answer, so nothing is sealed or zoomed.
	thinkNone
)

// thinkGate is the segmenter of a generation whose reasoning may not start at its first token: until
// the open marker (thinkAwait) or throughout (thinkNone) every token is answer; once the span opens
// the inner segmenter (which ends the reasoning at the close marker) sees every token, the open
// marker first. ZoomR's thoughts therefore lie inside the thinking span only.
type thinkGate struct {
	inner   summarize.Segmenter
	open    int
	start   thinkStart
	state   thinkStart
	isSpace func(id int) bool
	opened  bool // the last observed token opened the span
}

func (g *thinkGate) Observe(id int) summarize.Event {
	g.opened = false
	switch g.state {
	case thinkOpen:
		return g.inner.Observe(id)
	case thinkAwait:
		if id == g.open {
			g.state, g.opened = thinkOpen, true
			return g.inner.Observe(id)
		}
		if !g.isSpace(id) {
			g.state = thinkNone
		}
	}
	return summarize.Event{Kind: summarize.Answer, Thought: -1}
}

func (g *thinkGate) Reset() {
	g.inner.Reset()
	g.state, g.opened = g.start, false
}

// isSpaceToken reports whether a token's text is only whitespace (or empty).
func isSpaceToken(tok *tokenizer.Tokenizer) func(id int) bool {
	return func(id int) bool {
		if id >= tok.VocabSize() {
			return false
		}
		b, err := tok.DecodeBytes([]int{id}, tokenizer.DecodeOptions{})
		return err == nil && strings.TrimSpace(string(b)) == ""
	}
}

// replyText accumulates a generation's reasoning and answer texts (Generation.Text). The session
// writes it (on the batcher's goroutine for a batched generation) while the caller may read it.
type replyText struct {
	mu                sync.Mutex
	reasoning, answer strings.Builder
}

// add appends a token's text to the reasoning or the answer (nothing for a hidden token).
func (r *replyText) add(t Token) {
	reasoning, answer := t.Delta()
	if reasoning == "" && answer == "" {
		return
	}
	r.mu.Lock()
	r.reasoning.WriteString(reasoning)
	r.answer.WriteString(answer)
	r.mu.Unlock()
}

// trimStop removes the stop string that ended the generation from the end of the text it closed (the
// answer, or the reasoning if it stopped there), as OpenAI-compatible servers leave it out.
func (r *replyText) trimStop(stop string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range []*strings.Builder{&r.answer, &r.reasoning} {
		if b.Len() == 0 {
			continue
		}
		if text, ok := strings.CutSuffix(b.String(), stop); ok {
			b.Reset()
			b.WriteString(text)
		}
		return
	}
}

// bytes is the builders' capacity (counted in DecoderBytes: it grows with the output).
func (r *replyText) bytes() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return int64(r.reasoning.Cap() + r.answer.Cap())
}

// text returns the texts trimmed as chat.ThinkMarkers.Split trims them: the reasoning of surrounding
// whitespace, the answer of leading whitespace.
func (r *replyText) text() (reasoning, answer string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.TrimSpace(r.reasoning.String()), strings.TrimLeft(r.answer.String(), " \t\r\n")
}

// Delta splits the token's text the way an OpenAI-compatible server streams it: as reasoning
// (reasoning_content: thought and summary tokens) or as answer (content). A hidden token gives
// neither.
func (t Token) Delta() (reasoning, answer string) {
	switch {
	case t.Hidden:
		return "", ""
	case t.Kind == summarize.Answer:
		return "", t.Text
	}
	return t.Text, ""
}
