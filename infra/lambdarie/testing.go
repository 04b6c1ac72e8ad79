package lambdarie

import (
	"context"
	"testing"

	"github.com/modeldao/modeldao/infra/procutil"
)

// StartT starts the emulator for a test and stops it when the test ends,
// logging the emulator's and the function's output if the test failed. A
// missing aws-lambda-rie fails the test with the command that builds it
// ("make tools").
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("lambdarie: %v", err)
	}
	procutil.CleanupT(t, "aws-lambda-rie "+s.Addr(), s.Output, s.Close)
	return s
}

// BuildT builds the Go Lambda function pkg (an import path, or a path like
// "./testdata/fn" relative to the test's package directory) into a temporary
// directory and returns the bootstrap's path. See Build.
func BuildT(t testing.TB, pkg string) string {
	t.Helper()
	path, err := Build(context.Background(), BuildOptions{Package: pkg, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return path
}
