package server

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/require"
)

// TestGoOpenAIClient: an independent OpenAI client (github.com/sashabaranov/go-openai) reads what
// the server writes — models, completions, chat, both streamed, usage, errors — and gets the same
// text as our own decoding of the responses.
func TestGoOpenAIClient(t *testing.T) {
	dec := tinyDecoder(t)
	_, hs := startServer(t, dec, Options{Name: "zoomr-tiny"}) // temperature 0 by default here
	cfg := openai.DefaultConfig("unused")
	cfg.BaseURL = hs.URL + "/v1"
	c := openai.NewClientWithConfig(cfg)
	ctx := t.Context()
	prompt := taskPrompts(t, 1)[0]

	models, err := c.ListModels(ctx)
	require.NoError(t, err)
	require.Len(t, models.Models, 1)
	require.Equal(t, "zoomr-tiny", models.Models[0].ID)

	comp, err := c.CreateCompletion(ctx, openai.CompletionRequest{Model: "zoomr-tiny", Prompt: prompt, MaxTokens: 24})
	require.NoError(t, err)
	require.Len(t, comp.Choices, 1)
	require.Equal(t, "length", comp.Choices[0].FinishReason)
	require.Equal(t, 24, comp.Usage.CompletionTokens)
	_, ours := post(t, hs.URL+"/v1/completions", map[string]any{"prompt": prompt, "max_tokens": 24})
	require.Equal(t, decodeReply(t, false, ours).Text, comp.Choices[0].Text)

	cs, err := c.CreateCompletionStream(ctx, openai.CompletionRequest{Model: "zoomr-tiny", Prompt: prompt, MaxTokens: 24, Stream: true})
	require.NoError(t, err)
	var streamed strings.Builder
	for {
		r, err := cs.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		for _, ch := range r.Choices {
			streamed.WriteString(ch.Text)
		}
	}
	cs.Close()
	require.Equal(t, comp.Choices[0].Text, streamed.String())

	msgs := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: prompt}}
	chat, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "zoomr-tiny", Messages: msgs, MaxTokens: 16})
	require.NoError(t, err)
	require.Equal(t, openai.ChatMessageRoleAssistant, chat.Choices[0].Message.Role)
	// The bundled model reasons until its answer marker: 16 tokens are all reasoning.
	require.NotEmpty(t, chat.Choices[0].Message.ReasoningContent)
	require.Empty(t, chat.Choices[0].Message.Content)
	require.Equal(t, openai.FinishReasonLength, chat.Choices[0].FinishReason)

	st, err := c.CreateChatCompletionStream(ctx, openai.ChatCompletionRequest{Model: "zoomr-tiny", Messages: msgs, MaxTokens: 16,
		Stream: true, StreamOptions: &openai.StreamOptions{IncludeUsage: true}})
	require.NoError(t, err)
	streamed.Reset()
	var reasoning strings.Builder
	var usage *openai.Usage
	var finish openai.FinishReason
	for {
		r, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		for _, ch := range r.Choices {
			streamed.WriteString(ch.Delta.Content)
			reasoning.WriteString(ch.Delta.ReasoningContent)
			if ch.FinishReason != "" {
				finish = ch.FinishReason
			}
		}
		if r.Usage != nil {
			usage = r.Usage
		}
	}
	st.Close()
	require.Equal(t, chat.Choices[0].Message.Content, streamed.String())
	require.Equal(t, chat.Choices[0].Message.ReasoningContent, reasoning.String())
	require.Equal(t, openai.FinishReasonLength, finish)
	require.NotNil(t, usage)
	require.Equal(t, 16, usage.CompletionTokens)

	_, err = c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "gpt-4", Messages: msgs})
	var apiErr *openai.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.HTTPStatusCode)
	require.Equal(t, "model_not_found", apiErr.Code)
	require.Equal(t, "model", *apiErr.Param)
}
