package store

import (
	"context"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/modeldao/modeldao"
)

// Reads of the registry side: models, versions, audits, policies, auditors.

// ---- models and versions ----

// ModelQuery selects models.
type ModelQuery struct {
	Owner        *common.Address
	NameContains string // case-insensitive
	Desc         bool
	Page         PageArgs
}

// ModelID is the id of the model called name.
//
// Deprecated: the rule is the root package's: use modeldao.ModelID.
func ModelID(name string) common.Hash { return modeldao.ModelID(name) }

// Models returns a page of models, by the time of their first version.
func (s *Store) Models(ctx context.Context, q ModelQuery) (*Page[*modeldao.Model], error) {
	l := pageList{name: "models", zset: s.keys.Models(), desc: q.Desc, hash: s.keys.ModelRecords()}
	var keep func(*modeldao.Model) bool
	if q.Owner != nil || q.NameContains != "" {
		name := strings.ToLower(q.NameContains)
		keep = func(m *modeldao.Model) bool {
			return (q.Owner == nil || m.Owner == *q.Owner) && strings.Contains(strings.ToLower(m.Name.String()), name)
		}
	}
	return fetchList(ctx, s, l, q.Page, keep)
}

// ModelsByID returns models by id, nil for unknown ones.
func (s *Store) ModelsByID(ctx context.Context, ids []common.Hash) ([]*modeldao.Model, error) {
	fields := make([]string, len(ids))
	for i, id := range ids {
		fields[i] = HashID(id)
	}
	return readMany[modeldao.Model](ctx, s, s.keys.ModelRecords(), fields)
}

// VersionsOfModels returns a page of the versions of each model, by id, in one round trip.
func (s *Store) VersionsOfModels(ctx context.Context, ids []common.Hash, desc bool, args PageArgs) ([]*Page[*modeldao.ModelVersion], error) {
	ls := make([]pageList, len(ids))
	for i, id := range ids {
		ls[i] = pageList{name: "versions", zset: s.keys.VersionsOfModel(id), desc: desc, hash: s.keys.VersionRecords()}
	}
	return fetchLists[modeldao.ModelVersion](ctx, s, ls, args)
}

// MetricBound filters model versions on the metrics of their audits: a version passes when
// one of its audits has at least one metric of Kind (on Feature, when set) and every such
// metric is at most Max and at least Min (those that are set). This is how a policy bound
// checks an audit (modeldao.Policy.Check).
type MetricBound struct {
	Kind    modeldao.MetricKind
	Feature string
	Max     *modeldao.Fixed6
	Min     *modeldao.Fixed6
}

// Allows reports whether audit a satisfies the bound.
func (b MetricBound) Allows(a *modeldao.Audit) bool {
	found := false
	for _, m := range a.Metrics {
		if m.Kind != b.Kind || b.Feature != "" && string(m.SensitiveFeature) != b.Feature {
			continue
		}
		found = true
		if b.Max != nil && m.Value > *b.Max || b.Min != nil && m.Value < *b.Min {
			return false
		}
	}
	return found
}

// VersionQuery selects model versions. Zero fields do not filter.
type VersionQuery struct {
	Status    *modeldao.VersionStatus
	Publisher *common.Address
	ModelName string // exact name
	ModelID   *common.Hash
	Tag       string
	License   string
	PolicyID  *uint64 // approved under this policy
	// DerivedFrom keeps the direct derivatives of this version (those naming it as a base).
	DerivedFrom *uint64
	// Dataset keeps the versions naming a dataset with this name or CID.
	Dataset string
	// Metrics: one audit of the version must satisfy all of them.
	Metrics []MetricBound
	// Stale and Contested filter on modeldao.StaleReasons under StaleRules and on
	// modeldao.Consensus under ContestTolerance (the caller's settings: zero rules are
	// strict, not defaults).
	Stale, Contested *bool
	StaleRules       modeldao.StaleRules
	ContestTolerance modeldao.Fixed6
	Desc             bool
	Page             PageArgs
}

