// Command modeldao is the command line of ModelDAO: `modeldao dev` runs the whole stack
// locally (what `make dev` runs), and the other commands publish model versions, propose,
// vote, delegate, audit, query the API and check the index. Run `modeldao help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/modeldao/modeldao/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, SetMemoryLimit: debug.SetMemoryLimit})
	stop()
	os.Exit(code)
}
