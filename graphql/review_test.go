package graphql_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/big"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/internal/scenario"
)

// review is a DAO of its own for the steward's checks: two registered auditors, the
// baseline policy 1 (DPD ≤ 0.1, DIR ≥ 0.8, audit required) and an open policy 2.
type review struct {
	*env
	ix       *indexer.Indexer
	approval contracts.Proposal // approves v1 (audit a1), v2 (audit a3), v5 (policy 2, no audit)
}

// Auditors of the review scenario.
const (
	auditorA = scenario.Auditor
	auditorB = scenario.Extra1
)

func (rv *review) catchUp(t *testing.T) {
	t.Helper()
	if _, err := rv.ix.CatchUp(context.Background()); err != nil {
		t.Fatalf("indexer: %v", err)
	}
}

// auditBy posts an audit of version under policy 1 by auditor who: DPD dpd on sex (the
// auditor's own threshold 0.2, so a passing verdict may exceed the policy's 0.1), DIR 0.9 on
// race.
func auditBy(ctx context.Context, s *scenario.Scenario, who int, version uint64, dpd int64, passed bool) (uint64, error) {
	metrics := []bindings.ModelRegistryMetric{
		{Kind: uint8(modeldao.DemographicParityDifference), SensitiveFeature: "sex", Value: dpd, Threshold: 200000, Passed: passed},
		{Kind: uint8(modeldao.DisparateImpactRatio), SensitiveFeature: "race", Value: 900000, Threshold: 800000, Passed: true},
	}
	digest := sha256.Sum256(fmt.Appendf(nil, "report %d %d", version, dpd))
	if _, err := s.DAO.Mined(ctx)(s.DAO.Registry.SubmitAudit(s.Chain.Opts(who), new(big.Int).SetUint64(version), big.NewInt(1),
		scenario.FakeCID(fmt.Sprintf("review-report-%d-%d", version, dpd)), digest, metrics, passed)); err != nil {
		return 0, err
	}
	n, err := s.DAO.Registry.AuditCount(nil)
	if err != nil {
		return 0, err
	}
	return n.Uint64(), nil
}

