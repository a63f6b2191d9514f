package main

import (
	"encoding/json"
	"flag"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/examples/internal/taskrun"
	"github.com/zoomr-go/zoomr/summarize"
	"github.com/zoomr-go/zoomr/summarize/task"
)

// TestResolveTask: -question-form and -vote-layers override -init's task.json, each on its own.
func TestResolveTask(t *testing.T) {
	init := t.TempDir()
	require.NoError(t, taskrun.WriteTask(init, taskrun.Task{Form: task.NoteTagForm, VoteLayers: []int{2}}))
	for _, c := range []struct {
		form, layers string
		want         taskrun.Task
	}{
		{"", "", taskrun.Task{Form: task.NoteTagForm, VoteLayers: []int{2}}},
		{"summary-tag", "", taskrun.Task{Form: task.SummaryTagForm, VoteLayers: []int{2}}},
		{"", "all", taskrun.Task{Form: task.NoteTagForm}},
		{"", "1,2", taskrun.Task{Form: task.NoteTagForm, VoteLayers: []int{1, 2}}},
	} {
		f := flags{init: init, questionForm: c.form, voteLayers: c.layers}
		require.NoError(t, resolveTask(&f))
		require.Equal(t, c.want, f.task, "%+v", c)
	}
	for _, bad := range []string{"x", "1,1", "-1", "1,"} {
		f := flags{voteLayers: bad}
		require.Error(t, resolveTask(&f), bad)
	}
	f := flags{}
	require.NoError(t, resolveTask(&f))
	require.Equal(t, taskrun.Task{}, f.task, "no -init, no flags: the defaults")
}

// TestCLI: -h is flag.ErrHelp (cli.Main exits 0 on it), bad flags and stray arguments are errors
// that train nothing, and -dump writes problems as JSONL to stdout.
func TestCLI(t *testing.T) {
	var out strings.Builder
	ctx := t.Context()
	require.ErrorIs(t, run(ctx, []string{"-h"}, &out), flag.ErrHelp)
	require.ErrorContains(t, run(ctx, []string{"-no-such-flag"}, &out), "not defined")
	require.ErrorContains(t, run(ctx, []string{"-steps", "x"}, &out), "invalid value")
	require.ErrorContains(t, run(ctx, []string{"stray"}, &out), "unexpected arguments")
	require.ErrorContains(t, run(ctx, []string{"-dump", "1", "-split", "dev"}, &out), "-split")
	require.Empty(t, out.String())

	require.NoError(t, run(ctx, []string{"-dump", "3", "-seed", "4"}, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 3)
	for _, l := range lines {
		var rec summarize.Record
		require.NoError(t, json.Unmarshal([]byte(l), &rec), l)
		require.NoError(t, rec.Validate())
	}
}

// TestLongScaleFlags: -scale long is recorded in the task and read from -init's task.json, -dump
// writes held-out problems of the long distribution (≥ 40 thoughts), -curriculum long needs the long
// scale, and a bad scale is a typed error.
func TestLongScaleFlags(t *testing.T) {
	f := flags{scale: "long", questionForm: "tag-first"}
	require.NoError(t, resolveTask(&f))
	require.Equal(t, taskrun.Task{Form: task.TagFirstForm, Scale: task.Long}, f.task)
	init := t.TempDir()
	require.NoError(t, taskrun.WriteTask(init, f.task))
	g := flags{init: init}
	require.NoError(t, resolveTask(&g))
	require.Equal(t, f.task, g.task, "from -init's task.json")
	bad := flags{scale: "huge"}
	require.ErrorIs(t, resolveTask(&bad), task.ErrConfig)

	var out strings.Builder
	ctx := t.Context()
	require.NoError(t, run(ctx, []string{"-dump", "2", "-scale", "long", "-question-form", "tag-first"}, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2)
	for _, l := range lines {
		var rec summarize.Record
		require.NoError(t, json.Unmarshal([]byte(l), &rec), l)
		require.GreaterOrEqual(t, len(rec.Thoughts), 40)
		require.Len(t, strings.Fields(rec.Answer), 4)
	}
	require.ErrorContains(t, run(ctx, []string{"-curriculum", "long", "-steps", "1", "-out", t.TempDir()}, &out), "-scale long")
}
