package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/zoomr-go/zoomr/model/chat"
)

// Limits bound what a request may ask for. Zero fields take the defaults.
type Limits struct {
	// MaxTokens is the largest max_tokens a request may ask for (default 2048); a chat request
	// without max_tokens gets it.
	MaxTokens int
	// CompletionDefault is max_tokens for /v1/completions when absent (default 16, as OpenAI's).
	CompletionDefault int
	// MaxStops and MaxStopBytes bound the stop strings (defaults 16 and 256).
	MaxStops, MaxStopBytes int
	// VocabSize, when > 0, bounds the token ids of a prompt given as ids.
	VocabSize int
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxTokens, 2048)
	def(&l.CompletionDefault, 16)
	def(&l.MaxStops, 16)
	def(&l.MaxStopBytes, 256)
	l.CompletionDefault = min(l.CompletionDefault, l.MaxTokens)
	return l
}

// Sampling is what a request asks of the generation.
type Sampling struct {
	MaxTokens   int
	Temperature *float64 // nil: the server's default
	TopP        *float64 // nil: 1 (no nucleus)
	TopK        *int     // nil: the server's default; 0: off
	Seed        *int64   // nil: a fresh seed
	Stop        []string // the output ends before the first of them, which is not returned
	IgnoreEOS   bool
}

// Common are the fields both generation endpoints share.
type Common struct {
	Model          string // "" when absent
	Stream         bool
	IncludeUsage   bool // stream_options.include_usage: a last chunk with the usage
	ReturnTokenIDs bool // the generated token ids beside the text (vLLM's return_token_ids)
	// KeepSpecial writes control tokens' text (<|im_end|>, ZoomR's summary markers); the default
	// skips it (vLLM's skip_special_tokens, default true).
	KeepSpecial bool
	Sampling
}

// ChatRequest is a decoded POST /v1/chat/completions body.
type ChatRequest struct {
	Common
	// Messages are the validated messages; RawMessages the same list as the client wrote it, which
	// a template should get (zoomr's ChatJSON: every field in its own key order).
	Messages    []chat.Message
	RawMessages json.RawMessage
	// TemplateVars are chat_template_kwargs: further variables for the chat template.
	TemplateVars map[string]any
}

// CompletionRequest is a decoded POST /v1/completions body: a text prompt or token ids.
type CompletionRequest struct {
	Common
	Prompt    string
	PromptIDs []int // set when the prompt was given as token ids
}

// field decodes one request field (its raw JSON, never null).
type field func(raw json.RawMessage) *Error

// DecodeChat decodes and validates a chat completion request.
func DecodeChat(body []byte, lim Limits) (*ChatRequest, *Error) {
	lim = lim.withDefaults()
	r := &ChatRequest{}
	r.MaxTokens = lim.MaxTokens
	var maxTokens, maxCompletionTokens int
	fields := r.Common.fields(lim, false)
	fields["max_tokens"] = intIn(&maxTokens, "max_tokens", 1, lim.MaxTokens)
	fields["max_completion_tokens"] = intIn(&maxCompletionTokens, "max_completion_tokens", 1, lim.MaxTokens)
	fields["messages"] = func(raw json.RawMessage) *Error {
		r.RawMessages = raw
		return decodeMessages(raw, &r.Messages)
	}
	fields["chat_template_kwargs"] = func(raw json.RawMessage) *Error {
		return decodeInto(raw, "chat_template_kwargs", "an object", &r.TemplateVars)
	}
	if err := decodeObject(body, fields); err != nil {
		return nil, err
	}
	if r.Messages == nil {
		return nil, invalid("missing_required_parameter", "messages", "Missing required parameter: 'messages'.")
	}
	if len(r.Messages) == 0 {
		return nil, invalid("invalid_value", "messages", "'messages' must not be empty.")
	}
	switch {
	case maxCompletionTokens > 0:
		r.MaxTokens = maxCompletionTokens
	case maxTokens > 0:
		r.MaxTokens = maxTokens
	}
	return r, nil
}

