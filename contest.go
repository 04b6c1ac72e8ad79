package modeldao

import (
	"fmt"
	"slices"

	"github.com/ethereum/go-ethereum/common"
)

// Contested audits: two registered auditors who audited the same version under the same
// policy and disagree, on a metric beyond a tolerance or on the verdict under the policy's
// bounds. Like staleness it is decided at read time from the audits the index holds.

// DefaultContestTolerance is how far apart two auditors' values of the same metric (kind
// and sensitive feature) may lie before they contest each other: 0.05, a twentieth of the
// range of a difference metric and well above the sampling noise of a typical audit set.
const DefaultContestTolerance Fixed6 = 50_000

// AuditConsensus is where the audits of a version stand with each other.
type AuditConsensus uint8

const (
	// ConsensusNone: no audit by a registered auditor.
	ConsensusNone AuditConsensus = 0
	// ConsensusSingle: audits by one registered auditor only, or by several under
	// different policies (nothing to compare).
	ConsensusSingle AuditConsensus = 1
	// ConsensusAgreed: two or more registered auditors audited it under the same policy,
	// and no two of them disagree.
	ConsensusAgreed AuditConsensus = 2
	// ConsensusContested: two registered auditors disagree under some policy.
	ConsensusContested AuditConsensus = 3
)

var consensusNames = [...]string{"NONE", "SINGLE", "AGREED", "CONTESTED"}

func (c AuditConsensus) String() string {
	if int(c) < len(consensusNames) {
		return consensusNames[c]
	}
	return fmt.Sprintf("AuditConsensus(%d)", uint8(c))
}

// DisagreementKind says what two audits disagree on.
type DisagreementKind uint8

const (
	// DisagreeMetric: the same metric kind on the same feature differs beyond the tolerance.
	DisagreeMetric DisagreementKind = 1
	// DisagreeVerdict: one audit passes the policy's bounds (Policy.Evaluate) and the
	// other does not.
	DisagreeVerdict DisagreementKind = 2
)

func (k DisagreementKind) String() string {
	switch k {
	case DisagreeMetric:
		return "METRIC"
	case DisagreeVerdict:
		return "VERDICT"
	}
	return fmt.Sprintf("DisagreementKind(%d)", uint8(k))
}

// AuditDisagreement is one point on which two audits of a version under one policy by two
// auditors disagree. Audit is the older of the two (lower id).
type AuditDisagreement struct {
	Kind         DisagreementKind `json:"kind"`
	PolicyID     uint64           `json:"policyId"`
	AuditID      uint64           `json:"auditId"`
	OtherAuditID uint64           `json:"otherAuditId"`
	Auditor      common.Address   `json:"auditor"`
	OtherAuditor common.Address   `json:"otherAuditor"`
	Passed       bool             `json:"passed"`      // the audit's verdict under the policy
	OtherPassed  bool             `json:"otherPassed"` // the other audit's verdict
	Tolerance    Fixed6           `json:"tolerance"`
	MetricKind   MetricKind       `json:"metricKind"`       // METRIC only
	Feature      Text             `json:"sensitiveFeature"` // METRIC only
	Value        Fixed6           `json:"value"`            // METRIC only
	OtherValue   Fixed6           `json:"otherValue"`       // METRIC only
	Difference   Fixed6           `json:"difference"`       // |Value − OtherValue|, METRIC only
}

// ContestFacts is what the index holds about the audits of one version.
type ContestFacts struct {
	Audits   []Audit            // every audit of the version, any order
	Policies map[uint64]*Policy // the policies the audits name
	// Registered is true for the auditors registered now. Audits of an auditor removed
	// since count for nothing: the DAO withdrew its trust, so its audits neither contest
	// nor confirm another's (and removing the auditor ends a contest it caused).
	Registered map[common.Address]bool
}

// Consensus compares the audits of a version: per policy, the latest audit of each
// registered auditor (an auditor's newer audit of the version under the policy replaces
// its older ones: an auditor does not contest itself) against every other auditor's, each
// pair on every metric both measured (same kind and sensitive feature: a difference beyond
// tolerance disagrees) and on the verdict under the policy's bounds (Policy.Evaluate). It
// returns the consensus and the disagreements, by policy, then audit ids.
func Consensus(f ContestFacts, tolerance Fixed6) (AuditConsensus, []AuditDisagreement) {
	latest := map[uint64]map[common.Address]Audit{}
	for _, a := range f.Audits {
		if !f.Registered[a.Auditor] {
			continue
		}
		byAuditor := latest[a.PolicyID]
		if byAuditor == nil {
			byAuditor = map[common.Address]Audit{}
			latest[a.PolicyID] = byAuditor
		}
		if prev, ok := byAuditor[a.Auditor]; !ok || a.ID > prev.ID {
			byAuditor[a.Auditor] = a
		}
	}
	if len(latest) == 0 {
		return ConsensusNone, nil
	}
	policies := make([]uint64, 0, len(latest))
	for id := range latest {
		policies = append(policies, id)
	}
	slices.Sort(policies)
	compared := false
	var out []AuditDisagreement
	for _, pid := range policies {
		var as []Audit
		for _, a := range latest[pid] {
			as = append(as, a)
		}
		slices.SortFunc(as, func(x, y Audit) int { return cmpUint(x.ID, y.ID) })
		for i := range as {
			for j := i + 1; j < len(as); j++ {
				compared = true
				out = append(out, disagreements(f.Policies[pid], as[i], as[j], tolerance)...)
			}
		}
	}
	switch {
	case len(out) > 0:
		return ConsensusContested, out
	case compared:
		return ConsensusAgreed, nil
	}
	return ConsensusSingle, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// disagreements compares two audits of different auditors under policy p (nil when the
// index lacks it: then only metrics are compared).
func disagreements(p *Policy, a, b Audit, tolerance Fixed6) []AuditDisagreement {
	base := AuditDisagreement{PolicyID: a.PolicyID, AuditID: a.ID, OtherAuditID: b.ID, Auditor: a.Auditor, OtherAuditor: b.Auditor,
		Passed: a.Passed, OtherPassed: b.Passed, Tolerance: tolerance}
	if p != nil {
		base.Passed, base.OtherPassed = p.Evaluate(a).Passed(), p.Evaluate(b).Passed()
	}
	var out []AuditDisagreement
	if base.Passed != base.OtherPassed {
		d := base
		d.Kind = DisagreeVerdict
		out = append(out, d)
	}
	for _, m := range a.Metrics {
		for _, n := range b.Metrics {
			if m.Kind != n.Kind || m.SensitiveFeature != n.SensitiveFeature {
				continue
			}
			diff := subSat(m.Value, n.Value)
			if diff < 0 {
				diff = subSat(0, diff)
			}
			if diff <= tolerance {
				continue
			}
			d := base
			d.Kind, d.MetricKind, d.Feature, d.Value, d.OtherValue, d.Difference = DisagreeMetric, m.Kind, m.SensitiveFeature, m.Value, n.Value, diff
			out = append(out, d)
		}
	}
	return out
}

// ParseContestTolerance parses a tolerance given by a person ("0.05"): a decimal, 0 or more.
func ParseContestTolerance(what, s string) (Fixed6, error) {
	t, err := ParseFixed6(s)
	if err != nil {
		return 0, Errorf(EINVALID, "%s: %s; e.g. 0.05 (the default)", what, ErrorMessage(err))
	}
	if t < 0 {
		return 0, Errorf(EINVALID, "%s is %s: a tolerance is 0 or more, e.g. 0.05 (the default)", what, t)
	}
	return t, nil
}
