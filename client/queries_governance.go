package client

import (
	"context"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Queries of governance: the DAO, proposals, votes, delegates and accounts.

// DAO returns the DAO's contracts, parameters and counts.
func (c *Client) DAO(ctx context.Context) (*DAO, error) {
	var q struct {
		DAO wDAO `graphql:"dao"`
	}
	if err := c.query(ctx, &q, nil); err != nil {
		return nil, err
	}
	return q.DAO.conv(), nil
}

// ProposalQuery selects proposals; zero fields do not filter.
type ProposalQuery struct {
	State         string // PENDING, ACTIVE, …
	Proposer      *common.Address
	ModelVersion  uint64
	CreatedAfter  time.Time
	CreatedBefore time.Time
	TitleContains string
	OrderBy       string // CREATED (default), VOTING_ENDS, VOTES
	Ascending     bool   // default: descending
	Page          PageArgs
}

// Proposals returns a page of proposals.
func (c *Client) Proposals(ctx context.Context, pq ProposalQuery) (*Page[Proposal], error) {
	var q struct {
		Proposals wConn[wProposal] `graphql:"proposals(where: $where, orderBy: $orderBy, orderDirection: $dir, first: $first, after: $after, last: $last, before: $before)"`
	}
	w := proposalWhere{State: pq.State, TitleContains: pq.TitleContains}
	if pq.Proposer != nil {
		w.Proposer = pq.Proposer.Hex()
	}
	if pq.ModelVersion != 0 {
		w.ModelVersion = strconv.FormatUint(pq.ModelVersion, 10)
	}
	if !pq.CreatedAfter.IsZero() {
		w.CreatedAfter = pq.CreatedAfter.UTC().Format(time.RFC3339Nano)
	}
	if !pq.CreatedBefore.IsZero() {
		w.CreatedBefore = pq.CreatedBefore.UTC().Format(time.RFC3339Nano)
	}
	order := pq.OrderBy
	if order == "" {
		order = "CREATED"
	}
	vars := pageVars(map[string]any{"where": &w, "orderBy": proposalOrderField(order), "dir": direction(pq.Ascending)}, pq.Page)
	if err := c.query(ctx, &q, vars); err != nil {
		return nil, err
	}
	p := page(q.Proposals, wProposal.conv)
	return &p, nil
}

// Proposal returns a proposal with its actions, timeline and a page of its votes, ordered
// by votesBy (WEIGHT, the default, or TIME), largest or latest first.
func (c *Client) Proposal(ctx context.Context, id string, votesBy string, votes PageArgs) (*ProposalDetail, error) {
	var q struct {
		Proposal *struct {
			wProposal
			Actions  []wAction        `graphql:"actions"`
			Timeline []wProposalEvent `graphql:"timeline"`
			Votes    wConn[wVote]     `graphql:"votes(orderBy: $votesBy, first: $first, after: $after, last: $last, before: $before)"`
		} `graphql:"proposal(id: $id)"`
	}
	if votesBy == "" {
		votesBy = "WEIGHT"
	}
	vars := pageVars(map[string]any{"id": gqlID(id), "votesBy": voteOrderField(votesBy)}, votes)
	if err := c.query(ctx, &q, vars); err != nil {
		return nil, err
	}
	if q.Proposal == nil {
		return nil, &Error{Code: CodeNotFound, Message: "no proposal with id " + id}
	}
	d := &ProposalDetail{Proposal: q.Proposal.wProposal.conv(), Votes: page(q.Proposal.Votes, wVote.conv)}
	for _, a := range q.Proposal.Actions {
		d.Actions = append(d.Actions, a.conv())
	}
	for _, e := range q.Proposal.Timeline {
		d.Timeline = append(d.Timeline, ProposalEvent{Kind: e.Kind, Provenance: e.Provenance.conv()})
	}
	return d, nil
}

// VoteQuery selects votes; zero fields do not filter.
type VoteQuery struct {
	Voter      *common.Address
	ProposalID string
	Support    string // FOR, AGAINST, ABSTAIN
	OrderBy    string // TIME (default) or WEIGHT (needs ProposalID)
	Ascending  bool
	Page       PageArgs
}

// Votes returns a page of votes.
func (c *Client) Votes(ctx context.Context, vq VoteQuery) (*Page[Vote], error) {
	var q struct {
		Votes wConn[wVote] `graphql:"votes(where: $where, orderBy: $orderBy, orderDirection: $dir, first: $first, after: $after, last: $last, before: $before)"`
	}
	w := voteWhere{Proposal: vq.ProposalID, Support: vq.Support}
	if vq.Voter != nil {
		w.Voter = vq.Voter.Hex()
	}
	order := vq.OrderBy
	if order == "" {
		order = "TIME"
	}
	vars := pageVars(map[string]any{"where": &w, "orderBy": voteOrderField(order), "dir": direction(vq.Ascending)}, vq.Page)
	if err := c.query(ctx, &q, vars); err != nil {
		return nil, err
	}
	p := page(q.Votes, wVote.conv)
	return &p, nil
}

// Delegates returns a page of delegates by orderBy: VOTING_POWER (default) or DELEGATORS,
// the largest first.
func (c *Client) Delegates(ctx context.Context, orderBy string, pa PageArgs) (*Page[Account], error) {
	var q struct {
		Delegates wConn[wAccount] `graphql:"delegates(orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before)"`
	}
	if orderBy == "" {
		orderBy = "VOTING_POWER"
	}
	if err := c.query(ctx, &q, pageVars(map[string]any{"orderBy": delegateOrderField(orderBy)}, pa)); err != nil {
		return nil, err
	}
	p := page(q.Delegates, wAccount.conv)
	return &p, nil
}

// Account returns an account with the first page (of size lists, 0 for the default) of
// its delegators, delegation history and votes, each newest first.
func (c *Client) Account(ctx context.Context, address common.Address, lists PageArgs) (*AccountDetail, error) {
	var q struct {
		Account struct {
			wAccount
			FirstSeen   *wProvenance       `graphql:"firstSeen"`
			Delegators  wConn[wAccount]    `graphql:"delegators(first: $first, after: $after, last: $last, before: $before)"`
			Delegations wConn[wDelegation] `graphql:"delegations(first: $first, after: $after, last: $last, before: $before)"`
			Votes       wConn[wVote]       `graphql:"votes(first: $first, after: $after, last: $last, before: $before)"`
		} `graphql:"account(address: $address)"`
	}
	vars := pageVars(map[string]any{"address": gqlAddress(address.Hex())}, lists)
	if err := c.query(ctx, &q, vars); err != nil {
		return nil, err
	}
	a := q.Account
	d := &AccountDetail{Account: a.wAccount.conv(), Delegators: page(a.Delegators, wAccount.conv),
		Delegations: page(a.Delegations, wDelegation.conv), Votes: page(a.Votes, wVote.conv)}
	if a.FirstSeen != nil {
		p := a.FirstSeen.conv()
		d.FirstSeen = &p
	}
	return d, nil
}
