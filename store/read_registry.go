package store

import (
	"context"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
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

// ModelID is the id of the model called name: keccak256 of the name, as the registry has it.
func ModelID(name string) common.Hash { return crypto.Keccak256Hash([]byte(name)) }

// Models returns a page of models, by the time of their first version.
func (s *Store) Models(ctx context.Context, q ModelQuery) (*Page[*modeldao.Model], error) {
	l := pageList{name: "models", zset: s.keys.Key("models"), desc: q.Desc, hash: s.keys.Key("model")}
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
		fields[i] = hexID(id)
	}
	return readMany[modeldao.Model](ctx, s, s.keys.Key("model"), fields)
}

// VersionsOfModels returns a page of the versions of each model, by id, in one round trip.
func (s *Store) VersionsOfModels(ctx context.Context, ids []common.Hash, desc bool, args PageArgs) ([]*Page[*modeldao.ModelVersion], error) {
	ls := make([]pageList, len(ids))
	for i, id := range ids {
		ls[i] = pageList{name: "versions", zset: s.keys.Key("versions", "model", hexID(id)), desc: desc, hash: s.keys.Key("version")}
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
	// Metrics: one audit of the version must satisfy all of them.
	Metrics []MetricBound
	Desc    bool
	Page    PageArgs
}

// ModelVersions returns a page of model versions, by id.
func (s *Store) ModelVersions(ctx context.Context, q VersionQuery) (*Page[*modeldao.ModelVersion], error) {
	l := pageList{name: "versions", zset: s.keys.Key("versions"), desc: q.Desc, hash: s.keys.Key("version"), sameScores: true}
	add := func(parts ...string) {
		l.filters = append(l.filters, s.keys.Key(append([]string{"versions"}, parts...)...))
	}
	if q.Status != nil {
		add("status", q.Status.String())
	}
	if q.Publisher != nil {
		add("publisher", Addr(*q.Publisher))
	}
	if q.ModelName != "" {
		add("model", hexID(ModelID(q.ModelName)))
	}
	if q.ModelID != nil {
		add("model", hexID(*q.ModelID))
	}
	if q.Tag != "" {
		add("tag", q.Tag)
	}
	if q.License != "" {
		add("license", q.License)
	}
	if q.PolicyID != nil {
		add("policy", decID(*q.PolicyID))
	}
	if len(q.Metrics) > 0 {
		only, err := s.versionsMeeting(ctx, q.Metrics)
		if err != nil {
			return nil, err
		}
		l.only = only
	}
	return fetchList[modeldao.ModelVersion](ctx, s, l, q.Page, nil)
}

// versionsMeeting returns the ids of the versions that have an audit meeting all bounds. It
// reads every audit (two round trips).
func (s *Store) versionsMeeting(ctx context.Context, bounds []MetricBound) (map[string]bool, error) {
	ids, err := s.rdb.ZRange(ctx, s.keys.Key("audits"), 0, -1).Result()
	if err != nil {
		return nil, readErr(err)
	}
	audits, err := readMany[modeldao.Audit](ctx, s, s.keys.Key("audit"), ids)
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
			out[decID(a.VersionID)] = true
		}
	}
	return out, nil
}

// VersionsByID returns model versions by id, nil for unknown ones.
func (s *Store) VersionsByID(ctx context.Context, ids []uint64) ([]*modeldao.ModelVersion, error) {
	return readMany[modeldao.ModelVersion](ctx, s, s.keys.Key("version"), decIDs(ids))
}

