package graphql

// Fields of the governance objects: the DAO, proposals, actions, votes, accounts and
// delegations.

import (
	"context"
	"math/big"
	"sort"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/graphql/model"
	"github.com/modeldao/modeldao/graphql/scalar"
	"github.com/modeldao/modeldao/store"
)

// ---- DAO ----

type daoResolver struct{ *Resolver }

func (r daoResolver) ID(ctx context.Context, obj *store.DAOInfo) (string, error) {
	return scalar.CAIP10(obj.ChainID, obj.Governor), nil
}

func contract(chainID uint64, a common.Address) *model.Contract {
	return &model.Contract{ID: scalar.CAIP10(chainID, a), Address: a}
}

func (r daoResolver) Token(ctx context.Context, obj *store.DAOInfo) (*model.Contract, error) {
	return contract(obj.ChainID, obj.Token), nil
}

func (r daoResolver) Governor(ctx context.Context, obj *store.DAOInfo) (*model.Contract, error) {
	return contract(obj.ChainID, obj.Governor), nil
}

func (r daoResolver) Timelock(ctx context.Context, obj *store.DAOInfo) (*model.Contract, error) {
	return contract(obj.ChainID, obj.Timelock), nil
}

func (r daoResolver) Registry(ctx context.Context, obj *store.DAOInfo) (*model.Contract, error) {
	return contract(obj.ChainID, obj.Registry), nil
}

// ---- Proposal ----

type proposalResolver struct{ *Resolver }

func (r proposalResolver) Proposer(ctx context.Context, obj *modeldao.Proposal) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(p *modeldao.Proposal) (common.Address, bool) { return p.Proposer, true }, r.accounts)
}

func (r proposalResolver) Eta(ctx context.Context, obj *modeldao.Proposal) (*time.Time, error) {
	if obj.Eta == 0 {
		return nil, nil
	}
	t := time.Unix(int64(obj.Eta), 0).UTC()
	return &t, nil
}

func (r proposalResolver) Tally(ctx context.Context, obj *modeldao.Proposal) (*model.Tally, error) {
	return model.NewTally(obj.Tally.For, obj.Tally.Against, obj.Tally.Abstain, obj.Quorum), nil
}

func nz(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return x
}

func (r proposalResolver) Actions(ctx context.Context, obj *modeldao.Proposal) ([]*model.Action, error) {
	return load(ctx, obj, func(ctx context.Context, ps []*modeldao.Proposal) ([][]*model.Action, error) {
		chainID, err := r.chain(ctx)
		if err != nil {
			return nil, err
		}
		out := make([][]*model.Action, len(ps))
		var all []*model.Action
		for i, p := range ps {
			out[i] = make([]*model.Action, len(p.Actions))
			for j, a := range p.Actions {
				act := &model.Action{Index: j, Target: contract(chainID, a.Target), Value: nz(a.Value), Calldata: a.Calldata, VersionID: a.VersionID}
				if act.Calldata == nil {
					act.Calldata = []byte{}
				}
				if a.Method != "" {
					m := a.Method
					act.Method = &m
				}
				act.Args = actionArgs(a.Args)
				out[i][j] = act
				all = append(all, act)
			}
		}
		register(ctx, all)
		return out, nil
	})
}

