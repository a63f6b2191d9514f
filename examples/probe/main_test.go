package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestExitCodes: -h prints the usage and exits 0; an unknown flag or a stray argument exits 2
// without loading a model.
func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"-h"}, 0, "-model"},
		{[]string{"-no-such-flag"}, 2, "flag provided but not defined"},
		{[]string{"-n", "x"}, 2, "invalid value"},
		{[]string{"stray"}, 2, "unexpected arguments"},
		{[]string{"-model", "no/such/dir"}, 1, "probe:"},
	} {
		var stderr strings.Builder
		require.Equal(t, c.code, mainCode(c.args, &stderr), "%v", c.args)
		require.Contains(t, stderr.String(), c.says, "%v", c.args)
	}
}
