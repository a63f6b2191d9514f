package jinja

// This file is not from upstream: an order-keeping JSON decoder for template inputs and fromjson.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
)

// FromJSON decodes one JSON document into a value, keeping object key order (templates print tool schemas
// with tojson, and the oracle keeps the order keys were given in). Numbers with an integral value are
// integers, as in JavaScript.
func FromJSON(raw []byte) (Value, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := decodeNext(dec, 0)
	if err != nil {
		return Undefined(), err
	}
	if _, err := dec.Token(); err != io.EOF {
		return Undefined(), fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

// maxJSONDepth bounds nesting of decoded inputs (encoding/json itself allows 10000 levels).
const maxJSONDepth = 512

func decodeNext(dec *json.Decoder, depth int) (Value, error) {
	if depth > maxJSONDepth {
		return Undefined(), fmt.Errorf("nested deeper than %d levels", maxJSONDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return Undefined(), err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			items := []Value{}
			for dec.More() {
				item, err := decodeNext(dec, depth+1)
				if err != nil {
					return Undefined(), err
				}
				items = append(items, item)
			}
			_, err := dec.Token()
			return NewList(items), err
		}
		obj := NewDict()
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return Undefined(), err
			}
			val, err := decodeNext(dec, depth+1)
			if err != nil {
				return Undefined(), err
			}
			obj.AsDict().Set(key.(string), val)
		}
		_, err := dec.Token()
		return obj, err
	case string:
		return NewString(t), nil
	case bool:
		return NewBool(t), nil
	case json.Number:
		return numberValue(t), nil
	}
	return None(), nil
}

// numberValue follows JavaScript, as the oracle does: a JSON number with an integral value is an integer
// (2.0 renders as 2), any other is a float.
func numberValue(n json.Number) Value {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return NewInt(i)
	}
	f, _ := n.Float64()
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return NewInt(int64(f))
	}
	return NewFloat(f)
}
