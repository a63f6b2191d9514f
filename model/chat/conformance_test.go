package chat

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/internal/oracle"
)

// The conformance suite renders every template of ../shared/oracle/templates with every conversation of
// testdata/conversations.json and compares with Hugging Face's JS implementation (template.mjs):
//   - TestConformance compares with testdata/oracle.tsv (length + SHA-256 of each oracle render, made by
//     -update-oracle), so it needs no node;
//   - TestConformanceLive re-runs template.mjs on the same cases when node and the oracle are installed, so
//     conversations added to conversations.json (or given in $CHAT_CONVERSATIONS, a file of the same
//     format) are checked as soon as they are written.
// Every mismatch must be listed, with its cause, in docs/chat-templates.md.

var updateOracle = flag.Bool("update-oracle", false, "re-render testdata/oracle.tsv with template.mjs (needs node)")

// minIdentical is the acceptance bar: the share of oracle-rendered cases we must render byte-identically.
const minIdentical = 0.95

type conversation struct {
	Name                string                     `json:"name"`
	Messages            json.RawMessage            `json:"messages"`
	AddGenerationPrompt bool                       `json:"add_generation_prompt"`
	BOSToken            string                     `json:"bos_token"`
	EOSToken            string                     `json:"eos_token"`
	Vars                map[string]json.RawMessage `json:"vars"`
}

// oracleCase is one entry of template.mjs's --cases file.
type oracleCase struct {
	Template            string                     `json:"template"`
	Messages            json.RawMessage            `json:"messages"`
	AddGenerationPrompt bool                       `json:"add_generation_prompt"`
	BOSToken            string                     `json:"bos_token"`
	EOSToken            string                     `json:"eos_token"`
	Vars                map[string]json.RawMessage `json:"vars"`
}

type oracleResult struct {
	Rendered *string `json:"rendered,omitempty"`
	Error    *string `json:"error,omitempty"`
}

type confCase struct {
	template, conv string // template file name without .jinja, conversation name
	c              conversation
}

func (k confCase) key() string { return k.template + "/" + k.conv }

func loadConversations(t *testing.T) []conversation {
	files := []string{filepath.Join("testdata", "conversations.json")}
	if extra := os.Getenv("CHAT_CONVERSATIONS"); extra != "" {
		files = append(files, filepath.SplitList(extra)...)
	}
	var all []conversation
	seen := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var convs []conversation
		require.NoError(t, json.Unmarshal(raw, &convs), f)
		for _, c := range convs {
			require.False(t, seen[c.Name], "conversation %q defined twice", c.Name)
			seen[c.Name] = true
			all = append(all, c)
		}
	}
	return all
}

// templatesDir returns the oracle's template folder, or skips when shared/ is not beside the repository.
func templatesDir(t *testing.T) string {
	dir, err := oracle.Dir()
	if err == nil {
		dir = filepath.Join(dir, "templates")
		if _, err = os.Stat(dir); err == nil {
			return dir
		}
	}
	t.Skipf("oracle templates unavailable, skipping conformance: %v", err)
	return ""
}

func conformanceCases(t *testing.T) (cases []confCase, sources map[string]string) {
	dir := templatesDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.jinja"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	sources = map[string]string{}
	convs := loadConversations(t)
	for _, f := range files {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		name := strings.TrimSuffix(filepath.Base(f), ".jinja")
		sources[name] = string(src)
		for _, c := range convs {
			cases = append(cases, confCase{template: name, conv: c.Name, c: c})
		}
	}
	return cases, sources
}

// renderCase renders one case with our implementation; parse errors count as render errors, as in the oracle.
func renderCase(src string, c conversation, now time.Time) (string, error) {
	tpl, err := Parse(src)
	if err != nil {
		return "", err
	}
	vars := map[string]any{}
	for k, v := range c.Vars {
		vars[k] = v
	}
	return tpl.RenderJSON(c.Messages, Options{
		AddGenerationPrompt: c.AddGenerationPrompt, BOSToken: c.BOSToken, EOSToken: c.EOSToken, Vars: vars,
		Now: func() time.Time { return now },
	})
}

