package contracts

import (
	"math/big"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts/bindings"
)

// The conversions of the generated bindings' structs into the root package's values, in one
// place: the indexer's decoder uses them for events, the CLI for what it reads from the
// registry, so an index and a contract read of the same policy or audit agree.

// Bounds converts a policy's metric bounds; never nil (records hold [] for none).
func Bounds(bs []bindings.ModelRegistryMetricBound) []modeldao.MetricBound {
	out := make([]modeldao.MetricBound, 0, len(bs))
	for _, b := range bs {
		out = append(out, modeldao.MetricBound{Kind: modeldao.MetricKind(b.Kind), IsMinimum: b.IsMinimum, Limit: modeldao.Fixed6(b.Limit)})
	}
	return out
}

// Metrics converts an audit's metrics; never nil.
func Metrics(ms []bindings.ModelRegistryMetric) []modeldao.Metric {
	out := make([]modeldao.Metric, 0, len(ms))
	for _, m := range ms {
		out = append(out, modeldao.Metric{Kind: modeldao.MetricKind(m.Kind), SensitiveFeature: modeldao.Text(m.SensitiveFeature),
			Value: modeldao.Fixed6(m.Value), Threshold: modeldao.Fixed6(m.Threshold), Passed: m.Passed})
	}
	return out
}

// PolicyOf is policy id as the registry's getPolicy returns it.
func PolicyOf(id uint64, p bindings.ModelRegistryPolicy) modeldao.Policy {
	return modeldao.Policy{ID: id, Name: modeldao.Text(p.Name), Version: modeldao.Text(p.Version), DocumentCID: modeldao.Text(p.DocumentCID),
		AuditRequired: p.AuditRequired, Active: p.Active, Bounds: Bounds(p.Bounds)}
}

// AuditOf is audit id as the registry's getAudit returns it.
func AuditOf(id uint64, a bindings.ModelRegistryAudit) modeldao.Audit {
	return modeldao.Audit{ID: id, VersionID: a.VersionId, PolicyID: a.PolicyId, Auditor: a.Auditor, ReportCID: modeldao.Text(a.ReportCID),
		ReportSHA256: a.ReportSha256, Passed: a.Passed, Metrics: Metrics(a.Metrics)}
}

// BoundsArg is the registry's argument form of a policy's bounds (adoptPolicy).
func BoundsArg(bs []modeldao.MetricBound) []bindings.ModelRegistryMetricBound {
	out := make([]bindings.ModelRegistryMetricBound, len(bs))
	for i, b := range bs {
		out[i] = bindings.ModelRegistryMetricBound{Kind: uint8(b.Kind), IsMinimum: b.IsMinimum, Limit: int64(b.Limit)}
	}
	return out
}

// MetricsArg is the registry's argument form of an audit's metrics (submitAudit).
func MetricsArg(ms []modeldao.Metric) []bindings.ModelRegistryMetric {
	out := make([]bindings.ModelRegistryMetric, len(ms))
	for i, m := range ms {
		out[i] = bindings.ModelRegistryMetric{Kind: uint8(m.Kind), SensitiveFeature: string(m.SensitiveFeature), Value: int64(m.Value), Threshold: int64(m.Threshold), Passed: m.Passed}
	}
	return out
}

// LineageOf converts a version's lineage as the registry emits and returns it (the
// VersionSubmitted event, getLineage); lists are never nil. A base id beyond 64 bits, an
// unknown relation or role cannot come from the registry (it checks them), so they are
// errors of the caller's data.
func LineageOf(l bindings.ModelRegistryLineage) (modeldao.Lineage, error) {
	// The registry refuses unknown relations and roles; a log that holds one is not the
	// registry's, and is refused rather than stored as a value no record can read back.
	if !modeldao.Relation(l.Relation).Valid() {
		return modeldao.Lineage{}, modeldao.Errorf(modeldao.EINVALID, "unknown relation %d", l.Relation)
	}
	out := modeldao.Lineage{Relation: modeldao.Relation(l.Relation), Bases: make([]uint64, 0, len(l.Bases)), Datasets: make([]modeldao.Dataset, 0, len(l.Datasets))}
	for _, b := range l.Bases {
		if b == nil || !b.IsUint64() {
			return modeldao.Lineage{}, modeldao.Errorf(modeldao.EINVALID, "base version id %v does not fit 64 bits", b)
		}
		out.Bases = append(out.Bases, b.Uint64())
	}
	for _, d := range l.Datasets {
		if d.Role > uint8(modeldao.DatasetEvaluation) {
			return modeldao.Lineage{}, modeldao.Errorf(modeldao.EINVALID, "dataset %q: unknown role %d", d.Name, d.Role)
		}
		out.Datasets = append(out.Datasets, modeldao.Dataset{Role: modeldao.DatasetRole(d.Role), Name: modeldao.Text(d.Name), CID: modeldao.Text(d.Cid), SHA256: d.Sha256})
	}
	return out, nil
}

// LineageArg is the registry's argument form of a lineage (submitVersion).
func LineageArg(l modeldao.Lineage) bindings.ModelRegistryLineage {
	out := bindings.ModelRegistryLineage{Relation: uint8(l.Relation), Bases: make([]*big.Int, len(l.Bases)), Datasets: make([]bindings.ModelRegistryDataset, len(l.Datasets))}
	for i, b := range l.Bases {
		out.Bases[i] = new(big.Int).SetUint64(b)
	}
	for i, d := range l.Datasets {
		out.Datasets[i] = bindings.ModelRegistryDataset{Role: uint8(d.Role), Name: string(d.Name), Cid: string(d.CID), Sha256: d.SHA256}
	}
	return out
}
