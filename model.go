package modeldao

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// VersionStatus is where a model version stands in the registry. The numeric values are
// those of ModelRegistry.VersionStatus on chain.
type VersionStatus uint8

const (
	VersionNone      VersionStatus = 0 // never submitted
	VersionSubmitted VersionStatus = 1 // waiting for the DAO
	VersionApproved  VersionStatus = 2 // approved under a policy; weights are pinned
	VersionRejected  VersionStatus = 3 // rejected; final
	VersionRevoked   VersionStatus = 4 // approved once, then revoked; final; weights unpinned
)

var versionStatusNames = [...]string{"NONE", "SUBMITTED", "APPROVED", "REJECTED", "REVOKED"}

func (s VersionStatus) String() string {
	if int(s) < len(versionStatusNames) {
		return versionStatusNames[s]
	}
	return fmt.Sprintf("VersionStatus(%d)", uint8(s))
}

// ParseVersionStatus parses the upper-case name of a status (as String returns it).
func ParseVersionStatus(s string) (VersionStatus, error) {
	for i, n := range versionStatusNames {
		if strings.EqualFold(n, s) && i != 0 {
			return VersionStatus(i), nil
		}
	}
	return 0, Errorf(EINVALID, "unknown model version status %q: use SUBMITTED, APPROVED, REJECTED or REVOKED", s)
}

// CanTransition reports whether the registry allows a version to move from s to next:
// Submitted→Approved, Submitted→Rejected and Approved→Revoked, nothing else.
func (s VersionStatus) CanTransition(next VersionStatus) bool {
	switch s {
	case VersionSubmitted:
		return next == VersionApproved || next == VersionRejected
	case VersionApproved:
		return next == VersionRevoked
	}
	return false
}

// Limits of the registry contract (ModelRegistry.MAX_*), checked here too so that the CLI
// refuses bad input before it costs gas.
const (
	MaxModelNameLength = 96
	MaxLabelLength     = 64
	MaxCIDLength       = 128
	MaxLicenseLength   = 64
	MaxTags            = 16
	MaxTagLength       = 32
	MaxReasonLength    = 1024
	MaxFeatureLength   = 64
	MaxMetrics         = 64
	MaxBounds          = 32
	MaxMetricKind      = 31
)

var modelNameRE = regexp.MustCompile(`^[A-Za-z0-9._/-]+$`)

// Model is a model name and its owner, the first publisher who submitted a version of it.
type Model struct {
	ID           common.Hash    `json:"id"` // keccak256 of the name
	Name         Text           `json:"name"`
	Owner        common.Address `json:"owner"`
	VersionCount int            `json:"versionCount"`
	Provenance   Provenance     `json:"provenance"`
}

// ModelVersion is one submitted version of a model and everything the DAO decided about it.
type ModelVersion struct {
	ID            uint64         `json:"id"`
	ModelID       common.Hash    `json:"modelId"`
	ModelName     Text           `json:"modelName"`
	Label         Text           `json:"label"`
	Publisher     common.Address `json:"publisher"`
	WeightsCID    Text           `json:"weightsCid"`
	WeightsSHA256 common.Hash    `json:"weightsSha256"`
	ModelCardCID  Text           `json:"modelCardCid"`
	License       Text           `json:"license"` // SPDX identifier
	Tags          []Text         `json:"tags"`
	Status        VersionStatus  `json:"status"`
	PolicyID      uint64         `json:"policyId,omitempty"` // the policy of the approval
	AuditID       uint64         `json:"auditId,omitempty"`  // the audit the approval relied on, 0 if none
	Submitted     Provenance     `json:"submitted"`
	// Lineage is the relation, bases and datasets the version was submitted with.
	Lineage
	// History lists every status change, oldest first, with the proposal that caused it.
	History []StatusChange `json:"history"`
}

// StatusChange is one entry of a version's status history.
type StatusChange struct {
	Status     VersionStatus `json:"status"`
	Reason     Text          `json:"reason,omitempty"`
	PolicyID   uint64        `json:"policyId,omitempty"`
	AuditID    uint64        `json:"auditId,omitempty"`
	ProposalID string        `json:"proposalId,omitempty"` // decimal; empty when not caused by a proposal
	Provenance Provenance    `json:"provenance"`
}

// VersionSubmission is what a publisher sends to the registry.
type VersionSubmission struct {
	ModelName     string
	Label         string
	WeightsCID    string
	WeightsSHA256 common.Hash
	ModelCardCID  string
	License       string
	Tags          []string
	Lineage       Lineage
}

// Validate applies the registry's rules, so that a bad submission fails before a
// transaction is sent.
func (s VersionSubmission) Validate() error {
	switch {
	case s.ModelName == "":
		return Errorf(EINVALID, "model name is empty")
	case len(s.ModelName) > MaxModelNameLength:
		return Errorf(EINVALID, "model name is %d bytes; at most %d", len(s.ModelName), MaxModelNameLength)
	case !modelNameRE.MatchString(s.ModelName):
		return Errorf(EINVALID, "model name %q may only hold ASCII letters, digits and - _ . /", s.ModelName)
	}
	if err := checkString("version label", s.Label, MaxLabelLength); err != nil {
		return err
	}
	if err := ValidateCID("weights CID", s.WeightsCID); err != nil {
		return err
	}
	if s.WeightsSHA256 == (common.Hash{}) {
		return Errorf(EINVALID, "weights sha256 is zero: compute the digest of the weights file")
	}
	if err := ValidateCID("model card CID", s.ModelCardCID); err != nil {
		return err
	}
	if err := checkString("license", s.License, MaxLicenseLength); err != nil {
		return err
	}
	if len(s.Tags) > MaxTags {
		return Errorf(EINVALID, "%d tags; at most %d", len(s.Tags), MaxTags)
	}
	for _, t := range s.Tags {
		if err := checkString("tag", t, MaxTagLength); err != nil {
			return err
		}
	}
	return s.Lineage.Validate()
}

var cidV1RE = regexp.MustCompile(`^b[a-z2-7]{20,}$`)
var cidV0RE = regexp.MustCompile(`^Qm[1-9A-HJ-NP-Za-km-z]{44}$`)

// ValidateCID checks that s looks like a CIDv1 in base32 (bafy…, bafk…) or a CIDv0 (Qm…).
func ValidateCID(field, s string) error {
	if err := checkString(field, s, MaxCIDLength); err != nil {
		return err
	}
	if !cidV1RE.MatchString(s) && !cidV0RE.MatchString(s) {
		return Errorf(EINVALID, "%s %q is not an IPFS CID: expected a CIDv1 in base32 (bafy…) as `ipfs add --cid-version 1` prints", field, s)
	}
	return nil
}

func checkString(field, s string, max int) error {
	if s == "" {
		return Errorf(EINVALID, "%s is empty", field)
	}
	if len(s) > max {
		return Errorf(EINVALID, "%s is %d bytes; at most %d", field, len(s), max)
	}
	return nil
}

// ModelID is the id of the model called name: keccak256 of the name, as the registry has it.
func ModelID(name string) common.Hash { return crypto.Keccak256Hash([]byte(name)) }
