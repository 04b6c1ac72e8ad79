package contracts_test

import (
	"crypto/sha256"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
)

const (
	modelName = "acme/sentiment"
	cidCard   = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
	cidDoc    = "bafybeibml5uieyxa5tufngvg7fgwbkwvlsuntwbxgtskoqynbt7wlchmfm"
	cidReport = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
)

// Ids in the registry fixture (newRegistryEnv).
const (
	policyAudited uint64 = 1 // fair-lending: audit required, DPD ≤ 0.1, DIR ≥ 0.8
	policyOpen    uint64 = 2 // no audit required, no bounds
	policyRetired uint64 = 3 // adopted, then retired

	vSubmitted uint64 = 1 // versions of modelName by the publisher, one in each status
	vApproved  uint64 = 2
	vRejected  uint64 = 3
	vRevoked   uint64 = 4

	unknownID uint64 = 99
)

func u(x uint64) *big.Int { return new(big.Int).SetUint64(x) }

func submission(name, label string) modeldao.VersionSubmission {
	return modeldao.VersionSubmission{
		ModelName:     name,
		Label:         label,
		WeightsCID:    "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
		WeightsSHA256: sha256.Sum256([]byte(name + "@" + label)),
		ModelCardCID:  cidCard,
		License:       "Apache-2.0",
		Tags:          []string{"nlp", "sentiment"},
	}
}

func submitCall(s modeldao.VersionSubmission) contracts.RegistryCall {
	return contracts.RegistryCall{Method: "submitVersion", Args: []any{
		s.ModelName, s.Label, s.WeightsCID, [32]byte(s.WeightsSHA256), s.ModelCardCID, s.License, s.Tags, contracts.LineageArg(s.Lineage),
	}}
}

// submit sends a submission from account `from` and returns the new version's id.
func (e *env) submit(t *testing.T, from int, s modeldao.VersionSubmission) (uint64, *types.Receipt) {
	t.Helper()
	r := e.mined(t)(e.dao.Registry.SubmitVersion(e.opts(from), s.ModelName, s.Label, s.WeightsCID, s.WeightsSHA256,
		s.ModelCardCID, s.License, s.Tags, contracts.LineageArg(s.Lineage)))
	return event(t, r, e.dao.Registry.ParseVersionSubmitted).VersionId.Uint64(), r
}

func metric(kind modeldao.MetricKind, feature string, value, threshold modeldao.Fixed6) modeldao.Metric {
	return modeldao.Metric{Kind: kind, SensitiveFeature: modeldao.Text(feature), Value: value, Threshold: threshold, Passed: true}
}

// passingMetrics meet fairLending's bounds.
func passingMetrics() []modeldao.Metric {
	return []modeldao.Metric{
		metric(modeldao.DemographicParityDifference, "sex", 50000, 100000),
		metric(modeldao.DisparateImpactRatio, "sex", 900000, 800000),
	}
}

func chainMetrics(ms []modeldao.Metric) []bindings.ModelRegistryMetric {
	out := make([]bindings.ModelRegistryMetric, len(ms))
	for i, m := range ms {
		out[i] = bindings.ModelRegistryMetric{Kind: uint8(m.Kind), SensitiveFeature: string(m.SensitiveFeature), Value: int64(m.Value),
			Threshold: int64(m.Threshold), Passed: m.Passed}
	}
	return out
}

func chainBounds(bs []modeldao.MetricBound) []bindings.ModelRegistryMetricBound {
	out := make([]bindings.ModelRegistryMetricBound, len(bs))
	for i, b := range bs {
		out[i] = bindings.ModelRegistryMetricBound{Kind: uint8(b.Kind), IsMinimum: b.IsMinimum, Limit: int64(b.Limit)}
	}
	return out
}

// auditInput is a submitAudit call.
type auditInput struct {
	version, policy uint64
	reportCID       string
	reportSHA256    [32]byte
	metrics         []modeldao.Metric
	passed          bool
}

func newAudit(version, policy uint64, metrics []modeldao.Metric, passed bool) auditInput {
	return auditInput{version, policy, cidReport, sha256.Sum256(fmt.Appendf(nil, "report %d %d %v", version, policy, metrics)), metrics, passed}
}

func (a auditInput) call() contracts.RegistryCall {
	return contracts.RegistryCall{Method: "submitAudit", Args: []any{u(a.version), u(a.policy), a.reportCID, a.reportSHA256, chainMetrics(a.metrics), a.passed}}
}

