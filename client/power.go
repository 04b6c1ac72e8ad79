package client

import (
	"context"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
)

// Voting power at any block: every value is the one at the END of the block, as the
// token's getPastVotes / getPastTotalSupply answer it. A block past the indexed block is a
// BAD_USER_INPUT error (Code) whose message names the indexed block.

// PowerChange is one change of an account's voting power.
type PowerChange struct {
	Account  common.Address
	Previous *big.Int
	New      *big.Int
	// Cause is DELEGATION, TRANSFER, MINT, BURN or OTHER.
	Cause      string
	Provenance Provenance
}

// EligibleVoter is an account with voting power at a proposal's snapshot.
type EligibleVoter struct {
	Address     common.Address
	VotingPower *big.Int
	// Vote is its vote on the proposal; nil while it has not voted.
	Vote *Vote
}

// EligibleVoters is a page of a proposal's eligible voters (by address; TotalCount is not
// set) with the power at its snapshot that has not voted yet.
type EligibleVoters struct {
	Page[EligibleVoter]
	// NotYetVotedPower is nil until the index has passed the snapshot.
	NotYetVotedPower *big.Int
}

type wPowerChange struct {
	Account    wAddress    `graphql:"account"`
	Previous   string      `graphql:"previous"`
	New        string      `graphql:"new"`
	Cause      string      `graphql:"cause"`
	Provenance wProvenance `graphql:"provenance"`
}

func (w wPowerChange) conv() PowerChange {
	return PowerChange{Account: common.HexToAddress(w.Account.Address), Previous: bigOf(w.Previous), New: bigOf(w.New),
		Cause: w.Cause, Provenance: w.Provenance.conv()}
}

type wEligibleVoter struct {
	Account     wAddress `graphql:"account"`
	VotingPower string   `graphql:"votingPower"`
	Vote        *wVote   `graphql:"vote"`
}

func (w wEligibleVoter) conv() EligibleVoter {
	v := EligibleVoter{Address: common.HexToAddress(w.Account.Address), VotingPower: bigOf(w.VotingPower)}
	if w.Vote != nil {
		x := w.Vote.conv()
		v.Vote = &x
	}
	return v
}

// VotingPowerAt returns address's voting power at the end of block.
func (c *Client) VotingPowerAt(ctx context.Context, address common.Address, block uint64) (*big.Int, error) {
	var q struct {
		Account struct {
			VotingPowerAt string `graphql:"votingPowerAt(block: $block)"`
		} `graphql:"account(address: $address)"`
	}
	if err := c.query(ctx, &q, map[string]any{"address": gqlAddress(address.Hex()), "block": int(block)}); err != nil {
		return nil, err
	}
	return bigOf(q.Account.VotingPowerAt), nil
}

// VotingPowerHistory returns a page of the changes of address's voting power, newest first.
func (c *Client) VotingPowerHistory(ctx context.Context, address common.Address, args PageArgs) (*Page[PowerChange], error) {
	var q struct {
		Account struct {
			History wConn[wPowerChange] `graphql:"votingPowerHistory(first: $first, after: $after, last: $last, before: $before)"`
		} `graphql:"account(address: $address)"`
	}
	if err := c.query(ctx, &q, pageVars(map[string]any{"address": gqlAddress(address.Hex())}, args)); err != nil {
		return nil, err
	}
	p := page(q.Account.History, wPowerChange.conv)
	return &p, nil
}

// TotalSupplyAt returns the token's total supply at the end of block.
func (c *Client) TotalSupplyAt(ctx context.Context, block uint64) (*big.Int, error) {
	var q struct {
		DAO struct {
			TotalSupplyAt string `graphql:"totalSupplyAt(block: $block)"`
		} `graphql:"dao"`
	}
	if err := c.query(ctx, &q, map[string]any{"block": int(block)}); err != nil {
		return nil, err
	}
	return bigOf(q.DAO.TotalSupplyAt), nil
}

// VotingPowerOf returns address's voting power at the snapshot of proposal id: the weight
// its vote has or would have.
func (c *Client) VotingPowerOf(ctx context.Context, id string, address common.Address) (*big.Int, error) {
	var q struct {
		Proposal *struct {
			VotingPowerOf string `graphql:"votingPowerOf(address: $address)"`
		} `graphql:"proposal(id: $id)"`
	}
	if err := c.query(ctx, &q, map[string]any{"id": gqlID(id), "address": gqlAddress(address.Hex())}); err != nil {
		return nil, err
	}
	if q.Proposal == nil {
		return nil, &Error{Code: CodeNotFound, Message: "no proposal with id " + id}
	}
	return bigOf(q.Proposal.VotingPowerOf), nil
}

// EligibleVoters returns a page of the accounts with voting power at the snapshot of
// proposal id (forward paging: First and After), with their votes.
func (c *Client) EligibleVoters(ctx context.Context, id string, args PageArgs) (*EligibleVoters, error) {
	var q struct {
		Proposal *struct {
			NotYetVotedPower *string `graphql:"notYetVotedPower"`
			Voters           struct {
				Edges    []wEdge[wEligibleVoter] `graphql:"edges"`
				PageInfo wPageInfo               `graphql:"pageInfo"`
			} `graphql:"eligibleVoters(first: $first, after: $after)"`
		} `graphql:"proposal(id: $id)"`
	}
	vars := map[string]any{"id": gqlID(id)}
	pageVars(vars, PageArgs{First: args.First, After: args.After})
	delete(vars, "last")
	delete(vars, "before")
	if err := c.query(ctx, &q, vars); err != nil {
		return nil, err
	}
	if q.Proposal == nil {
		return nil, &Error{Code: CodeNotFound, Message: "no proposal with id " + id}
	}
	v := q.Proposal.Voters
	return &EligibleVoters{Page: page(wConn[wEligibleVoter]{Edges: v.Edges, PageInfo: v.PageInfo}, wEligibleVoter.conv),
		NotYetVotedPower: bigPtr(q.Proposal.NotYetVotedPower)}, nil
}
