package graphql

import (
	"context"
	"math/big"
	"sort"
	"sync"
	"time"

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
}

// NewResolver returns the root resolver; chainID may be 0 (it is then read from the
// index when first needed).
func NewResolver(st *store.Store, chainID uint64) *Resolver {
	return &Resolver{store: st, chainID: chainID}
}

func (r *Resolver) Account() generated.AccountResolver             { return &accountResolver{r} }
func (r *Resolver) Action() generated.ActionResolver               { return &actionResolver{r} }
func (r *Resolver) Audit() generated.AuditResolver                 { return &auditResolver{r} }
func (r *Resolver) Auditor() generated.AuditorResolver             { return &auditorResolver{r} }
func (r *Resolver) DAO() generated.DAOResolver                     { return &daoResolver{r} }
func (r *Resolver) Delegation() generated.DelegationResolver       { return &delegationResolver{r} }
func (r *Resolver) IndexerStatus() generated.IndexerStatusResolver { return &indexerStatusResolver{r} }
func (r *Resolver) Model() generated.ModelResolver                 { return &modelResolver{r} }
func (r *Resolver) ModelVersion() generated.ModelVersionResolver   { return &modelVersionResolver{r} }
func (r *Resolver) Policy() generated.PolicyResolver               { return &policyResolver{r} }
func (r *Resolver) Proposal() generated.ProposalResolver           { return &proposalResolver{r} }
func (r *Resolver) Query() generated.QueryResolver                 { return &queryResolver{r} }
func (r *Resolver) StatusChange() generated.StatusChangeResolver   { return &statusChangeResolver{r} }
func (r *Resolver) Vote() generated.VoteResolver                   { return &voteResolver{r} }

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
	pi := &model.PageInfo{HasNextPage: p.HasNextPage, HasPreviousPage: p.HasPreviousPage}
	if c := p.StartCursor(); c != "" {
		pi.StartCursor = &c
	}
	if c := p.EndCursor(); c != "" {
		pi.EndCursor = &c
	}
	return pi
}

// connection builds the parts of a connection from a page.
func connection[T any, E any](p *store.Page[T], edge func(cursor string, node T) E) ([]E, *model.PageInfo, int) {
	edges := make([]E, len(p.Items))
	for i, n := range p.Items {
		edges[i] = edge(p.Cursors[i], n)
	}
	return edges, pageInfo(p), p.TotalCount
}

func proposalConn(p *store.Page[*modeldao.Proposal]) *model.ProposalConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.Proposal) *model.ProposalEdge {
		return &model.ProposalEdge{Cursor: c, Node: x}
	})
	return &model.ProposalConnection{Edges: e, PageInfo: pi, TotalCount: n}
}

func voteConn(p *store.Page[*modeldao.Vote]) *model.VoteConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.Vote) *model.VoteEdge { return &model.VoteEdge{Cursor: c, Node: x} })
	return &model.VoteConnection{Edges: e, PageInfo: pi, TotalCount: n}
}

func accountConn(p *store.Page[*modeldao.Account]) *model.AccountConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.Account) *model.AccountEdge { return &model.AccountEdge{Cursor: c, Node: x} })
	return &model.AccountConnection{Edges: e, PageInfo: pi, TotalCount: n}
}

func delegationConn(p *store.Page[*modeldao.Delegation]) *model.DelegationConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.Delegation) *model.DelegationEdge {
		return &model.DelegationEdge{Cursor: c, Node: x}
	})
	return &model.DelegationConnection{Edges: e, PageInfo: pi, TotalCount: n}
}

func modelConn(p *store.Page[*modeldao.Model]) *model.ModelConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.Model) *model.ModelEdge { return &model.ModelEdge{Cursor: c, Node: x} })
	return &model.ModelConnection{Edges: e, PageInfo: pi, TotalCount: n}
}

