package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/zoomr-go/zoomr/model/chat/internal/jinja"
)

// Message is one chat message as OpenAI-compatible APIs and Hugging Face templates see it.
type Message struct {
	Role string
	// Content is a string, a list of content parts ([]map[string]any such as {"type": "text", "text": …}),
	// or nil (JSON null, e.g. an assistant turn that only calls tools).
	Content any
	// ReasoningContent is an assistant's thinking, which templates of reasoning models render or drop.
	ReasoningContent string
	ToolCalls        []ToolCall
	Name             string // the tool's name on a tool message (some templates print it)
	ToolCallID       string // the call a tool message answers
	// Extra holds any other field a template reads (e.g. "thinking", "tool_responses"); it is rendered
	// after the fields above, in sorted key order.
	Extra map[string]any
}

// ToolCall is one call in an assistant message's tool_calls.
type ToolCall struct {
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type"` // "function" when empty
	Function FunctionCall `json:"function"`
}

// FunctionCall names the function and its arguments: a map (rendered in sorted key order), a
// json.RawMessage (rendered in its own key order), or a JSON string, as the template expects.
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments any    `json:"arguments"`
}

// MarshalJSON writes the message in the key order templates are given by OpenAI clients: role, content,
// then the optional fields that are set, then Extra.
func (m Message) MarshalJSON() ([]byte, error) {
	buf := []byte(`{"role":`)
	buf, err := appendJSON(buf, m.Role)
	if err != nil {
		return nil, err
	}
	fields := []struct {
		key string
		val any
		set bool
	}{
		{"content", m.Content, true},
		{"reasoning_content", m.ReasoningContent, m.ReasoningContent != ""},
		{"tool_calls", m.ToolCalls, len(m.ToolCalls) > 0},
		{"name", m.Name, m.Name != ""},
		{"tool_call_id", m.ToolCallID, m.ToolCallID != ""},
	}
	keys := make([]string, 0, len(m.Extra))
	for k := range m.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fields = append(fields, struct {
			key string
			val any
			set bool
		}{k, m.Extra[k], true})
	}
	for _, f := range fields {
		if !f.set {
			continue
		}
		buf = append(buf, ',')
		if buf, err = appendJSON(buf, f.key); err != nil {
			return nil, err
		}
		buf = append(buf, ':')
		if buf, err = appendJSON(buf, f.val); err != nil {
			return nil, err
		}
	}
	return append(buf, '}'), nil
}

// MarshalJSON fills in the default type "function".
func (c ToolCall) MarshalJSON() ([]byte, error) {
	type plain ToolCall
	if c.Type == "" {
		c.Type = "function"
	}
	return json.Marshal(plain(c))
}

func appendJSON(buf []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	return append(buf, b...), err
}

// Limits bound one render of an untrusted template; zero fields take the defaults (5e6 steps, call depth
// 200, 16 MiB of output or of any string built, lists of a sixteenth of that, 5 s).
type Limits struct {
	MaxSteps  int64
	MaxDepth  int
	MaxOutput int
	Timeout   time.Duration
}

// Options are the variables transformers' apply_chat_template gives a template besides messages.
type Options struct {
	AddGenerationPrompt bool
	// BOSToken and EOSToken are bos_token and eos_token; when empty, the Template's own (from the tokenizer
	// config) are used.
	BOSToken, EOSToken string
	// Vars are further variables: enable_thinking, tools, documents, date_string, reasoning_effort… Values
	// go through their JSON encoding (a json.RawMessage keeps its key order). They override the above.
	Vars map[string]any
	// Now is strftime_now's clock (time.Now when nil); give a fixed time for reproducible renders.
	Now    func() time.Time
	Limits Limits
}

// Template is a parsed chat template. It is safe for concurrent use.
type Template struct {
	// Source is the template text.
	Source string
	// BOSToken and EOSToken are the tokenizer's strings for bos_token/eos_token (set by the loaders).
	BOSToken, EOSToken string
	compiled           *jinja.Template
}

// Parse parses a chat template. Errors wrap ErrTemplate.
func Parse(src string) (t *Template, err error) {
	defer recoverAs(&err)
	c, err := jinja.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	return &Template{Source: src, compiled: c}, nil
}

// Render renders messages with the template, as transformers' apply_chat_template(tokenize=False) does.
func (t *Template) Render(msgs []Message, opts Options) (string, error) {
	if msgs == nil {
		msgs = []Message{}
	}
	raw, err := json.Marshal(msgs)
	if err != nil {
		return "", fmt.Errorf("chat: messages not representable as JSON: %w", err)
	}
	return t.RenderJSON(raw, opts)
}

// RenderJSON renders messages given as a JSON array of message objects (as an OpenAI-compatible request
// carries them), keeping every field and its key order.
func (t *Template) RenderJSON(messages json.RawMessage, opts Options) (out string, err error) {
	defer recoverAs(&err)
	data, err := t.variables(messages, opts)
	if err != nil {
		return "", err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	out, err = t.compiled.RenderValues(data, jinja.Config{
		MaxSteps: opts.Limits.MaxSteps, MaxDepth: opts.Limits.MaxDepth, MaxOutput: opts.Limits.MaxOutput,
		Timeout: opts.Limits.Timeout, Now: now,
	})
	if err != nil {
		var raised *jinja.RaisedError
		if errors.As(err, &raised) {
			return "", &RaisedError{Message: raised.Message}
		}
		return "", fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	return out, nil
}

// variables builds the template's variables: messages, add_generation_prompt, bos_token, eos_token, then Vars.
func (t *Template) variables(messages json.RawMessage, opts Options) (map[string]jinja.Value, error) {
	msgs, err := decodeJSONValue(messages)
	if err != nil {
		return nil, err
	}
	if !msgs.IsList() {
		return nil, fmt.Errorf("chat: messages must be a JSON array")
	}
	bos, eos := opts.BOSToken, opts.EOSToken
	if bos == "" {
		bos = t.BOSToken
	}
	if eos == "" {
		eos = t.EOSToken
	}
	data := map[string]jinja.Value{
		"messages": msgs, "add_generation_prompt": jinja.NewBool(opts.AddGenerationPrompt),
		"bos_token": jinja.NewString(bos), "eos_token": jinja.NewString(eos),
	}
	for k, v := range opts.Vars {
		val, err := toValue(v)
		if err != nil {
			return nil, fmt.Errorf("chat: variable %q: %w", k, err)
		}
		data[k] = val
	}
	return data, nil
}

// recoverAs turns a panic of the engine into an ErrTemplate error: a malformed template must not take the
// process down.
func recoverAs(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: internal error: %v", ErrTemplate, r)
	}
}
