package modeldao

import (
	"github.com/ethereum/go-ethereum/common"
)

// The gasless relayer (package relay) takes EIP-712 signatures that the DAO's contracts
// accept from anyone (Governor.castVoteBySig, castVoteWithReasonAndParamsBySig and
// ERC20Votes.delegateBySig) and submits them from its own funded account. These are the
// requests and answers it exchanges with clients (the HTTP API and package client).
// Amounts and ids are decimal strings: they are uint256, which JSON numbers cannot carry.

// RelayVoteRequest is a signed ballot. The signature covers the EIP-712 struct
// Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce) or, when Reason or
// Params is present (even empty), ExtendedBallot(uint256 proposalId,uint8 support,address
// voter,uint256 nonce,string reason,bytes params), under the governor's domain. ChainID and
// VerifyingContract repeat the domain the client signed for, so that a request meant for
// another chain or another DAO is refused with a clear error instead of "bad signature".
type RelayVoteRequest struct {
	ChainID           uint64         `json:"chainId"`
	VerifyingContract common.Address `json:"verifyingContract"`
	ProposalID        string         `json:"proposalId"`
	Support           uint8          `json:"support"`
	Voter             common.Address `json:"voter"`
	Nonce             string         `json:"nonce"`
	Reason            *string        `json:"reason,omitempty"`
	Params            *string        `json:"params,omitempty"` // 0x-prefixed hex
	Signature         string         `json:"signature"`        // 0x-prefixed hex, 65 bytes r‖s‖v
}

// Extended reports whether the request is an ExtendedBallot.
func (r *RelayVoteRequest) Extended() bool { return r.Reason != nil || r.Params != nil }

// RelayDelegationRequest is a signed EIP-712 Delegation(address delegatee,uint256
// nonce,uint256 expiry) under the token's domain. Delegator is who signed it (the contract
// recovers it from the signature; the relayer checks it matches).
type RelayDelegationRequest struct {
	ChainID           uint64         `json:"chainId"`
	VerifyingContract common.Address `json:"verifyingContract"`
	Delegator         common.Address `json:"delegator"`
	Delegatee         common.Address `json:"delegatee"`
	Nonce             string         `json:"nonce"`
	Expiry            string         `json:"expiry"` // unix seconds
	Signature         string         `json:"signature"`
}

// RelayStatus is where a relayed request is.
type RelayStatus string

const (
	RelayPending   RelayStatus = "PENDING"   // accepted, the transaction is being sent
	RelaySubmitted RelayStatus = "SUBMITTED" // sent, not yet mined
	RelayMined     RelayStatus = "MINED"     // mined and succeeded
	RelayFailed    RelayStatus = "FAILED"    // not sent, or reverted: see Reason
)

// Final reports whether the status can no longer change.
func (s RelayStatus) Final() bool { return s == RelayMined || s == RelayFailed }

// RelayKind says what a relayed request does.
type RelayKind string

const (
	RelayKindVote       RelayKind = "vote"
	RelayKindDelegation RelayKind = "delegation"
)

// RelayRecord is a relayed request as the relayer answers it and keeps it.
type RelayRecord struct {
	ID          string         `json:"id"` // the EIP-712 digest that was signed, 0x-hex
	Kind        RelayKind      `json:"kind"`
	Signer      common.Address `json:"signer"`
	Status      RelayStatus    `json:"status"`
	TxHash      *common.Hash   `json:"txHash,omitempty"`
	Block       uint64         `json:"block,omitempty"`
	GasEstimate uint64         `json:"gasEstimate,omitempty"`
	GasUsed     uint64         `json:"gasUsed,omitempty"`
	Reason      string         `json:"reason,omitempty"` // why it FAILED
	CreatedAt   int64          `json:"createdAt"`        // unix milliseconds
	UpdatedAt   int64          `json:"updatedAt"`
}

// RelayDomain is an EIP-712 domain as a client signs under it.
type RelayDomain struct {
	Name              string         `json:"name"`
	Version           string         `json:"version"`
	ChainID           uint64         `json:"chainId"`
	VerifyingContract common.Address `json:"verifyingContract"`
}

// RelayInfo is what a client needs to sign for the relayer: the two domains and, when it
// asked about an account, that account's current nonces.
type RelayInfo struct {
	ChainID       uint64          `json:"chainId"`
	Relayer       common.Address  `json:"relayer"`
	Governor      RelayDomain     `json:"governor"`
	Token         RelayDomain     `json:"token"`
	Account       *common.Address `json:"account,omitempty"`
	GovernorNonce string          `json:"governorNonce,omitempty"`
	TokenNonce    string          `json:"tokenNonce,omitempty"`
}

// RelayError is the body of every error answer of the relayer: Code is the API's code
// (graphql/apicode), Reason says which check refused the request (the Relay* reasons).
type RelayError struct {
	Code    string `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Reasons a relay request is refused.
const (
	RelayMalformed     = "MALFORMED"       // not JSON of the expected shape, or a field out of range
	RelayTooLarge      = "TOO_LARGE"       // the body is over the limit
	RelayWrongChain    = "WRONG_CHAIN"     // signed for another chain
	RelayWrongContract = "WRONG_CONTRACT"  // signed for another governor or token
	RelayBadSignature  = "BAD_SIGNATURE"   // the signature does not recover to the claimed signer
	RelayBadNonce      = "BAD_NONCE"       // the nonce is not the signer's current one
	RelayExpired       = "EXPIRED"         // a delegation past its expiry
	RelayNotActive     = "NOT_ACTIVE"      // the proposal is not open for votes
	RelayNoVotingPower = "NO_VOTING_POWER" // the voter had no votes at the proposal's snapshot
	RelayAlreadyVoted  = "ALREADY_VOTED"
	RelayReplay        = "REPLAY"         // this nonce of this signer was already relayed
	RelaySignerLimit   = "SIGNER_LIMIT"   // too many requests from this signer
	RelayIPLimit       = "IP_LIMIT"       // too many requests from this address
	RelayBudget        = "BUDGET"         // the gas budget of the period is spent
	RelayWouldRevert   = "WOULD_REVERT"   // the node says the transaction would revert
	RelayNotFound      = "NOT_FOUND"      // no such request
	RelayUnavailable   = "UNAVAILABLE"    // the node or Redis did not answer
	RelayNotConfigured = "NOT_CONFIGURED" // the relayer has no key
)
