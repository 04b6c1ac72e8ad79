package graphql

import (
	"context"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/graphql/generated"
	"github.com/modeldao/modeldao/graphql/model"
	"github.com/modeldao/modeldao/graphql/scalar"
	"github.com/modeldao/modeldao/store"
)

// Resolver resolves the schema over a store. Nested fields go through the batcher (see
// batch.go) so that a query costs a bounded number of Redis round trips.
type Resolver struct {
	store *store.Store

	mu      sync.Mutex
	chainID uint64 // from Options, or read once from the DAO record

	// The steward's thresholds (Options): stale approvals and contested audits.
	staleRules modeldao.StaleRules
	tolerance  modeldao.Fixed6
}

// NewResolver returns the root resolver; chainID may be 0 (it is then read from the
// index when first needed). The stale and contest thresholds are the defaults.
func NewResolver(st *store.Store, chainID uint64) *Resolver {
	return &Resolver{store: st, chainID: chainID, staleRules: modeldao.DefaultStaleRules(), tolerance: modeldao.DefaultContestTolerance}
}

// The type resolvers are values of one pointer, with value receivers: an interface holds
// such a value without an allocation, and the executor asks for one (ec.Resolvers.Vote())
// for every field it resolves (100 allocations a page of votes with their voters).

func (r *Resolver) Account() generated.AccountResolver             { return accountResolver{r} }
func (r *Resolver) Action() generated.ActionResolver               { return actionResolver{r} }
func (r *Resolver) Audit() generated.AuditResolver                 { return auditResolver{r} }
func (r *Resolver) Auditor() generated.AuditorResolver             { return auditorResolver{r} }
func (r *Resolver) DAO() generated.DAOResolver                     { return daoResolver{r} }
func (r *Resolver) Delegation() generated.DelegationResolver       { return delegationResolver{r} }
func (r *Resolver) EligibleVoter() generated.EligibleVoterResolver { return eligibleVoterResolver{r} }
func (r *Resolver) IndexerStatus() generated.IndexerStatusResolver { return indexerStatusResolver{r} }
func (r *Resolver) Model() generated.ModelResolver                 { return modelResolver{r} }
func (r *Resolver) ModelVersion() generated.ModelVersionResolver   { return modelVersionResolver{r} }
func (r *Resolver) Policy() generated.PolicyResolver               { return policyResolver{r} }
func (r *Resolver) Proposal() generated.ProposalResolver           { return proposalResolver{r} }
func (r *Resolver) Query() generated.QueryResolver                 { return queryResolver{r} }
func (r *Resolver) StatusChange() generated.StatusChangeResolver   { return statusChangeResolver{r} }
func (r *Resolver) Vote() generated.VoteResolver                   { return voteResolver{r} }
func (r *Resolver) VotingPowerChange() generated.VotingPowerChangeResolver {
	return votingPowerChangeResolver{r}
}

// chain returns the chain id, for CAIP-10 ids.
func (r *Resolver) chain(ctx context.Context) (uint64, error) {
	r.mu.Lock()
	id := r.chainID
	r.mu.Unlock()
	if id != 0 {
		return id, nil
	}
	d, err := r.store.DAO(ctx)
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	r.chainID = d.ChainID
	r.mu.Unlock()
	return d.ChainID, nil
}

func (r *Resolver) caip10(ctx context.Context, a common.Address) (string, error) {
	id, err := r.chain(ctx)
	if err != nil {
		return "", err
	}
	return scalar.CAIP10(id, a), nil
}

// ---- paging and connections ----

func pageArgs(first *int, after *string, last *int, before *string) store.PageArgs {
	a := store.PageArgs{First: first, Last: last}
	if after != nil {
		a.After = *after
	}
	if before != nil {
		a.Before = *before
	}
	return a
}

func isDesc(d *model.OrderDirection, def bool) bool {
	if d == nil {
		return def
	}
	return *d == model.OrderDirectionDesc
}