// actionArgs lists decoded arguments by name, in a stable order.
func actionArgs(args map[string]modeldao.Text) []*model.ActionArg {
	out := make([]*model.ActionArg, 0, len(args))
	for k, v := range args {
		out = append(out, &model.ActionArg{Name: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (r proposalResolver) ModelVersions(ctx context.Context, obj *modeldao.Proposal) ([]*modeldao.ModelVersion, error) {
	return load(ctx, obj, func(ctx context.Context, ps []*modeldao.Proposal) ([][]*modeldao.ModelVersion, error) {
		var ids []uint64
		seen := map[uint64]bool{}
		for _, p := range ps {
			for _, v := range p.VersionIDs {
				if !seen[v] {
					seen[v] = true
					ids = append(ids, v)
				}
			}
		}
		vs, err := r.versions(ctx, ids)
		if err != nil {
			return nil, err
		}
		byID := make(map[uint64]*modeldao.ModelVersion, len(vs))
		for _, v := range vs {
			if v != nil {
				byID[v.ID] = v
			}
		}
		register(ctx, vs)
		out := make([][]*modeldao.ModelVersion, len(ps))
		for i, p := range ps {
			out[i] = []*modeldao.ModelVersion{}
			for _, id := range p.VersionIDs {
				if v := byID[id]; v != nil {
					out[i] = append(out[i], v)
				}
			}
		}
		return out, nil
	})
}

func (r proposalResolver) Votes(ctx context.Context, obj *modeldao.Proposal, orderBy *model.VoteOrderField, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.VoteConnection, error) {
	order := store.VotesByWeight
	if orderBy != nil && *orderBy == model.VoteOrderFieldTime {
		order = store.VotesByTime
	}
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, true)
	return nested(ctx, obj, func(ctx context.Context, ps []*modeldao.Proposal) ([]*store.Page[*modeldao.Vote], error) {
		ids := make([]string, len(ps))
		for i, p := range ps {
			ids[i] = p.ID
		}
		return r.store.VotesOfProposals(ctx, ids, order, desc, args)
	}, voteConn)
}

// ---- Action ----

type actionResolver struct{ *Resolver }

func (r actionResolver) ModelVersion(ctx context.Context, obj *model.Action) (*modeldao.ModelVersion, error) {
	return byKey(ctx, obj, func(a *model.Action) (uint64, bool) { return nonZeroID(a.VersionID) }, r.versions)
}

// ---- Vote ----

type voteResolver struct{ *Resolver }

func (r voteResolver) ID(ctx context.Context, obj *modeldao.Vote) (string, error) {
	return store.VoteID(obj.ProposalID, obj.Voter), nil
}

func (r voteResolver) Proposal(ctx context.Context, obj *modeldao.Vote) (*modeldao.Proposal, error) {
	p, err := byKey(ctx, obj, func(v *modeldao.Vote) (string, bool) { return v.ProposalID, true }, r.proposals)
	return required(p, err, "proposal %s of a vote", obj.ProposalID)
}

func (r voteResolver) Voter(ctx context.Context, obj *modeldao.Vote) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(v *modeldao.Vote) (common.Address, bool) { return v.Voter, true }, r.accounts)
}

// ---- Account ----

type accountResolver struct{ *Resolver }

func (r accountResolver) ID(ctx context.Context, obj *modeldao.Account) (string, error) {
	return r.caip10(ctx, obj.Address)
}

func (r accountResolver) Delegate(ctx context.Context, obj *modeldao.Account) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(a *modeldao.Account) (common.Address, bool) { return nonZeroAddr(a.Delegate) }, r.accounts)
}

func addrsOf(as []*modeldao.Account) []common.Address {
	out := make([]common.Address, len(as))
	for i, a := range as {
		out[i] = a.Address
	}
	return out
}

func (r accountResolver) Delegators(ctx context.Context, obj *modeldao.Account, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.AccountConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, true)
	return nested(ctx, obj, func(ctx context.Context, as []*modeldao.Account) ([]*store.Page[*modeldao.Account], error) {
		return r.store.DelegatorsOf(ctx, addrsOf(as), desc, args)
	}, accountConn)
}

func (r accountResolver) Delegations(ctx context.Context, obj *modeldao.Account, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.DelegationConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, true)
	return nested(ctx, obj, func(ctx context.Context, as []*modeldao.Account) ([]*store.Page[*modeldao.Delegation], error) {
		return r.store.DelegationsOf(ctx, addrsOf(as), desc, args)
	}, delegationConn)
}

func (r accountResolver) Votes(ctx context.Context, obj *modeldao.Account, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.VoteConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, true)
	return nested(ctx, obj, func(ctx context.Context, as []*modeldao.Account) ([]*store.Page[*modeldao.Vote], error) {
		return r.store.VotesOfVoters(ctx, addrsOf(as), desc, args)
	}, voteConn)
}

func (r accountResolver) FirstSeen(ctx context.Context, obj *modeldao.Account) (*modeldao.Provenance, error) {
	if obj.FirstSeen.BlockNumber == 0 {
		return nil, nil
	}
	return &obj.FirstSeen, nil
}

// ---- Delegation ----

type delegationResolver struct{ *Resolver }

func (r delegationResolver) Delegator(ctx context.Context, obj *modeldao.Delegation) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(d *modeldao.Delegation) (common.Address, bool) { return d.Delegator, true }, r.accounts)
}

func (r delegationResolver) From(ctx context.Context, obj *modeldao.Delegation) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(d *modeldao.Delegation) (common.Address, bool) { return nonZeroAddr(d.From) }, r.accounts)
}

func (r delegationResolver) To(ctx context.Context, obj *modeldao.Delegation) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(d *modeldao.Delegation) (common.Address, bool) { return nonZeroAddr(d.To) }, r.accounts)
}
