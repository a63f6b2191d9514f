package train

import (
	"fmt"
	"os"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
)

// NewBackend returns a pure-Go backend for training: unlimited parallelism (the default bounded
// worker pool can deadlock on graphs with many independent matmuls; docs/DESIGN.md, Engines) and without the
// decode-oriented small-matmul setting. Use it for the model passed to New, separate from the
// inference backend (model.DefaultBackend), and load that model with model.WithTrainingLayout().
func NewBackend() (b backends.Backend, err error) {
	// The backend prints its configuration to stdout; keep stdout clean for programs that write
	// results there.
	stdout := os.Stdout
	if devnull, openErr := os.Open(os.DevNull); openErr == nil {
		os.Stdout = devnull
		defer func() { os.Stdout = stdout; devnull.Close() }()
	}
	b, err = simplego.New("parallelism=-1")
	if err != nil {
		return nil, fmt.Errorf("train: creating the training backend: %w", err)
	}
	return b, nil
}