// digest is how testdata/oracle.tsv records a render: its byte length and the first 16 hex digits of its SHA-256.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return strconv.Itoa(len(s)) + "\t" + hex.EncodeToString(sum[:8])
}

// tally counts a comparison the way the acceptance bar is stated.
type tally struct {
	rendered, identical     int      // oracle rendered / we rendered the same bytes
	oracleErr, bothErr      int      // oracle errored / we errored too
	mismatches, weRenderErr []string // keys that differ / oracle rendered but we errored
	noFixture               int
}

func (s *tally) add(key string, oracleOK, same bool, ourErr error) {
	if !oracleOK {
		s.oracleErr++
		if ourErr != nil {
			s.bothErr++
		}
		return
	}
	s.rendered++
	switch {
	case ourErr != nil:
		s.mismatches = append(s.mismatches, key)
		s.weRenderErr = append(s.weRenderErr, key+": "+ourErr.Error())
	case same:
		s.identical++
	default:
		s.mismatches = append(s.mismatches, key)
	}
}

func (s *tally) check(t *testing.T) {
	share := float64(s.identical) / float64(max(s.rendered, 1))
	t.Logf("oracle rendered %d cases: %d byte-identical (%.2f%%), %d differ (%d of them we error on); "+
		"oracle errored on %d: we error too on %d; %d cases without a fixture",
		s.rendered, s.identical, 100*share, len(s.mismatches), len(s.weRenderErr), s.oracleErr, s.bothErr, s.noFixture)
	for _, e := range s.weRenderErr {
		t.Logf("we error where the oracle renders: %s", e)
	}
	require.GreaterOrEqual(t, share, minIdentical, "below the acceptance bar")
	documented := documentedMismatches(t)
	for _, k := range s.mismatches {
		if !documented[k] {
			t.Errorf("mismatch %s is not listed in docs/chat-templates.md", k)
		}
	}
}

// documentedMismatches reads the keys of the mismatch table in docs/chat-templates.md: rows
// "| template | conversation | cause |".
func documentedMismatches(t *testing.T) map[string]bool {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "chat-templates.md"))
	require.NoError(t, err)
	row := regexp.MustCompile("(?m)^\\| `([^`]+)` \\| `([^`]+)` \\|")
	keys := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(raw), -1) {
		keys[m[1]+"/"+m[2]] = true
	}
	return keys
}

func TestConformance(t *testing.T) {
	cases, sources := conformanceCases(t)
	fixture := readFixture(t)
	var s tally
	for _, k := range cases {
		want, ok := fixture.results[k.key()]
		if !ok {
			s.noFixture++
			continue
		}
		got, err := renderCase(sources[k.template], k.c, fixture.date)
		oracleOK := !strings.HasPrefix(want, "error\t")
		s.add(k.key(), oracleOK, err == nil && "ok\t"+digest(got) == want, err)
	}
	s.check(t)
}

func TestConformanceLive(t *testing.T) {
	if err := oracle.Available(); err != nil {
		t.Skipf("node oracle unavailable, skipping the live conformance check: %v", err)
	}
	if testing.Short() {
		t.Skip("live oracle run skipped in -short mode")
	}
	cases, sources := conformanceCases(t)
	now := time.Now().UTC()
	results := runOracle(t, cases)
	var s tally
	lines := []string{}
	for i, k := range cases {
		r := results[i]
		got, err := renderCase(sources[k.template], k.c, now)
		same := r.Rendered != nil && err == nil && got == *r.Rendered
		s.add(k.key(), r.Rendered != nil, same, err)
		if r.Rendered != nil && err == nil && !same {
			t.Logf("%s differs:\n%s", k.key(), firstDifference(got, *r.Rendered))
		}
		if r.Rendered != nil {
			lines = append(lines, k.template+"\t"+k.conv+"\tok\t"+digest(*r.Rendered))
		} else {
			lines = append(lines, k.template+"\t"+k.conv+"\terror\t"+oneLine(*r.Error))
		}
	}
	if *updateOracle {
		writeFixture(t, now, lines)
	}
	s.check(t)
}

