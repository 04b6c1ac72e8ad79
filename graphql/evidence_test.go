package graphql_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/modeldao/modeldao/client"
)

type evidenceCheck struct {
	Bound struct {
		Kind      string
		IsMinimum bool
		Limit     string
	}
	SensitiveFeature string
	Value, Margin    *string
	Passed, Missing  bool
}

type evidence struct {
	ActionIndex  int
	ModelVersion *struct{ ID string }
	Policy       *struct{ ID string }
	Audit        *struct {
		ID         string
		Provenance struct{ BlockNumber uint64 }
	}
	Auditor        *struct{ Address, Name string }
	AuditAgeBlocks *int
	Checks         []evidenceCheck
	Passed         bool
	Reason         string
	Pin            *struct{ Status string }
	Content        *struct{ Status string }
}

const evidenceQuery = `query($id: ID!) { proposal(id: $id) { evidence {
  actionIndex modelVersion { id } policy { id } audit { id provenance { blockNumber } } auditor { address name } auditAgeBlocks
  checks { bound { kind isMinimum limit } sensitiveFeature value margin passed missing }
  passed reason pin { status } content { status } } } }`

func proposalEvidence(t *testing.T, n int) []evidence {
	t.Helper()
	var out struct{ Proposal struct{ Evidence []evidence } }
	if err := fx.client.Exec(bg, evidenceQuery, map[string]any{"id": P(n)}, &out); err != nil {
		t.Fatal(err)
	}
	return out.Proposal.Evidence
}

// The evidence of the fixture's approvals: P2 approves v1 with its passing audit 1 (DPD 0.05
// on sex, DIR 0.9 on race, under DPD ≤ 0.1 and DIR ≥ 0.8), and v1 is pinned; P6 approves v4
// without an audit under a policy that requires one; P3 rejects, so has no evidence.
func TestProposalEvidence(t *testing.T) {
	cp, _, err := fx.store.Checkpoint(bg)
	if err != nil {
		t.Fatal(err)
	}
	ev := proposalEvidence(t, 2)
	if len(ev) != 1 {
		t.Fatalf("P2 evidence: %+v", ev)
	}
	e := ev[0]
	if e.ActionIndex != 0 || e.ModelVersion == nil || e.ModelVersion.ID != "1" || e.Policy == nil || e.Policy.ID != "1" || e.Audit == nil || e.Audit.ID != "1" ||
		!e.Passed || e.Reason != "" || e.Auditor == nil || e.Auditor.Address != fx.addr(audtr).Hex() || e.Auditor.Name != "Fair Audits Ltd" {
		t.Errorf("P2 evidence: %+v", e)
	}
	want := []string{
		`{"Bound":{"Kind":"DEMOGRAPHIC_PARITY_DIFFERENCE","IsMinimum":false,"Limit":"0.1"},"SensitiveFeature":"sex","Value":"0.05","Margin":"0.05","Passed":true,"Missing":false}`,
		`{"Bound":{"Kind":"DISPARATE_IMPACT_RATIO","IsMinimum":true,"Limit":"0.8"},"SensitiveFeature":"race","Value":"0.9","Margin":"0.1","Passed":true,"Missing":false}`,
	}
	if len(e.Checks) != len(want) {
		t.Fatalf("P2 checks: %+v", e.Checks)
	}
	for i, c := range e.Checks {
		if b, _ := json.Marshal(c); string(b) != want[i] {
			t.Errorf("P2 check %d:\n got %s\nwant %s", i, b, want[i])
		}
	}
	if e.Pin == nil || e.Pin.Status != "PINNED" || e.Content == nil || e.Content.Status != "SINGLE_FILE" {
		t.Errorf("P2 weights: pin %+v, content %+v", e.Pin, e.Content)
	}
	if e.Audit == nil || e.AuditAgeBlocks == nil || e.Audit.Provenance.BlockNumber == 0 || uint64(*e.AuditAgeBlocks) != cp.Number-e.Audit.Provenance.BlockNumber {
		t.Errorf("P2 audit age %v at indexed block %d, audit %+v", e.AuditAgeBlocks, cp.Number, e.Audit)
	}

	ev = proposalEvidence(t, 6)
	// Other tests give v4 content; the evidence shows what modelVersion(4) shows.
	if len(ev) != 1 || ev[0].Passed || ev[0].Reason != "policy 1 requires an audit and the approval names none" || ev[0].Audit != nil ||
		ev[0].Auditor != nil || ev[0].AuditAgeBlocks != nil || len(ev[0].Checks) != 0 || ev[0].ModelVersion == nil || ev[0].ModelVersion.ID != "4" ||
		ev[0].Content == nil || ev[0].Content.Status != contentStatus(t, 4) {
		t.Errorf("P6 evidence: %+v", ev)
	}
	if ev = proposalEvidence(t, 3); len(ev) != 0 {
		t.Errorf("P3 (a rejection) has evidence: %+v", ev)
	}
}

