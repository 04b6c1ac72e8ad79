package store

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/modeldao/modeldao"
)

// Evidence pins: the pin records of the documents the chain references besides weights
// (model cards of every version, reports of every audit, documents of every adopted
// policy), written by the pinner, read by the API. One hash field per document,
// "card:<version id>", "report:<audit id>" or "policy:<policy id>", JSON
// modeldao.EvidencePin (with its per-node replicas). Outside the digest, like the weights'
// pin records.

func evidenceField(r modeldao.EvidenceRef) string {
	switch r.Kind {
	case modeldao.EvidenceModelCard:
		return "card:" + strconv.FormatUint(r.ID, 10)
	case modeldao.EvidencePolicyDocument:
		return "policy:" + strconv.FormatUint(r.ID, 10)
	}
	return "report:" + strconv.FormatUint(r.ID, 10)
}

// SetEvidencePin writes the pin record of a document.
func (s *Store) SetEvidencePin(ctx context.Context, p modeldao.EvidencePin) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return modeldao.WrapError(modeldao.EINTERNAL, err, "encoding the pin record of %s", p.EvidenceRef)
	}
	return pinRedisErr(s.rdb.HSet(ctx, s.keys.Evidence(), evidenceField(p.EvidenceRef), raw).Err(), "writing the pin record of %s", p.EvidenceRef)
}

// EvidencePins returns the pin records of refs, in the same order, nil where there is none.
func (s *Store) EvidencePins(ctx context.Context, refs []modeldao.EvidenceRef) ([]*modeldao.EvidencePin, error) {
	fields := make([]string, len(refs))
	for i, r := range refs {
		fields[i] = evidenceField(r)
	}
	return readMany[modeldao.EvidencePin](ctx, s, s.keys.Evidence(), fields)
}

// EvidenceDue returns up to limit documents the pinner should work on at now: every model
// card, audit report and policy document of the projection whose record is absent (then a
// new QUEUED record, with the CID and digest from the chain), or QUEUED/PINNING with its
// next attempt due. A record whose CID differs from the chain's (a reorg changed it) starts
// over.
func (s *Store) EvidenceDue(ctx context.Context, now time.Time, limit int) ([]modeldao.EvidencePin, error) {
	want, err := s.evidenceWanted(ctx)
	if err != nil {
		return nil, err
	}
	refs := make([]modeldao.EvidenceRef, len(want))
	for i, w := range want {
		refs[i] = w.EvidenceRef
	}
	have, err := s.EvidencePins(ctx, refs)
	if err != nil {
		return nil, err
	}
	var out []modeldao.EvidencePin
	for i, w := range want {
		h := have[i]
		switch {
		case h == nil || h.CID != w.CID || h.SHA256 != w.SHA256:
			w.Status = modeldao.PinQueued
			out = append(out, w)
		case (h.Status == modeldao.PinQueued || h.Status == modeldao.PinPinning || h.Status == modeldao.PinNone) && !h.NextAttempt.After(now):
			out = append(out, *h)
		default:
			continue
		}
		if len(out) >= limit {
			break
		}
	}
	return out, nil
}

// evidenceWanted lists the documents the projection references, as new records (ref, CID
// and the digest on chain where there is one): model cards, audit reports, then policy
// documents, each by id.
func (s *Store) evidenceWanted(ctx context.Context) ([]modeldao.EvidencePin, error) {
	vids, err := s.rdb.ZRange(ctx, s.keys.Versions(), 0, -1).Result()
	if err != nil {
		return nil, pinRedisErr(err, "listing versions")
	}
	aids, err := s.rdb.ZRange(ctx, s.keys.Audits(), 0, -1).Result()
	if err != nil {
		return nil, pinRedisErr(err, "listing audits")
	}
	pids, err := s.rdb.ZRange(ctx, s.keys.Policies(), 0, -1).Result()
	if err != nil {
		return nil, pinRedisErr(err, "listing policies")
	}
	versions, err := readMany[modeldao.ModelVersion](ctx, s, s.keys.VersionRecords(), vids)
	if err != nil {
		return nil, err
	}
	audits, err := readMany[modeldao.Audit](ctx, s, s.keys.AuditRecords(), aids)
	if err != nil {
		return nil, err
	}
	policies, err := readMany[modeldao.Policy](ctx, s, s.keys.PolicyRecords(), pids)
	if err != nil {
		return nil, err
	}
	var want []modeldao.EvidencePin
	for _, v := range versions {
		if v != nil && v.ModelCardCID != "" {
			want = append(want, modeldao.EvidencePin{EvidenceRef: modeldao.EvidenceRef{Kind: modeldao.EvidenceModelCard, ID: v.ID}, CID: v.ModelCardCID})
		}
	}
	for _, a := range audits {
		if a != nil && a.ReportCID != "" {
			want = append(want, modeldao.EvidencePin{EvidenceRef: modeldao.EvidenceRef{Kind: modeldao.EvidenceAuditReport, ID: a.ID}, CID: a.ReportCID, SHA256: a.ReportSHA256})
		}
	}
	for _, p := range policies {
		if p != nil && p.DocumentCID != "" {
			want = append(want, modeldao.EvidencePin{EvidenceRef: modeldao.EvidenceRef{Kind: modeldao.EvidencePolicyDocument, ID: p.ID}, CID: p.DocumentCID})
		}
	}
	return want, nil
}
