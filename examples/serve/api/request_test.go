package api

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model/chat"
)

// TestDecodeAccepts: the accepted forms decode to what they say.
func TestDecodeAccepts(t *testing.T) {
	r, err := DecodeChat([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"}],"x_extra":{"k":1}}],
		"max_completion_tokens":7,"max_tokens":9,"temperature":0,"top_p":1,"top_k":-1,"seed":-1,"stop":"\n\n","stream":true,
		"stream_options":{"include_usage":true},"ignore_eos":true,"return_token_ids":true,"skip_special_tokens":false,
		"chat_template_kwargs":{"enable_thinking":false},"n":1,"logprobs":false,"tool_choice":"none","tools":[],
		"response_format":{"type":"text"},"user":"u","store":false,"presence_penalty":0.0,"logit_bias":{}}`), Limits{})
	require.Nil(t, err)
	require.Equal(t, "m", r.Model)
	require.Equal(t, 7, r.MaxTokens, "max_completion_tokens wins")
	require.Equal(t, 0.0, *r.Temperature)
	require.Equal(t, 0, *r.TopK)
	require.Equal(t, int64(-1), *r.Seed)
	require.Equal(t, []string{"\n\n"}, r.Stop)
	require.True(t, r.Stream && r.IncludeUsage && r.IgnoreEOS && r.ReturnTokenIDs && r.KeepSpecial)
	require.Equal(t, map[string]any{"enable_thinking": false}, r.TemplateVars)
	require.Equal(t, []map[string]any{{"type": "text", "text": "a"}}, r.Messages[0].Content)
	require.Equal(t, json.RawMessage(`{"k":1}`), r.Messages[0].Extra["x_extra"])

	r, err = DecodeChat([]byte(`{"messages":[{"role":"user","content":"hi","name":null}],"temperature":null}`), Limits{MaxTokens: 50})
	require.Nil(t, err)
	require.Equal(t, 50, r.MaxTokens, "a chat request without max_tokens gets the limit")
	require.Nil(t, r.Temperature, "null is absent")
	require.Equal(t, []chat.Message{{Role: "user", Content: "hi"}}, r.Messages)

	c, err := DecodeCompletion([]byte(`{"prompt":[[3,4]]}`), Limits{VocabSize: 10})
	require.Nil(t, err)
	require.Equal(t, []int{3, 4}, c.PromptIDs)
	require.Equal(t, 16, c.MaxTokens, "OpenAI's completions default")
	c, err = DecodeCompletion([]byte(`{"prompt":["one"],"logprobs":0}`), Limits{})
	require.Nil(t, err)
	require.Equal(t, "one", c.Prompt)
}

func TestErrorJSON(t *testing.T) {
	b, err := json.Marshal(ErrorBody{Error: ModelNotFound("x")})
	require.NoError(t, err)
	require.JSONEq(t, `{"error":{"message":"The model `+"`x`"+` does not exist.","type":"invalid_request_error","param":"model","code":"model_not_found"}}`, string(b))
	b, err = json.Marshal(ErrorBody{Error: QueueFull()})
	require.NoError(t, err)
	require.Contains(t, string(b), `"param":null`)
}
