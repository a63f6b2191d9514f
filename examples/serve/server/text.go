package server

import (
	"strings"

	"github.com/zoomr-go/zoomr/model/chat"
)

// stopMatcher ends the output before the first stop string, as OpenAI does (the stop string is not
// returned). It holds back the longest suffix that could begin a stop string, so nothing of a stop
// string is ever streamed. It looks for stop strings anywhere in the new text, not only at its end,
// because one token may carry a stop string and more ("\n\nThe" with stop "\n\n").
type stopMatcher struct {
	stops []string
	held  string
}

// push adds a token's text; it returns the text that is now safe to emit and whether a stop string
// was found (the text before it is then all that is returned; the generation ends).
func (m *stopMatcher) push(text string) (emit string, stopped bool) {
	if len(m.stops) == 0 {
		return text, false
	}
	buf := m.held + text
	cut := -1
	for _, s := range m.stops {
		if i := strings.Index(buf, s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		m.held = ""
		return buf[:cut], true
	}
	keep := 0
	for _, s := range m.stops {
		keep = max(keep, partialSuffix(buf, s))
	}
	m.held = buf[len(buf)-keep:]
	return buf[:len(buf)-keep], false
}

// flush returns what was held back once the generation ended without a stop string.
func (m *stopMatcher) flush() string {
	h := m.held
	m.held = ""
	return h
}

// thinkState is where a thinkSplitter is in the text.
type thinkState int

const (
	thinkDetect thinkState = iota // at the start: might a think span open here?
	thinkIn                       // inside the span: reasoning
	thinkAfter                    // past the span (or none): content
)

// thinkSplitter splits a reasoning model's streamed text into reasoning and content as
// chat.ThinkMarkers.Split splits the whole text: the reasoning trimmed of surrounding whitespace,
// the content after the close marker without its leading whitespace, text without an opening
// marker all content. It holds back text that could be the start of a marker, and whitespace at
// the end of the reasoning so far, until later text decides. One difference: Split calls a text
// reasoning when a close marker appears with no open marker anywhere (a prompt that opened the span
// without OpensThink seeing it); a stream cannot take back content already sent, so here such text
// stays content.
//
// Until the chatdec branch's split lands in the decoder, this is the server's own.
type thinkSplitter struct {
	m       chat.ThinkMarkers
	state   thinkState
	buf     string // held back: a possible marker prefix (or, in thinkDetect, all so far)
	space   string // whitespace after the reasoning emitted so far
	started bool   // the current part (reasoning or content) has had non-whitespace
}

func newThinkSplitter(m chat.ThinkMarkers, inThink bool) *thinkSplitter {
	t := &thinkSplitter{m: m}
	if inThink {
		t.state = thinkIn
	}
	return t
}

const spaces = " \t\r\n"

// push adds text; it returns the reasoning and content that are now decided.
func (t *thinkSplitter) push(text string) (reasoning, content string) {
	t.buf += text
	for {
		switch t.state {
		case thinkDetect:
			trimmed := strings.TrimLeft(t.buf, spaces)
			switch {
			case strings.HasPrefix(trimmed, t.m.Open):
				t.buf, t.state = trimmed[len(t.m.Open):], thinkIn
				continue
			case strings.HasPrefix(t.m.Open, trimmed): // maybe the marker, not complete yet
				return reasoning, content
			}
			t.state, t.started = thinkAfter, true // no span: all content, as it is
		case thinkIn:
			if before, after, found := strings.Cut(t.buf, t.m.Close); found {
				reasoning += t.reason(before, true)
				t.buf, t.state, t.started = after, thinkAfter, false
				continue
			}
			hold := partialSuffix(t.buf, t.m.Close)
			reasoning += t.reason(t.buf[:len(t.buf)-hold], false)
			t.buf = t.buf[len(t.buf)-hold:]
			return reasoning, content
		default:
			if !t.started {
				t.buf = strings.TrimLeft(t.buf, spaces)
				t.started = t.buf != ""
			}
			content += t.buf
			t.buf = ""
			return reasoning, content
		}
	}
}

// reason returns the reasoning to emit for s: without the span's leading whitespace, and with
// trailing whitespace kept back until more reasoning follows (dropped when final).
func (t *thinkSplitter) reason(s string, final bool) string {
	if !t.started {
		s = strings.TrimLeft(s, spaces)
	}
	body := strings.TrimRight(s, spaces)
	if body == "" {
		if !final {
			t.space += s
		}
		return ""
	}
	out := t.space + body
	t.started, t.space = true, s[len(body):]
	return out
}

// flush returns what is still held when the generation ends.
func (t *thinkSplitter) flush() (reasoning, content string) {
	rest := t.buf
	t.buf = ""
	if t.state == thinkIn {
		return t.reason(rest, true), ""
	}
	return "", rest
}

// partialSuffix is the length of the longest suffix of s that is a proper prefix of marker.
func partialSuffix(s, marker string) int {
	for n := min(len(marker)-1, len(s)); n > 0; n-- {
		if strings.HasSuffix(s, marker[:n]) {
			return n
		}
	}
	return 0
}
