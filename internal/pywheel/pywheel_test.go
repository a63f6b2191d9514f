package pywheel

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeIndex serves one project page (PEP 691 JSON) and one wheel file, and counts requests.
type fakeIndex struct {
	srv      *httptest.Server
	requests atomic.Int64
	wheel    []byte            // what /files/<name> serves
	listed   []indexFile       // the project page's files
	status   map[string]int    // path → HTTP status to answer instead
	hooks    map[string]func() // path → called before answering
	midBody  func()            // when set: the wheel's response stops halfway, calls it, and hangs
}

// wheelFile is one member of a test wheel.
type wheelFile struct {
	name  string
	data  []byte
	store bool // uncompressed, so that a test can corrupt its bytes
}

func makeWheel(t *testing.T, files ...wheelFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		method := zip.Deflate
		if f.store {
			method = zip.Store
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: method})
		require.NoError(t, err)
		_, err = w.Write(f.data)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func sha(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

const (
	testProject  = "Demo_Project"
	testFilename = "demo_project-1.0-py3-none-any.whl"
)

// newFakeIndex serves wheel as testFilename, listed with a URL relative to the project page (as some
// mirrors answer) and with its sha256.
func newFakeIndex(t *testing.T, wheel []byte) *fakeIndex {
	fi := &fakeIndex{wheel: wheel, status: map[string]int{}, hooks: map[string]func(){}}
	fi.listed = []indexFile{{Filename: testFilename, URL: "../../files/" + testFilename,
		Hashes: map[string]string{"sha256": sha(wheel)}, Size: int64(len(wheel))}}
	fi.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fi.requests.Add(1)
		if hook := fi.hooks[r.URL.Path]; hook != nil {
			hook()
		}
		if code := fi.status[r.URL.Path]; code != 0 {
			http.Error(w, "no", code)
			return
		}
		switch r.URL.Path {
		case "/simple/demo-project/": // the PEP 503 normalised name
			w.Header().Set("Content-Type", simpleJSONType)
			json.NewEncoder(w).Encode(map[string]any{"files": fi.listed})
		case "/files/" + testFilename:
			if fi.midBody == nil {
				w.Write(fi.wheel)
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(fi.wheel)))
			w.Write(fi.wheel[:len(fi.wheel)/2])
			w.(http.Flusher).Flush()
			fi.midBody()
			<-r.Context().Done()
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(fi.srv.Close)
	return fi
}

func (fi *fakeIndex) installer() *Installer {
	return &Installer{Index: fi.srv.URL + "/simple", Client: fi.srv.Client()}
}

func demoPin(wheel []byte) Wheel {
	return Wheel{Project: testProject, Filename: testFilename, SHA256: sha(wheel), Members: []Member{
		{Name: "demo/lib.so", File: "lib.so", Mode: 0o755},
		{Name: "demo/model.bin", File: "model.bin"},
	}}
}

var demoFiles = []wheelFile{
	{name: "demo/__init__.py", data: []byte("")},
	{name: "demo/lib.so", data: []byte("\x7fELF not really")},
	{name: "demo/model.bin", data: bytes.Repeat([]byte("weights "), 1000)},
}

func TestInstallThenReuse(t *testing.T) {
	wheel := makeWheel(t, demoFiles...)
	fi := newFakeIndex(t, wheel)
	dir := filepath.Join(t.TempDir(), "cache", "demo")
	pin := demoPin(wheel)

	paths, err := fi.installer().Install(context.Background(), pin, dir)
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(dir, "lib.so"), filepath.Join(dir, "model.bin")}, paths)
	for i, want := range demoFiles[1:] {
		got, err := os.ReadFile(paths[i])
		require.NoError(t, err)
		assert.Equal(t, want.data, got)
	}
	info, err := os.Stat(paths[0])
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), info.Mode().Perm())
	assert.Equal(t, int64(2), fi.requests.Load(), "one index page and one wheel")
	assert.Equal(t, []string{"." + testFilename + ".installed.json", "lib.so", "model.bin"}, dirNames(t, dir),
		"no temporary files left, no wheel kept")

	// A second install reads the stamp and touches no network, even with the index gone.
	fi.srv.Close()
	again, err := fi.installer().Install(context.Background(), pin, dir)
	require.NoError(t, err)
	assert.Equal(t, paths, again)
	assert.Equal(t, int64(2), fi.requests.Load())
	_, ok := Installed(pin, dir)
	assert.True(t, ok)
}

