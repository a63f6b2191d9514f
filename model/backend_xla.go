//go:build xla

package model

// Building with -tags xla links GoMLX's XLA backend, so GOMLX_BACKEND=xla:cuda (or xla:cpu) runs the same
// graphs on an accelerator where a PJRT plugin is installed. The default build stays pure Go.
import _ "github.com/gomlx/gomlx/backends/xla"
