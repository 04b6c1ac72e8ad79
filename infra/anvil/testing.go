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
	var o Options
	switch len(opts) {
	case 0:
	case 1:
		o = opts[0]
	default:
		t.Fatalf("anvil.StartT: at most one Options, got %d", len(opts))
	}
	n, err := Start(context.Background(), o)
	if err != nil {
		t.Fatalf("anvil: %v", err)
	}
	procutil.CleanupT(t, "anvil "+n.URL(), n.Output, n.Close)
	return n
}
