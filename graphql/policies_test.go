package graphql_test

import (
	"context"
	"crypto/sha256"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/internal/scenario"
)

// policyEnv is an API over a DAO with four policies: 1 the scenario's baseline (DPD ≤ 0.1,
// DIR ≥ 0.8, audit required), 2 a stricter one, retired, 3 one without bounds or audit,
// 4 a second baseline; and version 1 with audit 1 under policy 1. The documents are pinned
// as a pinner would record them: policy 1's on two nodes, policy 3's failed, the others
// never taken up; audit 1's report pinned and verified.
func policyEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	s, err := scenario.New(ctx, 11, false)
	if err != nil {
		t.Fatal(err)
	}
	adopt := func(name, version string, auditRequired bool, bounds ...modeldao.MetricBound) contracts.RegistryCall {
		return contracts.AdoptPolicy(modeldao.Policy{Name: modeldao.Text(name), Version: modeldao.Text(version),
			DocumentCID: modeldao.Text(scenario.FakeCID("policy-" + name)), AuditRequired: auditRequired, Bounds: bounds})
	}
	if _, err := s.DAO.Pass(ctx, "# More policies", []int{0, 1, 2},
		adopt("fairness-strict", "2.0", true, modeldao.MetricBound{Kind: modeldao.DemographicParityDifference, Limit: 50000},
			modeldao.MetricBound{Kind: modeldao.EqualizedOddsDifference, Limit: 100000}),
		adopt("no-audit", "0.1", false),
		adopt("fairness-baseline", "1.1", true, modeldao.MetricBound{Kind: modeldao.DemographicParityDifference, Limit: 100000})); err != nil {
		s.Close()
		t.Fatal(err)
	}
	if _, err := s.DAO.Pass(ctx, "# Retire the strict policy", []int{0, 1, 2}, contracts.RetirePolicy(2)); err != nil {
		s.Close()
		t.Fatal(err)
	}
	if _, err := s.SubmitVersion(ctx, scenario.Publisher1, "acme/sentiment", scenario.FakeCID("weights"), sha256.Sum256([]byte("weights"))); err != nil {
		s.Close()
		t.Fatal(err)
	}
	if _, err := s.Audit(ctx, 1, true); err != nil {
		s.Close()
		t.Fatal(err)
	}
	e, err := newEnv(ctx, s, graphql.Options{ChainID: s.DAO.Deployment.ChainID})
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	t.Cleanup(e.close)

	at := time.Unix(1_700_000_200, 0).UTC()
	for _, p := range []modeldao.EvidencePin{
		{EvidenceRef: modeldao.EvidenceRef{Kind: modeldao.EvidencePolicyDocument, ID: 1}, CID: modeldao.Text(scenario.FakeCID("policy")),
			Status: modeldao.PinPinned, Attempts: 1, Size: 2048, PinnedAt: at, UpdatedAt: at,
			Replicas: []modeldao.PinReplica{{Node: "http://10.0.1.5:5001", Status: modeldao.PinPinned, UpdatedAt: at},
				{Node: "http://10.0.2.5:5001", Status: modeldao.PinPinned, UpdatedAt: at}}},
		{EvidenceRef: modeldao.EvidenceRef{Kind: modeldao.EvidencePolicyDocument, ID: 3}, CID: modeldao.Text(scenario.FakeCID("policy-no-audit")),
			Status: modeldao.PinFailed, Attempts: 5, LastError: "fetching the document: context deadline exceeded", UpdatedAt: at},
		{EvidenceRef: modeldao.EvidenceRef{Kind: modeldao.EvidenceAuditReport, ID: 1}, CID: modeldao.Text(scenario.FakeCID("report1")),
			SHA256: sha256.Sum256([]byte{1}), Verified: true, Status: modeldao.PinPinned, Attempts: 1, Size: 42, PinnedAt: at, UpdatedAt: at,
			Replicas: []modeldao.PinReplica{{Node: "http://10.0.1.5:5001", Status: modeldao.PinPinned, UpdatedAt: at}}},
	} {
		if err := e.store.SetEvidencePin(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// TestClientPolicies reads policies and evidence pins through the typed client (one
// chain for all: each subtest only reads).
func TestClientPolicies(t *testing.T) {
	e := policyEnv(t)
	t.Run("policy", func(t *testing.T) { testClientPolicy(t, e) })
	t.Run("paging", func(t *testing.T) { testClientPolicies(t, e) })
	t.Run("report pin", func(t *testing.T) { testClientAuditReportPin(t, e) })
}

func policyIDs(p *client.Page[client.Policy]) []uint64 {
	ids := []uint64{}
	for _, x := range p.Items {
		ids = append(ids, x.ID)
	}
	return ids
}

// The typed client reads a policy whole: bounds as the domain's MetricBound, provenance,
// retirement, and the pin of its document as the pinner recorded it.
func testClientPolicy(t *testing.T, e *env) {
	p := must[*client.Policy](t)(e.client.Policy(bg, 1))
	wantBounds := []modeldao.MetricBound{{Kind: modeldao.DemographicParityDifference, Limit: 100000}, {Kind: modeldao.DisparateImpactRatio, IsMinimum: true, Limit: 800000}}
	if p.ID != 1 || p.Name != "fairness-baseline" || p.Version != "1.0" || p.DocumentCID != scenario.FakeCID("policy") || !p.AuditRequired ||
		!slices.Equal(p.Bounds, wantBounds) || !p.Active || p.Retired != nil || p.Adopted.BlockNumber == 0 || p.Adopted.TxHash == (common.Hash{}) ||
		p.Adopted.Timestamp.IsZero() {
		t.Errorf("policy 1: %+v", p)
	}
	d := p.DocumentPin
	if d.Status != "PINNED" || d.CID != p.DocumentCID || d.Verified || d.Attempts != 1 || d.Size != 2048 || d.LastError != "" ||
		d.PinnedAt == nil || !d.PinnedAt.Equal(time.Unix(1_700_000_200, 0)) || len(d.Replicas) != 2 ||
		d.Replicas[1] != (client.PinReplica{Node: "http://10.0.2.5:5001", Status: "PINNED", UpdatedAt: d.Replicas[1].UpdatedAt}) || d.Replicas[1].UpdatedAt == nil {
		t.Errorf("policy 1's document pin: %+v", d)
	}

	// Retired: the retirement's provenance comes after the adoption's.
	p2 := must[*client.Policy](t)(e.client.Policy(bg, 2))
	if p2.Active || p2.Retired == nil || p2.Retired.BlockNumber <= p2.Adopted.BlockNumber || len(p2.Bounds) != 2 ||
		p2.Bounds[1] != (modeldao.MetricBound{Kind: modeldao.EqualizedOddsDifference, Limit: 100000}) {
		t.Errorf("policy 2: %+v", p2)
	}
	// Never taken up by a pinner: QUEUED with the chain's CID.
	if d := p2.DocumentPin; d.Status != "QUEUED" || d.CID != p2.DocumentCID || d.Size != 0 || d.PinnedAt != nil || len(d.Replicas) != 0 {
		t.Errorf("policy 2's document pin: %+v", d)
	}
	p3 := must[*client.Policy](t)(e.client.Policy(bg, 3))
	if p3.AuditRequired || p3.Bounds == nil || len(p3.Bounds) != 0 || p3.DocumentPin.Status != "FAILED" || p3.DocumentPin.Attempts != 5 ||
		p3.DocumentPin.LastError != "fetching the document: context deadline exceeded" {
		t.Errorf("policy 3: %+v", p3)
	}

	_, err := e.client.Policy(bg, 99)
	wantCode(t, err, client.CodeNotFound, "no policy with id 99")
	if client.DomainCode(err) != modeldao.ENOTFOUND {
		t.Errorf("missing policy: domain code %s", client.DomainCode(err))
	}
}

// Policies pages as the client's other lists do, oldest first unless asked otherwise, and
// filters on active; an item of the list is the policy that Policy returns.
func testClientPolicies(t *testing.T, e *env) {
	first := must[*client.Page[client.Policy]](t)(e.client.Policies(bg, client.PolicyQuery{Page: client.First(2)}))
	if got := policyIDs(first); !slices.Equal(got, []uint64{1, 2}) || first.TotalCount != 4 || !first.HasNextPage || first.HasPreviousPage ||
		len(first.Cursors) != 2 || first.EndCursor != first.Cursors[1] {
		t.Fatalf("first page %v: %+v", got, first)
	}
	next := must[*client.Page[client.Policy]](t)(e.client.Policies(bg, client.PolicyQuery{Page: first.Next(2)}))
	if got := policyIDs(next); !slices.Equal(got, []uint64{3, 4}) || next.HasNextPage || !next.HasPreviousPage || next.TotalCount != 4 {
		t.Errorf("next page %v: %+v", got, next)
	}
	back := must[*client.Page[client.Policy]](t)(e.client.Policies(bg, client.PolicyQuery{Page: next.Previous(2)}))
	if got := policyIDs(back); !slices.Equal(got, []uint64{1, 2}) {
		t.Errorf("page before the next one: %v", got)
	}
	one := must[*client.Policy](t)(e.client.Policy(bg, 1))
	if got := first.Items[0]; got.Name != one.Name || !slices.Equal(got.Bounds, one.Bounds) || got.DocumentPin.Status != one.DocumentPin.Status ||
		got.Adopted != one.Adopted {
		t.Errorf("policy 1 in the list %+v, alone %+v", got, one)
	}

	newest := must[*client.Page[client.Policy]](t)(e.client.Policies(bg, client.PolicyQuery{Descending: true, Page: client.First(1)}))
	if got := policyIDs(newest); !slices.Equal(got, []uint64{4}) {
		t.Errorf("newest first: %v", got)
	}
	active, retired := true, false
	if got := policyIDs(must[*client.Page[client.Policy]](t)(e.client.Policies(bg, client.PolicyQuery{Active: &active}))); !slices.Equal(got, []uint64{1, 3, 4}) {
		t.Errorf("active: %v", got)
	}
	r := must[*client.Page[client.Policy]](t)(e.client.Policies(bg, client.PolicyQuery{Active: &retired}))
	if got := policyIDs(r); !slices.Equal(got, []uint64{2}) || r.TotalCount != 1 || r.Items[0].Retired == nil {
		t.Errorf("retired: %v", got)
	}
	_, err := e.client.Policies(bg, client.PolicyQuery{Page: client.PageArgs{First: 1, After: "bm90LWEtY3Vyc29y"}})
	wantCode(t, err, client.CodeBadUserInput, "")
}

// An audit carries the pin of its report, verified against its digest on chain.
func testClientAuditReportPin(t *testing.T, e *env) {
	v := must[*client.ModelVersionDetail](t)(e.client.ModelVersion(bg, 1, client.First(5)))
	if len(v.Audits.Items) != 1 {
		t.Fatalf("audits of v1: %+v", v.Audits)
	}
	a := v.Audits.Items[0]
	p := a.ReportPin
	if a.PolicyID != 1 || p.Status != "PINNED" || !p.Verified || p.CID != a.ReportCID || p.Size != 42 || p.PinnedAt == nil ||
		len(p.Replicas) != 1 || p.Replicas[0].Node != "http://10.0.1.5:5001" || p.Replicas[0].Status != "PINNED" {
		t.Errorf("report pin of audit %d: %+v", a.ID, p)
	}
}

// The typed dry run decodes the failing bounds as the domain's MetricBound (the conversion
// Policy.Bounds uses): the fixture's v1 (audit 1: DPD 0.05 on sex) against DPD ≤ 0.04 and
// an unmeasured EOD bound.
func TestClientPolicyImpact(t *testing.T) {
	bounds := []modeldao.MetricBound{{Kind: modeldao.DemographicParityDifference, Limit: 40000}, {Kind: modeldao.EqualizedOddsDifference, Limit: 100000}}
	got := must[[]client.PolicyImpact](t)(fx.client.PolicyImpact(bg, bounds, false))
	if len(got) != 1 || got[0].VersionID != 1 || got[0].AuditID != 1 || len(got[0].Failing) != 2 {
		t.Fatalf("impact: %+v", got)
	}
	f := got[0].Failing
	if f[0].Bound != bounds[0] || f[0].SensitiveFeature != "sex" || f[0].Value != 50000 || f[0].Margin != -10000 || f[0].Passed ||
		f[1].Bound != bounds[1] || !f[1].Missing {
		t.Errorf("failing: %+v", f)
	}
}
