package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/examples/serve/api"
	"github.com/zoomr-go/zoomr/model/chat"
	"github.com/zoomr-go/zoomr/model/tokenizer"
)

// TestQwen3Chat: a model with Qwen3's vocabulary, tokenizer and chat template (the template from
// the model's files, chat_template_kwargs passed to it), and a reasoning split: with a template
// whose generation prompt opens <think>, the reply is reasoning_content until </think>, streamed
// or not.
func TestQwen3Chat(t *testing.T) {
	dec, tpl := qwen3Decoder(t)
	_, hs := startServer(t, dec, Options{Template: tpl, Think: chat.DefaultThink})
	msgs := []chat.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "What is 2+2?"}}
	body := map[string]any{"messages": msgs, "max_tokens": 12, "temperature": 0, "ignore_eos": true,
		"chat_template_kwargs": map[string]any{"enable_thinking": false}}
	resp, b := post(t, hs.URL+"/v1/chat/completions", body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	var r api.ChatCompletion
	require.NoError(t, json.Unmarshal(b, &r))
	prompt, err := tpl.Render(msgs, chat.Options{AddGenerationPrompt: true, Vars: map[string]any{"enable_thinking": false}})
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(prompt, "<|im_start|>assistant\n<think>\n\n</think>\n\n"), "%q", prompt)
	ids, err := dec.Tokenizer().EncodeWith(prompt, tokenizer.Options{ParseSpecial: true})
	require.NoError(t, err)
	require.Equal(t, len(ids), r.Usage.PromptTokens)
	require.Equal(t, 12, r.Usage.CompletionTokens)

	// A generation prompt that opens the span: everything the random model writes is reasoning.
	opening, err := chat.Parse(`{% for m in messages %}<|im_start|>{{ m.role }}` + "\n" + `{{ m.content }}<|im_end|>` + "\n" +
		`{% endfor %}<|im_start|>assistant` + "\n" + `<think>` + "\n")
	require.NoError(t, err)
	_, hs = startServer(t, dec, Options{Template: opening, Think: chat.DefaultThink})
	body = map[string]any{"messages": msgs, "max_tokens": 12, "temperature": 0, "ignore_eos": true}
	resp, b = post(t, hs.URL+"/v1/chat/completions", body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	require.NoError(t, json.Unmarshal(b, &r))
	require.NotEmpty(t, r.Choices[0].Message.ReasoningContent)
	require.Empty(t, r.Choices[0].Message.Content)
	body["stream"] = true
	resp, b = post(t, hs.URL+"/v1/chat/completions", body)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var reasoning strings.Builder
	for _, e := range events(t, b) {
		if e == "[DONE]" {
			break
		}
		var c api.ChatCompletionChunk
		require.NoError(t, json.Unmarshal([]byte(e), &c))
		for _, ch := range c.Choices {
			require.False(t, ch.Delta.Content != nil && *ch.Delta.Content != "", "no content before </think>")
			if ch.Delta.ReasoningContent != nil {
				reasoning.WriteString(*ch.Delta.ReasoningContent)
			}
		}
	}
	require.Equal(t, r.Choices[0].Message.ReasoningContent, reasoning.String())
}
