package graphql

import (
	"context"
	"fmt"
	"math/big"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/graphql/model"
)

// Content shows what the pinner verified of the version's release (store.Releases), and
// otherwise why nothing is shown, from the version's status and its pin record.
func (r modelVersionResolver) Content(ctx context.Context, obj *modeldao.ModelVersion) (*model.VersionContent, error) {
	rel, err := byKey(ctx, obj, func(v *modeldao.ModelVersion) (uint64, bool) { return v.ID, true }, r.releases)
	if err != nil {
		return nil, err
	}
	if rel != nil && rel.Directory {
		return verifiedContent(rel), nil
	}
	pin, err := byKey(ctx, obj, func(v *modeldao.ModelVersion) (uint64, bool) { return v.ID, true }, r.pins)
	if err != nil {
		return nil, err
	}
	out := &model.VersionContent{Status: model.ContentStatusUnverified, Files: []*model.ReleaseFile{}}
	switch {
	case pin != nil && pin.Status == modeldao.PinFailed:
		out.Status, out.Reason = model.ContentStatusFailed, "verification failed: "+pin.LastError
	case pin != nil && (pin.Status.Held() || (pin.Status == modeldao.PinUnpinned && !pin.PinnedAt.IsZero())):
		// Pinned and verified once, without a release summary: one weights file.
		out.Status, out.Reason = model.ContentStatusSingleFile, "a single weights file (weightsCid, sha256 weightsSha256): no file list"
	case obj.Status != modeldao.VersionApproved && (pin == nil || pin.Status == modeldao.PinNone):
		out.Reason = fmt.Sprintf("the version is %s: the pinner verifies the content of approved versions", obj.Status)
	case pin == nil:
		out.Reason = "approved, but no pin record yet: the pinner has not taken the job"
	default:
		out.Reason = fmt.Sprintf("the pin is %s: the content is verified when it is pinned", pin.Status)
	}
	return out, nil
}

func (r *Resolver) releases(ctx context.Context, ids []uint64) ([]*modeldao.ReleaseSummary, error) {
	return r.store.Releases(ctx, ids)
}

func verifiedContent(rel *modeldao.ReleaseSummary) *model.VersionContent {
	out := &model.VersionContent{Status: model.ContentStatusVerified, Files: make([]*model.ReleaseFile, 0, len(rel.Files)), TotalSize: big.NewInt(rel.TotalSize)}
	for _, f := range rel.Files {
		rf := &model.ReleaseFile{Path: f.Path, Size: big.NewInt(f.Size), Sha256: f.SHA256, Cid: f.CID, FormatError: f.FormatError}
		if f.Format != nil {
			rf.Format = tensorFormat(f.Format.Dtypes, f.Format.TensorCount, f.Format.ParameterCount)
		}
		out.Files = append(out.Files, rf)
	}
	if rel.TensorCount > 0 {
		out.Format = tensorFormat(rel.Dtypes, rel.TensorCount, rel.ParameterCount)
	}
	return out
}

func tensorFormat(dtypes []string, tensors, params int64) *model.TensorFormat {
	if dtypes == nil {
		dtypes = []string{}
	}
	return &model.TensorFormat{Dtypes: dtypes, TensorCount: int(tensors), ParameterCount: big.NewInt(params)}
}

// ModelCardPin is the card's pin record, or QUEUED with the chain's CID until the pinner
// took it up.
func (r modelVersionResolver) ModelCardPin(ctx context.Context, obj *modeldao.ModelVersion) (*modeldao.EvidencePin, error) {
	ref := modeldao.EvidenceRef{Kind: modeldao.EvidenceModelCard, ID: obj.ID}
	p, err := byKey(ctx, obj, func(v *modeldao.ModelVersion) (modeldao.EvidenceRef, bool) {
		return modeldao.EvidenceRef{Kind: modeldao.EvidenceModelCard, ID: v.ID}, true
	}, r.evidencePins)
	if err != nil || p != nil {
		return p, err
	}
	return &modeldao.EvidencePin{EvidenceRef: ref, CID: obj.ModelCardCID, Status: modeldao.PinQueued}, nil
}

// ReportPin is the report's pin record, or QUEUED with the chain's CID until the pinner
// took it up.
func (r auditResolver) ReportPin(ctx context.Context, obj *modeldao.Audit) (*modeldao.EvidencePin, error) {
	ref := modeldao.EvidenceRef{Kind: modeldao.EvidenceAuditReport, ID: obj.ID}
	p, err := byKey(ctx, obj, func(a *modeldao.Audit) (modeldao.EvidenceRef, bool) {
		return modeldao.EvidenceRef{Kind: modeldao.EvidenceAuditReport, ID: a.ID}, true
	}, r.evidencePins)
	if err != nil || p != nil {
		return p, err
	}
	return &modeldao.EvidencePin{EvidenceRef: ref, CID: obj.ReportCID, SHA256: obj.ReportSHA256, Status: modeldao.PinQueued}, nil
}

// DocumentPin is the policy document's pin record, or QUEUED with the chain's CID until the
// pinner took it up.
func (r policyResolver) DocumentPin(ctx context.Context, obj *modeldao.Policy) (*modeldao.EvidencePin, error) {
	ref := modeldao.EvidenceRef{Kind: modeldao.EvidencePolicyDocument, ID: obj.ID}
	p, err := byKey(ctx, obj, func(p *modeldao.Policy) (modeldao.EvidenceRef, bool) {
		return modeldao.EvidenceRef{Kind: modeldao.EvidencePolicyDocument, ID: p.ID}, true
	}, r.evidencePins)
	if err != nil || p != nil {
		return p, err
	}
	return &modeldao.EvidencePin{EvidenceRef: ref, CID: obj.DocumentCID, Status: modeldao.PinQueued}, nil
}

func (r *Resolver) evidencePins(ctx context.Context, refs []modeldao.EvidenceRef) ([]*modeldao.EvidencePin, error) {
	return r.store.EvidencePins(ctx, refs)
}