func versionConn(p *store.Page[*modeldao.ModelVersion]) *model.ModelVersionConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.ModelVersion) *model.ModelVersionEdge {
		return &model.ModelVersionEdge{Cursor: c, Node: x}
	})
	return &model.ModelVersionConnection{Edges: e, PageInfo: pi, TotalCount: n}
}

func auditConn(p *store.Page[*modeldao.Audit]) *model.AuditConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.Audit) *model.AuditEdge { return &model.AuditEdge{Cursor: c, Node: x} })
	return &model.AuditConnection{Edges: e, PageInfo: pi, TotalCount: n}
}

func policyConn(p *store.Page[*modeldao.Policy]) *model.PolicyConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.Policy) *model.PolicyEdge { return &model.PolicyEdge{Cursor: c, Node: x} })
	return &model.PolicyConnection{Edges: e, PageInfo: pi, TotalCount: n}
}

func auditorConn(p *store.Page[*modeldao.Auditor]) *model.AuditorConnection {
	e, pi, n := connection(p, func(c string, x *modeldao.Auditor) *model.AuditorEdge { return &model.AuditorEdge{Cursor: c, Node: x} })
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

// ---- Query ----

type queryResolver struct{ *Resolver }

func (r *queryResolver) Dao(ctx context.Context) (*store.DAOInfo, error) { return r.store.DAO(ctx) }

func (r *queryResolver) Proposals(ctx context.Context, where *model.ProposalWhere, orderBy *model.ProposalOrderField, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.ProposalConnection, error) {
	q := store.ProposalQuery{Desc: isDesc(orderDirection, true), Page: pageArgs(first, after, last, before)}
	if orderBy != nil {
		switch *orderBy {
		case model.ProposalOrderFieldVotingEnds:
			q.OrderBy = store.ProposalsByDeadline
		case model.ProposalOrderFieldVotes:
			q.OrderBy = store.ProposalsByVotes
		}
	}
	if w := where; w != nil {
		q.State, q.Proposer, q.CreatedAfter, q.CreatedBefore = w.State, w.Proposer, w.CreatedAfter, w.CreatedBefore
		if w.TitleContains != nil {
			q.TitleContains = *w.TitleContains
		}
		if w.ModelVersion != nil {
			id, err := scalar.ParseUint64ID("where.modelVersion", *w.ModelVersion)
			if err != nil {
				return nil, err
			}
			q.VersionID = &id
		}
	}
	p, err := r.store.Proposals(ctx, q)
	return topLevel(ctx, p, err, proposalConn)
}

func (r *queryResolver) Proposal(ctx context.Context, id string) (*modeldao.Proposal, error) {
	pid, err := scalar.ParseProposalID("id", id)
	if err != nil {
		return nil, err
	}
	ps, err := r.store.ProposalsByID(ctx, []string{pid})
	if err != nil {
		return nil, err
	}
	if ps[0] == nil {
		return nil, notFound("proposal", pid)
	}
	return ps[0], nil
}

func (r *queryResolver) Votes(ctx context.Context, where *model.VoteWhere, orderBy *model.VoteOrderField, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.VoteConnection, error) {
	q := store.VoteQuery{Desc: isDesc(orderDirection, true), Page: pageArgs(first, after, last, before)}
	if orderBy != nil && *orderBy == model.VoteOrderFieldWeight {
		q.OrderBy = store.VotesByWeight
	}
	if w := where; w != nil {
		q.Voter, q.Support = w.Voter, w.Support
		if w.Proposal != nil {
			pid, err := scalar.ParseProposalID("where.proposal", *w.Proposal)
			if err != nil {
				return nil, err
			}
			q.ProposalID = pid
		}
	}
	p, err := r.store.Votes(ctx, q)
	return topLevel(ctx, p, err, voteConn)
}

func (r *queryResolver) Delegates(ctx context.Context, orderBy *model.DelegateOrderField, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.AccountConnection, error) {
	order := store.DelegatesByVotingPower
	if orderBy != nil && *orderBy == model.DelegateOrderFieldDelegators {
		order = store.DelegatesByDelegators
	}
	p, err := r.store.Delegates(ctx, order, isDesc(orderDirection, true), pageArgs(first, after, last, before))
	return topLevel(ctx, p, err, accountConn)
}

func (r *queryResolver) Account(ctx context.Context, address common.Address) (*modeldao.Account, error) {
	accs, err := r.accounts(ctx, []common.Address{address})
	if err != nil {
		return nil, err
	}
	return accs[0], nil
}

func (r *queryResolver) Models(ctx context.Context, where *model.ModelWhere, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.ModelConnection, error) {
	q := store.ModelQuery{Desc: isDesc(orderDirection, true), Page: pageArgs(first, after, last, before)}
	if where != nil {
		q.Owner = where.Owner
		if where.NameContains != nil {
			q.NameContains = *where.NameContains
		}
	}
	p, err := r.store.Models(ctx, q)
	return topLevel(ctx, p, err, modelConn)
}

func (r *queryResolver) Model(ctx context.Context, name *string, nameRaw []byte, id *string) (*modeldao.Model, error) {
	var key common.Hash
	switch {
	case name != nil && nameRaw != nil:
		return nil, modeldao.Errorf(modeldao.EINVALID, "give the model's name or nameRaw, not both")
	case nameRaw != nil:
		s := string(nameRaw)
		name = &s
	}
	switch {
	case name != nil && id != nil:
		return nil, modeldao.Errorf(modeldao.EINVALID, "give the model's name or its id, not both")
	case name != nil:
		key = store.ModelID(*name)
	case id != nil:
		h, err := scalar.UnmarshalHashID(*id)
		if err != nil {
			return nil, modeldao.Errorf(modeldao.EINVALID, "model id %q is not 0x followed by 64 hex digits (keccak256 of the name)", *id)
		}
		key = h
	default:
		return nil, modeldao.Errorf(modeldao.EINVALID, "give the model's name or its id")
	}
	ms, err := r.store.ModelsByID(ctx, []common.Hash{key})
	if err != nil {
		return nil, err
	}
	if ms[0] == nil {
		if name != nil {
			return nil, modeldao.Errorf(modeldao.ENOTFOUND, "no model named %q", *name)
		}
		return nil, notFound("model", key.Hex())
	}
	return ms[0], nil
}

func (r *queryResolver) ModelVersions(ctx context.Context, where *model.ModelVersionWhere, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.ModelVersionConnection, error) {
	q := store.VersionQuery{Desc: isDesc(orderDirection, true), Page: pageArgs(first, after, last, before)}
	if w := where; w != nil {
		q.Status, q.Publisher = w.Status, w.Publisher
		// A String filter matches the bytes of its UTF-8 text, a …Raw filter any bytes.
		var err error
		str := func(what string, p *string, raw []byte) string {
			switch {
			case p != nil && raw != nil:
				err = modeldao.Errorf(modeldao.EINVALID, "give where.%s or where.%sRaw, not both", what, what)
			case raw != nil:
				return string(raw)
			case p != nil:
				return *p
			}
			return ""
		}
		q.ModelName, q.Tag, q.License = str("model", w.Model, w.ModelRaw), str("tag", w.Tag, w.TagRaw), str("license", w.License, w.LicenseRaw)
		if err != nil {
			return nil, err
		}
		if w.Policy != nil {
			id, err := scalar.ParseUint64ID("where.policy", *w.Policy)
			if err != nil {
				return nil, err
			}
			q.PolicyID = &id
		}
		if w.DemographicParityDifferenceMax != nil {
			q.Metrics = append(q.Metrics, store.MetricBound{Kind: modeldao.DemographicParityDifference, Max: w.DemographicParityDifferenceMax})
		}
		if len(w.Metrics) > modeldao.MaxBounds {
			return nil, modeldao.Errorf(modeldao.EINVALID, "where.metrics has %d bounds; at most %d", len(w.Metrics), modeldao.MaxBounds)
		}
		for i, m := range w.Metrics {
			if m.Max == nil && m.Min == nil {
				return nil, modeldao.Errorf(modeldao.EINVALID, "where.metrics[%d] bounds nothing: set max or min", i)
			}
			q.Metrics = append(q.Metrics, store.MetricBound{Kind: m.Kind, Feature: str("metrics.sensitiveFeature", m.SensitiveFeature, nil), Max: m.Max, Min: m.Min})
		}
	}
	p, err := r.store.ModelVersions(ctx, q)
	return topLevel(ctx, p, err, versionConn)
}

func (r *queryResolver) ModelVersion(ctx context.Context, id string) (*modeldao.ModelVersion, error) {
	vid, err := scalar.ParseUint64ID("id", id)
	if err != nil {
		return nil, err
	}
	vs, err := r.store.VersionsByID(ctx, []uint64{vid})
	if err != nil {
		return nil, err
	}
	if vs[0] == nil {
		return nil, notFound("model version", vid)
	}
	return vs[0], nil
}

func (r *queryResolver) Audits(ctx context.Context, where *model.AuditWhere, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.AuditConnection, error) {
	q := store.AuditQuery{Desc: isDesc(orderDirection, true), Page: pageArgs(first, after, last, before)}
	if w := where; w != nil {
		q.Auditor, q.Passed = w.Auditor, w.Passed
		if w.ModelVersion != nil {
			id, err := scalar.ParseUint64ID("where.modelVersion", *w.ModelVersion)
			if err != nil {
				return nil, err
			}
			q.VersionID = &id
		}
		if w.Policy != nil {
			id, err := scalar.ParseUint64ID("where.policy", *w.Policy)
			if err != nil {
				return nil, err
			}
			q.PolicyID = &id
		}
	}
	p, err := r.store.Audits(ctx, q)
	return topLevel(ctx, p, err, auditConn)
}

func (r *queryResolver) Audit(ctx context.Context, id string) (*modeldao.Audit, error) {
	aid, err := scalar.ParseUint64ID("id", id)
	if err != nil {
		return nil, err
	}
	as, err := r.store.AuditsByID(ctx, []uint64{aid})
	if err != nil {
		return nil, err
	}
	if as[0] == nil {
		return nil, notFound("audit", aid)
	}
	return as[0], nil
}

func (r *queryResolver) Policies(ctx context.Context, where *model.PolicyWhere, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.PolicyConnection, error) {
	var active *bool
	if where != nil {
		active = where.Active
	}
	p, err := r.store.Policies(ctx, active, isDesc(orderDirection, false), pageArgs(first, after, last, before))
	return topLevel(ctx, p, err, policyConn)
}

func (r *queryResolver) Policy(ctx context.Context, id string) (*modeldao.Policy, error) {
	pid, err := scalar.ParseUint64ID("id", id)
	if err != nil {
		return nil, err
	}
	ps, err := r.store.PoliciesByID(ctx, []uint64{pid})
	if err != nil {
		return nil, err
	}
	if ps[0] == nil {
		return nil, notFound("policy", pid)
	}
	return ps[0], nil
}

func (r *queryResolver) Auditors(ctx context.Context, where *model.AuditorWhere, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.AuditorConnection, error) {
	var active *bool
	if where != nil {
		active = where.Active
	}
	p, err := r.store.Auditors(ctx, active, isDesc(orderDirection, false), pageArgs(first, after, last, before))
	return topLevel(ctx, p, err, auditorConn)
}

func (r *queryResolver) PinStatus(ctx context.Context) (*model.PinStatusCounts, error) {
	counts, err := r.store.PinSummary(ctx)
	if err != nil {
		return nil, err
	}
	c := &model.PinStatusCounts{
		None: counts[modeldao.PinNone], Queued: counts[modeldao.PinQueued], Pinning: counts[modeldao.PinPinning],
		Pinned: counts[modeldao.PinPinned], Failed: counts[modeldao.PinFailed], Unpinned: counts[modeldao.PinUnpinned],
	}
	for _, n := range counts {
		c.Total += n
	}
	return c, nil
}

func (r *queryResolver) IndexerStatus(ctx context.Context) (*modeldao.IndexerStatus, error) {
	st, err := r.store.Status(ctx)
	if err != nil {
		return nil, err
	}
	// The checkpoint moves with every commit; the status is saved after it.
	cp, ok, err := r.store.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	if ok && cp.Number >= st.IndexedBlock {
		st.IndexedBlock, st.IndexedHash = cp.Number, cp.Hash.Hex()
	}
	st.ChainHead = max(st.ChainHead, st.IndexedBlock)
	st.Lag = st.ChainHead - st.IndexedBlock
	return &st, nil
}

// ---- DAO ----

type daoResolver struct{ *Resolver }

func (r *daoResolver) ID(ctx context.Context, obj *store.DAOInfo) (string, error) {
	return scalar.CAIP10(obj.ChainID, obj.Governor), nil
}

func contract(chainID uint64, a common.Address) *model.Contract {
	return &model.Contract{ID: scalar.CAIP10(chainID, a), Address: a}
}

func (r *daoResolver) Token(ctx context.Context, obj *store.DAOInfo) (*model.Contract, error) {
	return contract(obj.ChainID, obj.Token), nil
}

func (r *daoResolver) Governor(ctx context.Context, obj *store.DAOInfo) (*model.Contract, error) {
	return contract(obj.ChainID, obj.Governor), nil
}

func (r *daoResolver) Timelock(ctx context.Context, obj *store.DAOInfo) (*model.Contract, error) {
	return contract(obj.ChainID, obj.Timelock), nil
}

func (r *daoResolver) Registry(ctx context.Context, obj *store.DAOInfo) (*model.Contract, error) {
	return contract(obj.ChainID, obj.Registry), nil
}

// ---- Proposal ----

type proposalResolver struct{ *Resolver }

func (r *proposalResolver) Proposer(ctx context.Context, obj *modeldao.Proposal) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(p *modeldao.Proposal) (common.Address, bool) { return p.Proposer, true }, r.accounts)
}

