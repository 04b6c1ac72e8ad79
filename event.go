package modeldao

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
)

// Event is a decoded on-chain event of one of the DAO's four contracts. The indexer decodes
// logs into events; the store applies them to the projection, in chain order.
type Event interface {
	Prov() Provenance
}

// At carries the provenance of an event; every event type embeds it.
type At struct{ Provenance }

// Prov returns where the event was emitted.
func (a At) Prov() Provenance { return a.Provenance }

// Governor events. The ProposalQueued/Executed/Canceled events carry an Event suffix, as the
// ProposalState constants own the plain names.
type (
	ProposalCreated struct {
		At
		ProposalID   *big.Int
		Proposer     common.Address
		Actions      []Action // decoded by the indexer where the target is the registry
		Description  string
		VoteStart    uint64
		VoteEnd      uint64
		TimelockOpID common.Hash // the timelock operation the proposal queues (hashOperationBatch)
	}
	ProposalQueuedEvent struct {
		At
		ProposalID *big.Int
		Eta        uint64
	}
	ProposalExecutedEvent struct {
		At
		ProposalID *big.Int
	}
	ProposalCanceledEvent struct {
		At
		ProposalID *big.Int
	}
	VoteCast struct {
		At
		Voter      common.Address
		ProposalID *big.Int
		Support    VoteSupport
		Weight     *big.Int
		Reason     string
		Params     []byte // VoteCastWithParams only
	}
	// GovernorSettingChanged is VotingDelaySet, VotingPeriodSet, ProposalThresholdSet or
	// QuorumNumeratorUpdated.
	GovernorSettingChanged struct {
		At
		Setting string // votingDelay, votingPeriod, proposalThreshold, quorumNumerator
		Value   *big.Int
	}
)

// Token events.
type (
	Transfer struct {
		At
		From, To common.Address
		Value    *big.Int
	}
	DelegateChanged struct {
		At
		Delegator, From, To common.Address
	}
	DelegateVotesChanged struct {
		At
		Delegate          common.Address
		Previous, Current *big.Int
	}
)

// Timelock events.
type (
	CallExecuted struct {
		At
		OperationID common.Hash
	}
	OperationCancelled struct {
		At
		OperationID common.Hash
	}
	MinDelayChanged struct {
		At
		Delay uint64
	}
)

// Registry events. Version events carry an Event suffix, as the VersionStatus constants own
// the plain names.
type (
	ModelRegistered struct {
		At
		ModelID common.Hash
		Name    string
		Owner   common.Address
	}
	VersionSubmittedEvent struct {
		At
		VersionID  uint64
		ModelID    common.Hash
		Publisher  common.Address
		Submission VersionSubmission
	}
	VersionApprovedEvent struct {
		At
		VersionID, PolicyID, AuditID uint64
	}
	VersionRejectedEvent struct {
		At
		VersionID uint64
		Reason    string
	}
	VersionRevokedEvent struct {
		At
		VersionID uint64
		Reason    string
	}
	AuditorAdded struct {
		At
		Auditor common.Address
		Name    string
	}
	AuditorRemoved struct {
		At
		Auditor common.Address
	}
	PolicyAdopted struct {
		At
		Policy Policy // ID, Name, Version, DocumentCID, AuditRequired, Bounds
	}
	PolicyRetired struct {
		At
		PolicyID uint64
	}
	AuditSubmitted struct {
		At
		Audit Audit
	}
)

// Block is the events of one block, in log order.
type Block struct {
	Number     uint64
	Hash       common.Hash
	ParentHash common.Hash
	Timestamp  uint64
	Events     []Event
}
