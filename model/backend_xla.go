//go:build xla

package model

// Building with -tags xla links GoMLX's XLA backend, so GOMLX_BACKEND=xla:cuda (or xla:cpu) runs the same
// graphs on an accelerator where a PJRT plugin is installed. The default build stays pure Go.
//
// "xla:cpu" runs on the plugin that `go run ./examples/install-xla` puts in the user cache
// (internal/xlaplugin), with no environment variable: go-xla reads its plugin search path once, at
// package initialisation, so instead of extending it the configuration is rewritten to the plugin's
// absolute path (which also skips GoMLX's auto-install, a download from GitHub).
import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/gomlx/go-xla/pkg/pjrt"
	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/xla"
	"github.com/zoomr-go/zoomr/internal/xlaplugin"
)

func init() { newBackend = newBackendFindingXLA }

// newBackendFindingXLA creates the backend config names, with "xla:cpu" pointed at the installed plugin.
// A missing plugin, or one that does not load, is an ErrBackend that names the install command.
func newBackendFindingXLA(config string) (backends.Backend, error) {
	resolved, plugin, err := resolveXLAConfig(config, xlaplugin.Installed, os.LookupEnv, goXLAHasCPUPlugin)
	if err != nil {
		return nil, err
	}
	b, err := newXLABackend(resolved, plugin, os.Getenv("XLA_FLAGS"))
	if err != nil && plugin != "" {
		return nil, fmt.Errorf("%w\nthe XLA CPU plugin %s did not load: reinstall it with `%s` (docs/xla.md)",
			err, plugin, xlaplugin.InstallCommand)
	}
	return b, err
}

// xlaBackendNames are the names GoMLX registers its XLA backend under.
var xlaBackendNames = []string{"xla", "stablehlo", "hlo", "shlo"}

// resolveXLAConfig rewrites "xla:cpu[,options]" to the installed plugin's absolute path and returns that
// path. Other configurations, and "xla:cpu" when PJRT_PLUGIN_LIBRARY_PATH is set (the user chose their
// plugins), pass unchanged. When no plugin is installed in the cache and go-xla has no "cpu" plugin of
// its own either, it returns an error naming the install command.
func resolveXLAConfig(config string, installed func() (string, bool), lookupEnv func(string) (string, bool),
	goXLAHasCPU func() bool) (resolved, plugin string, err error) {
	name, rest, _ := strings.Cut(config, ":")
	pluginName, options, _ := strings.Cut(rest, ",")
	if !slices.Contains(xlaBackendNames, name) || pluginName != "cpu" {
		return config, "", nil
	}
	if _, set := lookupEnv(pjrt.PJRTPluginPathsEnv); set {
		return config, "", nil
	}
	path, ok := installed()
	if !ok {
		if goXLAHasCPU() {
			return config, "", nil
		}
		want, _ := xlaplugin.PluginPath()
		return "", "", fmt.Errorf("%w: %q needs the XLA CPU PJRT plugin, not installed at %s: run `%s`",
			ErrBackend, config, want, xlaplugin.InstallCommand)
	}
	// GoMLX shares host and device buffers only for a plugin named "cpu"; by path it must be asked.
	opts := []string{path}
	if !slices.Contains(strings.Split(options, ","), "noshared_buffers") {
		opts = append(opts, "shared_buffers")
	}
	if options != "" {
		opts = append(opts, options)
	}
	return name + ":" + strings.Join(opts, ","), path, nil
}

// goXLAHasCPUPlugin reports whether go-xla's own search path (~/.local/lib/go-xla, /usr/local/lib/go-xla,
// the system library directories) holds a CPU plugin, e.g. one its installer put there.
func goXLAHasCPUPlugin() bool {
	_, ok := pjrt.AvailablePlugins()["cpu"]
	return ok
}
