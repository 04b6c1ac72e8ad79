package store

import (
	"context"
	"errors"
	"maps"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
)

// What a steward reviews: the facts that the root package's rules (modeldao.StaleReasons,
// modeldao.Consensus) decide stale approvals and contested audits from. The store only
// reads them; the rules are applied by the caller, or here for the filters of
// ModelVersions, with the same functions so that a field and its filter always agree.

// Head returns the indexed head block the request reads at: its view's checkpoint when it
// has one (so that every stale check of one request measures ages against one head),
// otherwise the checkpoint in Redis; 0 when nothing is indexed.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	raw := viewOf(ctx).checkpoint()
	if raw == "" {
		if err := live(ctx); err != nil {
			return 0, err
		}
		v, err := s.rdb.Get(ctx, s.keys.Checkpoint()).Result()
		if errors.Is(err, redis.Nil) {
			return 0, nil
		}
		if err != nil {
			return 0, readErr(err)
		}
		raw = v
	}
	cp, err := parseCheckpoint(raw)
	if err != nil {
		return 0, err
	}
	return cp.Number, nil
}

// StaleFacts returns, for each version, its approval's policy and audit, its tainting
// ancestors and the head: two HMGETs (policies, audits) whatever the number of versions,
// one per ancestry level, and the head.
func (s *Store) StaleFacts(ctx context.Context, vs []*modeldao.ModelVersion) ([]modeldao.StaleFacts, error) {
	var pids, aids []uint64
	seenP, seenA := map[uint64]bool{}, map[uint64]bool{}
	for _, v := range vs {
		if v.PolicyID != 0 && !seenP[v.PolicyID] {
			seenP[v.PolicyID] = true
			pids = append(pids, v.PolicyID)
		}
		if v.AuditID != 0 && !seenA[v.AuditID] {
			seenA[v.AuditID] = true
			aids = append(aids, v.AuditID)
		}
	}
	pols, err := s.PoliciesByID(ctx, pids)
	if err != nil {
		return nil, err
	}
	auds, err := s.AuditsByID(ctx, aids)
	if err != nil {
		return nil, err
	}
	tainting, err := s.TaintingAncestors(ctx, vs)
	if err != nil {
		return nil, err
	}
	head, err := s.Head(ctx)
	if err != nil {
		return nil, err
	}
	polOf, audOf := map[uint64]*modeldao.Policy{}, map[uint64]*modeldao.Audit{}
	for _, p := range pols {
		if p != nil {
			polOf[p.ID] = p
		}
	}
	for _, a := range auds {
		if a != nil {
			audOf[a.ID] = a
		}
	}
	out := make([]modeldao.StaleFacts, len(vs))
	for i, v := range vs {
		out[i] = modeldao.StaleFacts{Version: *v, Policy: polOf[v.PolicyID], Audit: audOf[v.AuditID], Head: head, TaintingAncestors: tainting[i]}
	}
	return out, nil
}

// staleIDs returns the ids of the stale versions under rules (shared: not to be modified).
func (s *Store) staleIDs(ctx context.Context, rules modeldao.StaleRules) (map[string]bool, error) {
	return reviewSet(ctx, s, staleSets, rules, func(ctx context.Context) (map[string]bool, error) { return s.computeStaleIDs(ctx, rules) })
}

func (s *Store) computeStaleIDs(ctx context.Context, rules modeldao.StaleRules) (map[string]bool, error) {
	facts, err := s.StaleVersions(ctx, rules)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(facts))
	for _, f := range facts {
		out[decimal(f.Version.ID)] = true
	}
	return out, nil
}

// StaleVersions returns the stale versions under rules, by id, each with its facts: every
// APPROVED version is checked (three round trips: the status index, the versions, then
// StaleFacts).
func (s *Store) StaleVersions(ctx context.Context, rules modeldao.StaleRules) ([]modeldao.StaleFacts, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	ids, err := s.rdb.ZRange(ctx, s.keys.VersionsInStatus(modeldao.VersionApproved), 0, -1).Result()
	if err != nil {
		return nil, readErr(err)
	}
	vs, err := readMany[modeldao.ModelVersion](ctx, s, s.keys.VersionRecords(), ids)
	if err != nil {
		return nil, err
	}
	kept := vs[:0]
	for _, v := range vs {
		if v != nil {
			kept = append(kept, v)
		}
	}
	facts, err := s.StaleFacts(ctx, kept)
	if err != nil {
		return nil, err
	}
	out := facts[:0]
	for _, f := range facts {
		if modeldao.IsStale(f, rules) {
			out = append(out, f)
		}
	}
	return out, nil
}

