package client

import (
	"context"
	"strconv"
)

// StaleVersion is an APPROVED version whose approval went stale, with every reason.
type StaleVersion struct {
	VersionID uint64        `json:"versionId"`
	ModelName string        `json:"modelName"`
	Label     string        `json:"label"`
	PolicyID  uint64        `json:"policyId"`
	AuditID   uint64        `json:"auditId,omitempty"` // 0: approved without an audit
	Reasons   []StaleReason `json:"reasons"`
}

// StaleReason is one reason why an approval is stale (see the schema's StaleReason).
type StaleReason struct {
	Kind              string `json:"kind"` // RETIRED_POLICY, AUDIT_TOO_OLD, …
	Detail            string `json:"detail"`
	PolicyID          uint64 `json:"policyId,omitempty"`
	RetiredBlock      uint64 `json:"retiredBlock,omitempty"`
	AuditID           uint64 `json:"auditId,omitempty"`
	AuditAgeBlocks    int    `json:"auditAgeBlocks,omitempty"`
	MaxAuditAgeBlocks int    `json:"maxAuditAgeBlocks,omitempty"`
	// Ancestors are the revoked or rejected versions it derives from (REVOKED_ANCESTOR).
	Ancestors []uint64 `json:"ancestors,omitempty"`
}

const staleQuery = `query($m: Int, $after: String) {
  modelVersions(where: {stale: true, maxAuditAgeBlocks: $m}, orderDirection: ASC, first: 1000, after: $after) {
    edges { node { id modelName label policy { id } approvalAudit { id }
      staleReasons(maxAuditAgeBlocks: $m) { kind detail policy { id } retired { blockNumber } audit { id } auditAgeBlocks maxAuditAgeBlocks ancestors { id } } } }
    pageInfo { hasNextPage endCursor } } }`

// StaleVersions lists the stale approvals, by version id. maxAuditAgeBlocks, when not nil,
// overrides the server's allowed audit age (STALE_AUDIT_AGE_BLOCKS).
func (c *Client) StaleVersions(ctx context.Context, maxAuditAgeBlocks *int) ([]StaleVersion, error) {
	type ref struct{ ID string }
	var res []StaleVersion
	var after *string
	for {
		var out struct {
			ModelVersions struct {
				Edges []struct {
					Node struct {
						ID, ModelName, Label  string
						Policy, ApprovalAudit *ref
						StaleReasons          []struct {
							Kind, Detail                      string
							Policy, Audit                     *ref
							Retired                           *struct{ BlockNumber uint64 }
							AuditAgeBlocks, MaxAuditAgeBlocks *int
							Ancestors                         []ref
						}
					}
				}
				PageInfo struct {
					HasNextPage bool
					EndCursor   *string
				}
			}
		}
		if err := c.Exec(ctx, staleQuery, map[string]any{"m": maxAuditAgeBlocks, "after": after}, &out); err != nil {
			return nil, err
		}
		id := func(r *ref) uint64 {
			if r == nil {
				return 0
			}
			n, _ := strconv.ParseUint(r.ID, 10, 64)
			return n
		}
		for _, e := range out.ModelVersions.Edges {
			n := e.Node
			v := StaleVersion{VersionID: id(&ref{n.ID}), ModelName: n.ModelName, Label: n.Label, PolicyID: id(n.Policy), AuditID: id(n.ApprovalAudit)}
			for _, r := range n.StaleReasons {
				sr := StaleReason{Kind: r.Kind, Detail: r.Detail, PolicyID: id(r.Policy), AuditID: id(r.Audit)}
				if r.Retired != nil {
					sr.RetiredBlock = r.Retired.BlockNumber
				}
				if r.AuditAgeBlocks != nil {
					sr.AuditAgeBlocks = *r.AuditAgeBlocks
				}
				if r.MaxAuditAgeBlocks != nil {
					sr.MaxAuditAgeBlocks = *r.MaxAuditAgeBlocks
				}
				for _, a := range r.Ancestors {
					sr.Ancestors = append(sr.Ancestors, id(&a))
				}
				v.Reasons = append(v.Reasons, sr)
			}
			res = append(res, v)
		}
		if !out.ModelVersions.PageInfo.HasNextPage || out.ModelVersions.PageInfo.EndCursor == nil {
			return res, nil
		}
		after = out.ModelVersions.PageInfo.EndCursor
	}
}
