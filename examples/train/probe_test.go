package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestProbe: on the bundled model, every class of single positions of the trace is counted once per
// problem or once per thought, and its copies are right (the bundled model writes exact traces); a
// probe needs a model.
func TestProbe(t *testing.T) {
	var out strings.Builder
	ctx := t.Context()
	require.ErrorContains(t, run(ctx, []string{"-probe", "2"}, &out), "-init")

	dir := filepath.Join("..", "..", "testdata", "zoomr-tiny")
	require.NoError(t, run(ctx, []string{"-init", dir, "-probe", "3"}, &out))
	table := out.String()
	for _, row := range []string{"| answer word | 3 |", "| question tag | 3 | 100.0% | 3 of 3 |",
		"| question word | 3 | 100.0% | 3 of 3 |", "| first index | 3 | 100.0% | 3 of 3 |",
		"| start value | 3 | 100.0% | 3 of 3 |", "| header key | ", "| other trace | "} {
		require.Contains(t, table, row)
	}
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, "| header key |") || strings.HasPrefix(line, "| summary value |") {
			require.Contains(t, line, "| 100.0% | 3 of 3 |", line)
		}
	}
}
