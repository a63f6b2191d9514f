// Command install-xla installs the XLA CPU PJRT plugin that this project's XLA backend runs on, from its
// pinned Python wheel (name, version and sha256 in internal/xlaplugin), into the user cache:
//
//	go run ./examples/install-xla        # prints the plugin's path as its last line
//
// It is idempotent: once installed, it checks the files and prints the path without network access.
// Then, in a build with -tags xla, GOMLX_BACKEND=xla:cpu finds the plugin with no further setting:
//
//	GOMLX_BACKEND=xla:cpu go test -tags xla ./model/
//
// The plugin lives in os.UserCacheDir()/zoomr/pjrt ($XDG_CACHE_HOME/zoomr/pjrt or ~/.cache/zoomr/pjrt on
// Linux); see docs/xla.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/zoomr-go/zoomr/internal/pywheel"
	"github.com/zoomr-go/zoomr/internal/xlaplugin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "install-xla:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("install-xla", flag.ContinueOnError)
	fs.SetOutput(stderr)
	index := fs.String("index", pywheel.DefaultIndex, "package index (PEP 691 simple API) to fetch the wheel from")
	quiet := fs.Bool("q", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./examples/install-xla [-index URL] [-q]\n\n"+
			"Installs the pinned XLA CPU PJRT plugin into the user cache and prints its path.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	pin, err := xlaplugin.Pin()
	if err != nil {
		return err
	}
	if _, ok := xlaplugin.Installed(); ok {
		fmt.Fprintf(stderr, "the XLA CPU plugin from %s is installed; checking it\n", pin.Filename)
	} else {
		fmt.Fprintf(stderr, "installing the XLA CPU plugin from %s (sha256 %s)\n", pin.Filename, pin.SHA256)
	}
	in := &pywheel.Installer{Index: *index}
	if !*quiet {
		in.Progress = stderr
	}
	path, err := xlaplugin.Install(ctx, in)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, path)
	return nil
}
