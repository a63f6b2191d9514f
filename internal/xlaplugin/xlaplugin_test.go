package xlaplugin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/internal/pywheel"
)

func TestDirAndInstalledFollowTheUserCache(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("XDG_CACHE_HOME is the Linux cache location")
	}
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	dir, err := Dir()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(cache, "zoomr", "pjrt"), dir)
	path, err := PluginPath()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(cache, "zoomr", "pjrt", PluginFile), path)
	_, ok := Installed()
	assert.False(t, ok, "nothing installed in a fresh cache")

	// A plugin file without the install stamp is not a complete install.
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(path, []byte("partial"), 0o755))
	_, ok = Installed()
	assert.False(t, ok)
}

// Install fetches the pinned wheel by name from the index and refuses bytes that are not the pin.
func TestInstallChecksThePin(t *testing.T) {
	if _, err := Pin(); err != nil {
		t.Skip(err)
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	pin, _ := Pin()
	var (
		mu    sync.Mutex
		asked []string
	)
	index := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/simple/" + pin.Project + "/":
			w.Write([]byte(`{"files": [{"filename": "` + pin.Filename + `", "url": "/f.whl"}]}`))
		case "/f.whl":
			w.Write([]byte("not the pinned wheel"))
		}
	}))
	defer index.Close()
	_, err := Install(context.Background(), &pywheel.Installer{Index: index.URL + "/simple"})
	require.ErrorIs(t, err, pywheel.ErrChecksum)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"/simple/" + pin.Project + "/", "/f.whl"}, asked)
}

type exportCase struct {
	name string
	path string
	ok   bool // exports GetPjrtApi
}

func TestCheckExportsPJRT(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text.so")
	require.NoError(t, os.WriteFile(text, []byte("not ELF"), 0o644))
	self, err := os.Executable() // an ELF file (on Linux) without GetPjrtApi
	require.NoError(t, err)

	cases := []exportCase{
		{"not ELF", text, false},
		{"missing", filepath.Join(dir, "absent.so"), false},
	}
	if runtime.GOOS == "linux" {
		cases = append(cases, exportCase{"ELF without the symbol", self, false})
	}
	if cc, err := exec.LookPath("cc"); err == nil && runtime.GOOS == "linux" {
		// A minimal shared library exporting the PJRT entry point.
		src := filepath.Join(dir, "p.c")
		so := filepath.Join(dir, "pjrt_c_api_fake_plugin.so")
		require.NoError(t, os.WriteFile(src, []byte("void *GetPjrtApi(void) { return 0; }\n"), 0o644))
		out, err := exec.Command(cc, "-shared", "-fPIC", "-o", so, src).CombinedOutput()
		require.NoError(t, err, string(out))
		cases = append(cases, exportCase{"shared library exporting GetPjrtApi", so, true})
	}
	if path, ok := Installed(); ok {
		cases = append(cases, exportCase{"the installed plugin", path, true})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckExportsPJRT(tc.path)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrNotPlugin)
				t.Log(err)
			}
		})
	}
}
