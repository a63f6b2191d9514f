package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/examples/internal/taskrun"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/zoomr"
)

const readme = "../../README.md"

// readmeSnippet returns the README's first Go code block (the "Use it" program).
func readmeSnippet(t *testing.T) string {
	b, err := os.ReadFile(readme)
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(b), "```go\n")
	require.True(t, ok, "README has no Go block")
	code, _, ok := strings.Cut(rest, "```")
	require.True(t, ok, "README's Go block is not closed")
	return code
}

// buildSnippet builds the README's program as written, as a package main inside this module (an
// overlay puts it at a path that does not exist, so the source tree is not touched).
func buildSnippet(t *testing.T) string {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found: %v", err)
	}
	tmp := t.TempDir()
	src := filepath.Join(tmp, "main.go")
	require.NoError(t, os.WriteFile(src, []byte(readmeSnippet(t)), 0o644))
	here, err := os.Getwd()
	require.NoError(t, err)
	overlay, err := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(here, "readmesnippet", "main.go"): src}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(tmp, "overlay.json"), overlay, 0o644))
	bin := filepath.Join(tmp, "snippet")
	out, err := exec.Command(goBin, "build", "-overlay", filepath.Join(tmp, "overlay.json"), "-o", bin, "./readmesnippet").CombinedOutput()
	require.NoError(t, err, "the README's code does not build:\n%s", out)
	return bin
}

var peakRE = regexp.MustCompile(`peak resident KV (\d+) bytes`)

// TestREADMESnippet: the README's program builds as written; on the bundled model with default
// settings (zoomr.Load: the model's zoomr.json) it reasons, answers, and holds the README's "N× less
// KV" than the full cache, within 2% (the full cache's peak is a power-of-two bucket, so one problem
// whose trace is as long as the evaluation's gives the same ratio).
func TestREADMESnippet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program and decodes three problems")
	}
	bin := buildSnippet(t)
	b, err := os.ReadFile(readme)
	require.NoError(t, err)
	m := regexp.MustCompile(`ZoomR [0-9.]+% with ([0-9.]+)× less KV`).FindSubmatch(b)
	require.NotNil(t, m, "the README states ZoomR's memory ratio")
	want, err := strconv.ParseFloat(string(m[1]), 64)
	require.NoError(t, err)

	dir := filepath.Join("..", "..", taskrun.DefaultModel)
	full, err := zoomr.Load(t.Context(), dir, zoomr.Config{Policy: zoomr.PolicyFull})
	require.NoError(t, err)
	defer full.Close()
	tt, err := taskrun.LoadTask(dir)
	require.NoError(t, err)
	g, err := task.NewGenerator(task.Config{Form: tt.Form}, task.HeldOut, 1) // the evaluation's problems
	require.NoError(t, err)
	var zoomBytes, fullBytes int64
	correct := 0
	const n = 3
	for range n {
		p := g.Next()
		out, err := exec.Command(bin, dir, p.Prompt()).CombinedOutput()
		require.NoError(t, err, "%s", out)
		peak := peakRE.FindSubmatch(out)
		require.NotNil(t, peak, "%s", out)
		bytes, err := strconv.ParseInt(string(peak[1]), 10, 64)
		require.NoError(t, err)
		zoomBytes += bytes
		_, after, ok := strings.Cut(string(out), "\nanswer: ")
		require.True(t, ok, "%s", out)
		answer, _, _ := strings.Cut(after, "\n")
		require.NotEmpty(t, answer, "the model answers")
		if p.Correct(answer) {
			correct++
		}

		fg := full.Start(t.Context(), p.Prompt())
		for _, err := range fg.Tokens() {
			require.NoError(t, err)
		}
		fullBytes += fg.Stats().PeakResidentBytes
	}
	ratio := float64(fullBytes) / float64(zoomBytes)
	t.Logf("README snippet on %d held-out problems: %d answered correctly; peak resident KV %.1f KiB (ZoomR) vs %.1f KiB (full): %.2f× less (README: %.1f×)",
		n, correct, float64(zoomBytes)/n/1024, float64(fullBytes)/n/1024, ratio, want)
	require.InEpsilon(t, want, ratio, 0.02)
}
