package client

import (
	"context"
	"strconv"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// Queries of the model registry: model versions with their audits and proposals, the
// audits themselves, and the alignment policies approvals rest on.

// MetricBound bounds the metrics of a version's audits (see VersionQuery).
type MetricBound struct {
	Kind             string // e.g. DEMOGRAPHIC_PARITY_DIFFERENCE or demographic_parity_difference
	SensitiveFeature string // "" for any
	Max, Min         *modeldao.Fixed6
}

// VersionQuery selects model versions; zero fields do not filter.
type VersionQuery struct {
	Status    string // SUBMITTED, APPROVED, REJECTED, REVOKED
	Publisher *common.Address
	Model     string // exact model name
	Tag       string
	License   string
	PolicyID  uint64 // approved under
	// DerivedFrom keeps the direct derivatives of this version id (0: no filter).
	DerivedFrom uint64
	// Dataset keeps the versions naming a dataset with this name or CID.
	Dataset string
	// Metrics: one audit of the version must meet all bounds.
	Metrics   []MetricBound
	Ascending bool // default: newest first
	Page      PageArgs
}

// ModelVersions returns a page of model versions.
func (c *Client) ModelVersions(ctx context.Context, vq VersionQuery) (*Page[ModelVersion], error) {
	var q struct {
		ModelVersions wConn[wVersion] `graphql:"modelVersions(where: $where, orderDirection: $dir, first: $first, after: $after, last: $last, before: $before)"`
	}
	w := modelVersionWhere{Status: vq.Status, Model: vq.Model, Tag: vq.Tag, License: vq.License, Dataset: vq.Dataset}
	if vq.DerivedFrom != 0 {
		w.DerivedFrom = strconv.FormatUint(vq.DerivedFrom, 10)
	}
	if vq.Publisher != nil {
		w.Publisher = vq.Publisher.Hex()
	}
	if vq.PolicyID != 0 {
		w.Policy = strconv.FormatUint(vq.PolicyID, 10)
	}
	for _, m := range vq.Metrics {
		in := metricBoundInput{Kind: m.Kind, SensitiveFeature: m.SensitiveFeature}
		if m.Max != nil {
			in.Max = m.Max.String()
		}
		if m.Min != nil {
			in.Min = m.Min.String()
		}
		w.Metrics = append(w.Metrics, in)
	}
	vars := pageVars(map[string]any{"where": &w, "dir": direction(vq.Ascending)}, vq.Page)
	if err := c.query(ctx, &q, vars); err != nil {
		return nil, err
	}
	p := page(q.ModelVersions, wVersion.conv)
	return &p, nil
}

// ModelVersion returns a version with its status history, its audits and the proposals
// that concern it (first pages of size lists, 0 for the default).
func (c *Client) ModelVersion(ctx context.Context, id uint64, lists PageArgs) (*ModelVersionDetail, error) {
	var q struct {
		ModelVersion *struct {
			wVersion
			History   []wStatusChange  `graphql:"history"`
			Audits    wConn[wAudit]    `graphql:"audits(first: $first, after: $after, last: $last, before: $before)"`
			Proposals wConn[wProposal] `graphql:"proposals(first: $first, after: $after, last: $last, before: $before)"`
		} `graphql:"modelVersion(id: $id)"`
	}
	vars := pageVars(map[string]any{"id": gqlID(strconv.FormatUint(id, 10))}, lists)
	if err := c.query(ctx, &q, vars); err != nil {
		return nil, err
	}
	if q.ModelVersion == nil {
		return nil, &Error{Code: CodeNotFound, Message: "no model version with id " + strconv.FormatUint(id, 10)}
	}
	v := q.ModelVersion
	d := &ModelVersionDetail{ModelVersion: v.wVersion.conv(), Audits: page(v.Audits, wAudit.conv), Proposals: page(v.Proposals, wProposal.conv)}
	for _, h := range v.History {
		d.History = append(d.History, h.conv())
	}
	return d, nil
}

// PolicyQuery selects alignment policies; zero fields do not filter.
type PolicyQuery struct {
	Active *bool // true: adopted and not retired; false: retired
	// Descending lists the newest first; by default the oldest (policy 1) comes first, as
	// the API lists policies.
	Descending bool
	Page       PageArgs
}

// Policies returns a page of alignment policies, by id.
func (c *Client) Policies(ctx context.Context, pq PolicyQuery) (*Page[Policy], error) {
	var q struct {
		Policies wConn[wPolicy] `graphql:"policies(where: $where, orderDirection: $dir, first: $first, after: $after, last: $last, before: $before)"`
	}
	vars := pageVars(map[string]any{"where": &policyWhere{Active: pq.Active}, "dir": direction(!pq.Descending)}, pq.Page)
	if err := c.query(ctx, &q, vars); err != nil {
		return nil, err
	}
	p := page(q.Policies, wPolicy.conv)
	return &p, nil
}

// Policy returns a policy with its bounds and the pin of its document.
func (c *Client) Policy(ctx context.Context, id uint64) (*Policy, error) {
	var q struct {
		Policy *wPolicy `graphql:"policy(id: $id)"`
	}
	if err := c.query(ctx, &q, map[string]any{"id": gqlID(strconv.FormatUint(id, 10))}); err != nil {
		return nil, err
	}
	if q.Policy == nil {
		return nil, &Error{Code: CodeNotFound, Message: "no policy with id " + strconv.FormatUint(id, 10)}
	}
	p := q.Policy.conv()
	return &p, nil
}

// AuditQuery selects bias audits; zero fields do not filter.
type AuditQuery struct {
	VersionID uint64          // audits of this version
	Auditor   *common.Address // audits posted by this auditor
	PolicyID  uint64          // audits against this policy
	Passed    *bool           // the auditor's verdict
	Ascending bool            // oldest first; by default the newest come first
	Page      PageArgs
}

// Audits returns a page of bias audits, by id, with their metrics and the pin of their
// report.
func (c *Client) Audits(ctx context.Context, aq AuditQuery) (*Page[Audit], error) {
	var q struct {
		Audits wConn[wAudit] `graphql:"audits(where: $where, orderDirection: $dir, first: $first, after: $after, last: $last, before: $before)"`
	}
	w := auditWhere{Passed: aq.Passed}
	if aq.VersionID != 0 {
		w.ModelVersion = strconv.FormatUint(aq.VersionID, 10)
	}
	if aq.PolicyID != 0 {
		w.Policy = strconv.FormatUint(aq.PolicyID, 10)
	}
	if aq.Auditor != nil {
		w.Auditor = aq.Auditor.Hex()
	}
	vars := pageVars(map[string]any{"where": &w, "dir": direction(aq.Ascending)}, aq.Page)
	if err := c.query(ctx, &q, vars); err != nil {
		return nil, err
	}
	p := page(q.Audits, wAudit.conv)
	return &p, nil
}

// Audit returns an audit by its id.
func (c *Client) Audit(ctx context.Context, id uint64) (*Audit, error) {
	var q struct {
		Audit *wAudit `graphql:"audit(id: $id)"`
	}
	if err := c.query(ctx, &q, map[string]any{"id": gqlID(strconv.FormatUint(id, 10))}); err != nil {
		return nil, err
	}
	if q.Audit == nil {
		return nil, &Error{Code: CodeNotFound, Message: "no audit with id " + strconv.FormatUint(id, 10)}
	}
	a := q.Audit.conv()
	return &a, nil
}