func (r *proposalResolver) Eta(ctx context.Context, obj *modeldao.Proposal) (*time.Time, error) {
	if obj.Eta == 0 {
		return nil, nil
	}
	t := time.Unix(int64(obj.Eta), 0).UTC()
	return &t, nil
}

func (r *proposalResolver) Tally(ctx context.Context, obj *modeldao.Proposal) (*model.Tally, error) {
	return model.NewTally(obj.Tally.For, obj.Tally.Against, obj.Tally.Abstain, obj.Quorum), nil
}

func nz(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return x
}

func (r *proposalResolver) Actions(ctx context.Context, obj *modeldao.Proposal) ([]*model.Action, error) {
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

func (r *proposalResolver) ModelVersions(ctx context.Context, obj *modeldao.Proposal) ([]*modeldao.ModelVersion, error) {
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

func (r *proposalResolver) Votes(ctx context.Context, obj *modeldao.Proposal, orderBy *model.VoteOrderField, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.VoteConnection, error) {
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

func (r *actionResolver) ModelVersion(ctx context.Context, obj *model.Action) (*modeldao.ModelVersion, error) {
	return byKey(ctx, obj, func(a *model.Action) (uint64, bool) { return nonZeroID(a.VersionID) }, r.versions)
}

// ---- Vote ----

type voteResolver struct{ *Resolver }

func (r *voteResolver) ID(ctx context.Context, obj *modeldao.Vote) (string, error) {
	return store.VoteID(obj.ProposalID, obj.Voter), nil
}

func (r *voteResolver) Proposal(ctx context.Context, obj *modeldao.Vote) (*modeldao.Proposal, error) {
	p, err := byKey(ctx, obj, func(v *modeldao.Vote) (string, bool) { return v.ProposalID, true }, r.proposals)
	return required(p, err, "proposal %s of a vote", obj.ProposalID)
}

func (r *voteResolver) Voter(ctx context.Context, obj *modeldao.Vote) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(v *modeldao.Vote) (common.Address, bool) { return v.Voter, true }, r.accounts)
}

// ---- Account ----

type accountResolver struct{ *Resolver }

func (r *accountResolver) ID(ctx context.Context, obj *modeldao.Account) (string, error) {
	return r.caip10(ctx, obj.Address)
}

func (r *accountResolver) Delegate(ctx context.Context, obj *modeldao.Account) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(a *modeldao.Account) (common.Address, bool) { return nonZeroAddr(a.Delegate) }, r.accounts)
}

