//go:build xla

package model

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolveXLAConfig(t *testing.T) {
	const plugin = "/cache/zoomr/pjrt/pjrt_c_api_cpu_plugin.so"
	for _, tc := range []struct {
		name      string
		config    string
		installed bool
		envSet    bool
		goXLACPU  bool
		want      string // "" with wantErr
		wantErr   bool
	}{
		{name: "pure Go", config: "go:parallelism=-1", installed: true, want: "go:parallelism=-1"},
		{name: "cuda", config: "xla:cuda", installed: true, want: "xla:cuda"},
		{name: "best available", config: "xla", installed: true, want: "xla"},
		{name: "cpu installed", config: "xla:cpu", installed: true, want: "xla:" + plugin + ",shared_buffers"},
		{name: "alias and options", config: "stablehlo:cpu,tf32", installed: true, want: "stablehlo:" + plugin + ",shared_buffers,tf32"},
		{name: "no shared buffers asked", config: "xla:cpu,noshared_buffers", installed: true, want: "xla:" + plugin + ",noshared_buffers"},
		{name: "user's plugin path wins", config: "xla:cpu", installed: true, envSet: true, want: "xla:cpu"},
		{name: "go-xla's own install", config: "xla:cpu", goXLACPU: true, want: "xla:cpu"},
		{name: "nothing installed", config: "xla:cpu", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			installed := func() (string, bool) { return plugin, tc.installed }
			lookupEnv := func(string) (string, bool) { return "/somewhere", tc.envSet }
			got, path, err := resolveXLAConfig(tc.config, installed, lookupEnv, func() bool { return tc.goXLACPU })
			if tc.wantErr {
				require.ErrorIs(t, err, ErrBackend)
				assert.Contains(t, err.Error(), "go run ./examples/install-xla")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, strings.Contains(got, plugin), path == plugin)
		})
	}
}

// With GOMLX_BACKEND=xla:cpu the default backend runs on the plugin install-xla put in the user cache.
func TestDefaultBackendFindsInstalledXLAPlugin(t *testing.T) {
	if os.Getenv("GOMLX_BACKEND") != "xla:cpu" {
		t.Skip("set GOMLX_BACKEND=xla:cpu (after `go run ./examples/install-xla`) to check the XLA CPU backend")
	}
	b, err := DefaultBackend()
	require.NoError(t, err)
	assert.Equal(t, "xla", b.Name())
	t.Log(b.Description())
}
