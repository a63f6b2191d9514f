package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/chat"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/zoomr"
)

// tinyTemplate is a chat template over the bundled model's vocabulary: the messages' contents,
// space-separated (the model knows no chat format; this exercises the chat path).
const tinyTemplate = `{% for m in messages %}{{ m.content }} {% endfor %}`

// tinyDecoder is the bundled model (testdata/zoomr-tiny) as zoomr.Load reads it (tokenizer, its
// zoomr.json settings), with the test chat template.
func tinyDecoder(t testing.TB) *zoomr.Decoder {
	t.Helper()
	tpl, err := chat.Parse(tinyTemplate)
	require.NoError(t, err)
	dec, err := zoomr.Load(t.Context(), filepath.Join("..", "..", "..", "testdata", "zoomr-tiny"), zoomr.Config{ChatTemplate: tpl})
	require.NoError(t, err)
	t.Cleanup(func() { dec.Close() })
	return dec
}

// taskPrompts are n held-out problems of the bundled model's task, as text.
func taskPrompts(t testing.TB, n int) []string {
	g, err := task.NewGenerator(task.Config{Form: task.SummaryTagForm}, task.HeldOut, 7)
	require.NoError(t, err)
	out := make([]string, n)
	for i := range out {
		out[i] = g.Next().Prompt()
	}
	return out
}

// randomDecoder is a random model without a tokenizer (prompts as ids).
func randomDecoder(t testing.TB, spec model.RandomSpec) *zoomr.Decoder {
	t.Helper()
	dir := t.TempDir()
	_, err := model.WriteRandom(dir, spec)
	require.NoError(t, err)
	m, err := model.Load(t.Context(), dir)
	require.NoError(t, err)
	dec, err := zoomr.New(m, nil, zoomr.Config{})
	require.NoError(t, err)
	return dec
}

// sharedDir is $ZOOMR_SHARED or the shared folder beside the repository.
func sharedDir() string {
	if d := os.Getenv("ZOOMR_SHARED"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "..", "shared")
}

// qwen3Model is a random model over the Qwen3 vocabulary with Qwen3's tokenizer and chat template
// (from the shared folder; the test skips without it).
func qwen3Model(t testing.TB) (*model.Model, *tokenizer.Tokenizer, *chat.Template) {
	t.Helper()
	src := filepath.Join(sharedDir(), "tokenizers", "qwen3")
	if _, err := os.Stat(filepath.Join(src, "tokenizer.json")); err != nil {
		t.Skipf("the Qwen3 tokenizer is not at %s (set ZOOMR_SHARED to the shared folder): %v", src, err)
	}
	tok, err := tokenizer.Load(filepath.Join(src, "tokenizer.json"))
	require.NoError(t, err)
	tpl, err := chat.LoadDir(src, "")
	require.NoError(t, err)
	dir := t.TempDir()
	_, err = model.WriteRandom(dir, model.RandomSpec{Arch: "qwen3", VocabSize: 151936, Hidden: 64, Layers: 2, Tie: true, Seed: 3})
	require.NoError(t, err)
	m, err := model.Load(t.Context(), dir)
	require.NoError(t, err)
	return m, tok, tpl
}

// startServer serves dec over loopback; the test's cleanup closes both.
func startServer(t testing.TB, dec *zoomr.Decoder, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "test-model"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := New(dec, opts)
	require.NoError(t, err)
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	return s, hs
}

// post sends a JSON body (a string as it is) and returns the response with its body read.
func post(t testing.TB, url string, body any) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(jsonBody(t, body)))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func jsonBody(t testing.TB, body any) []byte {
	if s, ok := body.(string); ok {
		return []byte(s)
	}
	b, err := json.Marshal(body)
	require.NoError(t, err)
	return b
}

// events splits a server-sent event stream into its data payloads.
func events(t testing.TB, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		require.True(t, ok, "a line that is not an event: %q", line)
		out = append(out, data)
	}
	return out
}
