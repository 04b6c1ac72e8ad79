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
	s, err := Start(context.Background(), procutil.OptionsT(t, "kubo.StartT", opts))
	if err != nil {
		t.Fatalf("kubo: %v", err)
	}
	procutil.CleanupT(t, "ipfs daemon "+s.APIURL(), s.Output, s.Close)
	return s
}
