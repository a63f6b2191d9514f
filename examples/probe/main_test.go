package main

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/summarize/task"
)

// TestCLI: -h is flag.ErrHelp (cli.Main exits 0 on it), bad flags, stray arguments and a directory
// without a model are errors, and none of them prints to stdout.
func TestCLI(t *testing.T) {
	var out strings.Builder
	ctx := t.Context()
	require.ErrorIs(t, run(ctx, []string{"-h"}, &out), flag.ErrHelp)
	require.ErrorContains(t, run(ctx, []string{"-no-such-flag"}, &out), "not defined")
	require.ErrorContains(t, run(ctx, []string{"-n", "x"}, &out), "invalid value")
	require.ErrorContains(t, run(ctx, []string{"stray"}, &out), "unexpected arguments")
	require.Error(t, run(ctx, []string{"-model", t.TempDir()}, &out), "no model there")
	tiny := filepath.Join("..", "..", "testdata", "zoomr-tiny")
	require.ErrorContains(t, run(ctx, []string{"-model", tiny, "-positions", "-steps", "x"}, &out), "want K1-K2")
	require.Empty(t, out.String())
}

// TestTablesGoToTheWriter: the answer-form and heads tables print one row per cell and per head to
// the writer they are given.
func TestTablesGoToTheWriter(t *testing.T) {
	var out strings.Builder
	printAnswerForm(&out, map[formKey]*formCell{
		{task.Note, true}:   {asAsked: 2, swapped: 0, n: 2, right: 2},
		{task.Value, false}: {asAsked: 0.4, swapped: 0.4, n: 2, right: 1},
	})
	require.Contains(t, out.String(), "note      0-2 back      2       1.00            0.00    1.00")
	require.Contains(t, out.String(), "value     3+ back       2       0.20            0.20    0.50")
	out.Reset()
	printHeads(&out, &headRoles{Copy: []float64{0.5, 0.25}, Tag: []float64{0, 0.125}, Route: []float64{1, 0}, N: 3}, &model.Config{Layers: 1, Heads: 2})
	require.Contains(t, out.String(), "heads on 3 far note questions")
	require.Contains(t, out.String(), "0.1   0.250   0.125   0.00")
}

// TestPositions: on the bundled model each class of single positions is counted once per problem or
// once per thought, and its copies are right (the bundled model writes exact traces); its restated
// question word follows the prompt's when that is swapped (it is copied).
func TestPositions(t *testing.T) {
	var out strings.Builder
	dir := filepath.Join("..", "..", "testdata", "zoomr-tiny")
	require.NoError(t, run(t.Context(), []string{"-model", dir, "-positions", "-n", "3", "-seed", "1"}, &out))
	table := out.String()
	for _, row := range []string{"| answer word | 3 |", "| question tag | 3 | 100.0% | 3 of 3 |",
		"| question word | 3 | 100.0% | 3 of 3 |", "| first index | 3 | 100.0% | 3 of 3 |",
		"| start value | 3 | 100.0% | 3 of 3 |", "| other trace | ",
		"| question word, the prompt's swapped | 3 | 100.0% | 3 of 3 |"} {
		require.Contains(t, table, row)
	}
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, "| header key |") || strings.HasPrefix(line, "| summary value |") {
			require.Contains(t, line, "| 100.0% | 3 of 3 |", line)
		}
	}
}

// TestPositionsAtOtherLengths: -steps draws the problems at the given step count (the bundled model,
// trained at 18-20 steps, slips elsewhere: header keys at 6-8 steps).
func TestPositionsAtOtherLengths(t *testing.T) {
	var out strings.Builder
	dir := filepath.Join("..", "..", "testdata", "zoomr-tiny")
	require.NoError(t, run(t.Context(), []string{"-model", dir, "-positions", "-n", "2", "-seed", "1", "-steps", "6-6"}, &out))
	require.Contains(t, out.String(), "6-6 steps")
	require.Contains(t, out.String(), "| header key | 12 |", "6 thoughts in each of 2 problems")
}

// TestLongModelCopiesAtItsLength: the long-scale weights (testdata/zoomr-long) make, on 4,600-token
// held-out traces, the copies their last phases named (docs/training-history.md, T6-T8): the
// restated question's word from the prompt (following it when it is swapped), the first step
// index from the prompt, every step tag, and the answer word of a far note and of a value. Two
// problems (about 20 s): every row must be all right.
func TestLongModelCopiesAtItsLength(t *testing.T) {
	var out strings.Builder
	dir := filepath.Join("..", "..", "testdata", "zoomr-long")
	require.NoError(t, run(t.Context(), []string{"-model", dir, "-positions", "-n", "2", "-seed", "2"}, &out))
	for _, row := range []string{"| question word | 2 | 100.0% | 2 of 2 |",
		"| question word, the prompt's swapped | 2 | 100.0% | 2 of 2 |", "| first index | 2 | 100.0% | 2 of 2 |",
		"| trace tag | 247 | 100.0% | 2 of 2 |",
		"| answer word, note questions | 1 | 100.0% | 1 of 1 |", "| answer word, value questions | 1 | 100.0% | 1 of 1 |"} {
		require.Contains(t, out.String(), row)
	}
}

// TestNoteAttention: on the bundled model, one row per head under each note question, and head
// 1.3 (the bundled model's note copy) reads the note's digit right after the asked N tag first.
func TestNoteAttention(t *testing.T) {
	var out strings.Builder
	dir := filepath.Join("..", "..", "testdata", "zoomr-tiny")
	require.NoError(t, run(t.Context(), []string{"-model", dir, "-attention", "2", "-steps", "4-4", "-seed", "1"}, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2*(1+3*4), "2 questions, each a header and 3 layers × 4 heads")
	require.Contains(t, lines[0], "N3 at 246 asks thought 0: the note 9 at 67")
	require.Regexp(t, `\n  1\.3  0\.\d\d 9 \(after N3, thought 0\)`, out.String(), "head 1.3 reads the digit after the asked tag first")
	require.Equal(t, []int{2, 0, 1}, topPositions([]float64{0.2, 0.1, 0.7}, 3))
}
