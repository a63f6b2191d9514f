package chat

import (
	"encoding/json"
	"fmt"

	"github.com/zoomr-go/zoomr/model/chat/internal/jinja"
)

// toValue converts a Go value to a template value through its JSON encoding, so that every input (a Message,
// a struct, a map, a json.RawMessage) becomes the same kind of value that the oracle builds from JSON. Object
// keys keep their JSON order: templates print tools and arguments with tojson, and Hugging Face's output
// follows the order the keys were given in (a Go map encodes with sorted keys, a struct in field order,
// json.RawMessage as written).
func toValue(v any) (jinja.Value, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return jinja.Undefined(), fmt.Errorf("chat: variable not representable as JSON: %w", err)
	}
	return decodeJSONValue(raw)
}

// decodeJSONValue decodes one JSON document into a template value, keeping object key order.
func decodeJSONValue(raw []byte) (jinja.Value, error) {
	val, err := jinja.FromJSON(raw)
	if err != nil {
		return jinja.Undefined(), fmt.Errorf("chat: invalid JSON value: %w", err)
	}
	return val, nil
}
