package train

import (
	"fmt"
	"os"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/zoomr-go/zoomr/model"
)

// NewBackend returns the backend to train on. By default that is a pure-Go backend of its own:
// unlimited parallelism (the default bounded worker pool can deadlock on graphs with many independent
// matmuls; docs/DESIGN.md, Engines) and without the decode-oriented small-matmul setting. Use it for the model passed
// to New, separate from the inference backend (model.DefaultBackend), and load that model with
// model.WithTrainingLayout().
//
// When $GOMLX_BACKEND names another backend (e.g. xla:cpu in a -tags xla build), training runs there:
// on the process-wide model.DefaultBackend, which finds the installed XLA plugin.
func NewBackend() (b backends.Backend, err error) {
	if config := os.Getenv(backends.ConfigEnvVar); config != "" && !strings.HasPrefix(config, simplego.BackendName) {
		if b, err = model.DefaultBackend(); err != nil {
			return nil, fmt.Errorf("train: creating the training backend: %w", err)
		}
		return b, nil
	}
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