// VersionsOfPolicies returns a page of the versions approved under each policy, in one
// round trip.
func (s *Store) VersionsOfPolicies(ctx context.Context, ids []uint64, desc bool, args PageArgs) ([]*Page[*modeldao.ModelVersion], error) {
	ls := make([]pageList, len(ids))
	for i, id := range ids {
		ls[i] = pageList{name: "versions", zset: s.keys.Key("versions", "policy", decID(id)), desc: desc, hash: s.keys.Key("version")}
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
	l := pageList{name: "audits", zset: s.keys.Key("audits"), desc: q.Desc, hash: s.keys.Key("audit"), sameScores: true}
	if q.VersionID != nil {
		l.filters = append(l.filters, s.keys.Key("audits", "version", decID(*q.VersionID)))
	}
	if q.Auditor != nil {
		l.filters = append(l.filters, s.keys.Key("audits", "auditor", Addr(*q.Auditor)))
	}
	if q.PolicyID != nil {
		l.filters = append(l.filters, s.keys.Key("audits", "policy", decID(*q.PolicyID)))
	}
	var keep func(*modeldao.Audit) bool
	if q.Passed != nil {
		keep = func(a *modeldao.Audit) bool { return a.Passed == *q.Passed }
	}
	return fetchList(ctx, s, l, q.Page, keep)
}

// AuditsByID returns audits by id, nil for unknown ones.
func (s *Store) AuditsByID(ctx context.Context, ids []uint64) ([]*modeldao.Audit, error) {
	return readMany[modeldao.Audit](ctx, s, s.keys.Key("audit"), decIDs(ids))
}

func (s *Store) auditsOf(ctx context.Context, kind string, owners []string, desc bool, args PageArgs) ([]*Page[*modeldao.Audit], error) {
	ls := make([]pageList, len(owners))
	for i, o := range owners {
		ls[i] = pageList{name: "audits", zset: s.keys.Key("audits", kind, o), desc: desc, hash: s.keys.Key("audit")}
	}
	return fetchLists[modeldao.Audit](ctx, s, ls, args)
}

// AuditsOfVersions returns a page of the audits of each version, in one round trip.
func (s *Store) AuditsOfVersions(ctx context.Context, ids []uint64, desc bool, args PageArgs) ([]*Page[*modeldao.Audit], error) {
	return s.auditsOf(ctx, "version", decIDs(ids), desc, args)
}

// AuditsOfPolicies returns a page of the audits under each policy, in one round trip.
func (s *Store) AuditsOfPolicies(ctx context.Context, ids []uint64, desc bool, args PageArgs) ([]*Page[*modeldao.Audit], error) {
	return s.auditsOf(ctx, "policy", decIDs(ids), desc, args)
}

// AuditsOfAuditors returns a page of the audits of each auditor, in one round trip.
func (s *Store) AuditsOfAuditors(ctx context.Context, addrs []common.Address, desc bool, args PageArgs) ([]*Page[*modeldao.Audit], error) {
	owners := make([]string, len(addrs))
	for i, a := range addrs {
		owners[i] = Addr(a)
	}
	return s.auditsOf(ctx, "auditor", owners, desc, args)
}

// Policies returns a page of policies, by id; active filters when not nil.
func (s *Store) Policies(ctx context.Context, active *bool, desc bool, args PageArgs) (*Page[*modeldao.Policy], error) {
	l := pageList{name: "policies", zset: s.keys.Key("policies"), desc: desc, hash: s.keys.Key("policy")}
	var keep func(*modeldao.Policy) bool
	if active != nil {
		keep = func(p *modeldao.Policy) bool { return p.Active == *active }
	}
	return fetchList(ctx, s, l, args, keep)
}

// PoliciesByID returns policies by id, nil for unknown ones.
func (s *Store) PoliciesByID(ctx context.Context, ids []uint64) ([]*modeldao.Policy, error) {
	return readMany[modeldao.Policy](ctx, s, s.keys.Key("policy"), decIDs(ids))
}

// Auditors returns a page of auditors, by first registration; active filters when not nil.
func (s *Store) Auditors(ctx context.Context, active *bool, desc bool, args PageArgs) (*Page[*modeldao.Auditor], error) {
	l := pageList{name: "auditors", zset: s.keys.Key("auditors"), desc: desc, hash: s.keys.Key("auditor")}
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
	return readMany[modeldao.Auditor](ctx, s, s.keys.Key("auditor"), fields)
}