// DecodeCompletion decodes and validates a text completion request.
func DecodeCompletion(body []byte, lim Limits) (*CompletionRequest, *Error) {
	lim = lim.withDefaults()
	r := &CompletionRequest{}
	r.MaxTokens = lim.CompletionDefault
	havePrompt := false
	fields := r.Common.fields(lim, true)
	fields["max_tokens"] = intIn(&r.MaxTokens, "max_tokens", 1, lim.MaxTokens)
	fields["prompt"] = func(raw json.RawMessage) *Error {
		havePrompt = true
		return decodePrompt(raw, r, lim.VocabSize, false)
	}
	fields["echo"] = mustBe("echo", false)
	fields["best_of"] = mustBe("best_of", 1)
	fields["suffix"] = mustBe("suffix", "")
	if err := decodeObject(body, fields); err != nil {
		return nil, err
	}
	if !havePrompt {
		return nil, invalid("missing_required_parameter", "prompt", "Missing required parameter: 'prompt'.")
	}
	return r, nil
}

// fields are the decoders of the fields both endpoints take.
func (c *Common) fields(lim Limits, completions bool) map[string]field {
	f := map[string]field{
		"model":  func(raw json.RawMessage) *Error { return decodeInto(raw, "model", "a string", &c.Model) },
		"stream": func(raw json.RawMessage) *Error { return decodeInto(raw, "stream", "a boolean", &c.Stream) },
		"stream_options": func(raw json.RawMessage) *Error {
			return decodeObjectAt(raw, "stream_options", map[string]field{
				"include_usage": func(raw json.RawMessage) *Error {
					return decodeInto(raw, "stream_options.include_usage", "a boolean", &c.IncludeUsage)
				},
			})
		},
		"temperature": func(raw json.RawMessage) *Error {
			return floatIn(raw, &c.Temperature, "temperature", 0, 2, true)
		},
		"top_p": func(raw json.RawMessage) *Error {
			return floatIn(raw, &c.TopP, "top_p", 0, 1, false)
		},
		"top_k": func(raw json.RawMessage) *Error {
			var k int
			if err := intIn(&k, "top_k", -1, math.MaxInt32)(raw); err != nil {
				return err
			}
			k = max(k, 0) // -1 is vLLM's "off"
			c.TopK = &k
			return nil
		},
		"seed": func(raw json.RawMessage) *Error {
			var s int64
			if err := decodeInteger(raw, "seed", &s); err != nil {
				return err
			}
			c.Seed = &s
			return nil
		},
		"stop":       func(raw json.RawMessage) *Error { return decodeStop(raw, &c.Stop, lim) },
		"ignore_eos": func(raw json.RawMessage) *Error { return decodeInto(raw, "ignore_eos", "a boolean", &c.IgnoreEOS) },
		"return_token_ids": func(raw json.RawMessage) *Error {
			return decodeInto(raw, "return_token_ids", "a boolean", &c.ReturnTokenIDs)
		},
		"skip_special_tokens": func(raw json.RawMessage) *Error {
			var skip bool
			err := decodeInto(raw, "skip_special_tokens", "a boolean", &skip)
			c.KeepSpecial = !skip
			return err
		},
		// Accepted because they do not change the output.
		"user":     func(raw json.RawMessage) *Error { return decodeInto(raw, "user", "a string", new(string)) },
		"metadata": func(raw json.RawMessage) *Error { return decodeInto(raw, "metadata", "an object", new(map[string]any)) },
		"store":    func(raw json.RawMessage) *Error { return decodeInto(raw, "store", "a boolean", new(bool)) },
		// Known, and only their no-op values are accepted.
		"n":                 mustBe("n", 1),
		"presence_penalty":  mustBe("presence_penalty", 0),
		"frequency_penalty": mustBe("frequency_penalty", 0),
		"logit_bias":        mustBe("logit_bias", map[string]any{}),
		"top_logprobs":      mustBe("top_logprobs", 0),
		"tools":             mustBe("tools", []any{}),
		"functions":         mustBe("functions", []any{}),
		"tool_choice":       mustBe("tool_choice", "none", "auto"),
		"function_call":     mustBe("function_call", "none", "auto"),
		"parallel_tool_calls": func(raw json.RawMessage) *Error {
			return decodeInto(raw, "parallel_tool_calls", "a boolean", new(bool))
		},
		"response_format": mustBe("response_format", map[string]any{"type": "text"}),
	}
	if completions {
		f["logprobs"] = mustBe("logprobs", 0)
	} else {
		f["logprobs"] = mustBe("logprobs", false)
	}
	return f
}

