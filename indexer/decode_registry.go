package indexer

import (
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
)

// The registry's logs: models, versions, auditors, policies, audits.
func (d *Decoder) registryDecoders() []decoderEntry {
	dep := d.dep
	reg, _ := bindings.NewRegistryFilterer(dep.Registry, nil)
	return []decoderEntry{
		decodes(dep.Registry, contracts.RegistryABI, "ModelRegistered", func(l types.Log, at modeldao.At) (*modeldao.ModelRegistered, error) {
			e, err := reg.ParseModelRegistered(l)
			if err != nil {
				return nil, err
			}
			return &modeldao.ModelRegistered{At: at, ModelID: e.ModelId, Name: e.Name, Owner: e.Owner}, nil
		}),
		decodes(dep.Registry, contracts.RegistryABI, "VersionSubmitted", func(l types.Log, at modeldao.At) (*modeldao.VersionSubmittedEvent, error) {
			e, err := reg.ParseVersionSubmitted(l)
			if err != nil {
				return nil, err
			}
			id, err := u64s(e.VersionId)
			if err != nil {
				return nil, err
			}
			lineage, err := contracts.LineageOf(e.Lineage)
			return &modeldao.VersionSubmittedEvent{At: at, VersionID: id, ModelID: e.ModelId, Publisher: e.Publisher,
				Submission: modeldao.VersionSubmission{ModelName: e.ModelName, Label: e.VersionLabel, WeightsCID: e.WeightsCID,
					WeightsSHA256: e.WeightsSha256, ModelCardCID: e.ModelCardCID, License: e.License, Tags: e.Tags, Lineage: lineage}}, err
		}),
		decodes(dep.Registry, contracts.RegistryABI, "VersionApproved", func(l types.Log, at modeldao.At) (*modeldao.VersionApprovedEvent, error) {
			e, err := reg.ParseVersionApproved(l)
			if err != nil {
				return nil, err
			}
			ids, err := u64list(e.VersionId, e.PolicyId, e.AuditId)
			if err != nil {
				return nil, err
			}
			return &modeldao.VersionApprovedEvent{At: at, VersionID: ids[0], PolicyID: ids[1], AuditID: ids[2]}, nil
		}),
		decodes(dep.Registry, contracts.RegistryABI, "VersionRejected", func(l types.Log, at modeldao.At) (*modeldao.VersionRejectedEvent, error) {
			e, err := reg.ParseVersionRejected(l)
			if err != nil {
				return nil, err
			}
			id, err := u64s(e.VersionId)
			return &modeldao.VersionRejectedEvent{At: at, VersionID: id, Reason: e.Reason}, err
		}),
		decodes(dep.Registry, contracts.RegistryABI, "VersionRevoked", func(l types.Log, at modeldao.At) (*modeldao.VersionRevokedEvent, error) {
			e, err := reg.ParseVersionRevoked(l)
			if err != nil {
				return nil, err
			}
			id, err := u64s(e.VersionId)
			return &modeldao.VersionRevokedEvent{At: at, VersionID: id, Reason: e.Reason}, err
		}),
		decodes(dep.Registry, contracts.RegistryABI, "AuditorAdded", func(l types.Log, at modeldao.At) (*modeldao.AuditorAdded, error) {
			e, err := reg.ParseAuditorAdded(l)
			if err != nil {
				return nil, err
			}
			return &modeldao.AuditorAdded{At: at, Auditor: e.Auditor, Name: e.Name}, nil
		}),
		decodes(dep.Registry, contracts.RegistryABI, "AuditorRemoved", func(l types.Log, at modeldao.At) (*modeldao.AuditorRemoved, error) {
			e, err := reg.ParseAuditorRemoved(l)
			if err != nil {
				return nil, err
			}
			return &modeldao.AuditorRemoved{At: at, Auditor: e.Auditor}, nil
		}),
		decodes(dep.Registry, contracts.RegistryABI, "PolicyAdopted", func(l types.Log, at modeldao.At) (*modeldao.PolicyAdopted, error) {
			e, err := reg.ParsePolicyAdopted(l)
			if err != nil {
				return nil, err
			}
			id, err := u64s(e.PolicyId)
			if err != nil {
				return nil, err
			}
			// Active is the projection's to set (PolicyRetired clears it).
			return &modeldao.PolicyAdopted{At: at, Policy: contracts.PolicyOf(id, bindings.ModelRegistryPolicy{
				AuditRequired: e.AuditRequired, Name: e.Name, Version: e.Version, DocumentCID: e.DocumentCID, Bounds: e.Bounds,
			})}, nil
		}),
		decodes(dep.Registry, contracts.RegistryABI, "PolicyRetired", func(l types.Log, at modeldao.At) (*modeldao.PolicyRetired, error) {
			e, err := reg.ParsePolicyRetired(l)
			if err != nil {
				return nil, err
			}
			id, err := u64s(e.PolicyId)
			return &modeldao.PolicyRetired{At: at, PolicyID: id}, err
		}),
		decodes(dep.Registry, contracts.RegistryABI, "AuditSubmitted", func(l types.Log, at modeldao.At) (*modeldao.AuditSubmitted, error) {
			e, err := reg.ParseAuditSubmitted(l)
			if err != nil {
				return nil, err
			}
			ids, err := u64list(e.AuditId, e.VersionId, e.PolicyId)
			if err != nil {
				return nil, err
			}
			return &modeldao.AuditSubmitted{At: at, Audit: contracts.AuditOf(ids[0], bindings.ModelRegistryAudit{
				VersionId: ids[1], PolicyId: ids[2], Auditor: e.Auditor, Passed: e.Passed,
				ReportSha256: e.ReportSha256, ReportCID: e.ReportCID, Metrics: e.Metrics,
			})}, nil
		}),
	}
}
