package graphql_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/modeldao/modeldao/client"
)

func auditIDs(p *client.Page[client.Audit]) []uint64 {
	ids := []uint64{}
	for _, a := range p.Items {
		ids = append(ids, a.ID)
	}
	return ids
}

// The typed client lists audits newest first, filters them by version, auditor, policy and
// verdict exactly as the API does, pages them with cursors, and reads one by id.
func TestClientAudits(t *testing.T) {
	all := must[*client.Page[client.Audit]](t)(fx.client.Audits(bg, client.AuditQuery{}))
	ids := auditIDs(all)
	if len(ids) < 3 || !slices.IsSortedFunc(ids, func(a, b uint64) int { return int(b) - int(a) }) {
		t.Fatalf("audits %v: want at least the fixture's 3, newest first", ids)
	}
	asc := must[*client.Page[client.Audit]](t)(fx.client.Audits(bg, client.AuditQuery{Ascending: true}))
	if got := auditIDs(asc); !slices.Equal(got, slices.Sorted(slices.Values(ids))) {
		t.Errorf("ascending %v, want %v reversed", got, ids)
	}
	auditor := fx.s.Address(audtr)
	no := false
	for name, c := range map[string]struct {
		q    client.AuditQuery
		keep func(client.Audit) bool
	}{
		"version":  {client.AuditQuery{VersionID: 3}, func(a client.Audit) bool { return a.VersionID == 3 }},
		"failed":   {client.AuditQuery{Passed: &no}, func(a client.Audit) bool { return !a.Passed }},
		"auditor":  {client.AuditQuery{Auditor: &auditor}, func(a client.Audit) bool { return a.Auditor == auditor }},
		"policy":   {client.AuditQuery{PolicyID: 1, VersionID: 2}, func(a client.Audit) bool { return a.PolicyID == 1 && a.VersionID == 2 }},
		"no match": {client.AuditQuery{VersionID: 4}, func(a client.Audit) bool { return a.VersionID == 4 }},
	} {
		var want []uint64
		for _, a := range all.Items {
			if c.keep(a) {
				want = append(want, a.ID)
			}
		}
		got := must[*client.Page[client.Audit]](t)(fx.client.Audits(bg, c.q))
		if !slices.Equal(auditIDs(got), append([]uint64{}, want...)) {
			t.Errorf("%s: %v, want %v", name, auditIDs(got), want)
		}
	}
	if f := must[*client.Page[client.Audit]](t)(fx.client.Audits(bg, client.AuditQuery{Passed: &no})); len(f.Items) == 0 {
		t.Error("the fixture's failed audit of version 2 is missing")
	}

	// Paging: one at a time, forwards, gives the whole list.
	var paged []uint64
	args := client.PageArgs{First: 1}
	for range len(ids) + 1 {
		p := must[*client.Page[client.Audit]](t)(fx.client.Audits(bg, client.AuditQuery{Page: args}))
		paged = append(paged, auditIDs(p)...)
		if !p.HasNextPage {
			break
		}
		args = client.PageArgs{First: 1, After: p.EndCursor}
	}
	if !slices.Equal(paged, ids) {
		t.Errorf("paged %v, want %v", paged, ids)
	}

	// One by id: the same as in the list, metrics included; a missing id is NOT_FOUND.
	a := must[*client.Audit](t)(fx.client.Audit(bg, 2))
	var listed client.Audit
	for _, x := range all.Items {
		if x.ID == 2 {
			listed = x
		}
	}
	if a.ID != 2 || a.VersionID != 2 || a.Passed || len(a.Metrics) == 0 || a.ReportCID == "" || a.ReportCID != listed.ReportCID ||
		!slices.Equal(a.Metrics, listed.Metrics) || a.Provenance != listed.Provenance {
		t.Errorf("audit 2: %+v, listed as %+v", a, listed)
	}
	_, err := fx.client.Audit(bg, 999)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Code != client.CodeNotFound {
		t.Errorf("audit 999: %v, want %s", err, client.CodeNotFound)
	}
}
