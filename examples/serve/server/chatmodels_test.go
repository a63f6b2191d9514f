package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/examples/serve/api"
	"github.com/zoomr-go/zoomr/internal/testmodels"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/chat"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/zoomr"
)

// TestQwen3Chat: a model with Qwen3's vocabulary, tokenizer and chat template (the template from
// the model's files, chat_template_kwargs passed to it), and a reasoning split: with a template
// whose generation prompt opens <think>, the reply is reasoning_content until </think>, streamed
// or not.
func TestQwen3Chat(t *testing.T) {
	m, tok, tpl := qwen3Model(t)
	dec, err := zoomr.New(m, tok, zoomr.Config{ChatTemplate: tpl})
	require.NoError(t, err)
	_, hs := startServer(t, dec, Options{})
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
	ids, err := tok.EncodeWith(prompt, tokenizer.Options{ParseSpecial: true})
	require.NoError(t, err)
	require.Equal(t, len(ids), r.Usage.PromptTokens, "the template got chat_template_kwargs")
	require.Equal(t, 12, r.Usage.CompletionTokens)

	// A generation prompt that opens the span: everything the random model writes is reasoning.
	opening, err := chat.Parse(`{% for m in messages %}<|im_start|>{{ m.role }}` + "\n" + `{{ m.content }}<|im_end|>` + "\n" +
		`{% endfor %}<|im_start|>assistant` + "\n" + `<think>` + "\n")
	require.NoError(t, err)
	thinking, err := zoomr.New(m, tok, zoomr.Config{ChatTemplate: opening})
	require.NoError(t, err)
	_, hs = startServer(t, thinking, Options{})
	body = map[string]any{"messages": msgs, "max_tokens": 12, "temperature": 0, "ignore_eos": true}
	resp, b = post(t, hs.URL+"/v1/chat/completions", body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	require.NoError(t, json.Unmarshal(b, &r))
	require.NotEmpty(t, r.Choices[0].Message.ReasoningContent)
	require.Empty(t, r.Choices[0].Message.Content)
	direct := thinking.Chat(t.Context(), msgs, zoomr.WithMaxTokens(12), zoomr.WithSampling(0, 0, 0, 0), zoomr.WithIgnoreEOS(true))
	for _, err := range direct.Tokens() {
		require.NoError(t, err)
	}
	wantReasoning, wantAnswer := direct.Text()
	require.Equal(t, wantReasoning, r.Choices[0].Message.ReasoningContent, "the Decoder's own split and trim")
	require.Equal(t, wantAnswer, r.Choices[0].Message.Content)
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

// TestGGUFChatTemplate: the real SmolLM2 GGUF's chat template and vocabulary (skips unless fetched:
// go run ./examples/fetch-model smollm2) over a random model of its vocabulary size (main's
// model.Load reads Hugging Face directories): the ChatML prompt the template renders is what the
// server feeds the model, the reply is all content (no thinking span), and it is what the Decoder
// gives without the server.
func TestGGUFChatTemplate(t *testing.T) {
	path := testmodels.Require(t, "smollm2")
	tpl, err := zoomr.LoadChatTemplate(path, "")
	require.NoError(t, err)
	tok, err := zoomr.LoadTokenizer(path)
	require.NoError(t, err)
	dir := t.TempDir()
	_, err = model.WriteRandom(dir, model.RandomSpec{VocabSize: tok.VocabSize(), Hidden: 64, Heads: 2, KVHeads: 1, Tie: true, Seed: 4})
	require.NoError(t, err)
	m, err := model.Load(t.Context(), dir)
	require.NoError(t, err)
	dec, err := zoomr.New(m, tok, zoomr.Config{ChatTemplate: tpl})
	require.NoError(t, err)
	_, hs := startServer(t, dec, Options{})
	msgs := []chat.Message{{Role: "user", Content: "What is the capital of France?"}}
	resp, b := post(t, hs.URL+"/v1/chat/completions", map[string]any{"messages": msgs, "max_tokens": 16,
		"temperature": 0, "ignore_eos": true, "return_token_ids": true})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	var r api.ChatCompletion
	require.NoError(t, json.Unmarshal(b, &r))
	want := "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n" +
		"<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
	ids, err := tok.EncodeWith(want, tokenizer.Options{ParseSpecial: true})
	require.NoError(t, err)
	require.Equal(t, len(ids), r.Usage.PromptTokens)
	require.Empty(t, r.Choices[0].Message.ReasoningContent)
	direct := dec.Chat(t.Context(), msgs, zoomr.WithMaxTokens(16), zoomr.WithSampling(0, 0, 0, 0), zoomr.WithIgnoreEOS(true))
	require.Equal(t, ids, direct.PromptIDs())
	var directIDs []int
	for tk, err := range direct.Tokens() {
		require.NoError(t, err)
		directIDs = append(directIDs, tk.ID)
	}
	_, answer := direct.Text()
	require.Equal(t, directIDs, r.Choices[0].TokenIDs)
	require.Equal(t, answer, r.Choices[0].Message.Content)
}