// audit posts an audit from account `from` and returns its id.
func (e *env) audit(t *testing.T, from int, version, policy uint64, metrics []modeldao.Metric, passed bool) (uint64, *types.Receipt) {
	t.Helper()
	a := newAudit(version, policy, metrics, passed)
	r := e.mined(t)(e.dao.Registry.SubmitAudit(e.opts(from), u(a.version), u(a.policy), a.reportCID, a.reportSHA256, chainMetrics(a.metrics), a.passed))
	return event(t, r, e.dao.Registry.ParseAuditSubmitted).AuditId.Uint64(), r
}

func fairLending() modeldao.Policy {
	return modeldao.Policy{Name: "fair-lending", Version: "1.0", DocumentCID: modeldao.Text(cidDoc), AuditRequired: true, Bounds: []modeldao.MetricBound{
		{Kind: modeldao.DemographicParityDifference, Limit: 100000},
		{Kind: modeldao.DisparateImpactRatio, IsMinimum: true, Limit: 800000},
	}}
}

func openPolicy(name string) modeldao.Policy {
	return modeldao.Policy{Name: modeldao.Text(name), Version: "1.0", DocumentCID: modeldao.Text(cidDoc)}
}

func (e *env) status(t *testing.T, id uint64) modeldao.VersionStatus {
	t.Helper()
	return modeldao.VersionStatus(value[uint8](t)(e.dao.Registry.VersionStatus(e.callOpts(), u(id))))
}

func (e *env) wantStatus(t *testing.T, id uint64, want modeldao.VersionStatus) {
	t.Helper()
	if got := e.status(t, id); got != want {
		t.Fatalf("version %d is %v, want %v", id, got, want)
	}
}

func (e *env) version(t *testing.T, id uint64) bindings.ModelRegistryVersion {
	t.Helper()
	return value[bindings.ModelRegistryVersion](t)(e.dao.Registry.GetVersion(e.callOpts(), u(id)))
}

// newRegistryEnv is a chain where one proposal set up the registry: the auditor registered,
// the outsider registered and removed again, the three policies, and four versions of
// modelName by the publisher, one in each status.
func newRegistryEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	for i, label := range []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0"} {
		if id, _ := e.submit(t, publisher, submission(modelName, label)); id != uint64(i+1) {
			t.Fatalf("version %s got id %d", label, id)
		}
	}
	e.pass(t,
		contracts.AddAuditor(e.addr(auditor), "Fair Audits Ltd"),
		contracts.AddAuditor(e.addr(outsider), "Former Auditor"),
		contracts.RemoveAuditor(e.addr(outsider)),
		contracts.AdoptPolicy(fairLending()),
		contracts.AdoptPolicy(openPolicy("open")),
		contracts.AdoptPolicy(openPolicy("retired")),
		contracts.RetirePolicy(policyRetired),
		contracts.ApproveVersion(vApproved, policyOpen, 0),
		contracts.RejectVersion(vRejected, "incomplete model card"),
		contracts.ApproveVersion(vRevoked, policyOpen, 0),
		contracts.RevokeVersion(vRevoked, "licence withdrawn"),
	)
	for id, want := range map[uint64]modeldao.VersionStatus{vSubmitted: modeldao.VersionSubmitted, vApproved: modeldao.VersionApproved,
		vRejected: modeldao.VersionRejected, vRevoked: modeldao.VersionRevoked} {
		e.wantStatus(t, id, want)
	}
	return e
}

// Only governance, the timelock, changes statuses, auditors and policies.
func TestRegistryGovernanceOnly(t *testing.T) {
	e := newRegistryEnv(t)
	// Each call is valid, so that nothing but its caller can make it revert: the control
	// from the timelock succeeds.
	calls := []contracts.RegistryCall{
		contracts.ApproveVersion(vSubmitted, policyOpen, 0),
		contracts.RejectVersion(vSubmitted, "not good enough"),
		contracts.RevokeVersion(vApproved, "bias found"),
		contracts.AddAuditor(e.addr(outsider), "Another Auditor"),
		contracts.RemoveAuditor(e.addr(auditor)),
		contracts.AdoptPolicy(openPolicy("another")),
		contracts.RetirePolicy(policyAudited),
	}
	callers := []struct {
		name string
		addr common.Address
	}{
		{"token holder", e.addr(holderB)},
		{"deployer and token owner", e.addr(deployer)},
		{"governor", e.governor()},
		{"publisher", e.addr(publisher)},
		{"auditor", e.addr(auditor)},
	}
	for _, c := range calls {
		t.Run(c.Method, func(t *testing.T) {
			if err := e.callRegistry(t, e.timelock(), c); err != nil {
				t.Fatalf("from the timelock: %v", err)
			}
			for _, who := range callers {
				t.Run("from the "+who.name, func(t *testing.T) {
					expectRevert(t, e.callRegistry(t, who.addr, c), "NotGovernance", who.addr)
				})
			}
		})
	}
	t.Run("a mined transaction from a token holder reverts", func(t *testing.T) {
		// The gas estimate already fails with the custom error ...
		_, err := e.dao.Registry.ApproveVersion(e.opts(holderB), u(vSubmitted), u(policyOpen), u(0))
		expectRevert(t, err, "NotGovernance", e.addr(holderB))
		// ... and a transaction forced past it reverts on chain.
		opts := e.opts(holderB)
		opts.GasLimit = 300_000
		tx := value[*types.Transaction](t)(e.dao.Registry.ApproveVersion(opts, u(vSubmitted), u(policyOpen), u(0)))
		if r := e.include(t, tx)[0]; r.Status != types.ReceiptStatusFailed {
			t.Fatal("approveVersion from a token holder succeeded on chain")
		}
		e.wantStatus(t, vSubmitted, modeldao.VersionSubmitted)
	})
}

