package modeldao

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Stale approvals: an APPROVED version whose approval no longer holds up as it did when
// the DAO voted. Staleness is decided at read time from what the index holds at its head
// (policies retire, audits age), never stored, so that a reorg that undoes the retirement
// of a policy makes its approvals fresh again without any bookkeeping.

// DefaultStaleAuditAgeBlocks is how many blocks an approval's audit may be old before the
// approval is stale (AUDIT_TOO_OLD): about a year of 12-second blocks, the usual period
// after which a bias audit is redone.
const DefaultStaleAuditAgeBlocks = 2_628_000

// StaleReasonKind says why an approval is stale.
type StaleReasonKind uint8

const (
	// StaleRetiredPolicy: the policy the approval names was retired since.
	StaleRetiredPolicy StaleReasonKind = 1
	// StaleAuditTooOld: the audit the approval rests on is older than the allowed age.
	StaleAuditTooOld StaleReasonKind = 2
	// StaleRevokedAncestor: a version the approved one derives from (at any depth up to
	// TaintDepth) was revoked or rejected since.
	StaleRevokedAncestor StaleReasonKind = 3
)

func (k StaleReasonKind) String() string {
	switch k {
	case StaleRetiredPolicy:
		return "RETIRED_POLICY"
	case StaleAuditTooOld:
		return "AUDIT_TOO_OLD"
	case StaleRevokedAncestor:
		return "REVOKED_ANCESTOR"
	}
	return fmt.Sprintf("StaleReasonKind(%d)", uint8(k))
}

// StaleRules are the thresholds of the stale checks.
type StaleRules struct {
	// MaxAuditAgeBlocks: an approval's audit older than this many blocks (head − the
	// audit's block > MaxAuditAgeBlocks) makes it stale.
	MaxAuditAgeBlocks uint64
}

// DefaultStaleRules are the rules with their documented defaults.
func DefaultStaleRules() StaleRules {
	return StaleRules{MaxAuditAgeBlocks: DefaultStaleAuditAgeBlocks}
}

// ParseStaleAuditAge checks an audit age given by a person (a setting or a query argument).
func ParseStaleAuditAge(what string, n int64) (uint64, error) {
	if n < 0 {
		return 0, Errorf(EINVALID, "%s is %d: give a number of blocks, 0 or more (the default is %d, about a year of 12-second blocks)", what, n, DefaultStaleAuditAgeBlocks)
	}
	return uint64(n), nil
}

// StaleFacts is what the index holds about one version's approval, read at one head.
type StaleFacts struct {
	Version ModelVersion
	Policy  *Policy // the approval's policy; nil when unknown
	Audit   *Audit  // the approval's audit; nil when it named none (or the index lacks it)
	Head    uint64  // the indexed head block, against which ages are measured
	// TaintingAncestors are the REVOKED or REJECTED versions of its ancestry, nearest first.
	TaintingAncestors []*ModelVersion
}

// StaleReason is one reason why an approval is stale, with what a steward needs to act
// on it. Fields that do not concern the kind are zero.
type StaleReason struct {
	Kind     StaleReasonKind `json:"kind"`
	PolicyID uint64          `json:"policyId"`
	// Retired is when the policy was retired (RETIRED_POLICY).
	Retired *Provenance `json:"retired,omitempty"`
	// AuditID, AuditBlock, AuditAgeBlocks, MaxAuditAgeBlocks: the audit, its block, its
	// age at the head and the age allowed (AUDIT_TOO_OLD).
	AuditID           uint64 `json:"auditId,omitempty"`
	AuditBlock        uint64 `json:"auditBlock,omitempty"`
	AuditAgeBlocks    uint64 `json:"auditAgeBlocks,omitempty"`
	MaxAuditAgeBlocks uint64 `json:"maxAuditAgeBlocks,omitempty"`
	// Ancestors are the REVOKED or REJECTED ancestors, nearest first (REVOKED_ANCESTOR).
	Ancestors []uint64 `json:"ancestors,omitempty"`
}