// ModelVersions returns a page of model versions, by id.
func (s *Store) ModelVersions(ctx context.Context, q VersionQuery) (*Page[*modeldao.ModelVersion], error) {
	l := pageList{name: "versions", zset: s.keys.Versions(), desc: q.Desc, hash: s.keys.VersionRecords(), sameScores: true}
	k := s.keys
	add := func(key string) { l.filters = append(l.filters, key) }
	if q.Status != nil {
		add(k.VersionsInStatus(*q.Status))
	}
	if q.Publisher != nil {
		add(k.VersionsOfPublisher(*q.Publisher))
	}
	if q.ModelName != "" {
		add(k.VersionsOfModel(modeldao.ModelID(q.ModelName)))
	}
	if q.ModelID != nil {
		add(k.VersionsOfModel(*q.ModelID))
	}
	if q.Tag != "" {
		add(k.VersionsWithTag(q.Tag))
	}
	if q.License != "" {
		add(k.VersionsWithLicense(q.License))
	}
	if q.PolicyID != nil {
		add(k.VersionsUnderPolicy(*q.PolicyID))
	}
	if q.DerivedFrom != nil {
		add(k.VersionsDerivedFrom(*q.DerivedFrom))
	}
	if q.Dataset != "" {
		add(k.VersionsWithDataset(q.Dataset))
	}
	if len(q.Metrics) > 0 {
		only, err := s.versionsMeeting(ctx, q.Metrics)
		if err != nil {
			return nil, err
		}
		l.only = only
	}
	if err := s.reviewFilter(ctx, &l, q); err != nil {
		return nil, err
	}
	return fetchList[modeldao.ModelVersion](ctx, s, l, q.Page, nil)
}

// allAudits reads every audit record (two round trips: the index, then the records); nil
// entries stand for records the index lacks.
func (s *Store) allAudits(ctx context.Context) ([]*modeldao.Audit, error) {
	ids, err := s.rdb.ZRange(ctx, s.keys.Audits(), 0, -1).Result()
	if err != nil {
		return nil, readErr(err)
	}
	return readMany[modeldao.Audit](ctx, s, s.keys.AuditRecords(), ids)
}