// runOracle renders the cases with template.mjs (TZ=UTC, so strftime_now agrees with our UTC clock).
func runOracle(t *testing.T, cases []confCase) []oracleResult {
	dir := t.TempDir()
	in := make([]oracleCase, len(cases))
	for i, k := range cases {
		in[i] = oracleCase{Template: k.template + ".jinja", Messages: k.c.Messages,
			AddGenerationPrompt: k.c.AddGenerationPrompt, BOSToken: k.c.BOSToken, EOSToken: k.c.EOSToken, Vars: k.c.Vars}
	}
	raw, err := json.Marshal(in)
	require.NoError(t, err)
	casesPath, outPath := filepath.Join(dir, "cases.json"), filepath.Join(dir, "results.json")
	require.NoError(t, os.WriteFile(casesPath, raw, 0o644))
	t.Setenv("TZ", "UTC")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err = oracle.Run(ctx, "template.mjs", "--cases", casesPath, "--out", outPath)
	require.NoError(t, err)
	raw, err = os.ReadFile(outPath)
	require.NoError(t, err)
	var results []oracleResult
	require.NoError(t, json.Unmarshal(raw, &results))
	require.Len(t, results, len(cases))
	return results
}

type fixture struct {
	date    time.Time         // the UTC day the oracle rendered on (strftime_now's date)
	results map[string]string // "template/conversation" -> "ok\tLEN\tSHA" or "error\tMESSAGE"
}

const fixturePath = "testdata/oracle.tsv"

func readFixture(t *testing.T) fixture {
	f, err := os.Open(fixturePath)
	require.NoError(t, err)
	defer f.Close()
	fx := fixture{results: map[string]string{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if d, ok := strings.CutPrefix(line, "# date "); ok {
			fx.date, err = time.Parse("2006-01-02", d)
			require.NoError(t, err)
			fx.date = fx.date.Add(12 * time.Hour)
			continue
		}
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		parts := strings.SplitN(line, "\t", 3)
		require.Len(t, parts, 3, "bad fixture line %q", line)
		fx.results[parts[0]+"/"+parts[1]] = parts[2]
	}
	require.NoError(t, sc.Err())
	require.False(t, fx.date.IsZero(), "fixture has no '# date' line")
	return fx
}

func writeFixture(t *testing.T, now time.Time, lines []string) {
	sort.Strings(lines)
	head := fmt.Sprintf("# Hugging Face chat-template renders by ../shared/oracle/template.mjs (@huggingface/jinja), made by\n"+
		"# go test ./model/chat -run TestConformanceLive -update-oracle. Columns: template, conversation (testdata/conversations.json),\n"+
		"# then \"ok\", byte length and the first 16 hex digits of the render's SHA-256, or \"error\" and the oracle's message.\n"+
		"# date %s\n", now.Format("2006-01-02"))
	require.NoError(t, os.WriteFile(fixturePath, []byte(head+strings.Join(lines, "\n")+"\n"), 0o644))
	t.Logf("wrote %s (%d cases)", fixturePath, len(lines))
}

func oneLine(s string) string {
	s = strings.NewReplacer("\n", " ", "\t", " ").Replace(s)
	if len(s) > 160 {
		s = s[:160]
	}
	return s
}

// firstDifference shows both texts around their first differing byte.
func firstDifference(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-60)
	return fmt.Sprintf("  at byte %d (lengths %d, %d)\n  got:  %q\n  want: %q", i, len(got), len(want),
		got[lo:min(len(got), i+60)], want[lo:min(len(want), i+60)])
}
