package differential

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

var metricKindNames = []string{"DEMOGRAPHIC_PARITY_DIFFERENCE", "DEMOGRAPHIC_PARITY_RATIO", "EQUALIZED_ODDS_DIFFERENCE", "EQUAL_OPPORTUNITY_DIFFERENCE", "DISPARATE_IMPACT_RATIO"}

func metricKind(k uint8) string {
	if int(k) < len(metricKindNames) {
		return metricKindNames[k]
	}
	return fmt.Sprintf("METRIC_%d", k)
}

func optID(id uint64) string {
	if id == 0 {
		return "<null>"
	}
	return fmt.Sprint(id)
}

func apiOptID(c *checker, o obj, f string) string {
	if x := sub(c.t, o, f); x != nil {
		return str(c.t, x, "id")
	}
	return "<null>"
}

// checkRegistry compares every version, audit, policy, auditor and model with the
// registry's views (and, for what no view returns, with its events).
func (h *harness) checkRegistry(ctx context.Context, c *checker, o *oracle) {
	t := c.t
	var ids []string
	for _, v := range o.versions {
		ids = append(ids, fmt.Sprint(v.id))
	}
	h.batched(ctx, c, 10, ids, func(id string) string {
		return fmt.Sprintf(`modelVersion(id: %q) { id model { id name } modelName label publisher { address } weightsCid weightsSha256 modelCardCid license tags status
			policy { id } approvalAudit { id } history { status reason policy { id } audit { id } proposal { id } provenance %s } submitted %s
			relation bases { id } datasets { role name cid sha256 } derivatives(first: 100) { totalCount edges { node { id } } }
			taintedAncestry taintingAncestors { id } }`, id, provSel, provSel)
	}, func(id string, a obj) {
		var n uint64
		fmt.Sscan(id, &n)
		v, x, s := o.versions[n-1], o.versions[n-1].v, "version "+id
		c.eq("version model", s, str(t, a, "model", "id")+" "+str(t, a, "model", "name"), fmtHash(common.Hash(x.ModelId))+" "+x.ModelName)
		c.eq("version modelName", s, str(t, a, "modelName"), x.ModelName)
		c.eq("version label", s, str(t, a, "label"), x.VersionLabel)
		c.eq("version publisher", s, str(t, a, "publisher", "address"), fmtAddr(x.Publisher))
		c.eq("version weightsCid", s, str(t, a, "weightsCid"), x.WeightsCID)
		c.eq("version weightsSha256", s, str(t, a, "weightsSha256"), fmtHash(x.WeightsSha256))
		c.eq("version modelCardCid", s, str(t, a, "modelCardCid"), x.ModelCardCID)
		c.eq("version license", s, str(t, a, "license"), x.License)
		var tags []string
		for _, tg := range field(t, a, "tags").([]any) {
			tags = append(tags, tg.(string))
		}
		c.eq("version tags", s, strings.Join(tags, ","), strings.Join(v.tags, ","))
		c.eq("version status", s, str(t, a, "status"), versionStatusNames[x.Status])
		c.eq("version policy", s, apiOptID(c, a, "policy"), optID(x.PolicyId))
		c.eq("version approvalAudit", s, apiOptID(c, a, "approvalAudit"), optID(x.AuditId))
		c.eq("version submitted", s, apiProv(c, sub(t, a, "submitted")), fmtProv(v.submitted))
		var got, want []string
		for _, e := range list(t, a, "history") {
			got = append(got, fmt.Sprintf("%s|%s|%s|%s|%s|%s", str(t, e, "status"), str(t, e, "reason"), apiOptID(c, e, "policy"), apiOptID(c, e, "audit"), apiOptID(c, e, "proposal"), apiProv(c, sub(t, e, "provenance"))))
		}
		for _, e := range v.history {
			p := "<null>"
			if e.proposal != nil {
				p = e.proposal.id.String()
			}
			want = append(want, fmt.Sprintf("%s|%s|%s|%s|%s|%s", e.status, e.reason, optID(e.policy), optID(e.audit), p, fmtProv(e.prov)))
		}
		c.eq("version history", s, strings.Join(got, "; "), strings.Join(want, "; "))

		// Lineage: getLineage, the derivatives it implies, and the taint of the ancestry.
		l := v.lineage
		c.eq("version relation", s, str(t, a, "relation"), relationNames[l.Relation])
		got, want = nil, nil
		for _, b := range list(t, a, "bases") {
			got = append(got, str(t, b, "id"))
		}
		for _, b := range l.Bases {
			want = append(want, b.String())
		}
		c.eq("version bases", s, strings.Join(got, ","), strings.Join(want, ","))
		got, want = nil, nil
		for _, d := range list(t, a, "datasets") {
			got = append(got, fmt.Sprintf("%s|%s|%s|%s", str(t, d, "role"), str(t, d, "name"), str(t, d, "cid"), str(t, d, "sha256")))
		}
		for _, d := range l.Datasets {
			want = append(want, fmt.Sprintf("%s|%s|%s|%s", []string{"TRAINING", "EVALUATION"}[d.Role], d.Name, d.Cid, fmtHash(d.Sha256)))
		}
		c.eq("version datasets", s, strings.Join(got, "; "), strings.Join(want, "; "))
		got, want = nil, nil
		for _, e := range list(t, a, "derivatives", "edges") {
			got = append(got, str(t, e, "node", "id"))
		}
		for _, d := range v.derived[:min(len(v.derived), 100)] {
			want = append(want, fmt.Sprint(d))
		}
		c.eq("version derivatives", s, str(t, a, "derivatives", "totalCount")+": "+strings.Join(got, ","), fmt.Sprintf("%d: %s", len(v.derived), strings.Join(want, ",")))
		got, want = nil, nil
		for _, x := range list(t, a, "taintingAncestors") {
			got = append(got, str(t, x, "id"))
		}
		for _, x := range o.tainting(v.id, 256) {
			want = append(want, fmt.Sprint(x))
		}
		c.eq("version taintingAncestors", s, strings.Join(got, ","), strings.Join(want, ","))
		c.eq("version taintedAncestry", s, str(t, a, "taintedAncestry"), fmt.Sprint(len(want) > 0))
	})

	derived, tainted := 0, 0
	for _, v := range o.versions {
		if len(v.lineage.Bases) > 0 {
			derived++
		}
		if len(o.tainting(v.id, 256)) > 0 {
			tainted++
		}
	}
	t.Logf("lineage: %d of %d versions derive from others, %d have a tainted ancestry", derived, len(o.versions), tainted)

	// Every dataset name the registry holds, as a filter: the versions naming it.
	byDataset := map[string][]string{}
	for _, v := range o.versions {
		for _, d := range v.lineage.Datasets {
			if l := byDataset[d.Name]; len(l) == 0 || l[len(l)-1] != fmt.Sprint(v.id) {
				byDataset[d.Name] = append(l, fmt.Sprint(v.id))
			}
		}
	}
	var datasetNames []string
	for n := range byDataset {
		datasetNames = append(datasetNames, n)
	}
	slices.Sort(datasetNames)
	h.batched(ctx, c, 10, datasetNames, func(n string) string {
		return fmt.Sprintf(`modelVersions(where: {dataset: %q}, orderDirection: ASC, first: 100) { totalCount edges { node { id } } }`, n)
	}, func(n string, a obj) {
		var got []string
		for _, e := range list(t, a, "edges") {
			got = append(got, str(t, e, "node", "id"))
		}
		want := byDataset[n]
		c.eq("versions with dataset", n, str(t, a, "totalCount")+": "+strings.Join(got, ","), fmt.Sprintf("%d: %s", len(want), strings.Join(want[:min(len(want), 100)], ",")))
	})

	ids = ids[:0]
	for _, a := range o.audits {
		ids = append(ids, fmt.Sprint(a.id))
	}
	h.batched(ctx, c, 10, ids, func(id string) string {
		return fmt.Sprintf(`audit(id: %q) { modelVersion { id } policy { id } auditor { address } reportCid reportSha256 metrics { kind sensitiveFeature value threshold passed } passed provenance %s }`, id, provSel)
	}, func(id string, a obj) {
		var n uint64
		fmt.Sscan(id, &n)
		au, x, s := o.audits[n-1], o.audits[n-1].a, "audit "+id
		c.eq("audit modelVersion", s, apiOptID(c, a, "modelVersion"), optID(x.VersionId))
		c.eq("audit policy", s, apiOptID(c, a, "policy"), optID(x.PolicyId))
		c.eq("audit auditor", s, str(t, a, "auditor", "address"), fmtAddr(x.Auditor))
		c.eq("audit reportCid", s, str(t, a, "reportCid"), x.ReportCID)
		c.eq("audit reportSha256", s, str(t, a, "reportSha256"), fmtHash(x.ReportSha256))
		c.eq("audit passed", s, str(t, a, "passed"), fmt.Sprint(x.Passed))
		c.eq("audit provenance", s, apiProv(c, sub(t, a, "provenance")), fmtProv(au.prov))
		var got, want []string
		for _, m := range list(t, a, "metrics") {
			got = append(got, fmt.Sprintf("%s %s %s %s %s", str(t, m, "kind"), str(t, m, "sensitiveFeature"), str(t, m, "value"), str(t, m, "threshold"), str(t, m, "passed")))
		}
		for _, m := range x.Metrics {
			want = append(want, fmt.Sprintf("%s %s %s %s %v", metricKind(m.Kind), m.SensitiveFeature, fmtFixed(m.Value), fmtFixed(m.Threshold), m.Passed))
		}
		c.eq("audit metrics", s, strings.Join(got, "; "), strings.Join(want, "; "))
	})

	ids = ids[:0]
	for _, p := range o.policies {
		ids = append(ids, fmt.Sprint(p.id))
	}
	h.batched(ctx, c, 10, ids, func(id string) string {
		return fmt.Sprintf(`policy(id: %q) { name version documentCid auditRequired bounds { kind isMinimum limit } active adopted %s retired %s }`, id, provSel, provSel)
	}, func(id string, a obj) {
		var n uint64
		fmt.Sscan(id, &n)
		p, x, s := o.policies[n-1], o.policies[n-1].p, "policy "+id
		c.eq("policy name", s, str(t, a, "name"), x.Name)
		c.eq("policy version", s, str(t, a, "version"), x.Version)
		c.eq("policy documentCid", s, str(t, a, "documentCid"), x.DocumentCID)
		c.eq("policy auditRequired", s, str(t, a, "auditRequired"), fmt.Sprint(x.AuditRequired))
		c.eq("policy active", s, str(t, a, "active"), fmt.Sprint(x.Active))
		c.eq("policy adopted", s, apiProv(c, sub(t, a, "adopted")), fmtProv(p.adopted))
		retired := "<null>"
		if p.retired != nil {
			retired = fmtProv(*p.retired)
		}
		c.eq("policy retired", s, apiProv(c, sub(t, a, "retired")), retired)
		var got, want []string
		for _, b := range list(t, a, "bounds") {
			got = append(got, fmt.Sprintf("%s %s %s", str(t, b, "kind"), str(t, b, "isMinimum"), str(t, b, "limit")))
		}
		for _, b := range x.Bounds {
			want = append(want, fmt.Sprintf("%s %v %s", metricKind(b.Kind), b.IsMinimum, fmtFixed(b.Limit)))
		}
		c.eq("policy bounds", s, strings.Join(got, "; "), strings.Join(want, "; "))
	})

	data := h.query(ctx, t, `{ auditors(first: 1000) { edges { node { address name active auditCount added `+provSel+` removed `+provSel+` } } } }`)
	got := map[string]obj{}
	for _, e := range list(t, data, "auditors", "edges") {
		n := sub(t, e, "node")
		got[str(t, n, "address")] = n
	}
	c.eq("auditor count", "auditors", fmt.Sprint(len(got)), fmt.Sprint(len(o.auditors)))
	for _, au := range o.auditors {
		s, a := "auditor "+au.addr.Hex(), got[au.addr.Hex()]
		if a == nil {
			c.fail("auditor exists", s, "missing")
			continue
		}
		c.eq("auditor name", s, str(t, a, "name"), au.name)
		c.eq("auditor active", s, str(t, a, "active"), fmt.Sprint(au.active))
		c.eq("auditor auditCount", s, str(t, a, "auditCount"), fmt.Sprint(len(au.audits)))
		c.eq("auditor added", s, apiProv(c, sub(t, a, "added")), fmtProv(au.added))
		removed := "<null>"
		if au.removed != nil {
			removed = fmtProv(*au.removed)
		}
		c.eq("auditor removed", s, apiProv(c, sub(t, a, "removed")), removed)
	}

	var names []string
	for _, m := range o.models {
		names = append(names, m.name)
	}
	h.batched(ctx, c, 10, names, func(name string) string {
		return fmt.Sprintf(`model(name: %q) { id name owner { address } versionCount provenance %s }`, name, provSel)
	}, func(name string, a obj) {
		var m *oModel
		for _, x := range o.models {
			if x.name == name {
				m = x
			}
		}
		s := "model " + name
		if a == nil {
			c.fail("model exists", s, "null")
			return
		}
		c.eq("model id", s, str(t, a, "id"), fmtHash(m.id))
		c.eq("model owner", s, str(t, a, "owner", "address"), fmtAddr(m.owner))
		c.eq("model versionCount", s, str(t, a, "versionCount"), fmt.Sprint(len(m.versions)))
		c.eq("model provenance", s, apiProv(c, sub(t, a, "provenance")), fmtProv(m.prov))
	})
}