// Only active auditors post audits.
func TestRegistryAuditorsOnly(t *testing.T) {
	e := newRegistryEnv(t)
	c := newAudit(vSubmitted, policyAudited, passingMetrics(), true).call()
	if err := e.callRegistry(t, e.addr(auditor), c); err != nil {
		t.Fatalf("from the registered auditor: %v", err)
	}
	for _, who := range []struct {
		name string
		addr common.Address
	}{
		{"never added: a token holder", e.addr(holderB)},
		{"never added: the publisher", e.addr(publisher)},
		{"never added: the timelock", e.timelock()},
		{"removed", e.addr(outsider)},
	} {
		t.Run(who.name, func(t *testing.T) {
			expectRevert(t, e.callRegistry(t, who.addr, c), "NotAuditor", who.addr)
		})
	}
}

// A model name belongs to its first publisher.
func TestRegistryModelOwnership(t *testing.T) {
	e := newRegistryEnv(t)
	next := submitCall(submission(modelName, "3.0.0"))
	if err := e.callRegistry(t, e.addr(publisher), next); err != nil {
		t.Fatalf("the owner's next version: %v", err)
	}
	for _, who := range []common.Address{e.addr(outsider), e.addr(holderB), e.timelock()} {
		expectRevert(t, e.callRegistry(t, who, next), "NotModelOwner", modelName, e.addr(publisher))
	}
	// Another name is free for anyone; its first version registers it, later ones do not.
	_, r := e.submit(t, outsider, submission("outsider/model", "0.1"))
	event(t, r, e.dao.Registry.ParseModelRegistered)
	_, r = e.submit(t, outsider, submission("outsider/model", "0.2"))
	for _, l := range r.Logs {
		if _, err := e.dao.Registry.ParseModelRegistered(*l); err == nil {
			t.Fatal("a second version registered its model again")
		}
	}
	expectRevert(t, e.callRegistry(t, e.addr(publisher), submitCall(submission("outsider/model", "0.3"))),
		"NotModelOwner", "outsider/model", e.addr(outsider))
}

