package modeldao

import (
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"

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
	Method string          `json:"method,omitempty"` // e.g. approveVersion
	Args   map[string]Text `json:"args,omitempty"`   // argument name → canonical text (a string argument: its bytes)
	// VersionID is set when the call concerns a model version (approve, reject, revoke).
	VersionID uint64 `json:"versionId,omitempty"`
}

// ProposalTitle is the first line of a description, with a leading Markdown '#' removed,
// as Tally shows it.
func ProposalTitle(description string) string {
	line, _, _ := strings.Cut(description, "\n")
	line = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), "#"))
	if len(line) > 200 {
		// Cut at a rune boundary so that the title stays valid UTF-8.
		cut := 200
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		line = line[:cut]
	}
	return line
}

// Proposal is a Governor proposal as the index knows it.
type Proposal struct {
	ID          string         `json:"id"` // decimal uint256, as Governor frontends show it
	Proposer    common.Address `json:"proposer"`
	Actions     []Action       `json:"actions"`
	Description Text           `json:"description"`
	Title       Text           `json:"title"`
	Snapshot    uint64         `json:"snapshot"` // voteStart
	Deadline    uint64         `json:"deadline"` // voteEnd
	// Quorum is the quorum at the snapshot, known once the indexed head has passed it.
	Quorum       *big.Int      `json:"quorum,omitempty"`
	Eta          uint64        `json:"eta,omitempty"` // timelock eta, Unix seconds
	Tally        Tally         `json:"tally"`
	Voters       int           `json:"voters"`
	State        ProposalState `json:"state"` // at the indexed head
	Canceled     bool          `json:"canceled,omitempty"`
	Queued       bool          `json:"queued,omitempty"`
	Executed     bool          `json:"executed,omitempty"`
	OpDone       bool          `json:"opDone,omitempty"`
	OpCanceled   bool          `json:"opCanceled,omitempty"`
	TimelockOpID common.Hash   `json:"timelockOpId"`
	// VersionIDs lists the model versions that the proposal's registry calls concern.
	VersionIDs []uint64         `json:"versionIds,omitempty"`
	Created    Provenance       `json:"created"`
	Timeline   []ProposalChange `json:"timeline"`
}

// Params returns what StateAt needs.
func (p *Proposal) Params() ProposalParams {
	return ProposalParams{
		Snapshot: p.Snapshot, Deadline: p.Deadline, Quorum: p.Quorum, Tally: p.Tally,
		Canceled: p.Canceled, Queued: p.Queued, Executed: p.Executed, OpDone: p.OpDone, OpCanceled: p.OpCanceled,
	}
}

// ProposalChange is one entry of a proposal's timeline.
type ProposalChange struct {
	Kind       string     `json:"kind"` // CREATED, QUEUED, EXECUTED, CANCELED
	Provenance Provenance `json:"provenance"`
}

// RecordEnd adds the final EXECUTED or CANCELED entry to the timeline, once.
//
// A queued proposal ends through its timelock operation, which either the governor or
// anyone else may drive: anyone may call executeBatch on the timelock once the delay has
// passed, and a canceller may call cancel. The governor emits nothing then, so the
// timelock's CallExecuted (one per call of the batch) and Cancelled events end the timeline
// too. When the governor acts, both contracts emit in the same transaction (the timelock's
// CallExecuted before the governor's ProposalExecuted; the governor's ProposalCanceled
// before the timelock's Cancelled). The entry is recorded once and cites the governor's
// event when there is one, else the timelock's first: it depends only on the events in
// chain order, never on how they were split into batches.
func (p *Proposal) RecordEnd(kind string, at Provenance, byGovernor bool) {
	for i := range p.Timeline {
		c := &p.Timeline[i]
		if c.Kind != kind {
			continue
		}
		if byGovernor && c.Provenance.TxHash == at.TxHash {
			c.Provenance = at
		}
		return
	}
	p.Timeline = append(p.Timeline, ProposalChange{Kind: kind, Provenance: at})
}

