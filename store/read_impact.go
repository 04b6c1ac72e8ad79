package store

import (
	"context"

	"github.com/modeldao/modeldao"
)

// ApprovedWithAudits returns every APPROVED version, by id, with the audit its approval
// rested on (nil when it was approved without one): what a policy-impact dry run checks.
// Three round trips whatever the number of versions: the status index, the versions, their
// audits.
func (s *Store) ApprovedWithAudits(ctx context.Context) ([]*modeldao.ModelVersion, []*modeldao.Audit, error) {
	ids, err := s.rdb.ZRange(ctx, s.keys.VersionsInStatus(modeldao.VersionApproved), 0, -1).Result()
	if err != nil {
		return nil, nil, readErr(err)
	}
	vs, err := readMany[modeldao.ModelVersion](ctx, s, s.keys.VersionRecords(), ids)
	if err != nil {
		return nil, nil, err
	}
	kept := vs[:0]
	var auditIDs []uint64
	for _, v := range vs {
		if v != nil { // the index names a record it lacks only if the index is broken
			kept = append(kept, v)
			auditIDs = append(auditIDs, v.AuditID)
		}
	}
	var want []uint64
	for _, id := range auditIDs {
		if id != 0 {
			want = append(want, id)
		}
	}
	byID := map[uint64]*modeldao.Audit{}
	if len(want) > 0 {
		as, err := s.AuditsByID(ctx, want)
		if err != nil {
			return nil, nil, err
		}
		for _, a := range as {
			if a != nil {
				byID[a.ID] = a
			}
		}
	}
	audits := make([]*modeldao.Audit, len(kept))
	for i, id := range auditIDs {
		audits[i] = byID[id]
	}
	return kept, audits, nil
}
