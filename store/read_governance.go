package store

import (
	"context"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/modeldao/modeldao"
)

// Reads of the governance side: proposals, votes, accounts and delegation.

// ---- proposals ----

// ProposalOrder orders proposals.
type ProposalOrder int

const (
	ProposalsByCreated  ProposalOrder = iota // block and log of creation
	ProposalsByDeadline                      // last block of voting
	ProposalsByVotes                         // votes cast (for + against + abstain), exactly; ties by id
)

// ProposalQuery selects proposals. Zero fields do not filter.
type ProposalQuery struct {
	State         *modeldao.ProposalState
	Proposer      *common.Address
	VersionID     *uint64 // proposals whose registry calls concern this model version
	CreatedAfter  *time.Time
	CreatedBefore *time.Time
	TitleContains string // case-insensitive
	OrderBy       ProposalOrder
	Desc          bool
	Page          PageArgs
}

func (s *Store) proposalList(order ProposalOrder, desc bool) pageList {
	l := pageList{hash: s.keys.ProposalRecords(), desc: desc}
	switch order {
	case ProposalsByDeadline:
		l.name, l.zset = "proposals:deadline", s.keys.ProposalsByDeadline()
	case ProposalsByVotes:
		l.name, l.zset = "proposals:votes", s.keys.ProposalsByVotes()
		l = l.byAmount(TotalDigits)
	default:
		l.name, l.zset = "proposals", s.keys.Proposals()
	}
	return l
}

// Proposals returns a page of proposals.
func (s *Store) Proposals(ctx context.Context, q ProposalQuery) (*Page[*modeldao.Proposal], error) {
	l := s.proposalList(q.OrderBy, q.Desc)
	if q.State != nil {
		l.filters = append(l.filters, s.keys.ProposalsInState(*q.State))
	}
	if q.Proposer != nil {
		l.filters = append(l.filters, s.keys.ProposalsOfProposer(*q.Proposer))
	}
	if q.VersionID != nil {
		l.filters = append(l.filters, s.keys.ProposalsOfVersion(*q.VersionID))
	}
	l.sameScores = q.OrderBy == ProposalsByCreated // the filter sets are scoredMember by creation
	var keep func(*modeldao.Proposal) bool
	if q.CreatedAfter != nil || q.CreatedBefore != nil || q.TitleContains != "" {
		title := strings.ToLower(q.TitleContains)
		keep = func(p *modeldao.Proposal) bool {
			t := time.Unix(int64(p.Created.Timestamp), 0)
			return (q.CreatedAfter == nil || t.After(*q.CreatedAfter)) &&
				(q.CreatedBefore == nil || t.Before(*q.CreatedBefore)) &&
				(title == "" || strings.Contains(strings.ToLower(p.Title.String()), title))
		}
	}
	return fetchList(ctx, s, l, q.Page, keep)
}

// ProposalsByID returns the proposals with the given ids (decimal), nil for unknown ones.
func (s *Store) ProposalsByID(ctx context.Context, ids []string) ([]*modeldao.Proposal, error) {
	return readMany[modeldao.Proposal](ctx, s, s.keys.ProposalRecords(), ids)
}

// ProposalsOfVersions returns a page of the proposals concerning each version, by
// creation, in one round trip.
func (s *Store) ProposalsOfVersions(ctx context.Context, versionIDs []uint64, desc bool, args PageArgs) ([]*Page[*modeldao.Proposal], error) {
	ls := make([]pageList, len(versionIDs))
	for i, v := range versionIDs {
		ls[i] = pageList{name: "version:proposals", zset: s.keys.ProposalsOfVersion(v), desc: desc, hash: s.keys.ProposalRecords()}
	}
	return fetchLists[modeldao.Proposal](ctx, s, ls, args)
}

// ---- votes ----

// VoteOrder orders votes.
type VoteOrder int

const (
	VotesByTime   VoteOrder = iota // block and log of the vote
	VotesByWeight                  // weight, exactly, ties by voter address; only within one proposal
)

// VoteQuery selects votes. Zero fields do not filter.
type VoteQuery struct {
	Voter      *common.Address
	ProposalID string
	Support    *modeldao.VoteSupport
	OrderBy    VoteOrder
	Desc       bool
	Page       PageArgs
}

func (s *Store) votesOfProposal(id string, order VoteOrder, desc bool) pageList {
	l := pageList{name: "proposal:votes", zset: s.keys.VotesOnProposal(id), desc: desc,
		hash: s.keys.VoteRecords(), prefix: id + ":"}
	if order == VotesByWeight {
		l.name, l.zset = "proposal:votes:weight", s.keys.VotesOnProposalByWeight(id)
		l = l.byAmount(AmountDigits)
	}
	return l
}

func (s *Store) votesOfVoter(voter common.Address, desc bool) pageList {
	return pageList{name: "voter:votes", zset: s.keys.VotesOfVoter(voter), desc: desc,
		hash: s.keys.VoteRecords(), suffix: ":" + Addr(voter)}
}