func addrsOf(as []*modeldao.Account) []common.Address {
	out := make([]common.Address, len(as))
	for i, a := range as {
		out[i] = a.Address
	}
	return out
}

func (r *accountResolver) Delegators(ctx context.Context, obj *modeldao.Account, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.AccountConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, true)
	return nested(ctx, obj, func(ctx context.Context, as []*modeldao.Account) ([]*store.Page[*modeldao.Account], error) {
		return r.store.DelegatorsOf(ctx, addrsOf(as), desc, args)
	}, accountConn)
}

func (r *accountResolver) Delegations(ctx context.Context, obj *modeldao.Account, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.DelegationConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, true)
	return nested(ctx, obj, func(ctx context.Context, as []*modeldao.Account) ([]*store.Page[*modeldao.Delegation], error) {
		return r.store.DelegationsOf(ctx, addrsOf(as), desc, args)
	}, delegationConn)
}

func (r *accountResolver) Votes(ctx context.Context, obj *modeldao.Account, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.VoteConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, true)
	return nested(ctx, obj, func(ctx context.Context, as []*modeldao.Account) ([]*store.Page[*modeldao.Vote], error) {
		return r.store.VotesOfVoters(ctx, addrsOf(as), desc, args)
	}, voteConn)
}

func (r *accountResolver) FirstSeen(ctx context.Context, obj *modeldao.Account) (*modeldao.Provenance, error) {
	if obj.FirstSeen.BlockNumber == 0 {
		return nil, nil
	}
	return &obj.FirstSeen, nil
}

