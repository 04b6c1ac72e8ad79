package modeldao

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// ProposalState is the state of a Governor proposal, with OpenZeppelin's numbering.
type ProposalState uint8

const (
	ProposalPending   ProposalState = 0
	ProposalActive    ProposalState = 1
	ProposalCanceled  ProposalState = 2
	ProposalDefeated  ProposalState = 3
	ProposalSucceeded ProposalState = 4
	ProposalQueued    ProposalState = 5
	ProposalExpired   ProposalState = 6 // never reached with a timelock governor
	ProposalExecuted  ProposalState = 7
)

var proposalStateNames = [...]string{"PENDING", "ACTIVE", "CANCELED", "DEFEATED", "SUCCEEDED", "QUEUED", "EXPIRED", "EXECUTED"}

func (s ProposalState) String() string {
	if int(s) < len(proposalStateNames) {
		return proposalStateNames[s]
	}
	return fmt.Sprintf("ProposalState(%d)", uint8(s))
}

// ParseProposalState parses the upper-case name of a state.
func ParseProposalState(s string) (ProposalState, error) {
	for i, n := range proposalStateNames {
		if strings.EqualFold(n, s) {
			return ProposalState(i), nil
		}
	}
	return 0, Errorf(EINVALID, "unknown proposal state %q: use one of %s", s, strings.Join(proposalStateNames[:], ", "))
}

// VoteSupport is the choice of a vote under GovernorCountingSimple.
type VoteSupport uint8

const (
	SupportAgainst VoteSupport = 0
	SupportFor     VoteSupport = 1
	SupportAbstain VoteSupport = 2
)

var supportNames = [...]string{"AGAINST", "FOR", "ABSTAIN"}

func (s VoteSupport) String() string {
	if int(s) < len(supportNames) {
		return supportNames[s]
	}
	return fmt.Sprintf("VoteSupport(%d)", uint8(s))
}

// ParseVoteSupport parses for, against or abstain (any case).
func ParseVoteSupport(s string) (VoteSupport, error) {
	for i, n := range supportNames {
		if strings.EqualFold(n, s) {
			return VoteSupport(i), nil
		}
	}
	return 0, Errorf(EINVALID, "unknown vote %q: use for, against or abstain", s)
}

// Tally is the vote count of a proposal, in token units (18 decimals).
type Tally struct {
	For     *big.Int `json:"for"`
	Against *big.Int `json:"against"`
	Abstain *big.Int `json:"abstain"`
}

// ProposalParams are what OZ's state() needs besides the clock: they are fixed at creation
// except for the timelock operation.
type ProposalParams struct {
	Snapshot   uint64 // voteStart: votes are counted at this block
	Deadline   uint64 // voteEnd: the last block of voting
	Quorum     *big.Int
	Tally      Tally
	Canceled   bool
	Queued     bool // ProposalQueued seen (eta set)
	Executed   bool
	OpDone     bool // the timelock operation executed (CallExecuted of its id)
	OpCanceled bool // the timelock operation was cancelled outside the governor
}

// StateAt computes a proposal's state at block `head` exactly as OpenZeppelin's
// Governor.state() (GovernorTimelockControl, GovernorCountingSimple) does:
// executed, canceled; pending until snapshot, active through deadline; then defeated
// unless quorum (for+abstain ≥ quorum) and for > against; then succeeded, queued, or, with a
// timelock, executed/canceled according to the timelock operation.
func (p ProposalParams) StateAt(head uint64) ProposalState {
	switch {
	case p.Executed:
		return ProposalExecuted
	case p.Canceled:
		return ProposalCanceled
	case head <= p.Snapshot:
		return ProposalPending
	case head <= p.Deadline:
		return ProposalActive
	}
	if !p.quorumReached() || !p.voteSucceeded() {
		return ProposalDefeated
	}
	if !p.Queued {
		return ProposalSucceeded
	}
	// GovernorTimelockControl: a queued proposal whose operation is done is executed (the
	// timelock was called directly), one whose operation vanished is canceled.
	if p.OpDone {
		return ProposalExecuted
	}
	if p.OpCanceled {
		return ProposalCanceled
	}
	return ProposalQueued
}

func (p ProposalParams) quorumReached() bool {
	q := p.Quorum
	if q == nil {
		q = new(big.Int)
	}
	sum := new(big.Int).Add(nz(p.Tally.For), nz(p.Tally.Abstain))
	return q.Cmp(sum) <= 0
}

func (p ProposalParams) voteSucceeded() bool {
	return nz(p.Tally.For).Cmp(nz(p.Tally.Against)) > 0
}

func nz(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return x
}

// Action is one call of a proposal, decoded when it targets the registry.
type Action struct {
	Target   common.Address `json:"target"`
	Value    *big.Int       `json:"value"`
	Calldata []byte         `json:"calldata"`
	// Decoded registry call, if the target is the registry and the data decodes.
	Method string            `json:"method,omitempty"` // e.g. approveVersion
	Args   map[string]string `json:"args,omitempty"`   // argument name → canonical text
	// VersionID is set when the call concerns a model version (approve, reject, revoke).
	VersionID uint64 `json:"versionId,omitempty"`
}

// ProposalTitle is the first line of a description, with a leading Markdown '#' removed,
// as Tally shows it.
func ProposalTitle(description string) string {
	line, _, _ := strings.Cut(description, "\n")
	line = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), "#"))
	if len(line) > 200 {
		line = line[:200]
	}
	return line
}
