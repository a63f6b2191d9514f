package server

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/examples/serve/api"
	"github.com/zoomr-go/zoomr/zoomr"
)

// errorReply is the error body as a client reads it (param may be null).
type errorReply struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	} `json:"error"`
}

// TestBadRequests: every malformed or unacceptable request gets its documented 4xx status and an
// OpenAI-style error naming the field at fault.
func TestBadRequests(t *testing.T) {
	dec := tinyDecoder(t)
	_, hs := startServer(t, dec, Options{MaxBodyBytes: 4096, MaxPromptTokens: 64,
		Limits: api.Limits{MaxTokens: 100}})
	noTemplate := func() string { // the bundled model as it is: no chat template
		plain, err := zoomr.Load(t.Context(), filepath.Join("..", "..", "..", "testdata", "zoomr-tiny"), zoomr.Config{})
		require.NoError(t, err)
		t.Cleanup(func() { plain.Close() })
		_, h := startServer(t, plain, Options{})
		return h.URL
	}()
	const chatPath, compPath = "/v1/chat/completions", "/v1/completions"
	msgs := `"messages":[{"role":"user","content":"W w1"}]`
	cases := []struct {
		name, path, body string
		status           int
		code, param      string
	}{
		{"empty body", chatPath, ``, 400, "invalid_json", ""},
		{"malformed JSON", chatPath, `{"messages": [`, 400, "invalid_json", ""},
		{"trailing garbage", compPath, `{"prompt":"W"} x`, 400, "invalid_json", ""},
		{"not an object", chatPath, `[1, 2]`, 400, "invalid_json", ""},
		{"null body", chatPath, `null`, 400, "invalid_json", ""},
		{"no messages", chatPath, `{"model":"test-model"}`, 400, "missing_required_parameter", "messages"},
		{"empty messages", chatPath, `{"messages":[]}`, 400, "invalid_value", "messages"},
		{"messages not a list", chatPath, `{"messages":"hi"}`, 400, "invalid_type", "messages"},
		{"message not an object", chatPath, `{"messages":[3]}`, 400, "invalid_type", "messages[0]"},
		{"no role", chatPath, `{"messages":[{"content":"hi"}]}`, 400, "missing_required_parameter", "messages[0].role"},
		{"bad role", chatPath, `{"messages":[{"role":"wizard","content":"hi"}]}`, 400, "invalid_value", "messages[0].role"},
		{"content a number", chatPath, `{"messages":[{"role":"user","content":5}]}`, 400, "invalid_type", "messages[0].content"},
		{"image part", chatPath, `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, "unsupported_parameter", "messages[0].content[0].type"},
		{"no prompt", compPath, `{"max_tokens":3}`, 400, "missing_required_parameter", "prompt"},
		{"empty prompt", compPath, `{"prompt":""}`, 400, "invalid_value", "prompt"},
		{"prompt a number", compPath, `{"prompt":5}`, 400, "invalid_type", "prompt"},
		{"two prompts", compPath, `{"prompt":["W","W"]}`, 400, "unsupported_parameter", "prompt"},
		{"token id outside the vocabulary", compPath, `{"prompt":[1,2,100000]}`, 400, "invalid_value", "prompt[2]"},
		{"negative token id", compPath, `{"prompt":[-1]}`, 400, "invalid_value", "prompt[0]"},
		{"word not in the vocabulary", compPath, `{"prompt":"hello"}`, 400, "invalid_value", "prompt"},
		{"max_tokens a string", compPath, `{"prompt":"W","max_tokens":"5"}`, 400, "invalid_type", "max_tokens"},
		{"max_tokens fractional", compPath, `{"prompt":"W","max_tokens":1.5}`, 400, "invalid_type", "max_tokens"},
		{"max_tokens 0", compPath, `{"prompt":"W","max_tokens":0}`, 400, "invalid_value", "max_tokens"},
		{"max_tokens over the limit", chatPath, `{` + msgs + `,"max_tokens":101}`, 400, "invalid_value", "max_tokens"},
		{"max_completion_tokens over", chatPath, `{` + msgs + `,"max_completion_tokens":1000}`, 400, "invalid_value", "max_completion_tokens"},
		{"temperature a string", chatPath, `{` + msgs + `,"temperature":"hot"}`, 400, "invalid_type", "temperature"},
		{"temperature negative", chatPath, `{` + msgs + `,"temperature":-1}`, 400, "invalid_value", "temperature"},
		{"temperature huge", chatPath, `{` + msgs + `,"temperature":1e999}`, 400, "invalid_value", "temperature"},
		{"top_p 0", chatPath, `{` + msgs + `,"top_p":0}`, 400, "invalid_value", "top_p"},
		{"top_p over 1", chatPath, `{` + msgs + `,"top_p":1.5}`, 400, "invalid_value", "top_p"},
		{"top_k below -1", chatPath, `{` + msgs + `,"top_k":-2}`, 400, "invalid_value", "top_k"},
		{"seed fractional", chatPath, `{` + msgs + `,"seed":0.5}`, 400, "invalid_type", "seed"},
		{"stop a number", chatPath, `{` + msgs + `,"stop":7}`, 400, "invalid_type", "stop"},
		{"stop empty string", chatPath, `{` + msgs + `,"stop":""}`, 400, "invalid_value", "stop"},
		{"too many stops", chatPath, `{` + msgs + `,"stop":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]}`, 400, "invalid_value", "stop"},
		{"stream a string", chatPath, `{` + msgs + `,"stream":"yes"}`, 400, "invalid_type", "stream"},
		{"stream_options unknown", chatPath, `{` + msgs + `,"stream_options":{"foo":true}}`, 400, "unknown_parameter", "stream_options.foo"},
		{"ignore_eos a number", compPath, `{"prompt":"W","ignore_eos":1}`, 400, "invalid_type", "ignore_eos"},
		{"n 2", chatPath, `{` + msgs + `,"n":2}`, 400, "unsupported_parameter", "n"},
		{"tools", chatPath, `{` + msgs + `,"tools":[{"type":"function","function":{"name":"f"}}]}`, 400, "unsupported_parameter", "tools"},
		{"logprobs", chatPath, `{` + msgs + `,"logprobs":true}`, 400, "unsupported_parameter", "logprobs"},
		{"penalty", compPath, `{"prompt":"W","presence_penalty":0.5}`, 400, "unsupported_parameter", "presence_penalty"},
		{"json mode", chatPath, `{` + msgs + `,"response_format":{"type":"json_object"}}`, 400, "unsupported_parameter", "response_format"},
		{"echo", compPath, `{"prompt":"W","echo":true}`, 400, "unsupported_parameter", "echo"},
		{"misspelt field", compPath, `{"prompt":"W","max_token":5}`, 400, "unknown_parameter", "max_token"},
		{"chat field on completions", compPath, `{"prompt":"W","messages":[]}`, 400, "unknown_parameter", "messages"},
		{"template kwargs not an object", chatPath, `{` + msgs + `,"chat_template_kwargs":[1]}`, 400, "invalid_type", "chat_template_kwargs"},
		{"prompt too long", compPath, `{"prompt":"` + strings.Repeat("W ", 65) + `"}`, 400, "context_length_exceeded", "prompt"},
		{"chat prompt too long", chatPath, `{"messages":[{"role":"user","content":"` + strings.Repeat("W ", 65) + `"}]}`, 400, "context_length_exceeded", "messages"},
		{"body too large", compPath, `{"prompt":"` + strings.Repeat("W ", 3000) + `"}`, 413, "request_too_large", ""},
		{"unknown model", chatPath, `{"model":"gpt-4",` + msgs + `}`, 404, "model_not_found", "model"},
		{"model a number", chatPath, `{"model":4,` + msgs + `}`, 400, "invalid_type", "model"},
		{"unknown endpoint", "/v1/embeddings", `{}`, 404, "not_found", ""},
		{"no chat template", noTemplate + chatPath, `{` + msgs + `}`, 400, "no_chat_template", "messages"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			url := hs.URL + c.path
			if strings.HasPrefix(c.path, "http") {
				url = c.path
			}
			resp, body := post(t, url, c.body)
			require.Equal(t, c.status, resp.StatusCode, "%s", body)
			require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			var e errorReply
			require.NoError(t, json.Unmarshal(body, &e), "%s", body)
			require.Equal(t, c.code, e.Error.Code, "%s", body)
			require.NotEmpty(t, e.Error.Message)
			require.NotEmpty(t, e.Error.Type)
			if c.param == "" {
				require.Nil(t, e.Error.Param, "%s", body)
			} else {
				require.NotNil(t, e.Error.Param, "%s", body)
				require.Equal(t, c.param, *e.Error.Param)
			}
		})
	}
	t.Run("wrong method", func(t *testing.T) {
		resp, err := http.Get(hs.URL + compPath)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
		require.Equal(t, "POST", resp.Header.Get("Allow"))
		resp, err = http.Post(hs.URL+"/health", "application/json", nil)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	})
	t.Run("unknown model by id", func(t *testing.T) {
		resp, err := http.Get(hs.URL + "/v1/models/other")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
}
