package client

import (
	"context"
	"strconv"

	"github.com/modeldao/modeldao"
)

// PolicyImpact is an approved version that a proposed policy would not approve.
type PolicyImpact struct {
	VersionID uint64
	ModelName string
	Label     string
	AuditID   uint64 // 0: approved without an audit
	Reason    string
	Failing   []modeldao.BoundCheck
}

const policyImpactQuery = `query($b: [PolicyBoundInput!]!, $r: Boolean!) { policyImpact(bounds: $b, auditRequired: $r) {
  modelVersion { id modelName label } audit { id } reason
  failing { bound { kind isMinimum limit } sensitiveFeature value margin passed missing } } }`

// PolicyImpact asks which approved versions a policy with these bounds would not approve
// (the dry run of `modeldao propose policy`).
func (c *Client) PolicyImpact(ctx context.Context, bounds []modeldao.MetricBound, auditRequired bool) ([]PolicyImpact, error) {
	bs := make([]map[string]any, len(bounds))
	for i, b := range bounds {
		bs[i] = map[string]any{"kind": b.Kind.String(), "isMinimum": b.IsMinimum, "limit": b.Limit.String()}
	}
	type check struct {
		Bound            wMetricBound
		SensitiveFeature string
		Value, Margin    *string
		Passed, Missing  bool
	}
	var out struct {
		PolicyImpact []struct {
			ModelVersion struct{ ID, ModelName, Label string }
			Audit        *struct{ ID string }
			Reason       string
			Failing      []check
		}
	}
	if err := c.Exec(ctx, policyImpactQuery, map[string]any{"b": bs, "r": auditRequired}, &out); err != nil {
		return nil, err
	}
	res := make([]PolicyImpact, len(out.PolicyImpact))
	for i, p := range out.PolicyImpact {
		id, _ := strconv.ParseUint(p.ModelVersion.ID, 10, 64)
		res[i] = PolicyImpact{VersionID: id, ModelName: p.ModelVersion.ModelName, Label: p.ModelVersion.Label, Reason: p.Reason}
		if p.Audit != nil {
			res[i].AuditID, _ = strconv.ParseUint(p.Audit.ID, 10, 64)
		}
		for _, f := range p.Failing {
			bc := modeldao.BoundCheck{Bound: f.Bound.conv(), SensitiveFeature: modeldao.Text(f.SensitiveFeature), Passed: f.Passed, Missing: f.Missing}
			var err error
			if f.Value != nil {
				if bc.Value, err = modeldao.ParseFixed6(*f.Value); err != nil {
					return nil, err
				}
			}
			if f.Margin != nil {
				if bc.Margin, err = modeldao.ParseFixed6(*f.Margin); err != nil {
					return nil, err
				}
			}
			res[i].Failing = append(res[i].Failing, bc)
		}
	}
	return res, nil
}