func pageInfo[T any](p *store.Page[T]) *model.PageInfo {
	// The page info and its cursors in one allocation.
	x := &struct {
		pi         model.PageInfo
		start, end string
	}{pi: model.PageInfo{HasNextPage: p.HasNextPage, HasPreviousPage: p.HasPreviousPage}, start: p.StartCursor(), end: p.EndCursor()}
	if x.start != "" {
		x.pi.StartCursor = &x.start
	}
	if x.end != "" {
		x.pi.EndCursor = &x.end
	}
	return &x.pi
}

// connection builds the parts of a connection from a page: the edges are allocated
// together (one allocation per edge was 50 to 100 per page).
func connection[T any, E any](p *store.Page[T], edge func(cursor string, node T) E) ([]*E, *model.PageInfo, int) {
	es := make([]E, len(p.Items))
	edges := make([]*E, len(p.Items))
	for i, n := range p.Items {
		es[i] = edge(p.Cursors[i], n)
		edges[i] = &es[i]
	}
	return edges, pageInfo(p), p.TotalCount
}

func proposalConn(p *store.Page[*modeldao.Proposal]) *model.ProposalConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.Proposal) model.ProposalEdge {
		return model.ProposalEdge{Cursor: c, Node: x}
	})
	return &model.ProposalConnection{Edges: e, PageInfo: pi, TotalCount: n}
}

func voteConn(p *store.Page[*modeldao.Vote]) *model.VoteConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.Vote) model.VoteEdge { return model.VoteEdge{Cursor: c, Node: x} })
	return &model.VoteConnection{Edges: e, PageInfo: pi, TotalCount: n}
}

func accountConn(p *store.Page[*modeldao.Account]) *model.AccountConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.Account) model.AccountEdge { return model.AccountEdge{Cursor: c, Node: x} })
	return &model.AccountConnection{Edges: e, PageInfo: pi, TotalCount: n}
}

func delegationConn(p *store.Page[*modeldao.Delegation]) *model.DelegationConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.Delegation) model.DelegationEdge {
		return model.DelegationEdge{Cursor: c, Node: x}
	})
	return &model.DelegationConnection{Edges: e, PageInfo: pi, TotalCount: n}
}

func modelConn(p *store.Page[*modeldao.Model]) *model.ModelConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.Model) model.ModelEdge { return model.ModelEdge{Cursor: c, Node: x} })
	return &model.ModelConnection{Edges: e, PageInfo: pi, TotalCount: n}
}

func versionConn(p *store.Page[*modeldao.ModelVersion]) *model.ModelVersionConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.ModelVersion) model.ModelVersionEdge {
		return model.ModelVersionEdge{Cursor: c, Node: x}
	})
	return &model.ModelVersionConnection{Edges: e, PageInfo: pi, TotalCount: n}
}

func auditConn(p *store.Page[*modeldao.Audit]) *model.AuditConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.Audit) model.AuditEdge { return model.AuditEdge{Cursor: c, Node: x} })
	return &model.AuditConnection{Edges: e, PageInfo: pi, TotalCount: n}
}

func policyConn(p *store.Page[*modeldao.Policy]) *model.PolicyConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.Policy) model.PolicyEdge { return model.PolicyEdge{Cursor: c, Node: x} })
	return &model.PolicyConnection{Edges: e, PageInfo: pi, TotalCount: n}
}

func auditorConn(p *store.Page[*modeldao.Auditor]) *model.AuditorConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.Auditor) model.AuditorEdge { return model.AuditorEdge{Cursor: c, Node: x} })
	return &model.AuditorConnection{Edges: e, PageInfo: pi, TotalCount: n}
}

// topLevel registers the items of a page as a sibling group and makes its connection.
func topLevel[N comparable, C any](ctx context.Context, p *store.Page[N], err error, conv func(*store.Page[N]) C) (C, error) {
	if err != nil {
		var zero C
		return zero, err
	}
	register(ctx, p.Items)
	return conv(p), nil
}

