package api

import (
	"encoding/json"
	"reflect"
	"testing"
)

var fuzzLimits = Limits{MaxTokens: 100, MaxStops: 4, MaxStopBytes: 16, VocabSize: 1000}

var fuzzSeeds = []string{
	`{"messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"}]}],"max_tokens":5,"temperature":0.5,"top_p":0.9,"top_k":-1,"seed":-3,"stop":["x","y"],"stream":true,"stream_options":{"include_usage":true},"ignore_eos":true,"return_token_ids":true,"skip_special_tokens":false,"chat_template_kwargs":{"enable_thinking":false}}`,
	`{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"r"}]}`,
	`{"prompt":"hello","max_tokens":3,"stop":"\n"}`,
	`{"prompt":[1,2,3]}`,
	`{"prompt":[[4,5]]}`,
	`{"prompt":["a"],"n":1,"logprobs":null,"echo":false,"best_of":1,"suffix":""}`,
	`{"messages":[],"n":2}`,
	`{"messages":[{"role":"user","content":5}]}`,
	`{"prompt":"x","max_tokens":1e3}`,
	`{"prompt":"x","temperature":1e999}`,
	`[1,2]`, `null`, ``, `{"a":`, `{"prompt":"x"} {}`, `{"prompt":"x","prompt":7}`,
}

// FuzzDecodeChat: decoding any body never panics, gives exactly one of a request and an error,
// an error is a 4xx with a code and message, a request keeps every limit, and the outcome does not
// depend on map order (decoding twice gives the same).
func FuzzDecodeChat(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeChat(body, fuzzLimits)
		r2, err2 := DecodeChat(body, fuzzLimits)
		if !reflect.DeepEqual(r, r2) || !reflect.DeepEqual(err, err2) {
			t.Fatalf("decoding twice differs: %+v / %+v, %v / %v", r, r2, err, err2)
		}
		if checkError(t, r != nil, err) {
			return
		}
		if len(r.Messages) == 0 {
			t.Fatal("a request without messages")
		}
		for i, m := range r.Messages {
			if !roles[m.Role] {
				t.Fatalf("message %d has role %q", i, m.Role)
			}
			if _, err := json.Marshal(m); err != nil {
				t.Fatalf("message %d does not marshal for the template: %v", i, err)
			}
		}
		checkCommon(t, &r.Common)
	})
}

// FuzzDecodeCompletion: the same for completions; a request has a text prompt or ids in the
// vocabulary.
func FuzzDecodeCompletion(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeCompletion(body, fuzzLimits)
		r2, err2 := DecodeCompletion(body, fuzzLimits)
		if !reflect.DeepEqual(r, r2) || !reflect.DeepEqual(err, err2) {
			t.Fatalf("decoding twice differs: %+v / %+v, %v / %v", r, r2, err, err2)
		}
		if checkError(t, r != nil, err) {
			return
		}
		if (r.Prompt == "") == (len(r.PromptIDs) == 0) {
			t.Fatalf("want exactly one of a text prompt and ids: %q, %v", r.Prompt, r.PromptIDs)
		}
		for _, id := range r.PromptIDs {
			if id < 0 || id >= fuzzLimits.VocabSize {
				t.Fatalf("prompt id %d outside the vocabulary", id)
			}
		}
		checkCommon(t, &r.Common)
	})
}

// checkError checks the request/error exclusivity and the error's shape; it reports whether the
// body was refused.
func checkError(t *testing.T, ok bool, err *Error) bool {
	if ok == (err != nil) {
		t.Fatalf("want exactly one of a request and an error (request %v, error %v)", ok, err)
	}
	if err == nil {
		return false
	}
	if err.Status < 400 || err.Status > 499 || err.Code == "" || err.Message == "" || err.Type == "" {
		t.Fatalf("malformed error %+v", err)
	}
	b, merr := json.Marshal(ErrorBody{Error: err})
	if merr != nil || !json.Valid(b) {
		t.Fatalf("error body does not marshal: %v", merr)
	}
	return true
}

func checkCommon(t *testing.T, c *Common) {
	l := fuzzLimits.withDefaults()
	switch {
	case c.MaxTokens < 1 || c.MaxTokens > l.MaxTokens:
		t.Fatalf("max_tokens %d outside [1, %d]", c.MaxTokens, l.MaxTokens)
	case c.Temperature != nil && (*c.Temperature < 0 || *c.Temperature > 2):
		t.Fatalf("temperature %v", *c.Temperature)
	case c.TopP != nil && (*c.TopP <= 0 || *c.TopP > 1):
		t.Fatalf("top_p %v", *c.TopP)
	case c.TopK != nil && *c.TopK < 0:
		t.Fatalf("top_k %d", *c.TopK)
	case len(c.Stop) > l.MaxStops:
		t.Fatalf("%d stop strings", len(c.Stop))
	}
	for _, s := range c.Stop {
		if s == "" || len(s) > l.MaxStopBytes {
			t.Fatalf("stop string %q", s)
		}
	}
}
