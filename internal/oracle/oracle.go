// Package oracle finds and runs the llama.cpp reference tools (../shared/oracle, Node.js) that golden files
// are made with. Tests that need it skip, with a message saying what is missing, when it is not installed.
package oracle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Dir returns the oracle's folder: $ZOOMR_ORACLE, or shared/oracle beside the repository root.
func Dir() (string, error) {
	if d := os.Getenv("ZOOMR_ORACLE"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			cand := filepath.Join(filepath.Dir(dir), "shared", "oracle")
			if _, err := os.Stat(filepath.Join(cand, "reference.mjs")); err == nil {
				return cand, nil
			}
			return "", fmt.Errorf("oracle not found at %s (set ZOOMR_ORACLE)", cand)
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("oracle: repository root (go.mod) not found")
		}
	}
}

// DepsDir returns where the oracle's npm dependencies are installed: $ORACLE_DEPS or ~/.cache/zoomr-oracle.
func DepsDir() string {
	if d := os.Getenv("ORACLE_DEPS"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "zoomr-oracle")
}

// Available reports why the oracle cannot run here, or nil when it can.
func Available() error {
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("node is not installed")
	}
	if _, err := Dir(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(DepsDir(), "node_modules", "node-llama-cpp")); err != nil {
		return fmt.Errorf("oracle dependencies not installed in %s (run shared/oracle/setup.sh)", DepsDir())
	}
	return nil
}

// LiveEnv is the environment variable that opts in to the slow live checks (SkipUnlessLive): .ci/run
// sets it.
const LiveEnv = "ZOOMR_ORACLE_LIVE"

// SkipUnlessLive skips t unless $ZOOMR_ORACLE_LIVE is set and the oracle can run. It guards the checks
// that re-run llama.cpp to reproduce committed goldens (minutes on two cores): the default test run
// checks our code against the goldens and leaves proving the goldens to CI.
func SkipUnlessLive(t testing.TB) {
	t.Helper()
	if os.Getenv(LiveEnv) == "" {
		t.Skipf("re-running llama.cpp on the committed goldens is slow: set %s=1 to run it (.ci/run does)", LiveEnv)
	}
	SkipUnlessAvailable(t)
}

// SkipUnlessAvailable skips t with the reason when the oracle cannot run.
func SkipUnlessAvailable(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("llama.cpp oracle unavailable, skipping the reference check: %v", err)
	}
}

// Run executes `node <oracle>/<script> args... --deps <deps>` and returns its stdout.
func Run(ctx context.Context, script string, args ...string) ([]byte, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	args = append([]string{filepath.Join(dir, script)}, args...)
	args = append(args, "--deps", DepsDir())
	cmd := exec.CommandContext(ctx, "node", args...)
	var stderr []byte
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 64 << 10}
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("oracle %s: %w\n%s", script, err, stderr)
	}
	return out, nil
}

type limitedBuffer struct {
	buf *[]byte
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - len(*l.buf); room > 0 {
		*l.buf = append(*l.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
