package xlaplugin

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/zoomr-go/zoomr/internal/pywheel"
)

// InstallCommand is what a user runs to install the plugin; errors name it.
const InstallCommand = "go run ./examples/install-xla"

// PluginFile is the plugin's installed file name, in go-xla's naming (pjrt_c_api_<name>_plugin.so), so
// that the cache directory also works as a PJRT_PLUGIN_LIBRARY_PATH entry for other go-xla programs.
const PluginFile = "pjrt_c_api_cpu_plugin.so"

var (
	// ErrUnsupportedPlatform: no plugin is pinned for this OS and architecture.
	ErrUnsupportedPlatform = errors.New("xlaplugin: no XLA CPU plugin pinned for this platform")
	// ErrNotPlugin: the installed file is not a shared library that exports the PJRT entry point.
	ErrNotPlugin = errors.New("xlaplugin: not a PJRT plugin")
)

// pins holds the plugin wheel for each GOOS/GOARCH this project has tested.
var pins = map[string]pywheel.Wheel{
	"linux/amd64": {
		Project:  "lammps-jax-pjrt-cpu",
		Filename: "lammps_jax_pjrt_cpu-0.11.2-py3-none-manylinux_2_27_x86_64.whl",
		SHA256:   "1319390d948b39f69f7dade496b7c385149d9ca6097a6b62114da113216d9ad1",
		Members: []pywheel.Member{
			{Name: "lammps_jax_pjrt_cpu/pjrt_c_api_cpu_plugin.so", File: PluginFile, Mode: 0o755},
			// XLA's licence and its third-party notices travel with the binary.
			{Name: "lammps_jax_pjrt_cpu-0.11.2.dist-info/licenses/LICENSE", File: "pjrt_c_api_cpu_plugin.LICENSE"},
			{Name: "lammps_jax_pjrt_cpu-0.11.2.dist-info/licenses/THIRD_PARTY_NOTICES", File: "pjrt_c_api_cpu_plugin.THIRD_PARTY_NOTICES"},
		},
	},
}

// Pin returns the plugin wheel pinned for this platform.
func Pin() (pywheel.Wheel, error) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	w, ok := pins[platform]
	if !ok {
		return pywheel.Wheel{}, fmt.Errorf("%w: %s (pinned: %v); install a plugin with go-xla's installer or point "+
			"PJRT_PLUGIN_LIBRARY_PATH at one", ErrUnsupportedPlatform, platform, slices.Sorted(maps.Keys(pins)))
	}
	return w, nil
}

// Dir returns the directory the plugin is installed in: os.UserCacheDir()/zoomr/pjrt.
func Dir() (string, error) { return pywheel.CacheDir("pjrt") }

// Installed returns the plugin's path and true when a complete install of the pinned wheel is in Dir.
// It reads only the local file system.
func Installed() (string, bool) {
	w, err := Pin()
	if err != nil {
		return "", false
	}
	dir, err := Dir()
	if err != nil {
		return "", false
	}
	paths, ok := pywheel.Installed(w, dir)
	if !ok {
		return "", false
	}
	return paths[0], true
}

// Install installs the pinned plugin into Dir (a no-op when it is there) and returns its path. in says
// which index to use and where progress goes; nil means PyPI and no progress.
func Install(ctx context.Context, in *pywheel.Installer) (string, error) {
	w, err := Pin()
	if err != nil {
		return "", err
	}
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	if in == nil {
		in = &pywheel.Installer{}
	}
	paths, err := in.Install(ctx, w, dir)
	if err != nil {
		return "", fmt.Errorf("installing the XLA CPU plugin: %w", err)
	}
	if CheckExportsPJRT(paths[0]) != nil {
		// Damaged after its install (the stamp only records sizes): fetch it again.
		if err := pywheel.Forget(w, dir); err != nil {
			return "", err
		}
		if paths, err = in.Install(ctx, w, dir); err != nil {
			return "", fmt.Errorf("reinstalling the XLA CPU plugin: %w", err)
		}
	}
	if err := CheckExportsPJRT(paths[0]); err != nil {
		return "", err
	}
	return paths[0], nil
}

// CheckExportsPJRT reports whether the file at path is an ELF shared library that exports GetPjrtApi,
// the symbol go-xla looks up after dlopen.
func CheckExportsPJRT(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNotPlugin, path, err)
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		return fmt.Errorf("%w: %s has no dynamic symbols: %v", ErrNotPlugin, path, err)
	}
	for _, s := range syms {
		if s.Name == "GetPjrtApi" && elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Section != elf.SHN_UNDEF {
			return nil
		}
	}
	return fmt.Errorf("%w: %s (%d dynamic symbols) does not export GetPjrtApi", ErrNotPlugin, path, len(syms))
}

// PluginPath returns where Install puts the plugin on this platform, whether or not it is there.
func PluginPath() (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, PluginFile), nil
}
