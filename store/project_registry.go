package store

import (
	"encoding/json"

	"github.com/modeldao/modeldao"
)

// The registry's events: models and their versions (a version's status changes enqueue pin
// jobs), auditors, policies and audits.
func registryProjectors() []projectorEntry {
	return []projectorEntry{
		project(nil, func(b *Batch, e *modeldao.ModelRegistered) error {
			k := b.s.keys
			id := HashID(e.ModelID)
			m, _, err := load[modeldao.Model](b, k.ModelRecords(), id, false)
			if err != nil {
				return err
			}
			*m = modeldao.Model{ID: e.ModelID, Name: modeldao.Text(e.Name), Owner: e.Owner, Provenance: e.Provenance}
			b.touch(k.ModelRecords(), id)
			b.zadd(k.Models(), id, Ordinal(e.Provenance))
			return nil
		}),
		project(func(r *reads, e *modeldao.VersionSubmittedEvent) {
			r.model(e.ModelID)
			for _, base := range e.Submission.Lineage.Bases {
				r.version(base) // its model is announced with the new version (outbox.go)
			}
		}, (*Batch).versionSubmitted),
		project(func(r *reads, e *modeldao.VersionApprovedEvent) { r.version(e.VersionID) },
			func(b *Batch, e *modeldao.VersionApprovedEvent) error {
				return b.versionStatus(e.VersionID, modeldao.StatusChange{Status: modeldao.VersionApproved, PolicyID: e.PolicyID, AuditID: e.AuditID, Provenance: e.Provenance})
			}),
		project(func(r *reads, e *modeldao.VersionRejectedEvent) { r.version(e.VersionID) },
			func(b *Batch, e *modeldao.VersionRejectedEvent) error {
				return b.versionStatus(e.VersionID, modeldao.StatusChange{Status: modeldao.VersionRejected, Reason: modeldao.Text(e.Reason), Provenance: e.Provenance})
			}),
		project(func(r *reads, e *modeldao.VersionRevokedEvent) { r.version(e.VersionID) },
			func(b *Batch, e *modeldao.VersionRevokedEvent) error {
				return b.versionStatus(e.VersionID, modeldao.StatusChange{Status: modeldao.VersionRevoked, Reason: modeldao.Text(e.Reason), Provenance: e.Provenance})
			}),
		project(func(r *reads, e *modeldao.AuditorAdded) { r.auditor(e.Auditor) },
			func(b *Batch, e *modeldao.AuditorAdded) error {
				k := b.s.keys
				a, existed, err := load[modeldao.Auditor](b, k.AuditorRecords(), Addr(e.Auditor), false)
				if err != nil {
					return err
				}
				a.Address, a.Name, a.Active, a.Added, a.Removed = e.Auditor, modeldao.Text(e.Name), true, e.Provenance, nil
				b.touch(k.AuditorRecords(), Addr(e.Auditor))
				if !existed {
					b.zadd(k.Auditors(), Addr(e.Auditor), Ordinal(e.Provenance))
				}
				return nil
			}),
		project(func(r *reads, e *modeldao.AuditorRemoved) { r.auditor(e.Auditor) },
			func(b *Batch, e *modeldao.AuditorRemoved) error {
				k := b.s.keys
				a, _, err := load[modeldao.Auditor](b, k.AuditorRecords(), Addr(e.Auditor), false)
				if err != nil {
					return err
				}
				a.Address, a.Active = e.Auditor, false
				r := e.Provenance
				a.Removed = &r
				b.touch(k.AuditorRecords(), Addr(e.Auditor))
				return nil
			}),
		project(nil, func(b *Batch, e *modeldao.PolicyAdopted) error {
			k := b.s.keys
			id := decimal(e.Policy.ID)
			p, _, err := load[modeldao.Policy](b, k.PolicyRecords(), id, false)
			if err != nil {
				return err
			}
			*p = e.Policy
			p.Active, p.Adopted = true, e.Provenance
			b.touch(k.PolicyRecords(), id)
			b.zadd(k.Policies(), id, float64(e.Policy.ID))
			return nil
		}),
		project(func(r *reads, e *modeldao.PolicyRetired) { r.policy(e.PolicyID) },
			func(b *Batch, e *modeldao.PolicyRetired) error {
				k := b.s.keys
				id := decimal(e.PolicyID)
				p, _, err := load[modeldao.Policy](b, k.PolicyRecords(), id, false)
				if err != nil {
					return err
				}
				r := e.Provenance
				p.Active, p.Retired = false, &r
				b.touch(k.PolicyRecords(), id)
				return nil
			}),
		project(func(r *reads, e *modeldao.AuditSubmitted) { r.auditor(e.Audit.Auditor) }, (*Batch).auditSubmitted),
	}
}

