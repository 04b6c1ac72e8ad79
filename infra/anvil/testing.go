package anvil

import (
	"context"
	"testing"

	"github.com/modeldao/modeldao/infra/procutil"
)

// StartT starts anvil for a test (opts is optional, at most one) and stops it when the
// test ends, logging its output if the test failed. A missing anvil binary fails the test
// with the command that installs it ("make tools").
func StartT(t testing.TB, opts ...Options) *Node {
	t.Helper()
	n, err := Start(context.Background(), procutil.OptionsT(t, "anvil.StartT", opts))
	if err != nil {
		t.Fatalf("anvil: %v", err)
	}
	procutil.CleanupT(t, "anvil "+n.URL(), n.Output, n.Close)
	return n
}
