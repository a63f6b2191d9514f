// Package cli is what every program under examples/ shares at its entry point: -h exits 0, an
// interrupt cancels the context, and an error is printed with the program's name and exits 1.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Main runs run with the program's arguments, stdout, and a context cancelled on SIGINT/SIGTERM,
// and exits: 0 on success or when help was asked for (-h, -help), 1 with "name: error" on stderr
// otherwise. run should parse its flags with a flag.ContinueOnError FlagSet (NewFlags).
func Main(name string, run func(ctx context.Context, args []string, stdout io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// NewFlags is a FlagSet that returns errors (flag.ErrHelp for -h) instead of exiting, so programs
// are testable; usage goes to stderr.
func NewFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}
