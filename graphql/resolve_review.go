package graphql

// What a steward reviews: stale approvals and contested audits. The rules are the root
// package's (modeldao.StaleReasons, modeldao.Consensus); the store reads their facts for a
// whole sibling group at once, and the ModelVersions filters apply the same rules.

import (
	"context"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/graphql/generated"
)

// staleRulesFor returns the server's stale rules with the query's override, if any.
func (r *Resolver) staleRulesFor(maxAuditAgeBlocks *int, what string) (modeldao.StaleRules, error) {
	rules := r.staleRules
	if maxAuditAgeBlocks != nil {
		n, err := modeldao.ParseStaleAuditAge(what, int64(*maxAuditAgeBlocks))
		if err != nil {
			return rules, err
		}
		rules.MaxAuditAgeBlocks = n
	}
	return rules, nil
}

// staleReasons reads the stale facts of obj's sibling group once and checks each version.
func (r modelVersionResolver) staleReasons(ctx context.Context, obj *modeldao.ModelVersion, maxAuditAgeBlocks *int) ([]*modeldao.StaleReason, error) {
	rules, err := r.staleRulesFor(maxAuditAgeBlocks, "maxAuditAgeBlocks")
	if err != nil {
		return nil, err
	}
	return load(ctx, obj, func(ctx context.Context, vs []*modeldao.ModelVersion) ([][]*modeldao.StaleReason, error) {
		facts, err := r.store.StaleFacts(ctx, vs)
		if err != nil {
			return nil, err
		}
		out := make([][]*modeldao.StaleReason, len(vs))
		var all []*modeldao.StaleReason
		for i, f := range facts {
			rs := modeldao.StaleReasons(f, rules)
			out[i] = make([]*modeldao.StaleReason, len(rs))
			for j := range rs {
				out[i][j] = &rs[j]
			}
			all = append(all, out[i]...)
		}
		register(ctx, all)
		return out, nil
	})
}

func (r modelVersionResolver) Stale(ctx context.Context, obj *modeldao.ModelVersion, maxAuditAgeBlocks *int) (bool, error) {
	rs, err := r.staleReasons(ctx, obj, maxAuditAgeBlocks)
	return len(rs) > 0, err
}

func (r modelVersionResolver) StaleReasons(ctx context.Context, obj *modeldao.ModelVersion, maxAuditAgeBlocks *int) ([]*modeldao.StaleReason, error) {
	rs, err := r.staleReasons(ctx, obj, maxAuditAgeBlocks)
	if rs == nil && err == nil {
		rs = []*modeldao.StaleReason{}
	}
	return rs, err
}

// consensus is the result of modeldao.Consensus for one version.
type consensus struct {
	state    modeldao.AuditConsensus
	disagree []*modeldao.AuditDisagreement
}

// consensusOf reads the audits of obj's sibling group once and compares them.
func (r modelVersionResolver) consensusOf(ctx context.Context, obj *modeldao.ModelVersion) (*consensus, error) {
	return load(ctx, obj, func(ctx context.Context, vs []*modeldao.ModelVersion) ([]*consensus, error) {
		out, err := r.contest(ctx, versionIDs(vs))
		if err != nil {
			return nil, err
		}
		var all []*modeldao.AuditDisagreement
		for _, c := range out {
			all = append(all, c.disagree...)
		}
		register(ctx, all)
		return out, nil
	})
}

// contest compares the audits of each version under the server's tolerance.
func (r *Resolver) contest(ctx context.Context, ids []uint64) ([]*consensus, error) {
	facts, err := r.store.ContestFacts(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*consensus, len(ids))
	for i, f := range facts {
		state, ds := modeldao.Consensus(f, r.tolerance)
		c := &consensus{state: state, disagree: make([]*modeldao.AuditDisagreement, len(ds))}
		for j := range ds {
			c.disagree[j] = &ds[j]
		}
		out[i] = c
	}
	return out, nil
}

func (r modelVersionResolver) AuditConsensus(ctx context.Context, obj *modeldao.ModelVersion) (modeldao.AuditConsensus, error) {
	c, err := r.consensusOf(ctx, obj)
	if err != nil {
		return modeldao.ConsensusNone, err
	}
	return c.state, nil
}

func (r modelVersionResolver) Contest(ctx context.Context, obj *modeldao.ModelVersion) ([]*modeldao.AuditDisagreement, error) {
	c, err := r.consensusOf(ctx, obj)
	if err != nil {
		return nil, err
	}
	return c.disagree, nil
}

// ---- StaleReason ----

type staleReasonResolver struct{ *Resolver }