func (b *Batch) versionSubmitted(e *modeldao.VersionSubmittedEvent) error {
	k := b.s.keys
	id := decimal(e.VersionID)
	v, _, err := load[modeldao.ModelVersion](b, k.VersionRecords(), id, false)
	if err != nil {
		return err
	}
	s := e.Submission
	tags := modeldao.Texts(s.Tags)
	if tags == nil {
		tags = []modeldao.Text{}
	}
	*v = modeldao.ModelVersion{
		ID: e.VersionID, ModelID: e.ModelID, ModelName: modeldao.Text(s.ModelName), Label: modeldao.Text(s.Label), Publisher: e.Publisher,
		WeightsCID: modeldao.Text(s.WeightsCID), WeightsSHA256: s.WeightsSHA256, ModelCardCID: modeldao.Text(s.ModelCardCID), License: modeldao.Text(s.License),
		Tags: tags, Status: modeldao.VersionSubmitted, Submitted: e.Provenance, Lineage: s.Lineage.Normalized(),
		History: []modeldao.StatusChange{{Status: modeldao.VersionSubmitted, Provenance: e.Provenance}},
	}
	b.touch(k.VersionRecords(), id)
	score := float64(e.VersionID)
	b.zadd(k.Versions(), id, score)
	b.zadd(k.VersionsInStatus(v.Status), id, score)
	b.zadd(k.VersionsOfPublisher(e.Publisher), id, score)
	b.zadd(k.VersionsOfModel(e.ModelID), id, score)
	b.zadd(k.VersionsWithLicense(s.License), id, score)
	for _, t := range tags {
		b.zadd(k.VersionsWithTag(string(t)), id, score)
	}
	// Derivative and dataset indexes are plain sorted-set writes, so the undo log rolls
	// them back with the version on a reorg. A base's record is not touched: bases are
	// fixed at submission, and what depends on their later status (a tainted ancestry) is
	// computed when read.
	for _, base := range v.Bases {
		b.zadd(k.VersionsDerivedFrom(base), id, score)
	}
	for _, d := range v.Datasets {
		b.zadd(k.VersionsWithDataset(string(d.Name)), id, score)
		b.zadd(k.VersionsWithDataset(string(d.CID)), id, score)
	}
	m, existed, err := load[modeldao.Model](b, k.ModelRecords(), HashID(e.ModelID), false)
	if err != nil {
		return err
	}
	if existed || m.Name != "" {
		m.VersionCount++
		b.touch(k.ModelRecords(), HashID(e.ModelID))
	}
	return nil
}

func (b *Batch) versionStatus(versionID uint64, c modeldao.StatusChange) error {
	k := b.s.keys
	id := decimal(versionID)
	v, existed, err := load[modeldao.ModelVersion](b, k.VersionRecords(), id, false)
	if err != nil {
		return err
	}
	if !existed && v.ID == 0 {
		b.s.log.Warn("store: status change of an unknown model version; skipped", "version", versionID, "block", c.Provenance.BlockNumber)
		return nil
	}
	b.zrem(k.VersionsInStatus(v.Status), id)
	v.Status = c.Status
	b.zadd(k.VersionsInStatus(v.Status), id, float64(versionID))
	v.History = append(v.History, c)
	switch c.Status {
	case modeldao.VersionApproved:
		v.PolicyID, v.AuditID = c.PolicyID, c.AuditID
		b.zadd(k.VersionsUnderPolicy(c.PolicyID), id, float64(versionID))
		pin := modeldao.Pin{VersionID: versionID, CID: v.WeightsCID, Status: modeldao.PinQueued}
		buf, _ := json.Marshal(pin)
		b.write(undoOp{K: opHSet, Key: k.Pin(), F: id, V: string(buf)})
		b.pinJobs = append(b.pinJobs, PinJob{Op: PinOpPin, VersionID: versionID, CID: string(v.WeightsCID), SHA256: v.WeightsSHA256, Block: c.Provenance.BlockNumber})
	case modeldao.VersionRevoked:
		b.pinJobs = append(b.pinJobs, PinJob{Op: PinOpUnpin, VersionID: versionID, CID: string(v.WeightsCID), SHA256: v.WeightsSHA256, Block: c.Provenance.BlockNumber})
	}
	b.touch(k.VersionRecords(), id)
	return nil
}

func (b *Batch) auditSubmitted(e *modeldao.AuditSubmitted) error {
	k := b.s.keys
	a := e.Audit
	a.Provenance = e.Provenance
	if a.Metrics == nil {
		a.Metrics = []modeldao.Metric{}
	}
	id := decimal(a.ID)
	buf, _ := json.Marshal(a)
	b.write(undoOp{K: opHSet, Key: k.AuditRecords(), F: id, V: string(buf)})
	score := float64(a.ID)
	b.zadd(k.Audits(), id, score)
	b.zadd(k.AuditsOfVersion(a.VersionID), id, score)
	b.zadd(k.AuditsByAuditor(a.Auditor), id, score)
	b.zadd(k.AuditsUnderPolicy(a.PolicyID), id, score)
	au, existed, err := load[modeldao.Auditor](b, k.AuditorRecords(), Addr(a.Auditor), false)
	if err != nil {
		return err
	}
	if existed || au.Name != "" {
		au.AuditCount++
		b.touch(k.AuditorRecords(), Addr(a.Auditor))
	}
	return nil
}