// An approval names an active policy and, when the policy requires an audit, a passing
// audit of that version under that policy that meets every bound. Each broken rule is a
// real proposal whose execution reverts with the registry's error.
func TestRegistryApprovalRules(t *testing.T) {
	e := newRegistryEnv(t)
	dpd, dir, eod := modeldao.DemographicParityDifference, modeldao.DisparateImpactRatio, modeldao.EqualizedOddsDifference
	other, _ := e.submit(t, publisher, submission(modelName, "1.3.0"))
	audit := func(version, policy uint64, passed bool, ms ...modeldao.Metric) uint64 {
		id, _ := e.audit(t, auditor, version, policy, ms, passed)
		return id
	}
	failed := metric(dir, "sex", 700000, 800000)
	failed.Passed = false
	var (
		// Exactly at both bounds, plus a metric the policy does not bound.
		good        = audit(vSubmitted, policyAudited, true, metric(dpd, "sex", 100000, 100000), metric(dir, "sex", 800000, 800000), metric(eod, "sex", 900000, 950000))
		notPassed   = audit(vSubmitted, policyAudited, false, metric(dpd, "sex", 50000, 100000), failed)
		noRatio     = audit(vSubmitted, policyAudited, true, metric(dpd, "sex", 50000, 100000))
		overMax     = audit(vSubmitted, policyAudited, true, metric(dpd, "sex", 200000, 250000), metric(dir, "sex", 900000, 800000))
		underMin    = audit(vSubmitted, policyAudited, true, metric(dpd, "sex", 50000, 100000), metric(dir, "race", 700000, 600000))
		oneOfTwo    = audit(vSubmitted, policyAudited, true, metric(dpd, "sex", 50000, 100000), metric(dpd, "race", 150000, 200000), metric(dir, "sex", 900000, 800000))
		ofOther     = audit(other, policyAudited, true, passingMetrics()...)
		underOpen   = audit(vSubmitted, policyOpen, true, passingMetrics()...)
		approve     = func(v, p, a uint64) contracts.Proposal { return e.proposal(t, contracts.ApproveVersion(v, p, a)) }
		relayedCall = pack(t, contracts.RegistryABI, "approveVersion", u(vSubmitted), u(policyOpen), u(0))
	)
	relayed := contracts.Proposal{
		Targets:     []common.Address{e.governor()},
		Values:      []*big.Int{new(big.Int)},
		Calldatas:   [][]byte{pack(t, contracts.GovernorABI, "relay", e.registry(), new(big.Int), relayedCall)},
		Description: "# Relay an approval through the governor",
	}
	cases := []struct {
		name string
		p    contracts.Proposal
		err  string
		args []any
	}{
		{"no audit under an audit-requiring policy", approve(vSubmitted, policyAudited, 0), "AuditRequired", []any{vSubmitted, policyAudited}},
		{"audit of another version", approve(vSubmitted, policyAudited, ofOther), "AuditMismatch", []any{ofOther, vSubmitted, policyAudited}},
		{"audit under another policy", approve(vSubmitted, policyAudited, underOpen), "AuditMismatch", []any{underOpen, vSubmitted, policyAudited}},
		{"named audit under another policy, even one that needs none", approve(vSubmitted, policyOpen, good), "AuditMismatch", []any{good, vSubmitted, policyOpen}},
		{"failing audit", approve(vSubmitted, policyAudited, notPassed), "AuditNotPassed", []any{notPassed}},
		{"bounded metric missing", approve(vSubmitted, policyAudited, noRatio), "MetricMissing", []any{noRatio, uint8(dir)}},
		{"metric over a maximum", approve(vSubmitted, policyAudited, overMax), "BoundNotMet", []any{overMax, uint8(dpd), "sex", 200000, 100000}},
		{"metric under a minimum", approve(vSubmitted, policyAudited, underMin), "BoundNotMet", []any{underMin, uint8(dir), "race", 700000, 800000}},
		{"one of two metrics of a kind over the maximum", approve(vSubmitted, policyAudited, oneOfTwo), "BoundNotMet", []any{oneOfTwo, uint8(dpd), "race", 150000, 100000}},
		{"retired policy", approve(vSubmitted, policyRetired, 0), "PolicyNotActive", []any{policyRetired}},
		{"unknown policy", approve(vSubmitted, unknownID, 0), "UnknownPolicy", []any{unknownID}},
		{"policy 0", approve(vSubmitted, 0, 0), "UnknownPolicy", []any{0}},
		{"unknown audit", approve(vSubmitted, policyAudited, unknownID), "UnknownAudit", []any{unknownID}},
		{"unknown version", approve(unknownID, policyOpen, 0), "UnknownVersion", []any{unknownID}},
		{"relayed by the governor", relayed, "NotGovernance", []any{e.governor()}},
	}
	approveGood := approve(vSubmitted, policyAudited, good)
	approveOpen := approve(other, policyOpen, 0)
	all := []contracts.Proposal{approveGood, approveOpen}
	for _, c := range cases {
		all = append(all, c.p)
	}
	e.queueAll(t, all...)
	e.waitTimelock(t)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.wantState(t, c.p, modeldao.ProposalQueued)
			expectRevert(t, e.executeCall(t, c.p), c.err, c.args...)
		})
	}
	t.Run("an audit that meets the bounds exactly", func(t *testing.T) {
		r := e.mined(t)(e.dao.Execute(e.opts(outsider), approveGood))
		if ev := event(t, r, e.dao.Registry.ParseVersionApproved); ev.VersionId.Uint64() != vSubmitted || ev.PolicyId.Uint64() != policyAudited || ev.AuditId.Uint64() != good {
			t.Fatalf("VersionApproved = %+v", ev)
		}
		if v := e.version(t, vSubmitted); modeldao.VersionStatus(v.Status) != modeldao.VersionApproved || v.PolicyId != policyAudited || v.AuditId != good {
			t.Fatalf("getVersion = %+v", v)
		}
	})
	t.Run("no audit under a policy that requires none", func(t *testing.T) {
		e.mined(t)(e.dao.Execute(e.opts(outsider), approveOpen))
		if v := e.version(t, other); modeldao.VersionStatus(v.Status) != modeldao.VersionApproved || v.PolicyId != policyOpen || v.AuditId != 0 {
			t.Fatalf("getVersion = %+v", v)
		}
	})
}

