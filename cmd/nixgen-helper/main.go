// Command nixgen-helper does the host-side work of nixgen from systemd units:
// creating and fixing datasets, and restoring data before a service starts.
// This package is wiring only; the logic lives in internal/.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// SIGTERM from systemd cancels the context: running zfs calls get
	// SIGTERM in turn and the helper exits with an error.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
