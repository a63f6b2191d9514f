package server

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/examples/serve/api"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/chat"
	"github.com/zoomr-go/zoomr/zoomr"
)

// reply is the part of a completion or chat response the equality tests compare.
type reply struct {
	IDs  []int
	Text string
}

func decodeReply(t testing.TB, chatMode bool, body []byte) reply {
	if chatMode {
		var r api.ChatCompletion
		require.NoError(t, json.Unmarshal(body, &r), "%s", body)
		return reply{r.Choices[0].TokenIDs, r.Choices[0].Message.Content}
	}
	var r api.Completion
	require.NoError(t, json.Unmarshal(body, &r), "%s", body)
	return reply{r.Choices[0].TokenIDs, r.Choices[0].Text}
}

// TestBatchedEqualsAlone: 8 requests sent at once (so they share decode steps) give token for
// token what each gives alone through the server and what the Decoder gives without the server —
// greedy, and sampled with a seed; completions and chat.
func TestBatchedEqualsAlone(t *testing.T) {
	dec := tinyDecoder(t)
	s, hs := startServer(t, dec, Options{Batch: zoomr.BatcherOptions{MaxBatch: 8}})
	prompts := taskPrompts(t, 8)
	const maxTokens = 96
	for _, mode := range []struct {
		name        string
		chat        bool
		temperature float64
	}{
		{"completions greedy", false, 0}, {"completions sampled", false, 0.8}, {"chat greedy", true, 0},
	} {
		t.Run(mode.name, func(t *testing.T) {
			url := hs.URL + "/v1/completions"
			if mode.chat {
				url = hs.URL + "/v1/chat/completions"
			}
			body := func(i int) map[string]any {
				b := map[string]any{"max_tokens": maxTokens, "temperature": mode.temperature, "seed": i,
					"ignore_eos": true, "return_token_ids": true}
				if mode.chat {
					b["messages"] = []map[string]any{{"role": "user", "content": prompts[i]}}
				} else {
					b["prompt"] = prompts[i]
				}
				return b
			}
			ask := func(i int) reply {
				resp, b := post(t, url, body(i))
				require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
				return decodeReply(t, mode.chat, b)
			}
			alone := make([]reply, len(prompts))
			for i := range prompts {
				alone[i] = ask(i)
				require.Len(t, alone[i].IDs, maxTokens)
			}
			before := s.Batcher().Stats()
			batched := make([]reply, len(prompts))
			var wg sync.WaitGroup
			for i := range prompts {
				wg.Go(func() { batched[i] = ask(i) })
			}
			wg.Wait()
			after := s.Batcher().Stats()
			mean := float64(after.Rows-before.Rows) / float64(after.Steps-before.Steps)
			t.Logf("batched: %d steps, %.2f generations per step", after.Steps-before.Steps, mean)
			require.Greater(t, mean, 2.0, "the requests shared decode steps")
			for i := range prompts {
				require.Equal(t, alone[i], batched[i], "request %d", i)
				require.Equal(t, directIDs(t, dec, mode.chat, prompts[i], mode.temperature, uint64(i), maxTokens),
					batched[i].IDs, "request %d against the Decoder", i)
			}
		})
	}
}

// directIDs runs a request's generation on the Decoder itself, without server or batcher (the
// Decoder's own Chat for chat).
func directIDs(t testing.TB, dec *zoomr.Decoder, chatMode bool, prompt string, temperature float64, seed uint64,
	maxTokens int) []int {
	opts := []zoomr.GenOption{zoomr.WithMaxTokens(maxTokens), zoomr.WithSampling(temperature, 0, 0, seed),
		zoomr.WithIgnoreEOS(true)}
	var g *zoomr.Generation
	if chatMode {
		g = dec.Chat(t.Context(), []chat.Message{{Role: "user", Content: prompt}}, opts...)
	} else {
		g = dec.Start(t.Context(), prompt, opts...)
	}
	var out []int
	for tok, err := range g.Tokens() {
		require.NoError(t, err)
		out = append(out, tok.ID)
	}
	return out
}

// TestBatchedEqualsAloneF32: the same on a random model with F32 weights (the host engine's float
// four-row kernels), prompts as token ids, 8 at once against each alone and against the Decoder.
func TestBatchedEqualsAloneF32(t *testing.T) {
	dec := randomDecoder(t, model.RandomSpec{Arch: "qwen3", VocabSize: 3000, Hidden: 128, Layers: 2, Seed: 9})
	s, hs := startServer(t, dec, Options{Batch: zoomr.BatcherOptions{MaxBatch: 8}})
	const n, maxTokens = 8, 64
	prompt := func(i int) []int { return []int{5 + i, 17, 3*i + 1, 99, 250 + i} }
	ask := func(i int) []int {
		resp, b := post(t, hs.URL+"/v1/completions", map[string]any{"prompt": prompt(i), "max_tokens": maxTokens,
			"temperature": 0, "ignore_eos": true})
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
		return decodeReply(t, false, b).IDs // without a tokenizer, token_ids always come
	}
	alone := make([][]int, n)
	for i := range n {
		alone[i] = ask(i)
	}
	before := s.Batcher().Stats()
	batched := make([][]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { batched[i] = ask(i) })
	}
	wg.Wait()
	after := s.Batcher().Stats()
	require.Greater(t, float64(after.Rows-before.Rows)/float64(after.Steps-before.Steps), 2.0)
	for i := range n {
		require.Len(t, batched[i], maxTokens)
		require.Equal(t, alone[i], batched[i], "request %d", i)
		var direct []int
		for tok, err := range dec.StartIDs(t.Context(), prompt(i), zoomr.WithMaxTokens(maxTokens),
			zoomr.WithSampling(0, 0, 0, 0), zoomr.WithIgnoreEOS(true)).Tokens() {
			require.NoError(t, err)
			direct = append(direct, tok.ID)
		}
		require.Equal(t, direct, batched[i], "request %d against the Decoder", i)
	}
}
