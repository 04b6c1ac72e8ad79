package graphql

// Voting power at any block: Account.votingPowerAt and votingPowerHistory, the power at a
// proposal's snapshot (votingPowerOf, eligibleVoters, notYetVotedPower) and
// DAO.totalSupplyAt. Each field is one store read for all its siblings.

import (
	"context"
	"math/big"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/graphql/model"
	"github.com/modeldao/modeldao/store"
)

// blockArg checks a block argument.
func blockArg(block int) (uint64, error) {
	if block < 0 {
		return 0, modeldao.Errorf(modeldao.EINVALID, "block is %d: pass a block number (0 or more) up to the indexed block", block)
	}
	return uint64(block), nil
}

func (r daoResolver) TotalSupplyAt(ctx context.Context, obj *store.DAOInfo, block int) (*big.Int, error) {
	b, err := blockArg(block)
	if err != nil {
		return nil, err
	}
	return r.store.TotalSupplyAt(ctx, b)
}

func (r accountResolver) VotingPowerAt(ctx context.Context, obj *modeldao.Account, block int) (*big.Int, error) {
	b, err := blockArg(block)
	if err != nil {
		return nil, err
	}
	return load(ctx, obj, func(ctx context.Context, as []*modeldao.Account) ([]*big.Int, error) {
		qs := make([]store.PowerAt, len(as))
		for i, a := range as {
			qs[i] = store.PowerAt{Address: a.Address, Block: b}
		}
		return r.store.VotingPowerAt(ctx, qs)
	})
}

func (r accountResolver) VotingPowerHistory(ctx context.Context, obj *modeldao.Account, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.VotingPowerChangeConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, true)
	return nested(ctx, obj, func(ctx context.Context, as []*modeldao.Account) ([]*store.Page[*modeldao.PowerChange], error) {
		return r.store.PowerHistoryOf(ctx, addrsOf(as), desc, args)
	}, powerChangeConn)
}

func powerChangeConn(p *store.Page[*modeldao.PowerChange]) *model.VotingPowerChangeConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.PowerChange) model.VotingPowerChangeEdge {
		return model.VotingPowerChangeEdge{Cursor: c, Node: x}
	})
	return &model.VotingPowerChangeConnection{Edges: e, PageInfo: pi, TotalCount: n}
}

type votingPowerChangeResolver struct{ *Resolver }

func (r votingPowerChangeResolver) Account(ctx context.Context, obj *modeldao.PowerChange) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(c *modeldao.PowerChange) (common.Address, bool) { return c.Delegate, true }, r.accounts)
}

// powerOrErr is one proposal's answer in a batch of votingPowerOf: a proposal whose
// snapshot is not indexed yet fails alone, not its siblings with it.
type powerOrErr struct {
	v   *big.Int
	err error
}

func (r proposalResolver) VotingPowerOf(ctx context.Context, obj *modeldao.Proposal, address common.Address) (*big.Int, error) {
	res, err := load(ctx, obj, func(ctx context.Context, ps []*modeldao.Proposal) ([]powerOrErr, error) {
		cp, ok, err := r.store.Checkpoint(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]powerOrErr, len(ps))
		var qs []store.PowerAt
		var at []int
		for i, p := range ps {
			if !ok || p.Snapshot > cp.Number {
				out[i].err = modeldao.Errorf(modeldao.EINVALID, "proposal %s: its snapshot, block %d, is past the indexed block %d: ask again once the index has passed it", p.ID, p.Snapshot, cp.Number)
				continue
			}
			qs, at = append(qs, store.PowerAt{Address: address, Block: p.Snapshot}), append(at, i)
		}
		if len(qs) == 0 {
			return out, nil
		}
		vs, err := r.store.VotingPowerAt(ctx, qs)
		if err != nil {
			return nil, err
		}
		for j, i := range at {
			out[i].v = vs[j]
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	return res.v, res.err
}

func (r proposalResolver) EligibleVoters(ctx context.Context, obj *modeldao.Proposal, first *int, after *string) (*model.EligibleVoterConnection, error) {
	page, err := r.store.EligibleVoters(ctx, obj.Snapshot, pageArgs(first, after, nil, nil))
	if err != nil {
		return nil, err
	}
	voters := make([]*model.EligibleVoter, len(page.Items))
	edges := make([]*model.EligibleVoterEdge, len(page.Items))
	for i, v := range page.Items {
		voters[i] = &model.EligibleVoter{ProposalID: obj.ID, Address: v.Address, Power: v.Power}
		edges[i] = &model.EligibleVoterEdge{Cursor: page.Cursors[i], Node: voters[i]}
	}
	register(ctx, voters)
	return &model.EligibleVoterConnection{Edges: edges, PageInfo: pageInfo(page)}, nil
}

func (r proposalResolver) NotYetVotedPower(ctx context.Context, obj *modeldao.Proposal) (*big.Int, error) {
	return load(ctx, obj, func(ctx context.Context, ps []*modeldao.Proposal) ([]*big.Int, error) {
		cp, ok, err := r.store.Checkpoint(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]*big.Int, len(ps))
		var blocks []uint64
		var at []int
		for i, p := range ps {
			if ok && p.Snapshot <= cp.Number {
				blocks, at = append(blocks, p.Snapshot), append(at, i)
			}
		}
		if len(blocks) == 0 {
			return out, nil
		}
		totals, err := r.store.TotalVotesAt(ctx, blocks)
		if err != nil {
			return nil, err
		}
		for j, i := range at {
			left := new(big.Int).Sub(totals[j], totalVotes(ps[i].Tally))
			if left.Sign() < 0 {
				left.SetInt64(0) // cannot happen on a stock governor: votes weigh the power at the snapshot
			}
			out[i] = left
		}
		return out, nil
	})
}

func totalVotes(t modeldao.Tally) *big.Int {
	return new(big.Int).Add(new(big.Int).Add(nz(t.For), nz(t.Against)), nz(t.Abstain))
}

type eligibleVoterResolver struct{ *Resolver }

func (r eligibleVoterResolver) Account(ctx context.Context, obj *model.EligibleVoter) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(v *model.EligibleVoter) (common.Address, bool) { return v.Address, true }, r.accounts)
}

func (r eligibleVoterResolver) Vote(ctx context.Context, obj *model.EligibleVoter) (*modeldao.Vote, error) {
	return byKey(ctx, obj, func(v *model.EligibleVoter) (string, bool) { return store.VoteID(v.ProposalID, v.Address), true }, r.store.VotesByID)
}