// revertCase is an eth_call that must revert with a custom error, or succeed when err is
// "" (a control at the limit, showing the rule is what rejects the neighbouring case).
type revertCase struct {
	name string
	from common.Address
	call contracts.RegistryCall
	err  string
	args []any
}

func (e *env) runRevertCases(t *testing.T, cases []revertCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := e.callRegistry(t, c.from, c.call)
			if c.err == "" {
				if err != nil {
					t.Fatalf("%s: %v; want success", c.call.Method, err)
				}
				return
			}
			expectRevert(t, err, c.err, c.args...)
		})
	}
}

func TestRegistryBadInput(t *testing.T) {
	e := newRegistryEnv(t)
	long := func(n int) string { return strings.Repeat("x", n) }

	t.Run("submitVersion", func(t *testing.T) {
		sub := func(f func(*modeldao.VersionSubmission)) contracts.RegistryCall {
			s := submission(modelName, "9.9.9")
			f(&s)
			return submitCall(s)
		}
		tags := func(n, length int) []string {
			ts := make([]string, n)
			for i := range ts {
				ts[i] = fmt.Sprintf("%0*d", length, i)
			}
			return ts
		}
		from := e.addr(publisher)
		e.runRevertCases(t, []revertCase{
			{"valid", from, sub(func(*modeldao.VersionSubmission) {}), "", nil},
			{"limits", e.addr(outsider), sub(func(s *modeldao.VersionSubmission) {
				s.ModelName, s.Label, s.WeightsCID, s.ModelCardCID, s.License, s.Tags = "Aa0-_./"+long(89), long(64), long(128), long(128), long(64), tags(16, 32)
			}), "", nil},
			{"no tags", from, sub(func(s *modeldao.VersionSubmission) { s.Tags = nil }), "", nil},
			{"empty model name", from, sub(func(s *modeldao.VersionSubmission) { s.ModelName = "" }), "EmptyString", []any{"modelName"}},
			{"model name too long", from, sub(func(s *modeldao.VersionSubmission) { s.ModelName = long(97) }), "StringTooLong", []any{"modelName", 96}},
			{"model name with a space", from, sub(func(s *modeldao.VersionSubmission) { s.ModelName = "acme sentiment" }), "InvalidModelName", []any{"acme sentiment"}},
			{"model name with a colon", from, sub(func(s *modeldao.VersionSubmission) { s.ModelName = "acme:sentiment" }), "InvalidModelName", nil},
			{"model name with a non-ASCII letter", from, sub(func(s *modeldao.VersionSubmission) { s.ModelName = "acmé" }), "InvalidModelName", nil},
			{"model name with a Cyrillic look-alike", from, sub(func(s *modeldao.VersionSubmission) { s.ModelName = "\u0430cme/sentiment" }), "InvalidModelName", nil},
			{"model name with a NUL", from, sub(func(s *modeldao.VersionSubmission) { s.ModelName = "acme\x00" }), "InvalidModelName", nil},
			{"model name with a backslash", from, sub(func(s *modeldao.VersionSubmission) { s.ModelName = `acme\sentiment` }), "InvalidModelName", nil},
			{"empty version label", from, sub(func(s *modeldao.VersionSubmission) { s.Label = "" }), "EmptyString", []any{"versionLabel"}},
			{"version label too long", from, sub(func(s *modeldao.VersionSubmission) { s.Label = long(65) }), "StringTooLong", []any{"versionLabel", 64}},
			{"empty weights CID", from, sub(func(s *modeldao.VersionSubmission) { s.WeightsCID = "" }), "EmptyString", []any{"weightsCID"}},
			{"weights CID too long", from, sub(func(s *modeldao.VersionSubmission) { s.WeightsCID = long(129) }), "StringTooLong", []any{"weightsCID", 128}},
			{"zero weights digest", from, sub(func(s *modeldao.VersionSubmission) { s.WeightsSHA256 = common.Hash{} }), "ZeroDigest", []any{"weightsSha256"}},
			{"empty model card CID", from, sub(func(s *modeldao.VersionSubmission) { s.ModelCardCID = "" }), "EmptyString", []any{"modelCardCID"}},
			{"model card CID too long", from, sub(func(s *modeldao.VersionSubmission) { s.ModelCardCID = long(129) }), "StringTooLong", []any{"modelCardCID", 128}},
			{"empty license", from, sub(func(s *modeldao.VersionSubmission) { s.License = "" }), "EmptyString", []any{"license"}},
			{"license too long", from, sub(func(s *modeldao.VersionSubmission) { s.License = long(65) }), "StringTooLong", []any{"license", 64}},
			{"17 tags", from, sub(func(s *modeldao.VersionSubmission) { s.Tags = tags(17, 3) }), "TooMany", []any{"tags", 16}},
			{"empty tag", from, sub(func(s *modeldao.VersionSubmission) { s.Tags = []string{"nlp", ""} }), "EmptyString", []any{"tag"}},
			{"tag too long", from, sub(func(s *modeldao.VersionSubmission) { s.Tags = tags(1, 33) }), "StringTooLong", []any{"tag", 32}},
			{"duplicate name and label", from, sub(func(s *modeldao.VersionSubmission) { s.Label = "1.0.0" }), "DuplicateVersion", []any{modelName, "1.0.0"}},
		})
	})

	t.Run("submitAudit", func(t *testing.T) {
		aud := func(f func(*auditInput)) contracts.RegistryCall {
			a := newAudit(vSubmitted, policyAudited, passingMetrics(), true)
			f(&a)
			return a.call()
		}
		metrics := func(n int) []modeldao.Metric {
			ms := make([]modeldao.Metric, n)
			for i := range ms {
				ms[i] = metric(modeldao.MetricKind(i%32), long(64), -1, 0)
			}
			return ms
		}
		from := e.addr(auditor)
		e.runRevertCases(t, []revertCase{
			{"valid", from, aud(func(*auditInput) {}), "", nil},
			{"limits", from, aud(func(a *auditInput) { a.reportCID, a.metrics = long(128), metrics(64) }), "", nil},
			{"failing verdict with a failed metric", from, aud(func(a *auditInput) { a.passed = false; a.metrics[0].Passed = false }), "", nil},
			{"unknown version", from, aud(func(a *auditInput) { a.version = unknownID }), "UnknownVersion", []any{unknownID}},
			{"version 0", from, aud(func(a *auditInput) { a.version = 0 }), "UnknownVersion", []any{0}},
			{"unknown policy", from, aud(func(a *auditInput) { a.policy = unknownID }), "UnknownPolicy", []any{unknownID}},
			{"policy 0", from, aud(func(a *auditInput) { a.policy = 0 }), "UnknownPolicy", []any{0}},
			{"retired policy", from, aud(func(a *auditInput) { a.policy = policyRetired }), "PolicyNotActive", []any{policyRetired}},
			{"empty report CID", from, aud(func(a *auditInput) { a.reportCID = "" }), "EmptyString", []any{"reportCID"}},
			{"report CID too long", from, aud(func(a *auditInput) { a.reportCID = long(129) }), "StringTooLong", []any{"reportCID", 128}},
			{"zero report digest", from, aud(func(a *auditInput) { a.reportSHA256 = [32]byte{} }), "ZeroDigest", []any{"reportSha256"}},
			{"no metrics", from, aud(func(a *auditInput) { a.metrics = nil }), "EmptyString", []any{"metrics"}},
			{"65 metrics", from, aud(func(a *auditInput) { a.metrics = metrics(65) }), "TooMany", []any{"metrics", 64}},
			{"metric kind 32", from, aud(func(a *auditInput) { a.metrics[1].Kind = 32 }), "InvalidMetricKind", []any{32}},
			{"metric kind 255", from, aud(func(a *auditInput) { a.metrics[0].Kind = 255 }), "InvalidMetricKind", []any{255}},
			{"empty sensitive feature", from, aud(func(a *auditInput) { a.metrics[0].SensitiveFeature = "" }), "EmptyString", []any{"sensitiveFeature"}},
			{"sensitive feature too long", from, aud(func(a *auditInput) { a.metrics[1].SensitiveFeature = modeldao.Text(long(65)) }), "StringTooLong", []any{"sensitiveFeature", 64}},
			{"passing verdict with a failed metric", from, aud(func(a *auditInput) { a.metrics[1].Passed = false }), "InconsistentVerdict", nil},
		})
	})

	// Governance's own calls, as the timelock would execute them.
	gov := e.timelock()
	bounds := func(kinds ...uint8) []modeldao.MetricBound {
		bs := make([]modeldao.MetricBound, len(kinds))
		for i, k := range kinds {
			bs[i] = modeldao.MetricBound{Kind: modeldao.MetricKind(k), Limit: 1}
		}
		return bs
	}
	kinds := func(n int) []uint8 {
		ks := make([]uint8, n)
		for i := range ks {
			ks[i] = uint8(i)
		}
		return ks
	}
	policy := func(f func(*modeldao.Policy)) contracts.RegistryCall {
		p := fairLending()
		f(&p)
		return contracts.AdoptPolicy(p)
	}

	t.Run("adoptPolicy", func(t *testing.T) {
		e.runRevertCases(t, []revertCase{
			{"valid", gov, policy(func(*modeldao.Policy) {}), "", nil},
			{"limits: 32 bounds of kinds 0 to 31", gov, policy(func(p *modeldao.Policy) {
				p.Name, p.Version, p.DocumentCID, p.Bounds = modeldao.Text(long(64)), modeldao.Text(long(64)), modeldao.Text(long(128)), bounds(kinds(32)...)
			}), "", nil},
			{"no bounds", gov, policy(func(p *modeldao.Policy) { p.Bounds = nil }), "", nil},
			{"empty name", gov, policy(func(p *modeldao.Policy) { p.Name = "" }), "EmptyString", []any{"policyName"}},
			{"name too long", gov, policy(func(p *modeldao.Policy) { p.Name = modeldao.Text(long(65)) }), "StringTooLong", []any{"policyName", 64}},
			{"empty version", gov, policy(func(p *modeldao.Policy) { p.Version = "" }), "EmptyString", []any{"policyVersion"}},
			{"version too long", gov, policy(func(p *modeldao.Policy) { p.Version = modeldao.Text(long(65)) }), "StringTooLong", []any{"policyVersion", 64}},
			{"empty document CID", gov, policy(func(p *modeldao.Policy) { p.DocumentCID = "" }), "EmptyString", []any{"documentCID"}},
			{"document CID too long", gov, policy(func(p *modeldao.Policy) { p.DocumentCID = modeldao.Text(long(129)) }), "StringTooLong", []any{"documentCID", 128}},
			{"33 bounds", gov, policy(func(p *modeldao.Policy) { p.Bounds = bounds(append(kinds(32), 0)...) }), "TooMany", []any{"bounds", 32}},
			{"bound of kind 32", gov, policy(func(p *modeldao.Policy) { p.Bounds = bounds(0, 32) }), "InvalidMetricKind", []any{32}},
			{"duplicate bound kind", gov, policy(func(p *modeldao.Policy) { p.Bounds = bounds(4, 1, 4) }), "DuplicateBound", []any{4}},
			{"duplicate bound kind 31", gov, policy(func(p *modeldao.Policy) { p.Bounds = bounds(31, 31) }), "DuplicateBound", []any{31}},
		})
	})

	t.Run("auditors", func(t *testing.T) {
		e.runRevertCases(t, []revertCase{
			{"add: valid, name at the limit", gov, contracts.AddAuditor(e.addr(holderC), long(64)), "", nil},
			{"add: re-adding a removed auditor", gov, contracts.AddAuditor(e.addr(outsider), "Back Again"), "", nil},
			{"add: zero address", gov, contracts.AddAuditor(common.Address{}, "Nobody"), "ZeroAddress", nil},
			{"add: empty name", gov, contracts.AddAuditor(e.addr(holderC), ""), "EmptyString", []any{"auditorName"}},
			{"add: name too long", gov, contracts.AddAuditor(e.addr(holderC), long(65)), "StringTooLong", []any{"auditorName", 64}},
			{"add: already active", gov, contracts.AddAuditor(e.addr(auditor), "Fair Audits Ltd"), "AuditorAlreadyActive", []any{e.addr(auditor)}},
			{"remove: valid", gov, contracts.RemoveAuditor(e.addr(auditor)), "", nil},
			{"remove: never an auditor", gov, contracts.RemoveAuditor(e.addr(holderB)), "AuditorNotActive", []any{e.addr(holderB)}},
			{"remove: already removed", gov, contracts.RemoveAuditor(e.addr(outsider)), "AuditorNotActive", []any{e.addr(outsider)}},
		})
	})

	t.Run("policies and versions by id", func(t *testing.T) {
		e.runRevertCases(t, []revertCase{
			{"retire: unknown policy", gov, contracts.RetirePolicy(unknownID), "UnknownPolicy", []any{unknownID}},
			{"retire: policy 0", gov, contracts.RetirePolicy(0), "UnknownPolicy", []any{0}},
			{"retire: retired policy", gov, contracts.RetirePolicy(policyRetired), "PolicyNotActive", []any{policyRetired}},
			{"approve: unknown version", gov, contracts.ApproveVersion(unknownID, policyOpen, 0), "UnknownVersion", []any{unknownID}},
			{"approve: version 0", gov, contracts.ApproveVersion(0, policyOpen, 0), "UnknownVersion", []any{0}},
			{"reject: unknown version", gov, contracts.RejectVersion(unknownID, ""), "UnknownVersion", []any{unknownID}},
			{"revoke: unknown version", gov, contracts.RevokeVersion(unknownID, ""), "UnknownVersion", []any{unknownID}},
			{"reject: reason at the limit", gov, contracts.RejectVersion(vSubmitted, long(1024)), "", nil},
			{"reject: no reason", gov, contracts.RejectVersion(vSubmitted, ""), "", nil},
			{"reject: reason too long", gov, contracts.RejectVersion(vSubmitted, long(1025)), "StringTooLong", []any{"reason", 1024}},
			{"revoke: reason too long", gov, contracts.RevokeVersion(vApproved, long(1025)), "StringTooLong", []any{"reason", 1024}},
			{"getVersion: unknown", e.addr(outsider), contracts.RegistryCall{Method: "getVersion", Args: []any{u(unknownID)}}, "UnknownVersion", []any{unknownID}},
			{"getVersion: 0", e.addr(outsider), contracts.RegistryCall{Method: "getVersion", Args: []any{u(0)}}, "UnknownVersion", []any{0}},
			{"getPolicy: unknown", e.addr(outsider), contracts.RegistryCall{Method: "getPolicy", Args: []any{u(unknownID)}}, "UnknownPolicy", []any{unknownID}},
			{"getPolicy: 0", e.addr(outsider), contracts.RegistryCall{Method: "getPolicy", Args: []any{u(0)}}, "UnknownPolicy", []any{0}},
			{"getAudit: unknown", e.addr(outsider), contracts.RegistryCall{Method: "getAudit", Args: []any{u(unknownID)}}, "UnknownAudit", []any{unknownID}},
			{"getAudit: 0", e.addr(outsider), contracts.RegistryCall{Method: "getAudit", Args: []any{u(0)}}, "UnknownAudit", []any{0}},
		})
	})
}

