package server

import "strings"

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

// spaceTrim trims a streamed text as the whole text would be trimmed: leading whitespace always
// (strings.TrimLeft), trailing whitespace too when trailing is set (strings.TrimSpace), by holding
// whitespace back until more text follows; off passes everything through.
type spaceTrim struct {
	trailing, off bool
	started       bool   // non-whitespace has been emitted
	held          string // whitespace after the last non-whitespace
}

const spaces = " \t\r\n"

// push returns the part of s to emit now; final ends the text (held whitespace is then dropped
// when trailing, emitted otherwise).
func (t *spaceTrim) push(s string, final bool) string {
	if t.off {
		return s
	}
	if !t.started {
		s = strings.TrimLeft(s, spaces)
		t.started = s != ""
	}
	if !t.trailing || s == "" {
		return s
	}
	body := strings.TrimRight(s, spaces)
	if body == "" {
		t.held += s
		return ""
	}
	out := t.held + body
	t.held = s[len(body):]
	return out
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