// Vote is one vote cast on a proposal.
type Vote struct {
	ProposalID string         `json:"proposalId"`
	Voter      common.Address `json:"voter"`
	Support    VoteSupport    `json:"support"`
	Weight     *big.Int       `json:"weight"`
	Reason     Text           `json:"reason,omitempty"`
	Params     []byte         `json:"params,omitempty"` // VoteCastWithParams only
	Provenance Provenance     `json:"provenance"`
}

// Account is a token holder or delegate.
type Account struct {
	Address        common.Address `json:"address"`
	Balance        *big.Int       `json:"balance"`
	Delegate       common.Address `json:"delegate"` // zero: not delegated
	VotingPower    *big.Int       `json:"votingPower"`
	DelegatorCount int            `json:"delegatorCount"`
	VoteCount      int            `json:"voteCount"`
	FirstSeen      Provenance     `json:"firstSeen"`
}

// IsDelegate reports whether the account is a delegate: at least one account (itself
// included) delegates to it, or it has voting power. Voting power comes only from delegators'
// balances, so the second part only matters within a transaction that moves a delegation
// (the token emits the delegate change before the vote change). Every ordering of the API's
// delegates lists exactly these accounts, those with no voting power included.
func (a *Account) IsDelegate() bool {
	return a.DelegatorCount > 0 || a.VotingPower != nil && a.VotingPower.Sign() > 0
}

// Delegation is one change of an account's delegate.
type Delegation struct {
	Delegator  common.Address `json:"delegator"`
	From       common.Address `json:"from"`
	To         common.Address `json:"to"`
	Provenance Provenance     `json:"provenance"`
}

// DAOParams are the governance settings, as the latest events set them.
type DAOParams struct {
	ChainID           uint64         `json:"chainId"`
	Token             common.Address `json:"token"`
	Governor          common.Address `json:"governor"`
	Timelock          common.Address `json:"timelock"`
	Registry          common.Address `json:"registry"`
	StartBlock        uint64         `json:"startBlock"`
	VotingDelay       uint64         `json:"votingDelay"`
	VotingPeriod      uint64         `json:"votingPeriod"`
	ProposalThreshold *big.Int       `json:"proposalThreshold"`
	QuorumNumerator   uint64         `json:"quorumNumerator"`
	TimelockDelay     uint64         `json:"timelockDelay"`
	TotalSupply       *big.Int       `json:"totalSupply"`
}

// QuorumDenominator is GovernorVotesQuorumFraction's denominator: the numerator is a
// percentage.
const QuorumDenominator = 100

// Quorum is the quorum for a total supply and a quorum numerator, as
// GovernorVotesQuorumFraction.quorum computes it: supply × numerator / 100, rounded down.
// A nil supply counts as zero.
func Quorum(supply, numerator *big.Int) *big.Int {
	if supply == nil || numerator == nil {
		return new(big.Int)
	}
	q := new(big.Int).Mul(supply, numerator)
	return q.Quo(q, big.NewInt(QuorumDenominator))
}

// IndexerStatus is what the indexer reports about itself.
type IndexerStatus struct {
	ChainHead    uint64 `json:"chainHead"`
	IndexedBlock uint64 `json:"indexedBlock"`
	IndexedHash  string `json:"indexedHash"`
	Lag          uint64 `json:"lag"`
	Reorgs       int    `json:"reorgs"`
	LastError    string `json:"lastError,omitempty"`
	LastErrorAt  int64  `json:"lastErrorAt,omitempty"` // Unix milliseconds
	HeadSeenAt   int64  `json:"headSeenAt,omitempty"`  // Unix milliseconds of the last successful head read
	Healthy      bool   `json:"healthy"`               // the last chain and Redis calls succeeded
	UpdatedAt    int64  `json:"updatedAt"`             // Unix milliseconds
}
