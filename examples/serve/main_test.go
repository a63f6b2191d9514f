package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model"
)

// TestMain runs the command itself when the test binary is started as the server (the SIGTERM
// test), so the signal path through cli.Main is the one tested.
func TestMain(m *testing.M) {
	if args := os.Getenv("SERVE_TEST_ARGS"); args != "" {
		os.Args = append([]string{"serve"}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func randomModel(t *testing.T) string {
	dir := t.TempDir()
	_, err := model.WriteRandom(dir, model.RandomSpec{VocabSize: 32000, Hidden: 256, Layers: 4, Heads: 8, KVHeads: 2, Seed: 2})
	require.NoError(t, err)
	return dir
}

// startCommand runs the server as a child process and returns its base URL.
func startCommand(t *testing.T, args string) (*exec.Cmd, string, *bytes.Buffer) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SERVE_TEST_ARGS="+args)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "stderr: %s", stderr.String())
	_, url, ok := strings.Cut(strings.TrimSpace(line), " on ")
	require.True(t, ok, line)
	return cmd, url, &stderr
}

// readStream reads a completion stream to its end: the token ids and whether it ended with [DONE].
func readStream(t *testing.T, body io.Reader, onFirst func()) (ids []int, done bool) {
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			return ids, true
		}
		var ev struct {
			Choices []struct {
				TokenIDs []int `json:"token_ids"`
			} `json:"choices"`
		}
		require.NoError(t, json.Unmarshal([]byte(data), &ev), data)
		for _, c := range ev.Choices {
			ids = append(ids, c.TokenIDs...)
		}
		if len(ids) == 1 && onFirst != nil {
			onFirst()
		}
	}
	return ids, false
}

func streamRequest(t *testing.T, url string, maxTokens int) *http.Response {
	body := fmt.Sprintf(`{"prompt":[1,2,3],"max_tokens":%d,"ignore_eos":true,"temperature":0,"stream":true}`, maxTokens)
	resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return resp
}

// TestSIGTERMDrains: on SIGTERM the server stops listening, lets the running stream finish (every
// token, then [DONE]) and exits 0.
func TestSIGTERMDrains(t *testing.T) {
	cmd, url, stderr := startCommand(t, "-model "+randomModel(t)+" -addr 127.0.0.1:0 -drain 60s")
	resp := streamRequest(t, url, 300)
	defer resp.Body.Close()
	ids, done := readStream(t, resp.Body, func() {
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		// The listener closes: a new connection is refused soon after.
		deadline := time.Now().Add(5 * time.Second)
		for {
			c, err := http.Get(url + "/health")
			if err != nil {
				break
			}
			c.Body.Close()
			require.True(t, time.Now().Before(deadline), "still accepting connections after SIGTERM")
			time.Sleep(5 * time.Millisecond)
		}
	})
	require.True(t, done, "the stream ended with [DONE]")
	require.Len(t, ids, 300)
	require.NoError(t, cmd.Wait(), "stderr: %s", stderr.String())
	require.Contains(t, stderr.String(), "draining")
}

// TestDrainTimeout: a stream that outlasts -drain is cancelled (no [DONE]) and the server exits.
func TestDrainTimeout(t *testing.T) {
	cmd, url, stderr := startCommand(t, "-model "+randomModel(t)+" -addr 127.0.0.1:0 -drain 300ms -max-tokens 100000")
	resp := streamRequest(t, url, 100000)
	defer resp.Body.Close()
	start := time.Now()
	ids, done := readStream(t, resp.Body, func() { require.NoError(t, cmd.Process.Signal(syscall.SIGTERM)) })
	require.False(t, done)
	require.NotEmpty(t, ids)
	require.NoError(t, cmd.Wait(), "stderr: %s", stderr.String())
	require.Less(t, time.Since(start), 10*time.Second)
	require.Contains(t, stderr.String(), "drain timed out")
}

func TestFlags(t *testing.T) {
	_, err := parseFlags([]string{"-h"})
	require.ErrorIs(t, err, flag.ErrHelp)
	_, err = parseFlags(nil)
	require.ErrorContains(t, err, "-model")
	f, err := parseFlags([]string{"-model", "/x/y/my-model/"})
	require.NoError(t, err)
	require.Equal(t, "my-model", f.name)
	require.ErrorContains(t, run(t.Context(), []string{"-model", t.TempDir(), "-log", "xml"}, io.Discard), "-log")
}
