package indexer_test

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/internal/scenario"
)

// TestTimelineEndsWhenTheTimelockActsDirectly drives three queued proposals to their end:
// one executed by the governor (two calls, so two CallExecuted before ProposalExecuted in one
// transaction), one executed by an outsider calling executeBatch on the timelock, and one
// cancelled on the timelock by a canceller that governance appointed. Every timeline must
// end with exactly one EXECUTED or CANCELED entry citing the governor's event when the
// governor acted and the timelock's first event otherwise, whatever the batch size.
func TestTimelineEndsWhenTheTimelockActsDirectly(t *testing.T) {
	ctx := context.Background()
	s, err := scenario.New(ctx, 11, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	d, c := s.DAO, s.Chain
	canceller, outsider := scenario.Extra1, scenario.Extra2

	passVote := func(p contracts.Proposal) {
		t.Helper()
		if err := d.Propose(ctx, 0, p); err != nil {
			t.Fatal(err)
		}
		for _, v := range []int{0, 1, 2} {
			if err := d.Vote(ctx, v, p, modeldao.SupportFor, ""); err != nil {
				t.Fatal(err)
			}
		}
		d.EndVoting()
		if _, err := d.Mined(ctx)(d.Queue(c.Opts(0), p)); err != nil {
			t.Fatalf("queue: %v", err)
		}
		s.Proposals = append(s.Proposals, p)
	}
	wait := func() {
		t.Helper()
		if err := c.AdvanceTime(time.Duration(d.Config.TimelockDelay+1) * time.Second); err != nil {
			t.Fatal(err)
		}
	}

	// 1. The governor executes: appoint a canceller and register an auditor.
	byGovernor, err := d.RegistryProposal("# Appoint a canceller\nAnd register an auditor.",
		contracts.AddAuditor(c.Accounts[outsider].Address, "Outside Audits"))
	if err != nil {
		t.Fatal(err)
	}
	if byGovernor, err = d.WithTimelockCall(byGovernor, "grantRole", contracts.TimelockRole("CANCELLER_ROLE"), c.Accounts[canceller].Address); err != nil {
		t.Fatal(err)
	}
	passVote(byGovernor)
	wait()
	govRcpt, err := d.Mined(ctx)(d.Execute(c.Opts(0), byGovernor))
	if err != nil {
		t.Fatalf("execute through the governor: %v", err)
	}

	// 2. An outsider executes on the timelock: two calls, so two CallExecuted.
	direct, err := d.RegistryProposal("# Executed by a keeper\nTwo policies.",
		contracts.AdoptPolicy(modeldao.Policy{Name: "p-a", Version: "1", DocumentCID: modeldao.Text(scenario.FakeCID("a"))}),
		contracts.AdoptPolicy(modeldao.Policy{Name: "p-b", Version: "1", DocumentCID: modeldao.Text(scenario.FakeCID("b"))}))
	if err != nil {
		t.Fatal(err)
	}
	passVote(direct)
	wait()
	directRcpt, err := d.Mined(ctx)(d.ExecuteOnTimelock(c.Opts(outsider), direct))
	if err != nil {
		t.Fatalf("executeBatch on the timelock: %v", err)
	}

	// 3. The canceller cancels on the timelock.
	cancelled, err := d.RegistryProposal("# Cancelled by the council", contracts.RemoveAuditor(c.Accounts[outsider].Address))
	if err != nil {
		t.Fatal(err)
	}
	passVote(cancelled)
	cancelRcpt, err := d.Mined(ctx)(d.CancelOnTimelock(c.Opts(canceller), cancelled))
	if err != nil {
		t.Fatalf("cancel on the timelock: %v", err)
	}
	c.Mine(2)

	for p, want := range map[*contracts.Proposal]modeldao.ProposalState{&byGovernor: modeldao.ProposalExecuted, &direct: modeldao.ProposalExecuted, &cancelled: modeldao.ProposalCanceled} {
		if st, err := d.Governor.State(nil, p.ID()); err != nil || modeldao.ProposalState(st) != want {
			t.Fatalf("governor state of %q = %d (%v), want %s: the set-up is wrong", p.Description, st, err, want)
		}
	}
	gov := d.Deployment.Governor
	tl := d.Deployment.Timelock
	want := map[string]modeldao.ProposalChange{
		byGovernor.ID().String(): {Kind: "EXECUTED", Provenance: logAt(t, govRcpt, gov, contracts.GovernorABI.Events["ProposalExecuted"].ID)},
		direct.ID().String():     {Kind: "EXECUTED", Provenance: logAt(t, directRcpt, tl, contracts.TimelockABI.Events["CallExecuted"].ID)},
		cancelled.ID().String():  {Kind: "CANCELED", Provenance: logAt(t, cancelRcpt, tl, contracts.TimelockABI.Events["Cancelled"].ID)},
	}

	var digests []string
	for _, size := range []uint64{1, 1000} {
		_, rdb := newRedis(t)
		st := newStore(s, rdb)
		catchUp(t, newIndexer(t, dial(t, c.URL()), s, st, func(cfg *indexer.Config) {
			cfg.RangeBlocks, cfg.MaxRangeBlocks, cfg.ReorgDepth = size, size, 100000
		}))
		checkOracle(t, s, rdb, st)
		for id, end := range want {
			p, ok := record[modeldao.Proposal](t, rdb, st, "proposal", id)
			if !ok {
				t.Fatalf("proposal %s not indexed", id)
			}
			var kinds []string
			for _, e := range p.Timeline {
				kinds = append(kinds, e.Kind)
			}
			if len(p.Timeline) != 3 || kinds[0] != "CREATED" || kinds[1] != "QUEUED" {
				t.Errorf("batch size %d: proposal %s timeline %v, want CREATED QUEUED %s", size, id, kinds, end.Kind)
				continue
			}
			got := p.Timeline[2]
			if got.Kind != end.Kind || got.Provenance.TxHash != end.Provenance.TxHash || got.Provenance.LogIndex != end.Provenance.LogIndex || got.Provenance.BlockNumber != end.Provenance.BlockNumber {
				t.Errorf("batch size %d: proposal %s ends with %s at log %d of %s, want %s at log %d of %s",
					size, id, got.Kind, got.Provenance.LogIndex, got.Provenance.TxHash, end.Kind, end.Provenance.LogIndex, end.Provenance.TxHash)
			}
		}
		digests = append(digests, digest(t, st))
	}
	if digests[0] != digests[1] {
		t.Fatalf("digest with batches of 1 block %s, of 1000 blocks %s", digests[0], digests[1])
	}
}

// logAt returns the provenance of the first log of r emitted by addr with topic0 `topic`.
func logAt(t *testing.T, r *types.Receipt, addr common.Address, topic common.Hash) modeldao.Provenance {
	t.Helper()
	for _, l := range r.Logs {
		if l.Address == addr && len(l.Topics) > 0 && l.Topics[0] == topic {
			return modeldao.Provenance{BlockNumber: l.BlockNumber, BlockHash: l.BlockHash, TxHash: l.TxHash, LogIndex: l.Index}
		}
	}
	t.Fatalf("no log %s of %s in transaction %s", topic, addr, r.TxHash)
	return modeldao.Provenance{}
}