// Detail says the reason in words.
func (r StaleReason) Detail() string {
	switch r.Kind {
	case StaleRetiredPolicy:
		if r.Retired != nil {
			return fmt.Sprintf("policy %d was retired at block %d", r.PolicyID, r.Retired.BlockNumber)
		}
		return fmt.Sprintf("policy %d was retired", r.PolicyID)
	case StaleAuditTooOld:
		return fmt.Sprintf("audit %d (block %d) is %d blocks old; at most %d are allowed", r.AuditID, r.AuditBlock, r.AuditAgeBlocks, r.MaxAuditAgeBlocks)
	case StaleRevokedAncestor:
		ids := make([]string, len(r.Ancestors))
		for i, id := range r.Ancestors {
			ids[i] = strconv.FormatUint(id, 10)
		}
		return fmt.Sprintf("it derives from version %s, revoked or rejected since", strings.Join(ids, ", "))
	}
	return r.Kind.String()
}

// staleCheck is one rule of staleness: the reason, and whether it applies.
type staleCheck func(StaleFacts, StaleRules) (StaleReason, bool)

// staleChecks is the one place that lists the rules, in the order reasons are given. A
// new reason is a new check here (and, when it needs more facts, a field of StaleFacts).
var staleChecks = []staleCheck{
	retiredPolicy,
	auditTooOld,
	revokedAncestor,
}

// StaleReasons returns why the version's approval is stale, in the order of staleChecks;
// none for a fresh approval and for a version that is not APPROVED.
func StaleReasons(f StaleFacts, rules StaleRules) []StaleReason {
	if f.Version.Status != VersionApproved {
		return nil
	}
	var out []StaleReason
	for _, c := range staleChecks {
		if r, ok := c(f, rules); ok {
			out = append(out, r)
		}
	}
	return out
}

// IsStale reports whether StaleReasons gives any reason.
func IsStale(f StaleFacts, rules StaleRules) bool { return len(StaleReasons(f, rules)) > 0 }

// retiredPolicy: the registry refuses approvals under a retired policy, so an approval
// whose policy is now retired was made before the retirement.
func retiredPolicy(f StaleFacts, _ StaleRules) (StaleReason, bool) {
	if f.Policy == nil || f.Policy.Active {
		return StaleReason{}, false
	}
	return StaleReason{Kind: StaleRetiredPolicy, PolicyID: f.Policy.ID, Retired: f.Policy.Retired}, true
}

// auditTooOld: an approval without an audit has no audit to age (its policy did not ask
// for one); the age is counted in blocks to the indexed head, not in wall time, so that the
// answer is the same on every replica of the index at the same block.
func auditTooOld(f StaleFacts, rules StaleRules) (StaleReason, bool) {
	a := f.Audit
	if a == nil || f.Head < a.Provenance.BlockNumber {
		return StaleReason{}, false
	}
	age := f.Head - a.Provenance.BlockNumber
	if age <= rules.MaxAuditAgeBlocks {
		return StaleReason{}, false
	}
	return StaleReason{Kind: StaleAuditTooOld, PolicyID: f.Version.PolicyID, AuditID: a.ID, AuditBlock: a.Provenance.BlockNumber,
		AuditAgeBlocks: age, MaxAuditAgeBlocks: rules.MaxAuditAgeBlocks}, true
}

// revokedAncestor: the registry lets a version derive from any version, whatever its status;
// what makes an approval stale is an ancestor the DAO judged unfit, at approval or since.
func revokedAncestor(f StaleFacts, _ StaleRules) (StaleReason, bool) {
	if len(f.TaintingAncestors) == 0 {
		return StaleReason{}, false
	}
	ids := make([]uint64, len(f.TaintingAncestors))
	for i, a := range f.TaintingAncestors {
		ids[i] = a.ID
	}
	return StaleReason{Kind: StaleRevokedAncestor, PolicyID: f.Version.PolicyID, Ancestors: ids}, true
}

// ClampBlocks converts a block count for an API that counts in int32 (GraphQL's Int),
// saturating instead of wrapping.
func ClampBlocks(n uint64) int {
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(n)
}
