package graphql

// Fields of the registry objects: models, versions and their history, audits, policies,
// auditors; and the indexer's status.

import (
	"context"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/graphql/model"
	"github.com/modeldao/modeldao/store"
)

// ---- Model ----

type modelResolver struct{ *Resolver }

func (r modelResolver) Owner(ctx context.Context, obj *modeldao.Model) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(m *modeldao.Model) (common.Address, bool) { return m.Owner, true }, r.accounts)
}

func (r modelResolver) Versions(ctx context.Context, obj *modeldao.Model, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.ModelVersionConnection, error) {
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

func (r modelVersionResolver) Model(ctx context.Context, obj *modeldao.ModelVersion) (*modeldao.Model, error) {
	m, err := byKey(ctx, obj, func(v *modeldao.ModelVersion) (common.Hash, bool) { return v.ModelID, true }, r.models)
	return required(m, err, "model %s of version %d", obj.ModelName, obj.ID)
}

func (r modelVersionResolver) Publisher(ctx context.Context, obj *modeldao.ModelVersion) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(v *modeldao.ModelVersion) (common.Address, bool) { return v.Publisher, true }, r.accounts)
}

func (r modelVersionResolver) Policy(ctx context.Context, obj *modeldao.ModelVersion) (*modeldao.Policy, error) {
	return byKey(ctx, obj, func(v *modeldao.ModelVersion) (uint64, bool) { return nonZeroID(v.PolicyID) }, r.policies)
}

func (r modelVersionResolver) ApprovalAudit(ctx context.Context, obj *modeldao.ModelVersion) (*modeldao.Audit, error) {
	return byKey(ctx, obj, func(v *modeldao.ModelVersion) (uint64, bool) { return nonZeroID(v.AuditID) }, r.audits)
}

func (r modelVersionResolver) History(ctx context.Context, obj *modeldao.ModelVersion) ([]*modeldao.StatusChange, error) {
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

func (r modelVersionResolver) Audits(ctx context.Context, obj *modeldao.ModelVersion, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.AuditConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, true)
	return nested(ctx, obj, func(ctx context.Context, vs []*modeldao.ModelVersion) ([]*store.Page[*modeldao.Audit], error) {
		return r.store.AuditsOfVersions(ctx, versionIDs(vs), desc, args)
	}, auditConn)
}

func (r modelVersionResolver) Proposals(ctx context.Context, obj *modeldao.ModelVersion, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.ProposalConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, true)
	return nested(ctx, obj, func(ctx context.Context, vs []*modeldao.ModelVersion) ([]*store.Page[*modeldao.Proposal], error) {
		return r.store.ProposalsOfVersions(ctx, versionIDs(vs), desc, args)
	}, proposalConn)
}

func (r modelVersionResolver) Pin(ctx context.Context, obj *modeldao.ModelVersion) (*modeldao.Pin, error) {
	return byKey(ctx, obj, func(v *modeldao.ModelVersion) (uint64, bool) { return v.ID, true }, r.pins)
}

// ---- StatusChange ----

type statusChangeResolver struct{ *Resolver }

func (r statusChangeResolver) Policy(ctx context.Context, obj *modeldao.StatusChange) (*modeldao.Policy, error) {
	return byKey(ctx, obj, func(c *modeldao.StatusChange) (uint64, bool) { return nonZeroID(c.PolicyID) }, r.policies)
}

func (r statusChangeResolver) Audit(ctx context.Context, obj *modeldao.StatusChange) (*modeldao.Audit, error) {
	return byKey(ctx, obj, func(c *modeldao.StatusChange) (uint64, bool) { return nonZeroID(c.AuditID) }, r.audits)
}

func (r statusChangeResolver) Proposal(ctx context.Context, obj *modeldao.StatusChange) (*modeldao.Proposal, error) {
	return byKey(ctx, obj, func(c *modeldao.StatusChange) (string, bool) { return c.ProposalID, c.ProposalID != "" }, r.proposals)
}

// ---- Audit ----

type auditResolver struct{ *Resolver }

func (r auditResolver) ModelVersion(ctx context.Context, obj *modeldao.Audit) (*modeldao.ModelVersion, error) {
	v, err := byKey(ctx, obj, func(a *modeldao.Audit) (uint64, bool) { return a.VersionID, true }, r.versions)
	return required(v, err, "model version %d of audit %d", obj.VersionID, obj.ID)
}

func (r auditResolver) Policy(ctx context.Context, obj *modeldao.Audit) (*modeldao.Policy, error) {
	p, err := byKey(ctx, obj, func(a *modeldao.Audit) (uint64, bool) { return a.PolicyID, true }, r.policies)
	return required(p, err, "policy %d of audit %d", obj.PolicyID, obj.ID)
}

func (r auditResolver) Auditor(ctx context.Context, obj *modeldao.Audit) (*modeldao.Auditor, error) {
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

func (r policyResolver) Audits(ctx context.Context, obj *modeldao.Policy, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.AuditConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, true)
	return nested(ctx, obj, func(ctx context.Context, ps []*modeldao.Policy) ([]*store.Page[*modeldao.Audit], error) {
		return r.store.AuditsOfPolicies(ctx, policyIDs(ps), desc, args)
	}, auditConn)
}

func (r policyResolver) ApprovedVersions(ctx context.Context, obj *modeldao.Policy, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.ModelVersionConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, true)
	return nested(ctx, obj, func(ctx context.Context, ps []*modeldao.Policy) ([]*store.Page[*modeldao.ModelVersion], error) {
		return r.store.VersionsOfPolicies(ctx, policyIDs(ps), desc, args)
	}, versionConn)
}

// ---- Auditor ----

type auditorResolver struct{ *Resolver }

func (r auditorResolver) ID(ctx context.Context, obj *modeldao.Auditor) (string, error) {
	return r.caip10(ctx, obj.Address)
}

func (r auditorResolver) Account(ctx context.Context, obj *modeldao.Auditor) (*modeldao.Account, error) {
	return byKey(ctx, obj, func(a *modeldao.Auditor) (common.Address, bool) { return a.Address, true }, r.accounts)
}

func (r auditorResolver) Audits(ctx context.Context, obj *modeldao.Auditor, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.AuditConnection, error) {
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

func (r indexerStatusResolver) IndexedHash(ctx context.Context, obj *modeldao.IndexerStatus) (*common.Hash, error) {
	if obj.IndexedHash == "" {
		return nil, nil
	}
	h := common.HexToHash(obj.IndexedHash)
	return &h, nil
}

func (r indexerStatusResolver) LastError(ctx context.Context, obj *modeldao.IndexerStatus) (*string, error) {
	if obj.LastError == "" {
		return nil, nil
	}
	return &obj.LastError, nil
}

func (r indexerStatusResolver) UpdatedAt(ctx context.Context, obj *modeldao.IndexerStatus) (*time.Time, error) {
	if obj.UpdatedAt == 0 {
		return nil, nil
	}
	t := time.UnixMilli(obj.UpdatedAt).UTC()
	return &t, nil
}
