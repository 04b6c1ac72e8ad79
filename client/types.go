package client

import (
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// The plain Go structs the client returns.

// PageArgs selects a page: First items after After, or Last items before Before. The zero
// value is the server's default page (50 items from the start).
type PageArgs struct {
	First  int // 0: not set
	After  string
	Last   int // 0: not set
	Before string
}

// First returns PageArgs for the first n items.
func First(n int) PageArgs { return PageArgs{First: n} }

// Page is one page of a list.
type Page[T any] struct {
	Items           []T
	Cursors         []string // Cursors[i] points at Items[i]
	HasNextPage     bool
	HasPreviousPage bool
	StartCursor     string
	EndCursor       string
	TotalCount      int
}

// Next returns the arguments of the page after this one, of the same size n.
func (p *Page[T]) Next(n int) PageArgs { return PageArgs{First: n, After: p.EndCursor} }

// Previous returns the arguments of the page before this one, of the same size n.
func (p *Page[T]) Previous(n int) PageArgs { return PageArgs{Last: n, Before: p.StartCursor} }

// Provenance locates a fact on the chain.
type Provenance struct {
	BlockNumber uint64
	BlockHash   common.Hash
	Timestamp   time.Time
	TxHash      common.Hash
	LogIndex    uint
}

// DAO is the DAO's contracts, parameters and counts.
type DAO struct {
	ID                string // CAIP-10 of the governor
	ChainID           uint64
	Token             common.Address
	Governor          common.Address
	Timelock          common.Address
	Registry          common.Address
	StartBlock        uint64
	VotingDelay       uint64
	VotingPeriod      uint64
	ProposalThreshold *big.Int
	QuorumNumerator   uint64
	Quorum            *big.Int
	TimelockDelay     uint64
	TotalSupply       *big.Int
	ProposalCount     int
	DelegateCount     int
	AccountCount      int
	ModelCount        int
	ModelVersionCount int
	AuditCount        int
	PolicyCount       int
	AuditorCount      int
}

// Tally is a proposal's votes, with shares of the votes cast (0–100).
type Tally struct {
	For, Against, Abstain, Total               *big.Int
	ForPercent, AgainstPercent, AbstainPercent float64
	Quorum                                     *big.Int // nil until known
	QuorumReached                              bool
	QuorumPercent                              *float64
}

// Proposal is a governance proposal.
type Proposal struct {
	ID                  string // decimal uint256
	Proposer            common.Address
	Title               string
	Description         string
	State               string // PENDING, ACTIVE, …, EXECUTED
	Snapshot            uint64
	Deadline            uint64
	Eta                 *time.Time
	Quorum              *big.Int
	Tally               Tally
	VoterCount          int
	TimelockOperationID common.Hash
	ModelVersionIDs     []uint64
	Created             Provenance
}

// ProposalDetail is a proposal with its actions, timeline and a page of votes.
type ProposalDetail struct {
	Proposal
	Actions  []Action
	Timeline []ProposalEvent
	Votes    Page[Vote]
}

// Action is one call of a proposal.
type Action struct {
	Index          int
	Target         common.Address
	Value          *big.Int
	Calldata       []byte
	Method         string            // "" when not a decoded registry call
	Args           map[string]string // decoded arguments by name
	ModelVersionID uint64            // 0 when the call concerns no model version
}

// ProposalEvent is one entry of a proposal's timeline.
type ProposalEvent struct {
	Kind       string // CREATED, QUEUED, EXECUTED, CANCELED
	Provenance Provenance
}

// Vote is one vote.
type Vote struct {
	ID         string
	ProposalID string
	Voter      common.Address
	Support    string // FOR, AGAINST, ABSTAIN
	Weight     *big.Int
	Reason     string
	Provenance Provenance
}

// Account is a token holder or delegate.
type Account struct {
	ID             string // CAIP-10
	Address        common.Address
	Balance        *big.Int
	VotingPower    *big.Int
	Delegate       *common.Address // nil: not delegated
	DelegatorCount int
	VoteCount      int
}

// AccountDetail is an account with its delegators, delegation history and votes.
type AccountDetail struct {
	Account
	FirstSeen   *Provenance
	Delegators  Page[Account]
	Delegations Page[Delegation]
	Votes       Page[Vote]
}

// Delegation is one change of an account's delegate.
type Delegation struct {
	Delegator  common.Address
	From       *common.Address
	To         *common.Address
	Provenance Provenance
}

// Pin is the state of a version's weights on IPFS.
type Pin struct {
	Status    string // NONE, QUEUED, PINNING, PINNED, FAILED, UNPINNED, DEGRADED
	CID       string
	Attempts  int
	LastError string
	Size      uint64
	PinnedAt  *time.Time
	Replicas  []PinReplica // the pin on each of the pinner's IPFS nodes
}

// PinReplica is the state of a pin on one of the pinner's IPFS nodes.
type PinReplica struct {
	Node      string // the node's IPFS API address, without credentials
	Status    string // PINNED, FAILED, UNPINNED, QUEUED
	Error     string
	UpdatedAt *time.Time
}

// EvidencePin is the state of a document the chain references (an audit's report, a
// policy's document) on IPFS. Documents are never unpinned.
type EvidencePin struct {
	Status string // QUEUED, PINNED, DEGRADED, FAILED
	CID    string
	// Verified is true once the bytes read back hashed to the digest on chain (audit
	// reports; a policy document has no digest on chain and stays false).
	Verified  bool
	Attempts  int
	LastError string
	Size      uint64 // 0 until pinned
	PinnedAt  *time.Time
	Replicas  []PinReplica // empty until the pinner took it up
}

// ModelVersion is a submitted model version.
type ModelVersion struct {
	ID            uint64
	ModelName     string
	Label         string
	Publisher     common.Address
	WeightsCID    string // as shown: invalid UTF-8 bytes are U+FFFD
	WeightsCIDRaw []byte // the chain's exact bytes
	WeightsSHA256 common.Hash
	ModelCardCID  string
	License       string
	Tags          []string
	Status        string // SUBMITTED, APPROVED, REJECTED, REVOKED
	PolicyID      uint64 // of the approval; 0 if none
	Pin           *Pin   // nil until approved
	Submitted     Provenance
	// Relation is how the version derives from Bases: NONE, FINE_TUNE, ADAPTER,
	// QUANTIZATION, MERGE or DISTILLATION.
	Relation string
	Bases    []uint64 // version ids, in the order the publisher named them
	Datasets []Dataset
	// TaintedAncestry is true when an ancestor is REVOKED or REJECTED.
	TaintedAncestry bool
}

// Dataset is a dataset a version was trained or evaluated on.
type Dataset struct {
	Role   string // TRAINING or EVALUATION
	Name   string
	CID    string
	SHA256 common.Hash
}

// ModelVersionDetail is a version with its history, audits and proposals.
type ModelVersionDetail struct {
	ModelVersion
	History   []StatusChange
	Audits    Page[Audit]
	Proposals Page[Proposal]
}

// StatusChange is one entry of a version's status history.
type StatusChange struct {
	Status     string
	Reason     string
	PolicyID   uint64
	AuditID    uint64
	ProposalID string // the proposal whose execution made the change; "" if none
	Provenance Provenance
}

// Audit is a bias audit.
type Audit struct {
	ID           uint64
	VersionID    uint64
	PolicyID     uint64
	Auditor      common.Address
	AuditorName  string
	ReportCID    string
	ReportSHA256 common.Hash
	Metrics      []Metric
	Passed       bool
	ReportPin    EvidencePin // the report on IPFS, checked against ReportSHA256
	Provenance   Provenance
}

// Policy is an alignment policy: what an approval under it requires.
type Policy struct {
	ID            uint64
	Name          string
	Version       string
	DocumentCID   string
	DocumentPin   EvidencePin // the document on IPFS (never Verified: no digest on chain)
	AuditRequired bool
	Bounds        []modeldao.MetricBound
	Active        bool
	Adopted       Provenance
	Retired       *Provenance // nil while active
}

// Metric is one fairness measurement.
type Metric struct {
	Kind             string // e.g. DEMOGRAPHIC_PARITY_DIFFERENCE
	SensitiveFeature string
	Value            modeldao.Fixed6
	Threshold        modeldao.Fixed6
	Passed           bool
}

// IndexerStatus is how far the index has followed the chain.
type IndexerStatus struct {
	ChainHead    uint64
	IndexedBlock uint64
	IndexedHash  common.Hash
	Lag          uint64
	Reorgs       int
	Healthy      bool       // the indexer's last calls to the node and Redis succeeded
	HeadSeenAt   *time.Time // when the indexer last read the head; Lag counts from it
	LastError    string
	LastErrorAt  *time.Time
	UpdatedAt    *time.Time
}

// PinCounts counts versions per pin status.
type PinCounts struct {
	Total, None, Queued, Pinning, Pinned, Failed, Unpinned, Degraded int
}
