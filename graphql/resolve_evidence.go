package graphql

import (
	"context"
	"strconv"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/graphql/generated"
	"github.com/modeldao/modeldao/graphql/model"
)

// approval is an approveVersion call of a proposal, its ids parsed from the decoded args.
type approval struct {
	index                  int
	version, policy, audit uint64
}

// approvals lists the approveVersion calls of p whose arguments decoded.
func approvals(p *modeldao.Proposal) []approval {
	var out []approval
	for i, a := range p.Actions {
		if a.Method != "approveVersion" {
			continue
		}
		v, err1 := strconv.ParseUint(string(a.Args["versionId"]), 10, 64)
		pol, err2 := strconv.ParseUint(string(a.Args["policyId"]), 10, 64)
		aud, err3 := strconv.ParseUint(string(a.Args["auditId"]), 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue // ids beyond uint64: the registry knows no such record either
		}
		out = append(out, approval{i, v, pol, aud})
	}
	return out
}

// Evidence reads, for every proposal of the batch at once, the versions, policies and audits
// their approvals name, and checks them as the registry would at the indexed block.
func (r proposalResolver) Evidence(ctx context.Context, obj *modeldao.Proposal) ([]*model.ApprovalEvidence, error) {
	return load(ctx, obj, func(ctx context.Context, ps []*modeldao.Proposal) ([][]*model.ApprovalEvidence, error) {
		var vids, pids, aids []uint64
		seen := map[[2]uint64]bool{}
		add := func(ids *[]uint64, kind, id uint64) {
			if id != 0 && !seen[[2]uint64{kind, id}] {
				seen[[2]uint64{kind, id}] = true
				*ids = append(*ids, id)
			}
		}
		calls := make([][]approval, len(ps))
		for i, p := range ps {
			calls[i] = approvals(p)
			for _, c := range calls[i] {
				add(&vids, 0, c.version)
				add(&pids, 1, c.policy)
				add(&aids, 2, c.audit)
			}
		}
		vs, err := r.versions(ctx, vids)
		if err != nil {
			return nil, err
		}
		pols, err := r.policies(ctx, pids)
		if err != nil {
			return nil, err
		}
		auds, err := r.audits(ctx, aids)
		if err != nil {
			return nil, err
		}
		cp, indexed, err := r.store.Checkpoint(ctx)
		if err != nil {
			return nil, err
		}
		register(ctx, vs)
		register(ctx, pols)
		register(ctx, auds)
		// The contest of every version the approvals name, so that a voter sees a disagreement
		// between auditors before voting: one more batched read for the whole batch.
		contests, err := r.contest(ctx, vids)
		if err != nil {
			return nil, err
		}
		contestOf := map[uint64][]*modeldao.AuditDisagreement{}
		var disagreements []*modeldao.AuditDisagreement
		for i, id := range vids {
			contestOf[id] = contests[i].disagree
			disagreements = append(disagreements, contests[i].disagree...)
		}
		register(ctx, disagreements)
		versionOf, policyOf, auditOf := byID(vs, func(v *modeldao.ModelVersion) uint64 { return v.ID }),
			byID(pols, func(p *modeldao.Policy) uint64 { return p.ID }), byID(auds, func(a *modeldao.Audit) uint64 { return a.ID })
		out := make([][]*model.ApprovalEvidence, len(ps))
		for i := range ps {
			out[i] = []*model.ApprovalEvidence{}
			for _, c := range calls[i] {
				e := &model.ApprovalEvidence{ActionIndex: c.index, Version: versionOf[c.version], Policy: policyOf[c.policy], Audit: auditOf[c.audit]}
				e.Contest = contestOf[c.version]
				if e.Contest == nil {
					e.Contest = []*modeldao.AuditDisagreement{}
				}
				ev, err := modeldao.CheckApproval(c.version, c.policy, e.Policy, c.audit, e.Audit)
				e.Passed = err == nil
				if err != nil {
					e.Reason = modeldao.ErrorMessage(err)
				}
				e.Checks = make([]*modeldao.BoundCheck, len(ev.Rows))
				for j := range ev.Rows {
					e.Checks[j] = &ev.Rows[j]
				}
				if e.Audit != nil && indexed && cp.Number >= e.Audit.Provenance.BlockNumber {
					age := int(cp.Number - e.Audit.Provenance.BlockNumber)
					e.AuditAgeBlocks = &age
				}
				out[i] = append(out[i], e)
			}
		}
		return out, nil
	})
}