type impact struct {
	ModelVersion struct{ ID string }
	Audit        *struct{ ID string }
	Reason       string
	Failing      []evidenceCheck
}

func policyImpact(bounds []map[string]any, auditRequired bool) ([]impact, error) {
	var out struct{ PolicyImpact []impact }
	err := fx.client.Exec(bg, `query($b: [PolicyBoundInput!]!, $r: Boolean!) { policyImpact(bounds: $b, auditRequired: $r) {
  modelVersion { id } audit { id } reason failing { bound { kind isMinimum limit } sensitiveFeature value margin passed missing } } }`,
		map[string]any{"b": bounds, "r": auditRequired}, &out)
	return out.PolicyImpact, err
}

// The fixture has one approved version, v1, approved with audit 1 (DPD 0.05 on sex, DIR 0.9
// on race); v3 was revoked and is not checked.
func TestPolicyImpact(t *testing.T) {
	dpd := func(limit string) map[string]any {
		return map[string]any{"kind": "DEMOGRAPHIC_PARITY_DIFFERENCE", "isMinimum": false, "limit": limit}
	}
	// The baseline policy's own bounds fail nothing.
	got := must[[]impact](t)(policyImpact([]map[string]any{dpd("0.1"), {"kind": "DISPARATE_IMPACT_RATIO", "isMinimum": true, "limit": "0.8"}}, true))
	if len(got) != 0 {
		t.Errorf("baseline bounds: %+v", got)
	}
	// A tighter DPD bound fails v1 by 0.01 on sex; an unmeasured kind fails it as missing.
	got = must[[]impact](t)(policyImpact([]map[string]any{dpd("0.04"), {"kind": "EQUALIZED_ODDS_DIFFERENCE", "isMinimum": false, "limit": "0.1"}}, false))
	if len(got) != 1 || got[0].ModelVersion.ID != "1" || got[0].Audit == nil || got[0].Audit.ID != "1" || got[0].Reason != "2 of 2 bound checks of audit 1 fail" || len(got[0].Failing) != 2 {
		t.Fatalf("tighter bounds: %+v", got)
	}
	f := got[0].Failing
	if f[0].SensitiveFeature != "sex" || f[0].Value == nil || *f[0].Value != "0.05" || f[0].Margin == nil || *f[0].Margin != "-0.01" || f[0].Passed || f[0].Missing ||
		f[1].Bound.Kind != "EQUALIZED_ODDS_DIFFERENCE" || !f[1].Missing || f[1].Value != nil || f[1].Margin != nil {
		t.Errorf("failing rows: %+v", f)
	}
	_, err := policyImpact([]map[string]any{dpd("0.1"), dpd("0.2")}, true)
	wantCode(t, err, client.CodeBadUserInput, "DEMOGRAPHIC_PARITY_DIFFERENCE is bounded twice")
}

// A resolver that loads twice for one field (ModelVersion.content: the release, then the
// pin) gets each read's own results when its versions come as a sibling group.
func TestContentOfSiblingVersions(t *testing.T) {
	var out struct {
		ModelVersions struct {
			Edges []struct {
				Node struct {
					ID      string
					Content struct{ Status string }
				}
			}
		}
	}
	if err := fx.client.Exec(bg, `{ modelVersions(orderDirection: ASC) { edges { node { id content { status } } } } }`, nil, &out); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range out.ModelVersions.Edges {
		got[e.Node.ID] = e.Node.Content.Status
	}
	// Each as the version alone shows it (v1 is pinned: one weights file; v2 is rejected).
	if len(got) != 4 || got["1"] != "SINGLE_FILE" || got["2"] != "UNVERIFIED" {
		t.Errorf("content by version: %v", got)
	}
	for _, id := range []uint64{3, 4} {
		if want := contentStatus(t, id); got[fmt.Sprint(id)] != want {
			t.Errorf("v%d content in the list %s, alone %s", id, got[fmt.Sprint(id)], want)
		}
	}
}

// contentStatus is the content status of one version, queried alone.
func contentStatus(t *testing.T, id uint64) string {
	t.Helper()
	var out struct {
		ModelVersion struct{ Content struct{ Status string } }
	}
	if err := fx.client.Exec(bg, `query($id: ID!) { modelVersion(id: $id) { content { status } } }`, map[string]any{"id": fmt.Sprint(id)}, &out); err != nil {
		t.Fatal(err)
	}
	return out.ModelVersion.Content.Status
}