// versionsMeeting returns the ids of the versions that have an audit meeting all bounds. It
// reads every audit (two round trips).
func (s *Store) versionsMeeting(ctx context.Context, bounds []MetricBound) (map[string]bool, error) {
	audits, err := s.allAudits(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, a := range audits {
		if a == nil {
			continue
		}
		ok := true
		for _, b := range bounds {
			if !b.Allows(a) {
				ok = false
				break
			}
		}
		if ok {
			out[decimal(a.VersionID)] = true
		}
	}
	return out, nil
}

// VersionsByID returns model versions by id, nil for unknown ones.
func (s *Store) VersionsByID(ctx context.Context, ids []uint64) ([]*modeldao.ModelVersion, error) {
	return readMany[modeldao.ModelVersion](ctx, s, s.keys.VersionRecords(), decIDs(ids))
}

// VersionsOfPolicies returns a page of the versions approved under each policy, in one
// round trip.
func (s *Store) VersionsOfPolicies(ctx context.Context, ids []uint64, desc bool, args PageArgs) ([]*Page[*modeldao.ModelVersion], error) {
	ls := make([]pageList, len(ids))
	for i, id := range ids {
		ls[i] = pageList{name: "versions", zset: s.keys.VersionsUnderPolicy(id), desc: desc, hash: s.keys.VersionRecords()}
	}
	return fetchLists[modeldao.ModelVersion](ctx, s, ls, args)
}

// DerivativesOfVersions returns a page of the direct derivatives of each version, by id,
// in one round trip.
func (s *Store) DerivativesOfVersions(ctx context.Context, ids []uint64, desc bool, args PageArgs) ([]*Page[*modeldao.ModelVersion], error) {
	ls := make([]pageList, len(ids))
	for i, id := range ids {
		ls[i] = pageList{name: "versions", zset: s.keys.VersionsDerivedFrom(id), desc: desc, hash: s.keys.VersionRecords()}
	}
	return fetchLists[modeldao.ModelVersion](ctx, s, ls, args)
}

// ---- audits, policies, auditors ----

// AuditQuery selects audits. Zero fields do not filter.
type AuditQuery struct {
	VersionID *uint64
	Auditor   *common.Address
	PolicyID  *uint64
	Passed    *bool
	Desc      bool
	Page      PageArgs
}

// Audits returns a page of audits, by id.
func (s *Store) Audits(ctx context.Context, q AuditQuery) (*Page[*modeldao.Audit], error) {
	l := pageList{name: "audits", zset: s.keys.Audits(), desc: q.Desc, hash: s.keys.AuditRecords(), sameScores: true}
	if q.VersionID != nil {
		l.filters = append(l.filters, s.keys.AuditsOfVersion(*q.VersionID))
	}
	if q.Auditor != nil {
		l.filters = append(l.filters, s.keys.AuditsByAuditor(*q.Auditor))
	}
	if q.PolicyID != nil {
		l.filters = append(l.filters, s.keys.AuditsUnderPolicy(*q.PolicyID))
	}
	var keep func(*modeldao.Audit) bool
	if q.Passed != nil {
		keep = func(a *modeldao.Audit) bool { return a.Passed == *q.Passed }
	}
	return fetchList(ctx, s, l, q.Page, keep)
}

// AuditsByID returns audits by id, nil for unknown ones.
func (s *Store) AuditsByID(ctx context.Context, ids []uint64) ([]*modeldao.Audit, error) {
	return readMany[modeldao.Audit](ctx, s, s.keys.AuditRecords(), decIDs(ids))
}

// auditsOf pages the audit index that key names for each of owners.
func auditsOf[O any](ctx context.Context, s *Store, key func(O) string, owners []O, desc bool, args PageArgs) ([]*Page[*modeldao.Audit], error) {
	ls := make([]pageList, len(owners))
	for i, o := range owners {
		ls[i] = pageList{name: "audits", zset: key(o), desc: desc, hash: s.keys.AuditRecords()}
	}
	return fetchLists[modeldao.Audit](ctx, s, ls, args)
}

// AuditsOfVersions returns a page of the audits of each version, in one round trip.
func (s *Store) AuditsOfVersions(ctx context.Context, ids []uint64, desc bool, args PageArgs) ([]*Page[*modeldao.Audit], error) {
	return auditsOf(ctx, s, s.keys.AuditsOfVersion, ids, desc, args)
}

// AuditsOfPolicies returns a page of the audits under each policy, in one round trip.
func (s *Store) AuditsOfPolicies(ctx context.Context, ids []uint64, desc bool, args PageArgs) ([]*Page[*modeldao.Audit], error) {
	return auditsOf(ctx, s, s.keys.AuditsUnderPolicy, ids, desc, args)
}

// AuditsOfAuditors returns a page of the audits of each auditor, in one round trip.
func (s *Store) AuditsOfAuditors(ctx context.Context, addrs []common.Address, desc bool, args PageArgs) ([]*Page[*modeldao.Audit], error) {
	return auditsOf(ctx, s, s.keys.AuditsByAuditor, addrs, desc, args)
}

// Policies returns a page of policies, by id; active filters when not nil.
func (s *Store) Policies(ctx context.Context, active *bool, desc bool, args PageArgs) (*Page[*modeldao.Policy], error) {
	l := pageList{name: "policies", zset: s.keys.Policies(), desc: desc, hash: s.keys.PolicyRecords()}
	var keep func(*modeldao.Policy) bool
	if active != nil {
		keep = func(p *modeldao.Policy) bool { return p.Active == *active }
	}
	return fetchList(ctx, s, l, args, keep)
}

// PoliciesByID returns policies by id, nil for unknown ones.
func (s *Store) PoliciesByID(ctx context.Context, ids []uint64) ([]*modeldao.Policy, error) {
	return readMany[modeldao.Policy](ctx, s, s.keys.PolicyRecords(), decIDs(ids))
}

// Auditors returns a page of auditors, by first registration; active filters when not nil.
func (s *Store) Auditors(ctx context.Context, active *bool, desc bool, args PageArgs) (*Page[*modeldao.Auditor], error) {
	l := pageList{name: "auditors", zset: s.keys.Auditors(), desc: desc, hash: s.keys.AuditorRecords()}
	var keep func(*modeldao.Auditor) bool
	if active != nil {
		keep = func(a *modeldao.Auditor) bool { return a.Active == *active }
	}
	return fetchList(ctx, s, l, args, keep)
}

// AuditorsByAddress returns auditors by address, nil for addresses never registered.
func (s *Store) AuditorsByAddress(ctx context.Context, addrs []common.Address) ([]*modeldao.Auditor, error) {
	fields := make([]string, len(addrs))
	for i, a := range addrs {
		fields[i] = Addr(a)
	}
	return readMany[modeldao.Auditor](ctx, s, s.keys.AuditorRecords(), fields)
}