func (r *Resolver) StaleReason() generated.StaleReasonResolver { return staleReasonResolver{r} }

func (r staleReasonResolver) Policy(ctx context.Context, obj *modeldao.StaleReason) (*modeldao.Policy, error) {
	return byKey(ctx, obj, func(s *modeldao.StaleReason) (uint64, bool) { return nonZeroID(s.PolicyID) }, r.policies)
}

func (r staleReasonResolver) Audit(ctx context.Context, obj *modeldao.StaleReason) (*modeldao.Audit, error) {
	return byKey(ctx, obj, func(s *modeldao.StaleReason) (uint64, bool) { return nonZeroID(s.AuditID) }, r.audits)
}

func (r staleReasonResolver) AuditAgeBlocks(_ context.Context, obj *modeldao.StaleReason) (*int, error) {
	if obj.Kind != modeldao.StaleAuditTooOld {
		return nil, nil
	}
	n := modeldao.ClampBlocks(obj.AuditAgeBlocks)
	return &n, nil
}

func (r staleReasonResolver) MaxAuditAgeBlocks(_ context.Context, obj *modeldao.StaleReason) (*int, error) {
	if obj.Kind != modeldao.StaleAuditTooOld {
		return nil, nil
	}
	n := modeldao.ClampBlocks(obj.MaxAuditAgeBlocks)
	return &n, nil
}

// Ancestors reads the tainting ancestors of the whole sibling group of reasons at once.
func (r staleReasonResolver) Ancestors(ctx context.Context, obj *modeldao.StaleReason) ([]*modeldao.ModelVersion, error) {
	return load(ctx, obj, func(ctx context.Context, rs []*modeldao.StaleReason) ([][]*modeldao.ModelVersion, error) {
		lists := make([][]uint64, len(rs))
		for i, sr := range rs {
			lists[i] = sr.Ancestors
		}
		return r.versionLists(ctx, lists)
	})
}

// ---- AuditDisagreement ----

type auditDisagreementResolver struct{ *Resolver }

func (r *Resolver) AuditDisagreement() generated.AuditDisagreementResolver {
	return auditDisagreementResolver{r}
}

func (r auditDisagreementResolver) Policy(ctx context.Context, obj *modeldao.AuditDisagreement) (*modeldao.Policy, error) {
	return byKey(ctx, obj, func(d *modeldao.AuditDisagreement) (uint64, bool) { return nonZeroID(d.PolicyID) }, r.policies)
}

func (r auditDisagreementResolver) Audit(ctx context.Context, obj *modeldao.AuditDisagreement) (*modeldao.Audit, error) {
	a, err := byKey(ctx, obj, func(d *modeldao.AuditDisagreement) (uint64, bool) { return d.AuditID, true }, r.audits)
	return required(a, err, "audit %d", obj.AuditID)
}

func (r auditDisagreementResolver) OtherAudit(ctx context.Context, obj *modeldao.AuditDisagreement) (*modeldao.Audit, error) {
	// A second byKey on the same objects: its own field, so its own batched read.
	a, err := byKey(ctx, obj, func(d *modeldao.AuditDisagreement) (uint64, bool) { return d.OtherAuditID, true }, r.audits)
	return required(a, err, "audit %d", obj.OtherAuditID)
}

// metricOnly returns v for a METRIC disagreement and nil for a VERDICT one.
func metricOnly[T any](obj *modeldao.AuditDisagreement, v T) (*T, error) {
	if obj.Kind != modeldao.DisagreeMetric {
		return nil, nil
	}
	return &v, nil
}

func (r auditDisagreementResolver) Metric(_ context.Context, obj *modeldao.AuditDisagreement) (*modeldao.MetricKind, error) {
	return metricOnly(obj, obj.MetricKind)
}

func (r auditDisagreementResolver) SensitiveFeature(_ context.Context, obj *modeldao.AuditDisagreement) (*string, error) {
	return metricOnly(obj, obj.Feature.String())
}

func (r auditDisagreementResolver) Value(_ context.Context, obj *modeldao.AuditDisagreement) (*modeldao.Fixed6, error) {
	return metricOnly(obj, obj.Value)
}

func (r auditDisagreementResolver) OtherValue(_ context.Context, obj *modeldao.AuditDisagreement) (*modeldao.Fixed6, error) {
	return metricOnly(obj, obj.OtherValue)
}

func (r auditDisagreementResolver) Difference(_ context.Context, obj *modeldao.AuditDisagreement) (*modeldao.Fixed6, error) {
	return metricOnly(obj, obj.Difference)
}
