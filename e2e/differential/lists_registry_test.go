package differential

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// checkRegistryLists checks every ordering and filter of versions, audits, policies,
// auditors and models, and their nested lists, against the registry's views.
func (h *harness) checkRegistryLists(ctx context.Context, c *checker, o *oracle, k int) {
	id := idField(c, "id")
	top := func(field, args string, desc bool, want []item) {
		h.checkList(ctx, c, listSpec{name: fmt.Sprintf("%s(%s)", field, args), outer: "%s", field: field, args: args, node: "id", idOf: id, desc: desc, want: want}, k)
	}
	byID := func(ids []uint64) []item {
		w := make([]item, len(ids))
		for i, x := range ids {
			w[i] = item{fmt.Sprint(x), keyOf(x)}
		}
		return w
	}
	versions := func(keep func(*oVersion) bool) []item {
		var ids []uint64
		for _, v := range o.versions {
			if keep(v) {
				ids = append(ids, v.id)
			}
		}
		return byID(ids)
	}
	for _, desc := range []bool{true, false} {
		top("modelVersions", "orderDirection: "+dir(desc), desc, versions(func(*oVersion) bool { return true }))
	}
	vf := map[string]func(*oVersion) bool{}
	for st := 1; st < len(versionStatusNames); st++ {
		vf["status: "+versionStatusNames[st]] = func(v *oVersion) bool { return int(v.v.Status) == st }
	}
	for _, m := range o.models {
		vf[fmt.Sprintf("model: %q", m.name)] = func(v *oVersion) bool { return v.v.ModelName == m.name }
	}
	pubs := map[common.Address]bool{}
	for _, v := range o.versions {
		pubs[v.v.Publisher] = true
	}
	for p := range pubs {
		vf[fmt.Sprintf("publisher: %q", p.Hex())] = func(v *oVersion) bool { return v.v.Publisher == p }
	}
	for _, tag := range []string{"llm", "vision", "text", "audio", "nothing"} {
		vf[fmt.Sprintf("tag: %q", tag)] = func(v *oVersion) bool { return slices.Contains(v.tags, tag) }
	}
	vf[`license: "Apache-2.0"`] = func(v *oVersion) bool { return v.v.License == "Apache-2.0" }
	for _, p := range o.policies {
		vf[fmt.Sprintf("policy: \"%d\"", p.id)] = func(v *oVersion) bool { return v.v.PolicyId == p.id }
	}
	// Metric bounds: one of the version's audits has at least one metric of the kind (on
	// the feature) and every such metric within the bound.
	meets := func(kind uint8, feature string, max, min *int64) func(*oVersion) bool {
		return func(v *oVersion) bool {
			for _, aid := range v.audits {
				n, ok := 0, true
				for _, m := range o.audits[aid-1].a.Metrics {
					if m.Kind != kind || feature != "" && m.SensitiveFeature != feature {
						continue
					}
					n++
					ok = ok && (max == nil || m.Value <= *max) && (min == nil || m.Value >= *min)
				}
				if n > 0 && ok {
					return true
				}
			}
			return false
		}
	}
	tenth, ninety := int64(100_000), int64(850_000)
	vf[`demographicParityDifferenceMax: "0.1"`] = meets(0, "", &tenth, nil)
	vf[`metrics: [{kind: DISPARATE_IMPACT_RATIO, sensitiveFeature: "race", min: "0.85"}]`] = meets(4, "race", nil, &ninety)
	vf[`metrics: [{kind: DEMOGRAPHIC_PARITY_DIFFERENCE, sensitiveFeature: "race", max: "0.1"}]`] = meets(0, "race", &tenth, nil)
	for f, keep := range vf {
		top("modelVersions", "where: {"+f+"}", true, versions(keep))
	}

	audits := func(keep func(*oAudit) bool) []item {
		var ids []uint64
		for _, a := range o.audits {
			if keep(a) {
				ids = append(ids, a.id)
			}
		}
		return byID(ids)
	}
	for _, desc := range []bool{true, false} {
		top("audits", "orderDirection: "+dir(desc), desc, audits(func(*oAudit) bool { return true }))
	}
	af := map[string]func(*oAudit) bool{
		"passed: true":  func(a *oAudit) bool { return a.a.Passed },
		"passed: false": func(a *oAudit) bool { return !a.a.Passed },
	}
	for _, au := range o.auditors {
		af[fmt.Sprintf("auditor: %q", au.addr.Hex())] = func(a *oAudit) bool { return a.a.Auditor == au.addr }
	}
	for _, p := range o.policies {
		af[fmt.Sprintf("policy: \"%d\"", p.id)] = func(a *oAudit) bool { return a.a.PolicyId == p.id }
	}
	for _, v := range o.versions[:min(5, len(o.versions))] {
		af[fmt.Sprintf("modelVersion: \"%d\"", v.id)] = func(a *oAudit) bool { return a.a.VersionId == v.id }
	}
	for f, keep := range af {
		top("audits", "where: {"+f+"}", true, audits(keep))
	}

	for _, desc := range []bool{true, false} {
		for _, active := range []string{"", "true", "false"} {
			args := "orderDirection: " + dir(desc)
			if active != "" {
				args += ", where: {active: " + active + "}"
			}
			var pol []uint64
			for _, p := range o.policies {
				if active == "" || fmt.Sprint(p.p.Active) == active {
					pol = append(pol, p.id)
				}
			}
			top("policies", args, desc, byID(pol))
			var aud []item
			for _, a := range o.auditors {
				if active == "" || fmt.Sprint(a.active) == active {
					aud = append(aud, item{a.addr.Hex(), a.added.key()})
				}
			}
			h.checkList(ctx, c, listSpec{name: "auditors(" + args + ")", outer: "%s", field: "auditors", args: args, node: "address", idOf: idField(c, "address"), desc: desc, want: aud}, k)
		}
	}

	models := func(keep func(*oModel) bool) []item {
		var w []item
		for _, m := range o.models {
			if keep(m) {
				w = append(w, item{fmtHash(m.id), m.prov.key()})
			}
		}
		return w
	}
	for _, desc := range []bool{true, false} {
		top("models", "orderDirection: "+dir(desc), desc, models(func(*oModel) bool { return true }))
	}
	for p := range pubs {
		top("models", fmt.Sprintf("where: {owner: %q}", strings.ToLower(p.Hex())), true, models(func(m *oModel) bool { return m.owner == p }))
	}
	top("models", `where: {nameContains: "MODEL-1"}`, true, models(func(m *oModel) bool { return strings.Contains(strings.ToLower(m.name), "model-1") }))

	// Nested lists, newest first.
	nested := func(name, outer, path, field string, want []item) {
		h.checkList(ctx, c, listSpec{name: name, outer: outer, path: []string{path}, field: field, node: "id", idOf: id, desc: true, want: want}, k)
	}
	for _, m := range o.models {
		nested("model.versions", fmt.Sprintf("model(name: %q) { %%s }", m.name), "model", "versions", byID(m.versions))
	}
	for _, v := range o.versions {
		outer := fmt.Sprintf("modelVersion(id: \"%d\") { %%s }", v.id)
		nested("modelVersion.audits", outer, "modelVersion", "audits", byID(v.audits))
		var ps []item
		for _, p := range v.proposals {
			ps = append(ps, item{p.id.String(), p.created.key()})
		}
		nested("modelVersion.proposals", outer, "modelVersion", "proposals", ps)
	}
	for _, p := range o.policies {
		outer := fmt.Sprintf("policy(id: \"%d\") { %%s }", p.id)
		nested("policy.audits", outer, "policy", "audits", byID(p.audits))
		nested("policy.approvedVersions", outer, "policy", "approvedVersions", byID(p.approved))
	}
	// Auditors are reached through one of their audits.
	for _, a := range o.auditors {
		if len(a.audits) == 0 {
			continue
		}
		h.checkList(ctx, c, listSpec{name: "auditor.audits", outer: fmt.Sprintf("audit(id: \"%d\") { auditor { %%s } }", a.audits[0]), path: []string{"audit", "auditor"},
			field: "audits", node: "id", idOf: id, desc: true, want: byID(a.audits)}, k)
	}
}
