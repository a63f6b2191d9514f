package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/internal/oracle"
)

const casesJSON = `[
 {"source": "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}",
  "messages": [{"role": "user", "content": "Hi 🌍 {{ x }}"}], "add_generation_prompt": true},
 {"template": "t.jinja", "messages": [{"role": "user", "content": "x"}], "bos_token": "<s>", "vars": {"tools": [{"b": 1, "a": 2.5}]}},
 {"source": "{{ raise_exception('no system') }}", "messages": []},
 {"template": "missing.jinja", "messages": []}
]`

func writeCases(t *testing.T) (dir, cases string) {
	dir = t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "t.jinja"), []byte("{{ bos_token }}{{ tools | tojson }}\n"), 0o644))
	cases = filepath.Join(dir, "cases.json")
	require.NoError(t, os.WriteFile(cases, []byte(casesJSON), 0o644))
	return dir, cases
}

func readResults(t *testing.T, path string) []result {
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var res []result
	require.NoError(t, json.Unmarshal(raw, &res))
	return res
}

func TestCases(t *testing.T) {
	dir, cases := writeCases(t)
	out := filepath.Join(dir, "results.json")
	var stderr bytes.Buffer
	require.NoError(t, run([]string{"-cases", cases, "-out", out}, &bytes.Buffer{}, &stderr))
	assert.Equal(t, "rendered 2 of 4 cases (2 errors)\n", stderr.String())
	res := readResults(t, out)
	require.Len(t, res, 4)
	assert.Equal(t, "[user] Hi 🌍 {{ x }}\n[assistant]", *res[0].Rendered)
	assert.Equal(t, `<s>[{"b": 1, "a": 2.5}]`, *res[1].Rendered)
	assert.Contains(t, *res[2].Error, "no system")
	assert.Contains(t, *res[3].Error, "template not found")
}

// TestCasesMatchOracle runs the same cases file through template.mjs and compares the results.
func TestCasesMatchOracle(t *testing.T) {
	oracle.SkipUnlessAvailable(t)
	dir, cases := writeCases(t)
	ours, theirs := filepath.Join(dir, "ours.json"), filepath.Join(dir, "theirs.json")
	require.NoError(t, run([]string{"-cases", cases, "-out", ours}, &bytes.Buffer{}, &bytes.Buffer{}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := oracle.Run(ctx, "template.mjs", "--cases", cases, "--out", theirs)
	require.NoError(t, err)
	a, b := readResults(t, ours), readResults(t, theirs)
	require.Len(t, a, len(b))
	for i := range a {
		assert.Equal(t, b[i].Rendered, a[i].Rendered, "case %d", i)
		assert.Equal(t, b[i].Error != nil, a[i].Error != nil, "case %d errors", i)
	}
}

func TestSingle(t *testing.T) {
	dir, _ := writeCases(t)
	msgs := filepath.Join(dir, "m.json")
	require.NoError(t, os.WriteFile(msgs, []byte(`[{"role": "user", "content": "hi"}]`), 0o644))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"text", []string{"-template", filepath.Join(dir, "t.jinja"), "-messages", msgs, "-bos", "B", "-vars", `{"tools": []}`}, "B[]"},
		{"json", []string{"-template", filepath.Join(dir, "t.jinja"), "-messages", msgs, "-json"}, `{"rendered":"null"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, run(tt.args, &out, &bytes.Buffer{}))
			assert.Equal(t, tt.want, out.String())
		})
	}
}

func TestUsage(t *testing.T) {
	assert.True(t, errors.Is(run([]string{"-h"}, &bytes.Buffer{}, &bytes.Buffer{}), flag.ErrHelp))
	assert.Error(t, run(nil, &bytes.Buffer{}, &bytes.Buffer{}))
	assert.Error(t, run([]string{"-cases", "x.json"}, &bytes.Buffer{}, &bytes.Buffer{}))
	assert.Error(t, run([]string{"-template", "t", "-messages", "m", "-vars", "[1]"}, &bytes.Buffer{}, &bytes.Buffer{}))
}
