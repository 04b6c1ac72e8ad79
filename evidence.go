package modeldao

import (
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// EvidenceKind is a kind of document that the chain references by CID and that the pinner
// keeps available besides approved weights: the model card of every submitted version and
// the report of every audit.
type EvidenceKind uint8

const (
	EvidenceModelCard   EvidenceKind = 1 // a version's model card; no digest on chain
	EvidenceAuditReport EvidenceKind = 2 // an audit's report; verified against reportSha256
	// EvidencePolicyDocument is an adopted policy's document. PolicyAdopted carries its CID
	// and no digest, so it is pinned like a model card, unverified (the CID itself is the
	// only anchor); a digest on chain would be checked like a report's.
	EvidencePolicyDocument EvidenceKind = 3
)

func (k EvidenceKind) String() string {
	switch k {
	case EvidenceModelCard:
		return "MODEL_CARD"
	case EvidenceAuditReport:
		return "AUDIT_REPORT"
	case EvidencePolicyDocument:
		return "POLICY_DOCUMENT"
	}
	return fmt.Sprintf("EvidenceKind(%d)", uint8(k))
}

// EvidenceRef names one document: a kind and the id of its version or audit.
type EvidenceRef struct {
	Kind EvidenceKind `json:"kind"`
	ID   uint64       `json:"id"` // version id of a model card, audit id of a report, policy id of a document
}

// PinName is the name under which the pinner pins the document in kubo.
func (r EvidenceRef) PinName() string {
	switch r.Kind {
	case EvidenceModelCard:
		return fmt.Sprintf("modeldao:card:%d", r.ID)
	case EvidencePolicyDocument:
		return fmt.Sprintf("modeldao:policy:%d", r.ID)
	}
	return fmt.Sprintf("modeldao:report:%d", r.ID)
}

func (r EvidenceRef) String() string {
	switch r.Kind {
	case EvidenceModelCard:
		return fmt.Sprintf("the model card of version %d", r.ID)
	case EvidencePolicyDocument:
		return fmt.Sprintf("the document of policy %d", r.ID)
	}
	return fmt.Sprintf("the report of audit %d", r.ID)
}

// EvidencePin is the pin record of a document. Status runs QUEUED → PINNED (or DEGRADED when
// fewer nodes than the replication factor hold it), or FAILED after
// Attempts that kept failing or at once when the bytes do not hash to the digest on chain;
// documents are not unpinned (the chain keeps referencing them).
type EvidencePin struct {
	EvidenceRef
	CID    Text        `json:"cid"`
	SHA256 common.Hash `json:"sha256,omitzero"` // the digest on chain, zero when there is none (model cards)
	// Verified is true once the bytes read back hashed to SHA256.
	Verified    bool      `json:"verified,omitempty"`
	Status      PinStatus `json:"status"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"lastError,omitempty"`
	Size        uint64    `json:"size,omitempty"`
	NextAttempt time.Time `json:"nextAttempt,omitzero"`
	PinnedAt    time.Time `json:"pinnedAt,omitzero"`
	UpdatedAt   time.Time `json:"updatedAt,omitzero"`
	// Replicas is the state of the pin on each IPFS node the pinner targets.
	Replicas []PinReplica `json:"replicas,omitempty"`
}