// nested resolves a paged field of obj for its whole sibling group: pages reads one page
// per sibling in one round trip; the items of all pages become one group.
func nested[T comparable, N comparable, C any](ctx context.Context, obj T, pages func(ctx context.Context, objs []T) ([]*store.Page[N], error), conv func(*store.Page[N]) C) (C, error) {
	return load(ctx, obj, func(ctx context.Context, objs []T) ([]C, error) {
		ps, err := pages(ctx, objs)
		if err != nil {
			return nil, err
		}
		var all []N
		for _, p := range ps {
			all = append(all, p.Items...)
		}
		register(ctx, all)
		out := make([]C, len(ps))
		for i, p := range ps {
			out[i] = conv(p)
		}
		return out, nil
	})
}

// byKey resolves a reference of obj (its proposer, its policy, …) for its whole sibling
// group in one read of the distinct keys; the results become one group.
func byKey[T comparable, K comparable, R comparable](ctx context.Context, obj T, keyOf func(T) (K, bool), get func(ctx context.Context, keys []K) ([]R, error)) (R, error) {
	return load(ctx, obj, func(ctx context.Context, objs []T) ([]R, error) {
		out, err := keyed(objs, keyOf, func(keys []K) ([]R, error) { return get(ctx, keys) })
		if err != nil {
			return nil, err
		}
		register(ctx, out)
		return out, nil
	})
}

// ---- reads by key ----

// accounts reads accounts; an address the index never saw is an account with nothing.
func (r *Resolver) accounts(ctx context.Context, addrs []common.Address) ([]*modeldao.Account, error) {
	accs, err := r.store.Accounts(ctx, addrs)
	if err != nil {
		return nil, err
	}
	for i, a := range accs {
		if a == nil {
			accs[i] = emptyAccount(addrs[i])
		}
	}
	return accs, nil
}

func emptyAccount(a common.Address) *modeldao.Account {
	return &modeldao.Account{Address: a, Balance: new(big.Int), VotingPower: new(big.Int)}
}

func (r *Resolver) proposals(ctx context.Context, ids []string) ([]*modeldao.Proposal, error) {
	return r.store.ProposalsByID(ctx, ids)
}

func (r *Resolver) versions(ctx context.Context, ids []uint64) ([]*modeldao.ModelVersion, error) {
	return r.store.VersionsByID(ctx, ids)
}

func (r *Resolver) policies(ctx context.Context, ids []uint64) ([]*modeldao.Policy, error) {
	return r.store.PoliciesByID(ctx, ids)
}

func (r *Resolver) audits(ctx context.Context, ids []uint64) ([]*modeldao.Audit, error) {
	return r.store.AuditsByID(ctx, ids)
}

func (r *Resolver) models(ctx context.Context, ids []common.Hash) ([]*modeldao.Model, error) {
	return r.store.ModelsByID(ctx, ids)
}

// auditors reads auditors; one the index does not know (it cannot post audits without
// being registered, so this is a broken invariant) is shown with its address only.
func (r *Resolver) auditors(ctx context.Context, addrs []common.Address) ([]*modeldao.Auditor, error) {
	as, err := r.store.AuditorsByAddress(ctx, addrs)
	if err != nil {
		return nil, err
	}
	for i, a := range as {
		if a == nil {
			as[i] = &modeldao.Auditor{Address: addrs[i]}
		}
	}
	return as, nil
}

func (r *Resolver) pins(ctx context.Context, ids []uint64) ([]*modeldao.Pin, error) {
	return r.store.Pins(ctx, ids)
}

// required turns a missing referenced record into a clear error.
func required[T any](v *T, err error, format string, args ...any) (*T, error) {
	if err != nil || v != nil {
		return v, err
	}
	return nil, modeldao.Errorf(modeldao.EINTERNAL, format+" is missing from the index: reindex", args...)
}

func notFound(what string, id any) error {
	return modeldao.Errorf(modeldao.ENOTFOUND, "no %s with id %v", what, id)
}

func nonZeroAddr(a common.Address) (common.Address, bool) { return a, a != common.Address{} }

func nonZeroID(id uint64) (uint64, bool) { return id, id != 0 }