// decodeObject decodes a request body: one JSON object whose fields are decoded by fields, in
// sorted order (so the first error reported does not depend on map order).
func decodeObject(body []byte, fields map[string]field) *Error {
	if len(bytes.TrimSpace(body)) == 0 {
		return invalid("invalid_json", "", "The request body is empty; send a JSON object.")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return invalid("invalid_json", "", "The request body must be a JSON object, not %s.", typeErr.Value)
		}
		return invalid("invalid_json", "", "The request body is not valid JSON: %v", err)
	}
	if obj == nil {
		return invalid("invalid_json", "", "The request body must be a JSON object, not null.")
	}
	return applyFields(obj, "", fields)
}

// decodeObjectAt decodes a nested object field with its own field decoders.
func decodeObjectAt(raw json.RawMessage, param string, fields map[string]field) *Error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return wrongType(param, "an object")
	}
	return applyFields(obj, param+".", fields)
}

func applyFields(obj map[string]json.RawMessage, prefix string, fields map[string]field) *Error {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		raw := obj[k]
		f, ok := fields[k]
		if !ok {
			return invalid("unknown_parameter", prefix+k, "Unrecognized request argument supplied: %s", prefix+k)
		}
		if isNull(raw) {
			continue
		}
		if err := f(raw); err != nil {
			return err
		}
	}
	return nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func wrongType(param, want string) *Error {
	return invalid("invalid_type", param, "Invalid type for '%s': expected %s.", param, want)
}

// decodeInto decodes raw into v, reporting a type mismatch on param.
func decodeInto(raw json.RawMessage, param, want string, v any) *Error {
	if err := json.Unmarshal(raw, v); err != nil {
		return wrongType(param, want)
	}
	return nil
}

// number reads a JSON number (and nothing else) as its literal.
func number(raw json.RawMessage) (json.Number, bool) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return "", false
	}
	n, ok := v.(json.Number)
	return n, ok
}

// decodeInteger reads an integer that fits an int64 (1.5, "3" and 1e40 are refused).
func decodeInteger(raw json.RawMessage, param string, v *int64) *Error {
	n, ok := number(raw)
	if !ok {
		return wrongType(param, "an integer")
	}
	i, err := n.Int64()
	if err != nil {
		return wrongType(param, "an integer")
	}
	*v = i
	return nil
}

// intIn decodes an integer in [lo, hi] into v.
func intIn(v *int, param string, lo, hi int) field {
	return func(raw json.RawMessage) *Error {
		var i int64
		if err := decodeInteger(raw, param, &i); err != nil {
			return err
		}
		if i < int64(lo) || i > int64(hi) {
			return invalid("invalid_value", param, "'%s' is %d; it must be between %d and %d.", param, i, lo, hi)
		}
		*v = int(i)
		return nil
	}
}

