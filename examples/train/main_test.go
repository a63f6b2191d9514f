package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/examples/internal/taskrun"
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

// TestExitCodes: -h prints the usage and exits 0; an unknown flag or a stray argument exits 2
// without training.
func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"-h"}, 0, "-lookup-weight"},
		{[]string{"-help"}, 0, "-answer-weight"},
		{[]string{"-no-such-flag"}, 2, "flag provided but not defined"},
		{[]string{"-steps", "x"}, 2, "invalid value"},
		{[]string{"stray"}, 2, "unexpected arguments"},
	} {
		var stderr strings.Builder
		require.Equal(t, c.code, mainCode(c.args, &stderr), "%v", c.args)
		require.Contains(t, stderr.String(), c.says, "%v", c.args)
	}
}
