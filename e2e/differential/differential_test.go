package differential

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao/internal/scenario"
)

// TestDifferential runs 1,000 random actions on a DAO and, at three points of its history,
// indexes the chain up to the head and compares every fact and every list of the API with
// the contracts at that block. It runs on go-ethereum's simulated backend and on anvil, a
// second node implementation in its own process (automine: a block per transaction; chain
// id 31337), whose indexer reads through a proxy adding 30–90 ms to every call.
func TestDifferential(t *testing.T) {
	for _, b := range []backend{simulated, anvilNode} {
		t.Run(b.name, func(t *testing.T) { differential(t, b, 7, []int{300, 350, 350}) })
	}
}

// differential runs the actions in stretches of the given lengths, checking the API after
// each.
func differential(t *testing.T, b backend, seed uint64, stretches []int) {
	ctx := context.Background()
	h := newHarness(ctx, t, b, seed)
	d := newDriver(h.s, seed)
	var known []common.Address
	for i := range scenario.Accounts {
		known = append(known, h.s.Address(i))
	}
	nobody := common.HexToAddress("0x00000000000000000000000000000000DeaDBeef")
	var kept []*saved
	for i, n := range stretches {
		start := time.Now()
		if err := d.run(ctx, n-1); err != nil {
			t.Fatalf("actions: %v", err)
		}
		if err := d.closeCall(ctx); err != nil {
			t.Fatalf("actions: %v", err)
		}
		acted := time.Now()
		at := h.index(ctx, t)
		indexed := time.Now()
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
		// Cursors taken at the previous checkpoint resume the lists as they are now.
		for _, sv := range kept {
			h.resume(ctx, c, sv, stableLists(c, o)[sv.spec.name].want, 4)
		}
		kept = kept[:0]
		for _, s := range stableLists(c, o) {
			if sv := h.save(ctx, c, s); sv != nil {
				kept = append(kept, sv)
			}
		}
		c.report()
		// Where the time goes, to keep the package within its budget on a busy machine.
		t.Logf("checkpoint %d took %s: actions %s, indexing %s, checks %s", i+1, time.Since(start).Round(time.Millisecond),
			acted.Sub(start).Round(time.Millisecond), indexed.Sub(acted).Round(time.Millisecond), time.Since(indexed).Round(time.Millisecond))
	}
	t.Logf("driver: %d equalized voting powers, %d dust transfers, %d executions by the timelock, %d emptied delegators", d.equalized, d.dust, d.timelockExecuted, d.emptied)
	if d.equalized == 0 || d.timelockExecuted == 0 || d.emptied == 0 {
		t.Errorf("the history lacks a hard case: %d equalizations, %d timelock executions, %d emptied delegators", d.equalized, d.timelockExecuted, d.emptied)
	}
}

// stableLists are lists whose order keys are unique, by name.
func stableLists(c *checker, o *oracle) map[string]listSpec {
	id := idField(c, "id")
	var props, votes, versions []item
	for _, p := range o.proposals {
		props = append(props, item{p.id.String(), p.created.key()})
	}
	for _, v := range o.votes {
		votes = append(votes, item{v.proposal.id.String() + ":" + lower(v.voter), v.prov.key()})
	}
	for _, v := range o.versions {
		versions = append(versions, item{fmt.Sprint(v.id), keyOf(v.id)})
	}
	out := map[string]listSpec{}
	for _, s := range []listSpec{
		{name: "proposals(CREATED DESC)", outer: "%s", field: "proposals", node: "id", idOf: id, desc: true, want: props},
		{name: "proposals(CREATED ASC)", outer: "%s", field: "proposals", args: "orderDirection: ASC", node: "id", idOf: id, want: props},
		{name: "votes(TIME DESC)", outer: "%s", field: "votes", node: "id", idOf: id, desc: true, want: votes},
		{name: "modelVersions(ASC)", outer: "%s", field: "modelVersions", args: "orderDirection: ASC", node: "id", idOf: id, want: versions},
	} {
		out[s.name] = s
	}
	return out
}