// ---- Delegation ----

type delegationResolver struct{ *Resolver }

func (r *delegationResolver) Delegator(ctx context.Context, obj *modeldao.Delegation) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(d *modeldao.Delegation) (common.Address, bool) { return d.Delegator, true }, r.accounts)
}

func (r *delegationResolver) From(ctx context.Context, obj *modeldao.Delegation) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(d *modeldao.Delegation) (common.Address, bool) { return nonZeroAddr(d.From) }, r.accounts)
}

func (r *delegationResolver) To(ctx context.Context, obj *modeldao.Delegation) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(d *modeldao.Delegation) (common.Address, bool) { return nonZeroAddr(d.To) }, r.accounts)
}

// ---- Model ----

type modelResolver struct{ *Resolver }

func (r *modelResolver) Owner(ctx context.Context, obj *modeldao.Model) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(m *modeldao.Model) (common.Address, bool) { return m.Owner, true }, r.accounts)
}

func (r *modelResolver) Versions(ctx context.Context, obj *modeldao.Model, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.ModelVersionConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, true)
	return nested(ctx, obj, func(ctx context.Context, ms []*modeldao.Model) ([]*store.Page[*modeldao.ModelVersion], error) {
		ids := make([]common.Hash, len(ms))
		for i, m := range ms {
			ids[i] = m.ID
		}
		return r.store.VersionsOfModels(ctx, ids, desc, args)
	}, versionConn)
}

