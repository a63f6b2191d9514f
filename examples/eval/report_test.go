package main

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/examples/internal/taskrun"
	"github.com/zoomr-go/zoomr/summarize/task"
)

// TestSummariseCountsFirstDivergences: the exact-trace share, the mean exact prefix and the
// per-role shares of first divergences, and their row in the Markdown table.
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
	for _, trace := range [][]string{ref, ref, badKey, badMove} {
		rs = append(rs, taskrun.Result{Problem: p, Divergence: p.FirstDivergence(trace)})
	}
	pr := summarise("full", rs)
	require.InDelta(t, 0.5, pr.ExactTrace, 1e-9)
	require.Equal(t, map[string]float64{"key": 0.25, "move": 0.25}, pr.FirstDivergence)
	wantPrefix := (2 + float64(at)/float64(len(ref)) + float64(at+3)/float64(len(ref))) / 4
	require.InDelta(t, wantPrefix, pr.ExactPrefix, 1e-9)

	md := (&report{Policies: []policyReport{pr}, Config: map[string]int{}}).markdown()
	require.Contains(t, md, "| policy | exact trace | mean exact prefix | index | key | before |")
	require.Contains(t, md, "| full | 50.0% | ")
	require.Contains(t, md, " 0.0% | 25.0% | 0.0% | 0.0% | 25.0% |") // index, key, before, counter, move
}