// A member that went missing or changed size since the install, or a stamp of another pin, makes Install
// fetch the wheel again.
func TestInstallRepairs(t *testing.T) {
	wheel := makeWheel(t, demoFiles...)
	for _, tc := range []struct {
		name   string
		damage func(dir string) error
		pin    func(Wheel) Wheel
	}{
		{name: "file removed", damage: func(dir string) error { return os.Remove(filepath.Join(dir, "model.bin")) }},
		{name: "file truncated", damage: func(dir string) error { return os.Truncate(filepath.Join(dir, "lib.so"), 3) }},
		{name: "stamp corrupt", damage: func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "."+testFilename+".installed.json"), []byte("{"), 0o644)
		}},
		{name: "forgotten", damage: func(dir string) error { return Forget(demoPin(wheel), dir) }},
		{name: "stamp of another pin", damage: func(dir string) error {
			st := stamp{SHA256: strings.Repeat("0", 64), Sizes: map[string]int64{"lib.so": 15, "model.bin": 8000}}
			return os.WriteFile(filepath.Join(dir, "."+testFilename+".installed.json"), st.encode(), 0o644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fi := newFakeIndex(t, wheel)
			dir := t.TempDir()
			pin := demoPin(wheel)
			_, err := fi.installer().Install(context.Background(), pin, dir)
			require.NoError(t, err)
			require.NoError(t, tc.damage(dir))
			_, ok := Installed(pin, dir)
			require.False(t, ok)
			paths, err := fi.installer().Install(context.Background(), pin, dir)
			require.NoError(t, err)
			assert.Equal(t, int64(4), fi.requests.Load(), "fetched again")
			got, err := os.ReadFile(paths[1])
			require.NoError(t, err)
			assert.Equal(t, demoFiles[2].data, got)
		})
	}
}

func TestInstallErrors(t *testing.T) {
	good := makeWheel(t, demoFiles...)
	// A stored member with one byte flipped after the zip was written: its CRC-32 no longer matches.
	corrupt := makeWheel(t, wheelFile{name: "demo/lib.so", data: []byte("0123456789abcdef"), store: true},
		wheelFile{name: "demo/model.bin", data: []byte("x")})
	corrupt[bytes.Index(corrupt, []byte("0123456789"))] ^= 0xff

	for _, tc := range []struct {
		name  string
		wheel []byte
		setup func(fi *fakeIndex, pin *Wheel)
		want  error
	}{
		{name: "index lists another sha256", wheel: good, want: ErrChecksum,
			setup: func(fi *fakeIndex, pin *Wheel) { pin.SHA256 = strings.Repeat("ab", 32) }},
		{name: "download has another sha256", wheel: good, want: ErrChecksum, setup: func(fi *fakeIndex, pin *Wheel) {
			pin.SHA256 = strings.Repeat("ab", 32)
			fi.listed[0].Hashes = nil // the index does not say: only the download's hash catches it
		}},
		{name: "member missing", wheel: good, want: ErrMemberMissing, setup: func(fi *fakeIndex, pin *Wheel) {
			pin.Members = append(pin.Members, Member{Name: "demo/absent.so", File: "absent.so"})
		}},
		{name: "file not in index", wheel: good, want: ErrNotInIndex,
			setup: func(fi *fakeIndex, pin *Wheel) { fi.listed[0].Filename = "demo_project-2.0-py3-none-any.whl" }},
		{name: "project page 404", wheel: good, want: ErrNetwork,
			setup: func(fi *fakeIndex, pin *Wheel) { fi.status["/simple/demo-project/"] = http.StatusNotFound }},
		{name: "wheel 503", wheel: good, want: ErrNetwork,
			setup: func(fi *fakeIndex, pin *Wheel) { fi.status["/files/"+testFilename] = http.StatusServiceUnavailable }},
		{name: "index down", wheel: good, want: ErrNetwork, setup: func(fi *fakeIndex, pin *Wheel) { fi.srv.Close() }},
		{name: "not a zip", wheel: []byte("this is no zip archive"), want: ErrInvalidWheel},
		{name: "member fails its CRC", wheel: corrupt, want: ErrInvalidWheel},
		{name: "pin with upper-case sha256", wheel: good, want: ErrInvalidPin,
			setup: func(fi *fakeIndex, pin *Wheel) { pin.SHA256 = strings.ToUpper(pin.SHA256) }},
		{name: "pin without sha256", wheel: good, want: ErrInvalidPin, setup: func(fi *fakeIndex, pin *Wheel) { pin.SHA256 = "" }},
		{name: "member file is a path", wheel: good, want: ErrInvalidPin,
			setup: func(fi *fakeIndex, pin *Wheel) { pin.Members[0].File = "../lib.so" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fi := newFakeIndex(t, tc.wheel)
			pin := demoPin(tc.wheel)
			pin.Members = append([]Member(nil), pin.Members...)
			if tc.setup != nil {
				tc.setup(fi, &pin)
			}
			dir := t.TempDir()
			_, err := fi.installer().Install(context.Background(), pin, dir)
			require.ErrorIs(t, err, tc.want)
			t.Log(err)
			assert.Empty(t, dirNames(t, dir), "a failed install leaves nothing behind")
		})
	}
}