// ---- ModelVersion ----

type modelVersionResolver struct{ *Resolver }

func (r *modelVersionResolver) Model(ctx context.Context, obj *modeldao.ModelVersion) (*modeldao.Model, error) {
	m, err := byKey(ctx, obj, func(v *modeldao.ModelVersion) (common.Hash, bool) { return v.ModelID, true }, r.models)
	return required(m, err, "model %s of version %d", obj.ModelName, obj.ID)
}

func (r *modelVersionResolver) Publisher(ctx context.Context, obj *modeldao.ModelVersion) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(v *modeldao.ModelVersion) (common.Address, bool) { return v.Publisher, true }, r.accounts)
}

func (r *modelVersionResolver) Policy(ctx context.Context, obj *modeldao.ModelVersion) (*modeldao.Policy, error) {
	return byKey(ctx, obj, func(v *modeldao.ModelVersion) (uint64, bool) { return nonZeroID(v.PolicyID) }, r.policies)
}

func (r *modelVersionResolver) ApprovalAudit(ctx context.Context, obj *modeldao.ModelVersion) (*modeldao.Audit, error) {
	return byKey(ctx, obj, func(v *modeldao.ModelVersion) (uint64, bool) { return nonZeroID(v.AuditID) }, r.audits)
}

func (r *modelVersionResolver) History(ctx context.Context, obj *modeldao.ModelVersion) ([]*modeldao.StatusChange, error) {
	return load(ctx, obj, func(ctx context.Context, vs []*modeldao.ModelVersion) ([][]*modeldao.StatusChange, error) {
		out := make([][]*modeldao.StatusChange, len(vs))
		var all []*modeldao.StatusChange
		for i, v := range vs {
			out[i] = make([]*modeldao.StatusChange, len(v.History))
			for j := range v.History {
				out[i][j] = &v.History[j]
			}
			all = append(all, out[i]...)
		}
		register(ctx, all)
		return out, nil
	})
}