// floatIn decodes a number in [lo, hi] (or (lo, hi] when the low end is open) into v.
func floatIn(raw json.RawMessage, v **float64, param string, lo, hi float64, closedLo bool) *Error {
	n, ok := number(raw)
	if !ok {
		return wrongType(param, "a number")
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return invalid("invalid_value", param, "'%s' is %s, out of range.", param, n)
	}
	if f < lo || f > hi || (!closedLo && f == lo) {
		interval := "["
		if !closedLo {
			interval = "("
		}
		return invalid("invalid_value", param, "'%s' is %v; it must be in %s%v, %v].", param, f, interval, lo, hi)
	}
	*v = &f
	return nil
}

// mustBe accepts a field only with one of the given values (compared as JSON values): a known
// parameter we implement only in its no-op form.
func mustBe(param string, allowed ...any) field {
	return func(raw json.RawMessage) *Error {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return invalid("invalid_json", param, "Invalid value for '%s'.", param)
		}
		for _, a := range allowed {
			if sameJSON(v, a) {
				return nil
			}
		}
		want := make([]string, len(allowed))
		for i, a := range allowed {
			b, _ := json.Marshal(a)
			want[i] = string(b)
		}
		return invalid("unsupported_parameter", param, "'%s' is not supported by this server except as %s.",
			param, strings.Join(want, " or "))
	}
}

// sameJSON compares a decoded JSON value with a Go value through their JSON encodings (numbers
// compare by value: 1 and 1.0 are the same).
func sameJSON(v, want any) bool {
	if f, ok := v.(float64); ok {
		switch w := want.(type) {
		case int:
			return f == float64(w)
		case float64:
			return f == w
		}
		return false
	}
	a, err1 := json.Marshal(v)
	b, err2 := json.Marshal(want)
	return err1 == nil && err2 == nil && bytes.Equal(a, b)
}

// decodeStop reads stop: a string or a list of strings.
func decodeStop(raw json.RawMessage, stop *[]string, lim Limits) *Error {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		*stop = []string{one}
	} else if err := json.Unmarshal(raw, stop); err != nil {
		return wrongType("stop", "a string or a list of strings")
	}
	if len(*stop) > lim.MaxStops {
		return invalid("invalid_value", "stop", "%d stop sequences; at most %d are allowed.", len(*stop), lim.MaxStops)
	}
	for i, s := range *stop {
		if s == "" || len(s) > lim.MaxStopBytes {
			return invalid("invalid_value", "stop", "Stop sequence %d has %d bytes; it must have 1 to %d.",
				i, len(s), lim.MaxStopBytes)
		}
	}
	return nil
}

// decodePrompt reads a completion prompt: a string, a list of one string, a list of token ids or
// a list of one list of token ids (nested: inside that one-element list).
func decodePrompt(raw json.RawMessage, r *CompletionRequest, vocab int, nested bool) *Error {
	var list []json.RawMessage
	switch {
	case json.Unmarshal(raw, &r.Prompt) == nil:
		if r.Prompt == "" {
			return invalid("invalid_value", "prompt", "'prompt' must not be empty.")
		}
		return nil
	case json.Unmarshal(raw, &list) != nil:
		return wrongType("prompt", "a string, a list of strings or a list of token ids")
	case len(list) == 0:
		return invalid("invalid_value", "prompt", "'prompt' must not be empty.")
	}
	if _, ok := number(list[0]); !ok {
		switch {
		case nested:
			return wrongType("prompt", "a string, a list of strings or a list of token ids")
		case len(list) > 1:
			return invalid("unsupported_parameter", "prompt", "%d prompts in one request; this server takes one.", len(list))
		}
		return decodePrompt(list[0], r, vocab, true)
	}
	r.PromptIDs = make([]int, len(list))
	for i, item := range list {
		param := fmt.Sprintf("prompt[%d]", i)
		if err := intIn(&r.PromptIDs[i], param, 0, math.MaxInt32)(item); err != nil {
			return err
		}
		if vocab > 0 && r.PromptIDs[i] >= vocab {
			return invalid("invalid_value", param, "Token id %d is outside the vocabulary [0, %d).", r.PromptIDs[i], vocab)
		}
	}
	return nil
}