// ContestFacts returns, for each version, its audits with the policies they name and the
// auditors registered now: one pipeline of the versions' audit indexes, then one HMGET each
// for audits, policies and auditors.
func (s *Store) ContestFacts(ctx context.Context, versionIDs []uint64) ([]modeldao.ContestFacts, error) {
	out := make([]modeldao.ContestFacts, len(versionIDs))
	if len(versionIDs) == 0 {
		return out, nil
	}
	if err := live(ctx); err != nil {
		return nil, err
	}
	cmds := make([]*redis.StringSliceCmd, len(versionIDs))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range versionIDs {
			cmds[i] = p.ZRange(ctx, s.keys.AuditsOfVersion(id), 0, -1)
		}
		return nil
	}); err != nil {
		return nil, readErr(err)
	}
	var fields []string
	for _, c := range cmds {
		fields = append(fields, c.Val()...)
	}
	audits, err := readMany[modeldao.Audit](ctx, s, s.keys.AuditRecords(), fields)
	if err != nil {
		return nil, err
	}
	policies, registered, err := s.contestContext(ctx, audits)
	if err != nil {
		return nil, err
	}
	k := 0
	for i, c := range cmds {
		out[i] = modeldao.ContestFacts{Policies: policies, Registered: registered}
		for range c.Val() {
			if a := audits[k]; a != nil {
				out[i].Audits = append(out[i].Audits, *a)
			}
			k++
		}
	}
	return out, nil
}

// contestContext reads the policies and the auditors the audits name (one HMGET each).
func (s *Store) contestContext(ctx context.Context, audits []*modeldao.Audit) (map[uint64]*modeldao.Policy, map[common.Address]bool, error) {
	var pids []uint64
	var addrs []common.Address
	seenP, seenA := map[uint64]bool{}, map[common.Address]bool{}
	for _, a := range audits {
		if a == nil {
			continue
		}
		if !seenP[a.PolicyID] {
			seenP[a.PolicyID] = true
			pids = append(pids, a.PolicyID)
		}
		if !seenA[a.Auditor] {
			seenA[a.Auditor] = true
			addrs = append(addrs, a.Auditor)
		}
	}
	pols, err := s.PoliciesByID(ctx, pids)
	if err != nil {
		return nil, nil, err
	}
	auditors, err := s.AuditorsByAddress(ctx, addrs)
	if err != nil {
		return nil, nil, err
	}
	policies := map[uint64]*modeldao.Policy{}
	for _, p := range pols {
		if p != nil {
			policies[p.ID] = p
		}
	}
	registered := map[common.Address]bool{}
	for _, a := range auditors {
		if a != nil && a.Active {
			registered[a.Address] = true
		}
	}
	return policies, registered, nil
}

// contestedIDs returns the ids of the versions whose audits are CONTESTED under tolerance
// (shared: not to be modified).
func (s *Store) contestedIDs(ctx context.Context, tolerance modeldao.Fixed6) (map[string]bool, error) {
	return reviewSet(ctx, s, contestedSets, tolerance, func(ctx context.Context) (map[string]bool, error) { return s.computeContestedIDs(ctx, tolerance) })
}

// computeContestedIDs reads every audit (three round trips: the audit index, the audits,
// then their policies and auditors).
func (s *Store) computeContestedIDs(ctx context.Context, tolerance modeldao.Fixed6) (map[string]bool, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	audits, err := s.allAudits(ctx)
	if err != nil {
		return nil, err
	}
	policies, registered, err := s.contestContext(ctx, audits)
	if err != nil {
		return nil, err
	}
	byVersion := map[uint64][]modeldao.Audit{}
	for _, a := range audits {
		if a != nil {
			byVersion[a.VersionID] = append(byVersion[a.VersionID], *a)
		}
	}
	out := map[string]bool{}
	for vid, as := range byVersion {
		if c, _ := modeldao.Consensus(modeldao.ContestFacts{Audits: as, Policies: policies, Registered: registered}, tolerance); c == modeldao.ConsensusContested {
			out[decimal(vid)] = true
		}
	}
	return out, nil
}

// reviewFilter narrows l to the versions whose staleness and contest match q (nil fields
// do not filter), in memory (only / except).
func (s *Store) reviewFilter(ctx context.Context, l *pageList, q VersionQuery) error {
	apply := func(set map[string]bool, want bool) {
		if !want {
			if l.except == nil {
				l.except = map[string]bool{}
			}
			for id := range set {
				l.except[id] = true
			}
			return
		}
		if l.only == nil {
			l.only = maps.Clone(set) // the set is shared (review_memo.go); only is narrowed below
			return
		}
		for id := range l.only {
			if !set[id] {
				delete(l.only, id)
			}
		}
	}
	if q.Stale != nil {
		set, err := s.staleIDs(ctx, q.StaleRules)
		if err != nil {
			return err
		}
		apply(set, *q.Stale)
	}
	if q.Contested != nil {
		set, err := s.contestedIDs(ctx, q.ContestTolerance)
		if err != nil {
			return err
		}
		apply(set, *q.Contested)
	}
	return nil
}