func versionIDs(vs []*modeldao.ModelVersion) []uint64 {
	ids := make([]uint64, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	return ids
}

func (r *modelVersionResolver) Audits(ctx context.Context, obj *modeldao.ModelVersion, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.AuditConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, true)
	return nested(ctx, obj, func(ctx context.Context, vs []*modeldao.ModelVersion) ([]*store.Page[*modeldao.Audit], error) {
		return r.store.AuditsOfVersions(ctx, versionIDs(vs), desc, args)
	}, auditConn)
}

func (r *modelVersionResolver) Proposals(ctx context.Context, obj *modeldao.ModelVersion, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.ProposalConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, true)
	return nested(ctx, obj, func(ctx context.Context, vs []*modeldao.ModelVersion) ([]*store.Page[*modeldao.Proposal], error) {
		return r.store.ProposalsOfVersions(ctx, versionIDs(vs), desc, args)
	}, proposalConn)
}

func (r *modelVersionResolver) Pin(ctx context.Context, obj *modeldao.ModelVersion) (*modeldao.Pin, error) {
	return byKey(ctx, obj, func(v *modeldao.ModelVersion) (uint64, bool) { return v.ID, true }, r.pins)
}

// ---- StatusChange ----

type statusChangeResolver struct{ *Resolver }

func (r *statusChangeResolver) Policy(ctx context.Context, obj *modeldao.StatusChange) (*modeldao.Policy, error) {
	return byKey(ctx, obj, func(c *modeldao.StatusChange) (uint64, bool) { return nonZeroID(c.PolicyID) }, r.policies)
}

func (r *statusChangeResolver) Audit(ctx context.Context, obj *modeldao.StatusChange) (*modeldao.Audit, error) {
	return byKey(ctx, obj, func(c *modeldao.StatusChange) (uint64, bool) { return nonZeroID(c.AuditID) }, r.audits)
}

func (r *statusChangeResolver) Proposal(ctx context.Context, obj *modeldao.StatusChange) (*modeldao.Proposal, error) {
	return byKey(ctx, obj, func(c *modeldao.StatusChange) (string, bool) { return c.ProposalID, c.ProposalID != "" }, r.proposals)
}

