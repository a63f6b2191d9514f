package chat

import "strings"

// ThinkMarkers are the tags around a reasoning model's thinking span.
type ThinkMarkers struct {
	Open  string `json:"open"`
	Close string `json:"close"`
}

// DefaultThink is the markers Qwen3, QwQ and the DeepSeek-R1 distills use.
var DefaultThink = ThinkMarkers{Open: "<think>", Close: "</think>"}

// OpensThink reports whether a rendered prompt leaves a thinking span open for the model to continue:
// the prompt ends (up to whitespace) with the open marker, as DeepSeek-R1 distills' generation prompt
// "<｜Assistant｜><think>\n" does. A prompt that closes an empty span (Qwen3 with enable_thinking=false
// ends with "<think>\n\n</think>\n\n") does not.
func (m ThinkMarkers) OpensThink(prompt string) bool {
	return m.Open != "" && strings.HasSuffix(strings.TrimRight(prompt, " \t\r\n"), m.Open)
}

// Reply is a generation split as OpenAI-compatible servers return it.
type Reply struct {
	Reasoning string // reasoning_content: the thinking span, trimmed
	Content   string // content: the answer after the span, without its leading whitespace
	// Closed reports whether the close marker was seen; while it is false a streaming generation is
	// still thinking (if it started inside the span) and Content is empty.
	Closed bool
}

// Split splits generated text into reasoning and answer. inThink says the generation starts inside the
// span (OpensThink of its prompt). Otherwise a span is recognised when the text starts (after
// whitespace) with the open marker, or, as DeepSeek-R1 does when its prompt already opened it, when a
// close marker appears without an open one. Text without any marker is all answer.
func (m ThinkMarkers) Split(generated string, inThink bool) Reply {
	body := generated
	if !inThink {
		trimmed := strings.TrimLeft(generated, " \t\r\n")
		switch {
		case m.Open != "" && strings.HasPrefix(trimmed, m.Open):
			body = trimmed[len(m.Open):]
		case m.Close != "" && strings.Contains(generated, m.Close) && (m.Open == "" || !strings.Contains(generated, m.Open)):
			// the open marker was in the prompt
		default:
			return Reply{Content: generated}
		}
	}
	reasoning, answer, closed := strings.Cut(body, m.Close)
	if m.Close == "" {
		closed = false
	}
	r := Reply{Reasoning: strings.TrimSpace(reasoning), Closed: closed}
	if closed {
		r.Content = strings.TrimLeft(answer, " \t\r\n")
	}
	return r
}
