package graphql

// The root fields: lists with their filters and orderings, and single objects by id.

import (
	"context"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/graphql/model"
	"github.com/modeldao/modeldao/graphql/scalar"
	"github.com/modeldao/modeldao/store"
)

// ---- Query ----

type queryResolver struct{ *Resolver }

func (r queryResolver) Dao(ctx context.Context) (*store.DAOInfo, error) { return r.store.DAO(ctx) }

func (r queryResolver) Proposals(ctx context.Context, where *model.ProposalWhere, orderBy *model.ProposalOrderField, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.ProposalConnection, error) {
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

func (r queryResolver) Proposal(ctx context.Context, id string) (*modeldao.Proposal, error) {
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

func (r queryResolver) Votes(ctx context.Context, where *model.VoteWhere, orderBy *model.VoteOrderField, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.VoteConnection, error) {
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

func (r queryResolver) Delegates(ctx context.Context, orderBy *model.DelegateOrderField, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.AccountConnection, error) {
	order := store.DelegatesByVotingPower
	if orderBy != nil && *orderBy == model.DelegateOrderFieldDelegators {
		order = store.DelegatesByDelegators
	}
	p, err := r.store.Delegates(ctx, order, isDesc(orderDirection, true), pageArgs(first, after, last, before))
	return topLevel(ctx, p, err, accountConn)
}

func (r queryResolver) Account(ctx context.Context, address common.Address) (*modeldao.Account, error) {
	accs, err := r.accounts(ctx, []common.Address{address})
	if err != nil {
		return nil, err
	}
	return accs[0], nil
}

func (r queryResolver) Models(ctx context.Context, where *model.ModelWhere, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.ModelConnection, error) {
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

func (r queryResolver) Model(ctx context.Context, name *string, nameRaw []byte, id *string) (*modeldao.Model, error) {
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
		key = modeldao.ModelID(*name)
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

func (r queryResolver) ModelVersions(ctx context.Context, where *model.ModelVersionWhere, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.ModelVersionConnection, error) {
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
		q.Dataset = str("dataset", w.Dataset, w.DatasetRaw)
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
		if w.DerivedFrom != nil {
			id, err := scalar.ParseUint64ID("where.derivedFrom", *w.DerivedFrom)
			if err != nil {
				return nil, err
			}
			q.DerivedFrom = &id
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
		// The filters apply the rules of the fields, with the same settings.
		q.Stale, q.Contested, q.ContestTolerance = w.Stale, w.Contested, r.tolerance
		if q.StaleRules, err = r.staleRulesFor(w.MaxAuditAgeBlocks, "where.maxAuditAgeBlocks"); err != nil {
			return nil, err
		}
		if w.MaxAuditAgeBlocks != nil && w.Stale == nil {
			return nil, modeldao.Errorf(modeldao.EINVALID, "where.maxAuditAgeBlocks applies to the stale filter: give where.stale too (or pass maxAuditAgeBlocks to the stale field)")
		}
	}
	p, err := r.store.ModelVersions(ctx, q)
	return topLevel(ctx, p, err, versionConn)
}

func (r queryResolver) ModelVersion(ctx context.Context, id string) (*modeldao.ModelVersion, error) {
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

func (r queryResolver) Audits(ctx context.Context, where *model.AuditWhere, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.AuditConnection, error) {
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

func (r queryResolver) Audit(ctx context.Context, id string) (*modeldao.Audit, error) {
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

func (r queryResolver) Policies(ctx context.Context, where *model.PolicyWhere, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.PolicyConnection, error) {
	var active *bool
	if where != nil {
		active = where.Active
	}
	p, err := r.store.Policies(ctx, active, isDesc(orderDirection, false), pageArgs(first, after, last, before))
	return topLevel(ctx, p, err, policyConn)
}

func (r queryResolver) Policy(ctx context.Context, id string) (*modeldao.Policy, error) {
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

func (r queryResolver) Auditors(ctx context.Context, where *model.AuditorWhere, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.AuditorConnection, error) {
	var active *bool
	if where != nil {
		active = where.Active
	}
	p, err := r.store.Auditors(ctx, active, isDesc(orderDirection, false), pageArgs(first, after, last, before))
	return topLevel(ctx, p, err, auditorConn)
}

func (r queryResolver) PinStatus(ctx context.Context) (*model.PinStatusCounts, error) {
	counts, err := r.store.PinSummary(ctx)
	if err != nil {
		return nil, err
	}
	c := &model.PinStatusCounts{
		None: counts[modeldao.PinNone], Queued: counts[modeldao.PinQueued], Pinning: counts[modeldao.PinPinning],
		Pinned: counts[modeldao.PinPinned], Failed: counts[modeldao.PinFailed], Unpinned: counts[modeldao.PinUnpinned],
		Degraded: counts[modeldao.PinDegraded],
	}
	for _, n := range counts {
		c.Total += n
	}
	return c, nil
}

func (r queryResolver) IndexerStatus(ctx context.Context) (*modeldao.IndexerStatus, error) {
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
