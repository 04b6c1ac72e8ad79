package differential

import (
	"context"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// TestDifferential runs 1,000 random actions on a DAO and, at three points of its history,
// indexes the chain up to the head and compares every fact and every list of the API with
// the contracts at that block.
func TestDifferential(t *testing.T) {
	ctx := context.Background()
	const seed = 7
	h := newHarness(ctx, t, seed)
	d := newDriver(h.s, seed)
	var known []common.Address
	for _, a := range h.s.Chain.Accounts {
		known = append(known, a.Address)
	}
	nobody := common.HexToAddress("0x00000000000000000000000000000000DeaDBeef")
	for i, n := range []int{300, 350, 350} {
		if err := d.run(ctx, n); err != nil {
			t.Fatalf("actions: %v", err)
		}
		at := h.index(ctx, t)
		o := newOracle(ctx, t, h.rpc, h.s.DAO.Deployment, known, at)
		t.Logf("checkpoint %d at block %d: %d proposals, %d votes, %d accounts, %d versions, %d audits, %d policies",
			i+1, at, len(o.proposals), len(o.votes), len(o.addrs), len(o.versions), len(o.audits), len(o.policies))
		c := newChecker(t, at)
		h.checkDAO(ctx, c, o)
		h.checkProposals(ctx, c, o)
		h.checkVotes(ctx, c, o)
		h.checkAccounts(ctx, c, o, nobody)
		h.checkGovLists(ctx, c, o, 3+i)
		h.checkRegistry(ctx, c, o)
		h.checkRegistryLists(ctx, c, o, 3+i)
		c.report()
	}
	t.Logf("driver: %d equalized voting powers, %d dust transfers, %d executions by the timelock, %d emptied delegators", d.equalized, d.dust, d.timelockExecuted, d.emptied)
	if d.equalized == 0 || d.timelockExecuted == 0 || d.emptied == 0 {
		t.Errorf("the history lacks a hard case: %d equalizations, %d timelock executions, %d emptied delegators", d.equalized, d.timelockExecuted, d.emptied)
	}
}
