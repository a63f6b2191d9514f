package api

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/zoomr-go/zoomr/model/chat"
)

// roles a chat message may have.
var roles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true}

// decodeMessages reads the messages list into the chat template's messages. Fields the template
// may read besides the standard ones are kept in Message.Extra, in their JSON form.
func decodeMessages(raw json.RawMessage, out *[]chat.Message) *Error {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return wrongType("messages", "a list of message objects")
	}
	msgs := make([]chat.Message, len(list))
	for i, item := range list {
		if err := decodeMessage(item, fmt.Sprintf("messages[%d]", i), &msgs[i]); err != nil {
			return err
		}
	}
	*out = msgs
	return nil
}

func decodeMessage(raw json.RawMessage, param string, m *chat.Message) *Error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return wrongType(param, "a message object")
	}
	str := func(key string, v *string) *Error { return decodeInto(obj[key], param+"."+key, "a string", v) }
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the first error reported does not depend on map order
	for _, key := range keys {
		val := obj[key]
		if isNull(val) {
			continue
		}
		var err *Error
		switch key {
		case "role":
			err = str(key, &m.Role)
		case "content":
			m.Content, err = decodeContent(val, param+".content")
		case "name":
			err = str(key, &m.Name)
		case "tool_call_id":
			err = str(key, &m.ToolCallID)
		case "reasoning_content":
			err = str(key, &m.ReasoningContent)
		case "tool_calls":
			err = decodeInto(val, param+".tool_calls", "a list of tool calls", &m.ToolCalls)
		default:
			if m.Extra == nil {
				m.Extra = map[string]any{}
			}
			m.Extra[key] = val
		}
		if err != nil {
			return err
		}
	}
	if !roles[m.Role] {
		if m.Role == "" {
			return invalid("missing_required_parameter", param+".role", "Missing required parameter: '%s.role'.", param)
		}
		return invalid("invalid_value", param+".role",
			"Invalid role %q: expected system, developer, user, assistant or tool.", m.Role)
	}
	return nil
}

// decodeContent reads a message's content: a string, or a list of text parts (other part types,
// images and audio, are refused).
func decodeContent(raw json.RawMessage, param string) (any, *Error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, wrongType(param, "a string or a list of content parts")
	}
	out := make([]map[string]any, len(parts))
	for i, p := range parts {
		pp := fmt.Sprintf("%s[%d]", param, i)
		var typ, text string
		if err := decodeInto(p["type"], pp+".type", "a string", &typ); err != nil {
			return nil, err
		}
		if typ != "text" {
			return nil, invalid("unsupported_parameter", pp+".type", "Content part type %q is not supported (only text).", typ)
		}
		if err := decodeInto(p["text"], pp+".text", "a string", &text); err != nil {
			return nil, err
		}
		out[i] = map[string]any{"type": "text", "text": text}
	}
	return out, nil
}
