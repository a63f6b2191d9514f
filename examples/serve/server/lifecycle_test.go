package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/examples/serve/api"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/zoomr"
)

// slowSpec is a random model whose steps take milliseconds, so that tests can act mid-stream.
var slowSpec = model.RandomSpec{VocabSize: 32000, Hidden: 256, Layers: 4, Heads: 8, KVHeads: 2, Seed: 11}

// stream is an open streaming response read event by event.
type stream struct {
	resp   *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
}

// openStream posts a streaming request; it returns once the response headers have arrived (the
// first token is known).
func openStream(t testing.TB, url string, body any) (*stream, error) {
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(jsonBody(t, body)))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	return &stream{resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}, nil
}

// next returns the next event's data ("" at the end of the stream).
func (s *stream) next(t testing.TB) string {
	for {
		line, err := s.r.ReadString('\n')
		if err == io.EOF {
			return ""
		}
		require.NoError(t, err)
		if data, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "data: "); ok {
			return data
		}
	}
}

// close disconnects the client.
func (s *stream) close() {
	s.cancel()
	s.resp.Body.Close()
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

func longRequest(stream bool) map[string]any {
	return map[string]any{"prompt": []int{1, 2, 3, 4, 5}, "max_tokens": 2000, "ignore_eos": true, "temperature": 0, "stream": stream}
}

// TestQueueFull: with one place and a queue of one, a third request gets 429 with Retry-After and
// the queued one runs once the first leaves.
func TestQueueFull(t *testing.T) {
	dec := randomDecoder(t, slowSpec)
	s, hs := startServer(t, dec, Options{Batch: zoomr.BatcherOptions{MaxBatch: 1, MaxQueue: 1}, RetryAfter: 2 * time.Second})
	url := hs.URL + "/v1/completions"
	a, err := openStream(t, url, longRequest(true))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, a.resp.StatusCode)
	require.NotEmpty(t, a.next(t))
	bReady := make(chan *stream, 1)
	go func() {
		b, err := openStream(t, url, longRequest(true))
		if err != nil {
			b = nil
		}
		bReady <- b
	}()
	waitFor(t, "the second request to wait", func() bool { return s.Batcher().Stats().Waiting == 1 })
	resp, body := post(t, url, longRequest(false))
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "%s", body)
	require.Equal(t, "2", resp.Header.Get("Retry-After"))
	var e errorReply
	require.NoError(t, json.Unmarshal(body, &e))
	require.Equal(t, "queue_full", e.Error.Code)
	require.Equal(t, api.TypeRateLimit, e.Error.Type)

	a.close()
	b := <-bReady
	require.NotNil(t, b)
	require.Equal(t, http.StatusOK, b.resp.StatusCode)
	require.NotEmpty(t, b.next(t))
	b.close()
	waitFor(t, "the batcher to empty", func() bool {
		st := s.Batcher().Stats()
		return st.Running == 0 && st.Waiting == 0
	})
}

// TestDisconnectFreesSlot: a client that disconnects mid-stream leaves the batch within one decode
// step of its request's cancellation, while another stream goes on.
func TestDisconnectFreesSlot(t *testing.T) {
	dec := randomDecoder(t, slowSpec)
	s, err := New(dec, Options{Name: "m", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer s.Close()
	// The tracked generation's rows after its cancellation are the rows beyond one per step (the
	// other stream decodes in every step): how late the handler returns, on a loaded machine, adds
	// steps but no rows of the tracked one.
	var atCancel, atEnd atomic.Pointer[zoomr.BatcherStats]
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Track") == "" {
			s.ServeHTTP(w, r)
			return
		}
		context.AfterFunc(r.Context(), func() { st := s.Batcher().Stats(); atCancel.CompareAndSwap(nil, &st) })
		s.ServeHTTP(w, r)
		st := s.Batcher().Stats() // the generation has ended
		atEnd.Store(&st)
	}))
	defer hs.Close()
	url := hs.URL + "/v1/completions"
	other, err := openStream(t, url, longRequest(true))
	require.NoError(t, err)
	defer other.close()
	require.NotEmpty(t, other.next(t))

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(jsonBody(t, longRequest(true))))
	require.NoError(t, err)
	req.Header.Set("X-Track", "1")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	r := bufio.NewReader(resp.Body)
	for range 10 { // a few tokens in
		_, err := r.ReadString('\n')
		require.NoError(t, err)
	}
	require.Equal(t, 2, s.Batcher().Stats().Running)
	cancel()
	resp.Body.Close()
	waitFor(t, "the disconnected generation to leave", func() bool { return s.Batcher().Stats().Running == 1 })
	waitFor(t, "its handler to return", func() bool { return atEnd.Load() != nil })
	c, e := atCancel.Load(), atEnd.Load()
	require.NotNil(t, c)
	steps := (e.Rows - c.Rows) - (e.Steps - c.Steps)
	t.Logf("decoded in %d steps after its context was cancelled (%d steps ran until its handler returned)", steps, e.Steps-c.Steps)
	require.LessOrEqual(t, steps, int64(2), "one step, plus the step that may start before the batcher sees the end")
	require.NotEmpty(t, other.next(t), "the other stream goes on")
}