// byID indexes the records that were found.
func byID[T any](xs []*T, id func(*T) uint64) map[uint64]*T {
	m := make(map[uint64]*T, len(xs))
	for _, x := range xs {
		if x != nil {
			m[id(x)] = x
		}
	}
	return m
}

type approvalEvidenceResolver struct{ *Resolver }

func (r *Resolver) ApprovalEvidence() generated.ApprovalEvidenceResolver {
	return approvalEvidenceResolver{r}
}

func (r approvalEvidenceResolver) Auditor(ctx context.Context, obj *model.ApprovalEvidence) (*modeldao.Auditor, error) {
	return byKey(ctx, obj, func(e *model.ApprovalEvidence) (common.Address, bool) {
		if e.Audit == nil {
			return common.Address{}, false
		}
		return e.Audit.Auditor, true
	}, r.auditors)
}

func (r approvalEvidenceResolver) Pin(ctx context.Context, obj *model.ApprovalEvidence) (*modeldao.Pin, error) {
	if obj.Version == nil {
		return nil, nil
	}
	return (&modelVersionResolver{r.Resolver}).Pin(ctx, obj.Version)
}

func (r approvalEvidenceResolver) Content(ctx context.Context, obj *model.ApprovalEvidence) (*model.VersionContent, error) {
	if obj.Version == nil {
		return nil, nil
	}
	return (&modelVersionResolver{r.Resolver}).Content(ctx, obj.Version)
}

type boundCheckResolver struct{ *Resolver }

func (r *Resolver) BoundCheck() generated.BoundCheckResolver { return boundCheckResolver{r} }

func (r boundCheckResolver) Value(_ context.Context, obj *modeldao.BoundCheck) (*modeldao.Fixed6, error) {
	if obj.Missing {
		return nil, nil
	}
	return &obj.Value, nil
}

func (r boundCheckResolver) Margin(_ context.Context, obj *modeldao.BoundCheck) (*modeldao.Fixed6, error) {
	if obj.Missing {
		return nil, nil
	}
	return &obj.Margin, nil
}

// PolicyImpact checks every approved version's approval audit against the proposed bounds.
func (r queryResolver) PolicyImpact(ctx context.Context, bounds []*modeldao.MetricBound, auditRequired bool) ([]*model.PolicyImpact, error) {
	bs := make([]modeldao.MetricBound, len(bounds))
	for i, b := range bounds {
		bs[i] = *b
	}
	if err := modeldao.ValidateBounds(bs); err != nil {
		return nil, err
	}
	vs, audits, err := r.store.ApprovedWithAudits(ctx)
	if err != nil {
		return nil, err
	}
	out := []*model.PolicyImpact{}
	var shown []*modeldao.ModelVersion
	for i, v := range vs {
		if v.AuditID != 0 && audits[i] == nil {
			return nil, modeldao.Errorf(modeldao.EINTERNAL, "version %d was approved with audit %d, which the index lacks", v.ID, v.AuditID)
		}
		failing, reason := modeldao.ImpactOf(bs, auditRequired, audits[i])
		if reason == "" {
			continue
		}
		rows := make([]*modeldao.BoundCheck, len(failing))
		for j := range failing {
			rows[j] = &failing[j]
		}
		out = append(out, &model.PolicyImpact{ModelVersion: v, Audit: audits[i], Reason: reason, Failing: rows})
		shown = append(shown, v)
	}
	register(ctx, shown)
	return out, nil
}