// Every status transition: Submitted→Approved, Submitted→Rejected and Approved→Revoked are
// the only ones, as modeldao.VersionStatus.CanTransition says.
func TestRegistryStatusTransitions(t *testing.T) {
	e := newRegistryEnv(t)
	ops := []struct {
		name string
		to   modeldao.VersionStatus
		call func(id uint64) contracts.RegistryCall
	}{
		{"approve", modeldao.VersionApproved, func(id uint64) contracts.RegistryCall { return contracts.ApproveVersion(id, policyOpen, 0) }},
		{"reject", modeldao.VersionRejected, func(id uint64) contracts.RegistryCall { return contracts.RejectVersion(id, "") }},
		{"revoke", modeldao.VersionRevoked, func(id uint64) contracts.RegistryCall { return contracts.RevokeVersion(id, "") }},
	}
	allowed := map[[2]modeldao.VersionStatus]bool{
		{modeldao.VersionSubmitted, modeldao.VersionApproved}: true,
		{modeldao.VersionSubmitted, modeldao.VersionRejected}: true,
		{modeldao.VersionApproved, modeldao.VersionRevoked}:   true,
	}
	for _, v := range []struct {
		id     uint64
		status modeldao.VersionStatus
	}{{vSubmitted, modeldao.VersionSubmitted}, {vApproved, modeldao.VersionApproved}, {vRejected, modeldao.VersionRejected}, {vRevoked, modeldao.VersionRevoked}} {
		for _, op := range ops {
			t.Run(fmt.Sprintf("%s a %s version", op.name, strings.ToLower(v.status.String())), func(t *testing.T) {
				ok := allowed[[2]modeldao.VersionStatus{v.status, op.to}]
				if ok != v.status.CanTransition(op.to) {
					t.Fatalf("modeldao says %v→%v is allowed: %v; the registry's rule: %v", v.status, op.to, v.status.CanTransition(op.to), ok)
				}
				err := e.callRegistry(t, e.timelock(), op.call(v.id))
				if ok {
					if err != nil {
						t.Fatalf("allowed transition reverted: %v", err)
					}
					return
				}
				expectRevert(t, err, "InvalidTransition", v.id, uint8(v.status), uint8(op.to))
			})
		}
	}
}
