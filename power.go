package modeldao

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
)

// PowerCause says why a delegate's voting power changed. The token's DelegateVotesChanged
// does not say it: it is derived from the events of the same transaction, which ERC20Votes
// emits in a fixed order (DelegateChanged, then DelegateVotesChanged for the old and new
// delegates; Transfer, then DelegateVotesChanged for the delegates of sender and receiver).
type PowerCause string

const (
	CauseDelegation PowerCause = "DELEGATION" // a DelegateChanged earlier in the transaction
	CauseTransfer   PowerCause = "TRANSFER"   // a Transfer between two accounts
	CauseMint       PowerCause = "MINT"       // a Transfer from the zero address
	CauseBurn       PowerCause = "BURN"       // a Transfer to the zero address
	CauseOther      PowerCause = "OTHER"      // neither precedes it in its transaction (not a stock ERC20Votes)
)

// PowerChange is one change of a delegate's voting power: one DelegateVotesChanged. The
// power in force at the end of a block is the New of the last change at or before it,
// exactly what the token's getPastVotes answers (its checkpoints keep the last write of
// each block).
type PowerChange struct {
	Delegate   common.Address `json:"delegate"`
	Previous   *big.Int       `json:"previous"`
	New        *big.Int       `json:"new"`
	Cause      PowerCause     `json:"cause"`
	Provenance Provenance     `json:"provenance"`
}

// TransferCause is the cause of the power changes that follow a Transfer from from to to.
func TransferCause(from, to common.Address) PowerCause {
	switch {
	case from == (common.Address{}):
		return CauseMint
	case to == (common.Address{}):
		return CauseBurn
	}
	return CauseTransfer
}
