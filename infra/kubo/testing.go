package kubo

import (
	"context"
	"testing"

	"github.com/modeldao/modeldao/infra/procutil"
)

// StartT starts a kubo daemon for a test (opts is optional, at most one) and
// stops it and removes its repository when the test ends, logging its output
// if the test failed. A missing ipfs binary fails the test with the command
// that builds it ("make tools").
func StartT(t testing.TB, opts ...Options) *Server {
	t.Helper()
	var o Options
	switch len(opts) {
	case 0:
	case 1:
		o = opts[0]
	default:
		t.Fatalf("kubo.StartT: at most one Options, got %d", len(opts))
	}
	s, err := Start(context.Background(), o)
	if err != nil {
		t.Fatalf("kubo: %v", err)
	}
	procutil.CleanupT(t, "ipfs daemon "+s.APIURL(), s.Output, s.Close)
	return s
}