// TestStopStringsAndStreaming: a stop string ends the output before it, streamed or not; a stream
// is the role event, deltas that add up to the non-streamed text, the finish event, the usage
// event and [DONE].
func TestStopStringsAndStreaming(t *testing.T) {
	dec := tinyDecoder(t)
	_, hs := startServer(t, dec, Options{})
	prompt := taskPrompts(t, 1)[0]
	base := map[string]any{"prompt": prompt, "max_tokens": 64, "temperature": 0, "ignore_eos": true}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	complete := func(body map[string]any) (string, string) {
		resp, b := post(t, hs.URL+"/v1/completions", body)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
		var c api.Completion
		require.NoError(t, json.Unmarshal(b, &c))
		return c.Choices[0].Text, *c.Choices[0].FinishReason
	}
	full, finish := complete(base)
	require.Equal(t, "length", finish)
	words := strings.Fields(full)
	require.Greater(t, len(words), 20)
	stop := " " + words[12] + " " + words[13]
	cut := strings.Index(full, stop)
	require.Positive(t, cut)

	text, finish := complete(with("stop", stop))
	require.Equal(t, full[:cut], text)
	require.Equal(t, "stop", finish)

	streamed := func(path string, body map[string]any) (string, []string) {
		resp, b := post(t, hs.URL+path, body)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
		require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
		evs := events(t, b)
		require.Equal(t, "[DONE]", evs[len(evs)-1])
		var all strings.Builder
		for _, e := range evs[:len(evs)-1] {
			var c api.Completion
			require.NoError(t, json.Unmarshal([]byte(e), &c), e)
			for _, ch := range c.Choices {
				require.NotContains(t, ch.Text, strings.TrimSpace(stop))
				all.WriteString(ch.Text)
			}
		}
		return all.String(), evs
	}
	got, evs := streamed("/v1/completions", with("stream", true, "stop", stop, "stream_options", map[string]any{"include_usage": true}))
	require.Equal(t, full[:cut], got)
	var last api.Completion
	require.NoError(t, json.Unmarshal([]byte(evs[len(evs)-2]), &last))
	require.Empty(t, last.Choices, "the usage event has no choices")
	require.Positive(t, last.Usage.PromptTokens)
	require.Less(t, last.Usage.CompletionTokens, 64, "the stop string ended it early")
	require.Equal(t, last.Usage.PromptTokens+last.Usage.CompletionTokens, last.Usage.TotalTokens)
	require.NotNil(t, last.Usage.ZoomR)
	require.Positive(t, last.Usage.ZoomR.PeakResidentKVBytes)
	got, _ = streamed("/v1/completions", with("stream", true))
	require.Equal(t, full, got)

	// Control tokens (the summary markers) are written only when asked.
	special, _ := complete(with("skip_special_tokens", false))
	require.Contains(t, special, "<|begin_of_summary|>")
	require.NotContains(t, full, "<|begin_of_summary|>")

	// Chat: the role event first, then content deltas.
	resp, b := post(t, hs.URL+"/v1/chat/completions", map[string]any{"stream": true, "temperature": 0, "max_tokens": 8,
		"messages": []map[string]any{{"role": "user", "content": prompt}}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	evs = events(t, b)
	var first api.ChatCompletionChunk
	require.NoError(t, json.Unmarshal([]byte(evs[0]), &first))
	require.Equal(t, "chat.completion.chunk", first.Object)
	require.Equal(t, "assistant", first.Choices[0].Delta.Role)
	var fin api.ChatCompletionChunk
	require.NoError(t, json.Unmarshal([]byte(evs[len(evs)-2]), &fin))
	require.Equal(t, "length", *fin.Choices[0].FinishReason)
}

// TestDrain: once draining, generations get 503 and /health says so.
func TestDrain(t *testing.T) {
	dec := tinyDecoder(t)
	s, hs := startServer(t, dec, Options{})
	resp, err := http.Get(hs.URL + "/health")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	s.Drain()
	r, body := post(t, hs.URL+"/v1/completions", `{"prompt":"W","max_tokens":2}`)
	require.Equal(t, http.StatusServiceUnavailable, r.StatusCode, "%s", body)
	var e errorReply
	require.NoError(t, json.Unmarshal(body, &e))
	require.Equal(t, "shutting_down", e.Error.Code)
	resp, err = http.Get(hs.URL + "/health")
	require.NoError(t, err)
	var h api.Health
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&h))
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, "draining", h.Status)
}
