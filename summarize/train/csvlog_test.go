package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCSVLogHeaderOnceAcrossResume: a log file reopened for appending (a resumed run) gets no
// second header; a new file gets one.
func TestCSVLogHeaderOnceAcrossResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "train.csv")
	for run := range 2 {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		require.NoError(t, err)
		l := newCSVLog(f)
		require.NoError(t, l.step(StepStats{Step: run}))
		require.NoError(t, f.Close())
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 3)
	require.True(t, strings.HasPrefix(lines[0], "step,lr,"))
	require.True(t, strings.HasPrefix(lines[1], "1,"))
	require.True(t, strings.HasPrefix(lines[2], "2,"))
}