// Votes returns a page of votes. Ordering by weight needs ProposalID.
func (s *Store) Votes(ctx context.Context, q VoteQuery) (*Page[*modeldao.Vote], error) {
	var l pageList
	switch {
	case q.ProposalID != "":
		l = s.votesOfProposal(q.ProposalID, q.OrderBy, q.Desc)
	case q.OrderBy == VotesByWeight:
		return nil, modeldao.Errorf(modeldao.EINVALID, "votes are ordered by weight only within one proposal: set where.proposal, or order by TIME")
	case q.Voter != nil:
		l = s.votesOfVoter(*q.Voter, q.Desc)
	default:
		l = pageList{name: "votes", zset: s.keys.Votes(), desc: q.Desc, hash: s.keys.VoteRecords()}
	}
	var keep func(*modeldao.Vote) bool
	if q.Support != nil || q.Voter != nil && q.ProposalID != "" {
		keep = func(v *modeldao.Vote) bool {
			return (q.Support == nil || v.Support == *q.Support) && (q.Voter == nil || v.Voter == *q.Voter)
		}
	}
	return fetchList(ctx, s, l, q.Page, keep)
}

// VotesByID returns votes by id ("<proposalId>:<voter>", see VoteID), nil for unknown ones.
func (s *Store) VotesByID(ctx context.Context, ids []string) ([]*modeldao.Vote, error) {
	return readMany[modeldao.Vote](ctx, s, s.keys.VoteRecords(), ids)
}

// VotesOfProposals returns a page of votes of each proposal, in one round trip.
func (s *Store) VotesOfProposals(ctx context.Context, ids []string, order VoteOrder, desc bool, args PageArgs) ([]*Page[*modeldao.Vote], error) {
	ls := make([]pageList, len(ids))
	for i, id := range ids {
		ls[i] = s.votesOfProposal(id, order, desc)
	}
	return fetchLists[modeldao.Vote](ctx, s, ls, args)
}

// VotesOfVoters returns a page of the votes of each voter, by time, in one round trip.
func (s *Store) VotesOfVoters(ctx context.Context, voters []common.Address, desc bool, args PageArgs) ([]*Page[*modeldao.Vote], error) {
	ls := make([]pageList, len(voters))
	for i, v := range voters {
		ls[i] = s.votesOfVoter(v, desc)
	}
	return fetchLists[modeldao.Vote](ctx, s, ls, args)
}

// ---- accounts and delegation ----

// DelegateOrder orders delegates.
type DelegateOrder int

const (
	DelegatesByVotingPower DelegateOrder = iota // voting power, exactly; ties by address
	DelegatesByDelegators                       // number of accounts delegating to them
)

// Delegates returns a page of the delegates (modeldao.Account.IsDelegate): every order lists
// the same accounts.
func (s *Store) Delegates(ctx context.Context, order DelegateOrder, desc bool, args PageArgs) (*Page[*modeldao.Account], error) {
	l := pageList{name: "delegates:power", zset: s.keys.DelegatesByPower(), desc: desc, hash: s.keys.AccountRecords()}
	l = l.byAmount(AmountDigits)
	if order == DelegatesByDelegators {
		l = pageList{name: "delegates:delegators", zset: s.keys.DelegatesByDelegators(), desc: desc, hash: s.keys.AccountRecords()}
	}
	return fetchList[modeldao.Account](ctx, s, l, args, nil)
}

// Accounts returns the accounts at the given addresses, nil for addresses the index has
// never seen.
func (s *Store) Accounts(ctx context.Context, addrs []common.Address) ([]*modeldao.Account, error) {
	return readMany[modeldao.Account](ctx, s, s.keys.AccountRecords(), Addrs(addrs))
}

// DelegatorsOf returns a page of the accounts delegating to each address, by the time of
// their delegation, in one round trip.
func (s *Store) DelegatorsOf(ctx context.Context, addrs []common.Address, desc bool, args PageArgs) ([]*Page[*modeldao.Account], error) {
	ls := make([]pageList, len(addrs))
	for i, a := range addrs {
		ls[i] = pageList{name: "delegators", zset: s.keys.Delegators(a), desc: desc, hash: s.keys.AccountRecords()}
	}
	return fetchLists[modeldao.Account](ctx, s, ls, args)
}

// DelegationsOf returns a page of the delegate changes of each address, in one round trip.
func (s *Store) DelegationsOf(ctx context.Context, addrs []common.Address, desc bool, args PageArgs) ([]*Page[*modeldao.Delegation], error) {
	ls := make([]pageList, len(addrs))
	for i, a := range addrs {
		ls[i] = pageList{name: "delegations", zset: s.keys.Delegations(a), desc: desc}
	}
	return fetchLists[modeldao.Delegation](ctx, s, ls, args)
}
