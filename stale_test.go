package modeldao

import (
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

func approvedAt(policy, audit uint64) ModelVersion {
	return ModelVersion{ID: 7, Status: VersionApproved, PolicyID: policy, AuditID: audit}
}

func TestStaleRetiredPolicy(t *testing.T) {
	retired := &Provenance{BlockNumber: 40}
	p := &Policy{ID: 3, Active: false, Retired: retired}
	rs := StaleReasons(StaleFacts{Version: approvedAt(3, 0), Policy: p, Head: 50}, DefaultStaleRules())
	if len(rs) != 1 || rs[0].Kind != StaleRetiredPolicy || rs[0].PolicyID != 3 || rs[0].Retired != retired {
		t.Fatalf("reasons = %+v", rs)
	}
	if !strings.Contains(rs[0].Detail(), "policy 3 was retired at block 40") {
		t.Errorf("detail = %q", rs[0].Detail())
	}
	p.Active, p.Retired = true, nil
	if IsStale(StaleFacts{Version: approvedAt(3, 0), Policy: p, Head: 50}, DefaultStaleRules()) {
		t.Error("an approval under an active policy is stale")
	}
}

func TestStaleAuditAgeBoundary(t *testing.T) {
	p := &Policy{ID: 1, Active: true}
	a := &Audit{ID: 9, Provenance: Provenance{BlockNumber: 100}}
	rules := StaleRules{MaxAuditAgeBlocks: 10}
	f := StaleFacts{Version: approvedAt(1, 9), Policy: p, Audit: a, Head: 110}
	if rs := StaleReasons(f, rules); len(rs) != 0 {
		t.Fatalf("audit exactly at the allowed age is stale: %+v", rs)
	}
	f.Head = 111
	rs := StaleReasons(f, rules)
	if len(rs) != 1 || rs[0].Kind != StaleAuditTooOld || rs[0].AuditAgeBlocks != 11 || rs[0].MaxAuditAgeBlocks != 10 || rs[0].AuditID != 9 || rs[0].AuditBlock != 100 {
		t.Fatalf("reasons = %+v", rs)
	}
	// Both reasons, in the order of the checks.
	p.Active = false
	rs = StaleReasons(f, rules)
	if len(rs) != 2 || rs[0].Kind != StaleRetiredPolicy || rs[1].Kind != StaleAuditTooOld {
		t.Fatalf("reasons = %+v", rs)
	}
	// Only APPROVED versions are stale.
	f.Version.Status = VersionRevoked
	if IsStale(f, rules) {
		t.Error("a revoked version is stale")
	}
	// Without an audit there is nothing to age.
	f = StaleFacts{Version: approvedAt(1, 0), Policy: &Policy{ID: 1, Active: true}, Head: 1 << 40}
	if IsStale(f, StaleRules{}) {
		t.Error("an approval without an audit is stale by age")
	}
	if _, err := ParseStaleAuditAge("x", -1); err == nil {
		t.Error("a negative age is accepted")
	}
}

func metricAudit(id uint64, auditor common.Address, passed bool, values ...Fixed6) Audit {
	a := Audit{ID: id, VersionID: 7, PolicyID: 1, Auditor: auditor, Passed: passed}
	for i, v := range values {
		a.Metrics = append(a.Metrics, Metric{Kind: MetricKind(i), SensitiveFeature: "sex", Value: v, Passed: passed})
	}
	return a
}

func TestConsensus(t *testing.T) {
	x, y := common.HexToAddress("0x01"), common.HexToAddress("0x02")
	pol := &Policy{ID: 1, Active: true, Bounds: []MetricBound{{Kind: DemographicParityDifference, Limit: 100_000}}}
	facts := func(as ...Audit) ContestFacts {
		return ContestFacts{Audits: as, Policies: map[uint64]*Policy{1: pol}, Registered: map[common.Address]bool{x: true, y: true}}
	}
	tol := Fixed6(50_000)
	if c, _ := Consensus(facts(), tol); c != ConsensusNone {
		t.Errorf("no audit: %s", c)
	}
	if c, _ := Consensus(facts(metricAudit(1, x, true, 10_000)), tol); c != ConsensusSingle {
		t.Errorf("one audit: %s", c)
	}
	// Exactly at the tolerance: agreed.
	if c, d := Consensus(facts(metricAudit(1, x, true, 10_000), metricAudit(2, y, true, 60_000)), tol); c != ConsensusAgreed || d != nil {
		t.Errorf("within tolerance: %s %+v", c, d)
	}
	// Beyond it, both still passing the bound: a metric disagreement.
	c, d := Consensus(facts(metricAudit(1, x, true, 10_000), metricAudit(2, y, true, 60_001)), tol)
	if c != ConsensusContested || len(d) != 1 || d[0].Kind != DisagreeMetric || d[0].Difference != 50_001 || d[0].AuditID != 1 || d[0].OtherAuditID != 2 {
		t.Fatalf("beyond tolerance: %s %+v", c, d)
	}
	// A verdict difference within tolerance of the values: the bound is 0.1.
	c, d = Consensus(facts(metricAudit(1, x, true, 90_000), metricAudit(2, y, true, 110_000)), tol)
	if c != ConsensusContested || len(d) != 1 || d[0].Kind != DisagreeVerdict || !d[0].Passed || d[0].OtherPassed {
		t.Fatalf("verdict: %s %+v", c, d)
	}
	// The same auditor twice: its newer audit replaces the older, no contest.
	if c, d := Consensus(facts(metricAudit(1, x, true, 10_000), metricAudit(2, x, false, 900_000)), tol); c != ConsensusSingle || d != nil {
		t.Errorf("same auditor: %s %+v", c, d)
	}
	// A removed auditor's audits count for nothing.
	f := facts(metricAudit(1, x, true, 10_000), metricAudit(2, y, true, 900_000))
	f.Registered[y] = false
	if c, _ := Consensus(f, tol); c != ConsensusSingle {
		t.Errorf("removed auditor: %s", c)
	}
	// Different policies are not compared.
	b := metricAudit(2, y, true, 900_000)
	b.PolicyID = 2
	if c, _ := Consensus(facts(metricAudit(1, x, true, 10_000), b), tol); c != ConsensusSingle {
		t.Errorf("different policies: %s", c)
	}
	if _, err := ParseContestTolerance("t", "-0.1"); err == nil {
		t.Error("a negative tolerance is accepted")
	}
}

func TestStaleRevokedAncestor(t *testing.T) {
	f := StaleFacts{Version: approvedAt(3, 0), Head: 50,
		TaintingAncestors: []*ModelVersion{{ID: 4, Status: VersionRevoked}, {ID: 1, Status: VersionRejected}}}
	rs := StaleReasons(f, DefaultStaleRules())
	if len(rs) != 1 || rs[0].Kind != StaleRevokedAncestor || !slices.Equal(rs[0].Ancestors, []uint64{4, 1}) {
		t.Fatalf("reasons = %+v", rs)
	}
	if d := rs[0].Detail(); !strings.Contains(d, "derives from version 4, 1") {
		t.Errorf("detail = %q", d)
	}
	f.Version.Status = VersionSubmitted
	if IsStale(f, DefaultStaleRules()) {
		t.Error("a version that is not approved is stale")
	}
	f.Version.Status, f.TaintingAncestors = VersionApproved, nil
	if IsStale(f, DefaultStaleRules()) {
		t.Error("an approval without a tainting ancestor is stale")
	}
}
