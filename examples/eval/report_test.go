package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/examples/internal/taskrun"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/zoomr"
)

// TestSummariseCountsFirstDivergences: the exact-trace share, the mean exact prefix and the
// per-role shares of first divergences, and their row in the Markdown table; and the share of
// well-formed answers.
func TestSummariseCountsFirstDivergences(t *testing.T) {
	p := task.Problem{Keys: []int{3, 1, 4}, Start: 2, Walk: 8, Kind: task.Value, Target: 0}
	ref, _, _ := p.ReferenceTrace()
	at := slices.Index(ref, "#1") + 1 // the key of the second thought
	require.Positive(t, at)
	badKey := slices.Clone(ref)
	badKey[at] = "k9"
	badMove := slices.Clone(ref)
	badMove[at+3] = "0"
	if badMove[at+3] == ref[at+3] {
		badMove[at+3] = "1"
	}
	var rs []taskrun.Result
	answers := []string{p.Answer(), "QV S0 v0", "QV S0 N0 3 w1", ""} // two well formed
	for i, trace := range [][]string{ref, ref, badKey, badMove} {
		rs = append(rs, taskrun.Result{Problem: p, Divergence: p.FirstDivergence(trace), Answer: answers[i]})
	}
	pr := summarise("full", rs)
	require.InDelta(t, 0.5, pr.ExactTrace, 1e-9)
	require.InDelta(t, 0.5, pr.WellFormed, 1e-9)
	require.Equal(t, map[string]float64{"key": 0.25, "move": 0.25}, pr.FirstDivergence)
	wantPrefix := (2 + float64(at)/float64(len(ref)) + float64(at+3)/float64(len(ref))) / 4
	require.InDelta(t, wantPrefix, pr.ExactPrefix, 1e-9)

	md := (&report{Policies: []policyReport{pr}, Config: map[string]int{}}).markdown()
	require.Contains(t, md, "| policy | exact trace | mean exact prefix | index | key | before |")
	require.Contains(t, md, "| full | 50.0% | ")
	require.Contains(t, md, " 0.0% | 25.0% | 0.0% | 0.0% | 25.0% |") // index, key, before, counter, move
}

// TestRecallByDistance: questions are bucketed by Target (the thoughts written after the asked-about
// one), note and value apart, and the table shows each bucket's recall with its count.
func TestRecallByDistance(t *testing.T) {
	q := func(kind task.Kind, target int, recalled bool) taskrun.Result {
		return taskrun.Result{Problem: task.Problem{Keys: make([]int, 12), Walk: 8, Kind: kind, Target: target},
			Recalled: recalled}
	}
	rs := []taskrun.Result{
		q(task.Note, 0, true), q(task.Note, 3, false), q(task.Value, 2, true), // 0–3
		q(task.Value, 9, false), q(task.Value, 10, true), // 8–11; 4–7 is empty
	}
	got := recallByDistance(rs)
	require.Equal(t, []distanceRecall{
		{From: 0, To: 3, Note: 0.5, NNote: 2, Value: 1, NValue: 1},
		{From: 4, To: 7},
		{From: 8, To: 11, Value: 0.5, NValue: 2},
	}, got)
	md := (&report{Policies: []policyReport{{Name: "zoomr", RecallByDistance: got}}, Config: map[string]int{}}).markdown()
	require.Contains(t, md, "| policy | 0–3 | 4–7 | 8–11 |")
	require.Contains(t, md, "| zoomr | 50% (2) / 100% (1) | — / — | — / 50% (2) |")
}

// TestWriteAnswersOneLinePerGeneration: answers.jsonl holds each job's question, answer and first
// divergence, in job order.
func TestWriteAnswersOneLinePerGeneration(t *testing.T) {
	p := task.Problem{Keys: []int{3, 1, 4}, Start: 2, Walk: 8, Kind: task.Note, Target: 2}
	ref, _, _ := p.ReferenceTrace()
	bad := slices.Clone(ref)
	bad[1] = "k9" // the first thought's key
	jobs := []job{{policy: zoomr.PolicyFull, window: 128, index: 0}, {policy: zoomr.PolicyZoomR, window: 64, index: 1}}
	results := []taskrun.Result{
		{Problem: p, Correct: true, Recalled: true, Divergence: p.FirstDivergence(ref), Answer: p.Answer()},
		{Problem: p, Divergence: p.FirstDivergence(bad), Answer: "QN S2 N2 0"},
	}
	path := filepath.Join(t.TempDir(), "answers.jsonl")
	require.NoError(t, writeAnswers(path, jobs, results))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 2)
	var got []answerLine
	for _, l := range lines {
		var a answerLine
		require.NoError(t, json.Unmarshal([]byte(l), &a))
		got = append(got, a)
	}
	require.Equal(t, answerLine{Policy: "full", Window: 128, Problem: 0, Prompt: p.Prompt(), Kind: "note", Step: 2,
		Want: p.Answer(), Got: p.Answer(), Correct: true, Recalled: true, Exact: true}, got[0])
	require.Equal(t, "zoomr", got[1].Policy)
	require.Equal(t, 1, got[1].Problem)
	require.False(t, got[1].Exact)
	require.Equal(t, "key", got[1].Diverged)
	require.Equal(t, ref[1], got[1].DivergedWant)
	require.Equal(t, "k9", got[1].DivergedGot)
}
