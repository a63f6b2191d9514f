package pywheel_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/zoomr-go/zoomr/internal/pywheel"
)

// A wheel pinned by name and sha256, one member extracted into a cache directory. The index here is a
// local stand-in for https://pypi.org/simple.
func ExampleInstaller_Install() {
	var wheel bytes.Buffer
	zw := zip.NewWriter(&wheel)
	w, _ := zw.Create("greeting/hello.txt")
	w.Write([]byte("hello from a wheel\n"))
	zw.Close()
	sum := sha256.Sum256(wheel.Bytes())

	index := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/simple/greeting/":
			fmt.Fprintf(rw, `{"files": [{"filename": "greeting-1.0-py3-none-any.whl", "url": "/files/greeting-1.0-py3-none-any.whl"}]}`)
		case "/files/greeting-1.0-py3-none-any.whl":
			rw.Write(wheel.Bytes())
		}
	}))
	defer index.Close()

	dir, _ := os.MkdirTemp("", "pywheel-example")
	defer os.RemoveAll(dir)
	in := &pywheel.Installer{Index: index.URL + "/simple"}
	pin := pywheel.Wheel{
		Project:  "greeting",
		Filename: "greeting-1.0-py3-none-any.whl",
		SHA256:   hex.EncodeToString(sum[:]),
		Members:  []pywheel.Member{{Name: "greeting/hello.txt", File: "hello.txt"}},
	}
	paths, err := in.Install(context.Background(), pin, dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	data, _ := os.ReadFile(paths[0])
	fmt.Print(filepath.Base(paths[0]), ": ", string(data))

	index.Close() // installed: a second Install needs no index
	_, err = in.Install(context.Background(), pin, dir)
	fmt.Println("again:", err)
	// Output:
	// hello.txt: hello from a wheel
	// again: <nil>
}