// ---- Audit ----

type auditResolver struct{ *Resolver }

func (r *auditResolver) ModelVersion(ctx context.Context, obj *modeldao.Audit) (*modeldao.ModelVersion, error) {
	v, err := byKey(ctx, obj, func(a *modeldao.Audit) (uint64, bool) { return a.VersionID, true }, r.versions)
	return required(v, err, "model version %d of audit %d", obj.VersionID, obj.ID)
}

func (r *auditResolver) Policy(ctx context.Context, obj *modeldao.Audit) (*modeldao.Policy, error) {
	p, err := byKey(ctx, obj, func(a *modeldao.Audit) (uint64, bool) { return a.PolicyID, true }, r.policies)
	return required(p, err, "policy %d of audit %d", obj.PolicyID, obj.ID)
}

func (r *auditResolver) Auditor(ctx context.Context, obj *modeldao.Audit) (*modeldao.Auditor, error) {
	return byKey(ctx, obj, func(a *modeldao.Audit) (common.Address, bool) { return a.Auditor, true }, r.auditors)
}

// ---- Policy ----

type policyResolver struct{ *Resolver }

func policyIDs(ps []*modeldao.Policy) []uint64 {
	ids := make([]uint64, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids
}

func (r *policyResolver) Audits(ctx context.Context, obj *modeldao.Policy, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.AuditConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, true)
	return nested(ctx, obj, func(ctx context.Context, ps []*modeldao.Policy) ([]*store.Page[*modeldao.Audit], error) {
		return r.store.AuditsOfPolicies(ctx, policyIDs(ps), desc, args)
	}, auditConn)
}

func (r *policyResolver) ApprovedVersions(ctx context.Context, obj *modeldao.Policy, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.ModelVersionConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, true)
	return nested(ctx, obj, func(ctx context.Context, ps []*modeldao.Policy) ([]*store.Page[*modeldao.ModelVersion], error) {
		return r.store.VersionsOfPolicies(ctx, policyIDs(ps), desc, args)
	}, versionConn)
}

// ---- Auditor ----

type auditorResolver struct{ *Resolver }

func (r *auditorResolver) ID(ctx context.Context, obj *modeldao.Auditor) (string, error) {
	return r.caip10(ctx, obj.Address)
}

func (r *auditorResolver) Account(ctx context.Context, obj *modeldao.Auditor) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(a *modeldao.Auditor) (common.Address, bool) { return a.Address, true }, r.accounts)
}

func (r *auditorResolver) Audits(ctx context.Context, obj *modeldao.Auditor, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.AuditConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, true)
	return nested(ctx, obj, func(ctx context.Context, as []*modeldao.Auditor) ([]*store.Page[*modeldao.Audit], error) {
		addrs := make([]common.Address, len(as))
		for i, a := range as {
			addrs[i] = a.Address
		}
		return r.store.AuditsOfAuditors(ctx, addrs, desc, args)
	}, auditConn)
}

// ---- IndexerStatus ----

type indexerStatusResolver struct{ *Resolver }

func (r *indexerStatusResolver) IndexedHash(ctx context.Context, obj *modeldao.IndexerStatus) (*common.Hash, error) {
	if obj.IndexedHash == "" {
		return nil, nil
	}
	h := common.HexToHash(obj.IndexedHash)
	return &h, nil
}

func (r *indexerStatusResolver) LastError(ctx context.Context, obj *modeldao.IndexerStatus) (*string, error) {
	if obj.LastError == "" {
		return nil, nil
	}
	return &obj.LastError, nil
}

func (r *indexerStatusResolver) UpdatedAt(ctx context.Context, obj *modeldao.IndexerStatus) (*time.Time, error) {
	if obj.UpdatedAt == 0 {
		return nil, nil
	}
	t := time.UnixMilli(obj.UpdatedAt).UTC()
	return &t, nil
}
