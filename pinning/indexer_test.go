package pinning_test

import (
	"context"
	"testing"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/internal/scenario"
	"github.com/modeldao/modeldao/store"
)

// TestIndexedApprovalsPinAndRolledBackApprovalsDoNot goes through the real chain and the real
// indexer: the pin jobs are the ones the indexer enqueues in its commits. An approval pins; an
// approval that a reorg rolls back pins nothing; a revocation unpins.
func TestIndexedApprovalsPinAndRolledBackApprovalsDoNot(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s, err := scenario.New(ctx, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	d := s.DAO.Deployment
	e.keys = store.NewKeys(d.ChainID, d.Governor)
	e.st = store.New(e.rdb, e.keys, e.log)
	ix, err := indexer.New(indexer.Config{Chain: s.Chain.Client, Store: e.st, Deployment: d, Log: e.log})
	if err != nil {
		t.Fatal(err)
	}
	catchUp := func() {
		t.Helper()
		if _, err := ix.CatchUp(ctx); err != nil {
			t.Fatalf("indexer: %v", err)
		}
	}
	submit := func(seed uint64) (uint64, string) {
		t.Helper()
		c, sha := e.add(content(seed, 300_000))
		id, err := s.SubmitVersion(ctx, scenario.Publisher1, "llama-fair", c, sha)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Audit(ctx, id, true); err != nil {
			t.Fatal(err)
		}
		return id, c
	}
	approve := func(id uint64) {
		t.Helper()
		if _, err := s.DAO.Pass(ctx, "# Approve", []int{0, 1, 2}, contracts.ApproveVersion(id, s.Policy, s.Audits[id])); err != nil {
			t.Fatal(err)
		}
	}
	cfg := e.config("a")

	// Approve → pinned.
	v1, c1 := submit(1)
	approve(v1)
	catchUp()
	if rep := e.drain(cfg); rep.Pinned != 1 {
		t.Fatalf("report %+v, want 1 pinned", rep)
	}
	if p := e.pin(v1); p.Status != modeldao.PinPinned || e.pins()[c1] != modeldao.PinName(v1) {
		t.Fatalf("version %d: record %+v, kubo pins %v", v1, p, e.pins())
	}

	// An approval that a reorg rolls back before the pinner runs → no pin.
	v2, c2 := submit(2)
	before, err := s.Chain.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	approve(v2)
	catchUp()
	if p := e.pin(v2); p == nil || p.Status != modeldao.PinQueued {
		t.Fatalf("after the approval of version %d the record is %+v, want QUEUED", v2, p)
	}
	after, err := s.Chain.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Chain.Fork(before.Hash()); err != nil {
		t.Fatal(err)
	}
	s.Chain.Mine(int(after.Number.Uint64()-before.Number.Uint64()) + 2)
	catchUp()
	if v, err := e.st.VersionForPin(ctx, v2); err != nil || v.Status != modeldao.VersionSubmitted {
		t.Fatalf("after the reorg version %d is %+v (%v), want SUBMITTED", v2, v, err)
	}
	rep := e.drain(cfg)
	if rep.Stale != 1 || rep.Pinned != 0 || rep.Queued != 0 {
		t.Fatalf("report %+v, want the rolled-back job dropped as stale", rep)
	}
	if e.isPinned(c2) || e.ops.count("pin/add "+c2) != 0 {
		t.Fatalf("rolled-back approval pinned %s", c2)
	}

	// Revoke → unpinned.
	if _, err := s.DAO.Pass(ctx, "# Revoke", []int{0, 1, 2}, contracts.RevokeVersion(v1, "bias found")); err != nil {
		t.Fatal(err)
	}
	catchUp()
	if rep := e.drain(cfg); rep.Unpinned != 1 {
		t.Fatalf("report %+v, want 1 unpinned", rep)
	}
	if p := e.pin(v1); p.Status != modeldao.PinUnpinned || e.isPinned(c1) {
		t.Fatalf("revoked version %d: record %+v, pinned %v", v1, p, e.isPinned(c1))
	}
	sum, err := e.st.PinSummary(ctx)
	if err != nil || sum[modeldao.PinUnpinned] != 1 || len(sum) != 1 {
		t.Fatalf("PinSummary = %v, %v", sum, err)
	}
}