func TestInstallCancelled(t *testing.T) {
	wheel := makeWheel(t, demoFiles...)
	for _, tc := range []struct {
		name  string
		setup func(fi *fakeIndex, cancel context.CancelFunc)
	}{
		{"already cancelled", func(fi *fakeIndex, cancel context.CancelFunc) { cancel() }},
		{"before the wheel's answer", func(fi *fakeIndex, cancel context.CancelFunc) { fi.hooks["/files/"+testFilename] = cancel }},
		{"halfway through the wheel", func(fi *fakeIndex, cancel context.CancelFunc) { fi.midBody = cancel }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fi := newFakeIndex(t, wheel)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tc.setup(fi, cancel)
			dir := t.TempDir()
			_, err := fi.installer().Install(ctx, demoPin(wheel), dir)
			require.ErrorIs(t, err, context.Canceled)
			assert.Empty(t, dirNames(t, dir))
		})
	}
}

// A response cut short (the server hangs up mid-body) is a network error, not a checksum mismatch.
func TestInstallTruncatedDownload(t *testing.T) {
	wheel := makeWheel(t, demoFiles...)
	fi := newFakeIndex(t, wheel)
	fi.midBody = func() { fi.srv.CloseClientConnections() }
	dir := t.TempDir()
	_, err := fi.installer().Install(context.Background(), demoPin(wheel), dir)
	require.ErrorIs(t, err, ErrNetwork)
	t.Log(err)
	assert.Empty(t, dirNames(t, dir))
}

func TestInstallShowsProgressForBigDownloads(t *testing.T) {
	big := make([]byte, 3<<20) // incompressible, so that the wheel stays over 1 MiB
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	for _, tc := range []struct {
		name     string
		member   []byte
		progress bool
	}{
		{"big", big, true},
		{"small", []byte("tiny"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wheel := makeWheel(t, wheelFile{name: "demo/lib.so", data: []byte("so")}, wheelFile{name: "demo/model.bin", data: tc.member})
			fi := newFakeIndex(t, wheel)
			var progress bytes.Buffer
			in := fi.installer()
			in.Progress = &progress
			_, err := in.Install(context.Background(), demoPin(wheel), t.TempDir())
			require.NoError(t, err)
			if tc.progress {
				assert.Contains(t, progress.String(), "downloading "+testFilename)
				assert.Contains(t, progress.String(), "100%")
			} else {
				assert.Empty(t, progress.String())
			}
		})
	}
}

func TestCacheDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/tmp/xdg")
	t.Setenv("HOME", "/tmp/home")
	dir, err := CacheDir("pjrt")
	require.NoError(t, err)
	want := map[string]string{"linux": "/tmp/xdg/zoomr/pjrt", "darwin": "/tmp/home/Library/Caches/zoomr/pjrt"}
	if w, ok := want[runtime.GOOS]; ok {
		assert.Equal(t, w, dir)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