// newReview builds the review DAO:
//
//	a1 A on v1 DPD 0.05 pass, a2 B on v1 DPD 0.30 fail     → v1 CONTESTED (verdict and DPD 0.25 apart)
//	a3 A on v2 DPD 0.05 pass, a4 B on v2 DPD 0.08 pass     → v2 AGREED (0.03 apart: within 0.05)
//	a5 A on v3 DPD 0.05 pass, a6 A on v3 DPD 0.30 fail     → v3 SINGLE (one auditor)
//	a7 A on v4 DPD 0.08 pass, a8 B on v4 DPD 0.11 "pass"   → v4 CONTESTED (verdict only: 0.11 fails the policy)
//	v5 no audit                                           → v5 NONE
//	then v1 (a1), v2 (a3) and v5 (policy 2) approved in one proposal.
func newReview(ctx context.Context, t *testing.T) *review {
	t.Helper()
	s, err := scenario.New(ctx, 15, false)
	if err != nil {
		t.Fatal(err)
	}
	d := s.DAO
	if _, err := d.Pass(ctx, "# Second auditor, open policy", []int{0, 1, 2}, contracts.AddAuditor(s.Address(auditorB), "Second Opinion"),
		contracts.AdoptPolicy(modeldao.Policy{Name: "open", Version: "1", DocumentCID: modeldao.Text(scenario.FakeCID("open-policy"))})); err != nil {
		s.Close()
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		w := fmt.Sprint("review-weights", i)
		if _, err := s.SubmitVersion(ctx, scenario.Publisher1, "acme/review", scenario.FakeCID(w), sha256.Sum256([]byte(w))); err != nil {
			s.Close()
			t.Fatal(err)
		}
	}
	for i, a := range []struct {
		who     int
		version uint64
		dpd     int64
		passed  bool
	}{{auditorA, 1, 50000, true}, {auditorB, 1, 300000, false}, {auditorA, 2, 50000, true}, {auditorB, 2, 80000, true},
		{auditorA, 3, 50000, true}, {auditorA, 3, 300000, false}, {auditorA, 4, 80000, true}, {auditorB, 4, 110000, true}} {
		id, err := auditBy(ctx, s, a.who, a.version, a.dpd, a.passed)
		if err != nil || id != uint64(i+1) {
			s.Close()
			t.Fatalf("audit %d: id %d, %v", i+1, id, err)
		}
	}
	p, err := d.Pass(ctx, "# Approve three", []int{0, 1, 2}, contracts.ApproveVersion(1, 1, 1), contracts.ApproveVersion(2, 1, 3), contracts.ApproveVersion(5, 2, 0))
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	e, err := newEnv(ctx, s, graphql.Options{ChainID: s.DAO.Deployment.ChainID, ResponseCacheTTL: -1})
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	ix, err := indexer.New(indexer.Config{Chain: s.Chain.Client, Store: e.store, Deployment: s.DAO.Deployment, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return &review{env: e, ix: ix, approval: p}
}

type reviewNode struct {
	ID             string
	Stale          bool
	StaleReasons   []staleReason
	AuditConsensus string
	Contest        []disagreement
}

type staleReason struct {
	Kind                              string
	Policy                            *struct{ ID string }
	Retired                           *struct{ BlockNumber uint64 }
	Audit                             *struct{ ID string }
	AuditAgeBlocks, MaxAuditAgeBlocks *int
	Detail                            string
}

type disagreement struct {
	Kind                          string
	Policy                        *struct{ ID string }
	Audit, OtherAudit             struct{ ID string }
	Passed, OtherPassed           bool
	Metric, SensitiveFeature      *string
	Value, OtherValue, Difference *string
	Tolerance                     string
}

const reviewFields = `id stale(maxAuditAgeBlocks: $m) auditConsensus
  staleReasons(maxAuditAgeBlocks: $m) { kind policy { id } retired { blockNumber } audit { id } auditAgeBlocks maxAuditAgeBlocks detail }
  contest { kind policy { id } audit { id } otherAudit { id } passed otherPassed metric sensitiveFeature value otherValue difference tolerance }`

type reviewPage struct {
	Nodes      []reviewNode
	IDs        []string
	Next, Prev bool
	Total      int
	End, Start string
}

// versions pages modelVersions (ASC) with where, the stale fields under the same age m.
func (rv *review) versions(t *testing.T, where map[string]any, m *int, first, last *int, after, before string) (reviewPage, error) {
	t.Helper()
	var out struct {
		ModelVersions struct {
			Edges []struct {
				Cursor string
				Node   reviewNode
			}
			PageInfo struct {
				HasNextPage, HasPreviousPage bool
				StartCursor, EndCursor       *string
			}
			TotalCount int
		}
	}
	vars := map[string]any{"w": where, "m": m, "first": first, "last": last}
	if after != "" {
		vars["after"] = after
	}
	if before != "" {
		vars["before"] = before
	}
	err := rv.fresh.Exec(bg, `query($w: ModelVersionWhere, $m: Int, $first: Int, $last: Int, $after: String, $before: String) {
  modelVersions(where: $w, orderDirection: ASC, first: $first, last: $last, after: $after, before: $before) {
    edges { cursor node { `+reviewFields+` } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount } }`, vars, &out)
	var p reviewPage
	for _, e := range out.ModelVersions.Edges {
		p.Nodes = append(p.Nodes, e.Node)
		p.IDs = append(p.IDs, e.Node.ID)
	}
	pi := out.ModelVersions.PageInfo
	p.Next, p.Prev, p.Total = pi.HasNextPage, pi.HasPreviousPage, out.ModelVersions.TotalCount
	if pi.EndCursor != nil {
		p.End, p.Start = *pi.EndCursor, *pi.StartCursor
	}
	return p, err
}

func (rv *review) ids(t *testing.T, where map[string]any, m *int) []string {
	t.Helper()
	p, err := rv.versions(t, where, m, nil, nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	// The field agrees with the filter on every node.
	for _, n := range p.Nodes {
		if s, ok := where["stale"].(bool); ok && n.Stale != s {
			t.Errorf("where %v: version %s has stale %v", where, n.ID, n.Stale)
		}
		if c, ok := where["contested"].(bool); ok && (n.AuditConsensus == "CONTESTED") != c {
			t.Errorf("where %v: version %s is %s", where, n.ID, n.AuditConsensus)
		}
	}
	return p.IDs
}

func (rv *review) node(t *testing.T, id string, m *int) reviewNode {
	t.Helper()
	var out struct{ ModelVersion reviewNode }
	if err := rv.fresh.Exec(bg, `query($id: ID!, $m: Int) { modelVersion(id: $id) { `+reviewFields+` } }`, map[string]any{"id": id, "m": m}, &out); err != nil {
		t.Fatal(err)
	}
	return out.ModelVersion
}

func intp(n int) *int { return &n }

func wantIDs(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("%s: %v, want %v", what, got, want)
	}
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// TestContestedAudits: two auditors disagreeing on a metric beyond the tolerance and on
// the verdict, within the tolerance, the same auditor twice, a verdict alone; the filter;
// the approval's evidence; and an auditor removed later.
func TestContestedAudits(t *testing.T) {
	ctx := context.Background()
	rv := newReview(ctx, t)
	got := map[string]reviewNode{}
	for _, id := range []string{"1", "2", "3", "4", "5"} {
		got[id] = rv.node(t, id, nil)
	}
	for id, want := range map[string]string{"1": "CONTESTED", "2": "AGREED", "3": "SINGLE", "4": "CONTESTED", "5": "NONE"} {
		if got[id].AuditConsensus != want {
			t.Errorf("v%s: %s, want %s", id, got[id].AuditConsensus, want)
		}
	}
	c := got["1"].Contest
	if len(c) != 2 {
		t.Fatalf("v1 contest: %+v", c)
	}
	if v := c[0]; v.Kind != "VERDICT" || v.Audit.ID != "1" || v.OtherAudit.ID != "2" || v.Policy == nil || v.Policy.ID != "1" || !v.Passed || v.OtherPassed ||
		v.Metric != nil || v.Value != nil || v.Difference != nil || v.Tolerance != "0.05" {
		t.Errorf("v1 verdict disagreement: %+v", v)
	}
	if m := c[1]; m.Kind != "METRIC" || str(m.Metric) != "DEMOGRAPHIC_PARITY_DIFFERENCE" || str(m.SensitiveFeature) != "sex" || str(m.Value) != "0.05" ||
		str(m.OtherValue) != "0.3" || str(m.Difference) != "0.25" || m.Tolerance != "0.05" || m.Audit.ID != "1" || m.OtherAudit.ID != "2" {
		t.Errorf("v1 metric disagreement: %+v", m)
	}
	if c := got["4"].Contest; len(c) != 1 || c[0].Kind != "VERDICT" || c[0].Audit.ID != "7" || c[0].OtherAudit.ID != "8" || !c[0].Passed || c[0].OtherPassed {
		t.Errorf("v4 contest: %+v", c)
	}
	for _, id := range []string{"2", "3", "5"} {
		if len(got[id].Contest) != 0 {
			t.Errorf("v%s contest: %+v", id, got[id].Contest)
		}
	}
	wantIDs(t, "contested", rv.ids(t, map[string]any{"contested": true}, nil), "1", "4")
	wantIDs(t, "not contested", rv.ids(t, map[string]any{"contested": false}, nil), "2", "3", "5")
	wantIDs(t, "approved and contested", rv.ids(t, map[string]any{"contested": true, "status": "APPROVED"}, nil), "1")

	// The approval's evidence shows the contest of each version it approves.
	var out struct {
		Proposal struct {
			Evidence []struct {
				ModelVersion struct{ ID string }
				Contest      []disagreement
			}
		}
	}
	if err := rv.fresh.Exec(bg, `query($id: ID!) { proposal(id: $id) { evidence { modelVersion { id } contest { kind audit { id } otherAudit { id } } } } }`,
		map[string]any{"id": rv.approval.ID().String()}, &out); err != nil {
		t.Fatal(err)
	}
	ev := out.Proposal.Evidence
	if len(ev) != 3 || ev[0].ModelVersion.ID != "1" || len(ev[0].Contest) != 2 || ev[0].Contest[0].OtherAudit.ID != "2" || len(ev[1].Contest) != 0 || len(ev[2].Contest) != 0 {
		t.Errorf("evidence of the approval: %+v", ev)
	}

	// The server's settings reach the fields and the filters: with a tolerance of 0.3 only
	// v1's verdict disagrees, and with an audit age of 0 every audited approval is stale.
	tol, age := modeldao.Fixed6(300_000), uint64(0)
	srv := httptest.NewServer(graphql.NewHandler(rv.store, graphql.Options{ChainID: rv.s.DAO.Deployment.ChainID, Logger: quiet, ResponseCacheTTL: -1,
		ContestTolerance: &tol, StaleAuditAgeBlocks: &age}))
	defer srv.Close()
	var set struct {
		V1 struct {
			AuditConsensus string
			Contest        []disagreement
		}
		Stale struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	if err := client.New(srv.URL+"/graphql", srv.Client()).Exec(bg, `{ v1: modelVersion(id: "1") { auditConsensus contest { kind tolerance } }
  stale: modelVersions(where: {stale: true}, orderDirection: ASC) { edges { node { id } } } }`, nil, &set); err != nil {
		t.Fatal(err)
	}
	if set.V1.AuditConsensus != "CONTESTED" || len(set.V1.Contest) != 1 || set.V1.Contest[0].Kind != "VERDICT" || set.V1.Contest[0].Tolerance != "0.3" ||
		len(set.Stale.Edges) != 2 || set.Stale.Edges[0].Node.ID != "1" || set.Stale.Edges[1].Node.ID != "2" {
		t.Errorf("with CONTEST_TOLERANCE 0.3 and STALE_AUDIT_AGE_BLOCKS 0: %+v", set)
	}

	// Removing auditor B withdraws its audits: v1 and v4 are no longer contested, v2 has one
	// auditor left.
	if _, err := rv.s.DAO.Pass(ctx, "# Remove B", []int{0, 1, 2}, contracts.RemoveAuditor(rv.s.Address(auditorB))); err != nil {
		t.Fatal(err)
	}
	rv.catchUp(t)
	for _, id := range []string{"1", "2", "4"} {
		if n := rv.node(t, id, nil); n.AuditConsensus != "SINGLE" || len(n.Contest) != 0 {
			t.Errorf("after B's removal v%s: %s %+v", id, n.AuditConsensus, n.Contest)
		}
	}
	wantIDs(t, "contested after B's removal", rv.ids(t, map[string]any{"contested": true}, nil))
}

// TestStaleApprovals: the audit age exact at the boundary, a retired policy, a reorg that
// undoes the retirement, and the filter under paging.
func TestStaleApprovals(t *testing.T) {
	ctx := context.Background()
	rv := newReview(ctx, t)
	var audits struct {
		A1, A3 struct{ Provenance struct{ BlockNumber uint64 } }
	}
	if err := rv.fresh.Exec(bg, `{ a1: audit(id: "1") { provenance { blockNumber } } a3: audit(id: "3") { provenance { blockNumber } } }`, nil, &audits); err != nil {
		t.Fatal(err)
	}
	cp, _, err := rv.store.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	age3 := int(cp.Number - audits.A3.Provenance.BlockNumber)
	age1 := int(cp.Number - audits.A1.Provenance.BlockNumber)
	if age1 <= age3 || age3 < 2 {
		t.Fatalf("audit ages %d and %d", age1, age3)
	}
	// With the default age nothing is stale.
	wantIDs(t, "stale by default", rv.ids(t, map[string]any{"stale": true}, nil))
	// Exactly at the allowed age: fresh; one block less allowed: stale, with the details.
	if n := rv.node(t, "2", intp(age3)); n.Stale || len(n.StaleReasons) != 0 {
		t.Errorf("v2 at the allowed age %d: %+v", age3, n)
	}
	n := rv.node(t, "2", intp(age3-1))
	if r := n.StaleReasons; !n.Stale || len(r) != 1 || r[0].Kind != "AUDIT_TOO_OLD" || r[0].Audit == nil || r[0].Audit.ID != "3" || r[0].Policy == nil || r[0].Policy.ID != "1" ||
		r[0].AuditAgeBlocks == nil || *r[0].AuditAgeBlocks != age3 || r[0].MaxAuditAgeBlocks == nil || *r[0].MaxAuditAgeBlocks != age3-1 || r[0].Retired != nil ||
		r[0].Detail != fmt.Sprintf("audit 3 (block %d) is %d blocks old; at most %d are allowed", audits.A3.Provenance.BlockNumber, age3, age3-1) {
		t.Errorf("v2 one block past the allowed age: %+v", n)
	}
	// The filter draws the same line; v5 has no audit to age, v3 and v4 are not approved.
	wantIDs(t, "stale at v2's age", rv.ids(t, map[string]any{"stale": true, "maxAuditAgeBlocks": age3}, intp(age3)), "1")
	wantIDs(t, "stale one block below", rv.ids(t, map[string]any{"stale": true, "maxAuditAgeBlocks": age3 - 1}, intp(age3-1)), "1", "2")
	_, err = rv.versions(t, map[string]any{"stale": true, "maxAuditAgeBlocks": -1}, nil, nil, nil, "", "")
	wantCode(t, err, client.CodeBadUserInput, "where.maxAuditAgeBlocks is -1")
	_, err = rv.versions(t, map[string]any{"maxAuditAgeBlocks": 5}, nil, nil, nil, "", "")
	wantCode(t, err, client.CodeBadUserInput, "give where.stale too")

	// Retire the open policy: v5, approved under it, is stale.
	before, err := rv.s.Chain.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rv.s.DAO.Pass(ctx, "# Retire the open policy", []int{0, 1, 2}, contracts.RetirePolicy(2)); err != nil {
		t.Fatal(err)
	}
	after, err := rv.s.Chain.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rv.catchUp(t)
	var pol struct {
		Policy struct {
			Active  bool
			Retired *struct{ BlockNumber uint64 }
		}
	}
	if err := rv.fresh.Exec(bg, `{ policy(id: "2") { active retired { blockNumber } } }`, nil, &pol); err != nil || pol.Policy.Active || pol.Policy.Retired == nil {
		t.Fatalf("policy 2 after its retirement: %+v %v", pol, err)
	}
	n = rv.node(t, "5", nil)
	if r := n.StaleReasons; !n.Stale || len(r) != 1 || r[0].Kind != "RETIRED_POLICY" || r[0].Policy == nil || r[0].Policy.ID != "2" || r[0].Retired == nil ||
		r[0].Retired.BlockNumber != pol.Policy.Retired.BlockNumber || r[0].Audit != nil || r[0].AuditAgeBlocks != nil ||
		r[0].Detail != fmt.Sprintf("policy 2 was retired at block %d", pol.Policy.Retired.BlockNumber) {
		t.Errorf("v5 after the retirement: %+v", n)
	}
	wantIDs(t, "stale after the retirement", rv.ids(t, map[string]any{"stale": true}, nil), "5")

	// Paging the stale list (every audit too old, v5 retired) a page at a time, forward and
	// backward, with the field agreeing on every page.
	zero := intp(0)
	all := map[string]any{"stale": true, "maxAuditAgeBlocks": 0}
	p1, err := rv.versions(t, all, zero, intp(2), nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p1.IDs, []string{"1", "2"}) || !p1.Next || p1.Prev || p1.Total != 3 {
		t.Fatalf("first page: %+v", p1)
	}
	p2, err := rv.versions(t, all, zero, intp(2), nil, p1.End, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p2.IDs, []string{"5"}) || p2.Next || !p2.Prev || p2.Total != 3 {
		t.Fatalf("second page: %+v", p2)
	}
	back, err := rv.versions(t, all, zero, nil, intp(1), "", p2.Start)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.IDs, []string{"2"}) || !back.Prev || !back.Next {
		t.Fatalf("one back from v5: %+v", back)
	}
	for _, p := range [][]reviewNode{p1.Nodes, p2.Nodes, back.Nodes} {
		for _, n := range p {
			if !n.Stale || len(n.StaleReasons) == 0 {
				t.Errorf("v%s in the stale list: %+v", n.ID, n)
			}
		}
	}
	wantIDs(t, "fresh with age 0", rv.ids(t, map[string]any{"stale": false, "maxAuditAgeBlocks": 0}, zero), "3", "4")
	wantIDs(t, "approved and fresh with age 0", rv.ids(t, map[string]any{"stale": false, "maxAuditAgeBlocks": 0, "status": "APPROVED"}, zero))
	wantIDs(t, "stale and contested", rv.ids(t, map[string]any{"stale": true, "maxAuditAgeBlocks": 0, "contested": true}, zero), "1")

	// A reorg that undoes the retirement: v5 is fresh again.
	if err := rv.s.Chain.Fork(before.Hash()); err != nil {
		t.Fatal(err)
	}
	rv.s.Chain.Mine(int(after.Number.Uint64()-before.Number.Uint64()) + 2)
	rv.catchUp(t)
	if n := rv.node(t, "5", nil); n.Stale || len(n.StaleReasons) != 0 {
		t.Errorf("v5 after the reorg: %+v", n)
	}
	wantIDs(t, "stale after the reorg", rv.ids(t, map[string]any{"stale": true}, nil))
}
