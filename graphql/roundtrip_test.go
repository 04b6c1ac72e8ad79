package graphql_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/internal/scenario"
)

// Queries with nested fields at every level. $n is the page size of the top-level list, $m
// that of the nested lists. limit is the most round trips each may cost: one per list or
// reference in the query's shape (at most one per (list, field) pair), whatever the page
// sizes: a list costs two (its members, then its records; nested lists of all siblings
// together), a reference one. The first two are the typical frontend queries of the
// benchmark.
var nestedQueries = map[string]struct {
	limit int64
	query string
}{
	"frontend: proposals with tallies": {6, `query($n: Int, $m: Int) { proposals(first: $n) { totalCount edges { cursor node {
		id title state deadline voterCount tally { for against abstain forPercent againstPercent abstainPercent quorumReached quorumPercent }
		proposer { id } created { blockNumber timestamp txHash }
		votes(first: $m) { totalCount edges { node { support weight reason voter { id } } } }
	} } } }`},
	"frontend: model versions with audits": {9, `query($n: Int, $m: Int) { modelVersions(first: $n) { totalCount edges { node {
		id modelName label status tags license pin { status }
		publisher { id } policy { name }
		audits(first: $m) { totalCount edges { node { id passed metrics { kind sensitiveFeature value threshold passed } policy { name } auditor { name } } } }
	} } } }`},
	"deep proposals": {20, `query($n: Int, $m: Int) { proposals(first: $n) { totalCount edges { cursor node {
		id title state deadline tally { for against abstain forPercent quorumReached quorumPercent }
		proposer { id address votingPower delegate { address } }
		actions { method args { name value } modelVersion { id status policy { name } pin { status } model { name owner { id } } } }
		modelVersions { id audits(first: $m) { totalCount edges { node { id passed policy { name } auditor { name account { id } } } } } }
		votes(first: $m) { totalCount edges { node { id support weight reason voter { id votingPower delegate { id } } proposal { id } } } }
		timeline { kind provenance { blockNumber txHash } }
	} } } }`},
	"deep model versions": {19, `query($n: Int, $m: Int) { modelVersions(first: $n) { totalCount edges { node {
		id modelName label status tags pin { status size pinnedAt }
		model { name owner { id } versions(first: $m) { totalCount } }
		publisher { id votingPower }
		policy { name bounds { kind limit } }
		approvalAudit { id metrics { kind value } }
		history { status reason policy { name } audit { id } proposal { id title } provenance { blockNumber } }
		audits(first: $m) { totalCount edges { node { id passed metrics { kind sensitiveFeature value } policy { name } auditor { name } } } }
		proposals(first: $m) { totalCount edges { node { id state tally { forPercent } } } }
	} } } }`},
	"delegates": {14, `query($n: Int, $m: Int) { delegates(first: $n) { totalCount edges { node {
		id votingPower delegatorCount
		delegate { id }
		delegators(first: $m) { totalCount edges { node { id balance delegate { id } } } }
		delegations(first: $m) { edges { node { delegator { id } from { id } to { id } provenance { blockNumber } } } }
		votes(first: $m) { totalCount edges { node { support proposal { id title proposer { id } } } } }
	} } } }`},
	"votes": {8, `query($n: Int, $m: Int) { votes(first: $n) { totalCount edges { node {
		id support weight voter { id delegate { id } votes(first: $m) { totalCount } } proposal { id title modelVersions { id status } }
	} } } }`},
	"steward: stale and contested versions": {12, `query($n: Int, $m: Int) { modelVersions(first: $n) { totalCount edges { node {
		id status stale staleReasons(maxAuditAgeBlocks: 0) { kind detail policy { name } audit { id } auditAgeBlocks }
		auditConsensus contest { kind policy { name } audit { id auditor { name } } otherAudit { id } value otherValue difference }
		audits(first: $m) { totalCount }
	} } } }`},
	"steward: filtered on stale and contested": {12, `query($n: Int) { modelVersions(first: $n, where: {stale: false, contested: false, maxAuditAgeBlocks: 10}) { totalCount edges { node {
		id stale(maxAuditAgeBlocks: 10) auditConsensus
	} } } }`},
	"audits, policies, auditors": {21, `query($n: Int, $m: Int) {
		audits(first: $n) { edges { node { id modelVersion { id model { name } publisher { id } } policy { name } auditor { name audits(first: $m) { totalCount } } } } }
		policies(first: $n) { edges { node { id audits(first: $m) { totalCount } approvedVersions(first: $m) { edges { node { id pin { status } } } } } } }
		auditors(first: $n) { edges { node { id account { votingPower } audits(first: $m) { edges { node { id } } } } } }
	}`},
}

// costs runs each nested query with page size n and returns its Redis round trips, after
// checking that it answered without errors and with items.
func costs(t *testing.T, e *env, n, m int) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for name, q := range nestedQueries {
		var data map[string]any
		trips := e.tripsOf(t, func() {
			if err := e.fresh.Exec(context.Background(), q.query, map[string]any{"n": n, "m": m}, &data); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		})
		if b, _ := json.Marshal(data); !strings.Contains(string(b), `"id":`) {
			t.Fatalf("%s returned no items: %s", name, b)
		}
		out[name] = trips
	}
	return out
}

// The cost of a query in Redis round trips is bounded by its shape, not by its page sizes:
// no N+1.
func TestRoundTripsAreBounded(t *testing.T) {
	costs(t, fx.env, 2, 2) // loads the page script into Redis
	for _, n := range []int{1, 7, 50} {
		c := costs(t, fx.env, n, n)
		for name, q := range nestedQueries {
			if n == 50 {
				t.Logf("%-40s %2d round trips for pages of 50", name, c[name])
			}
			if c[name] > q.limit {
				t.Errorf("%s: %d round trips with pages of %d; at most %d", name, c[name], n, q.limit)
			}
		}
	}
}

// On an index with well over 100 items per list, a page of 100 items with nested fields
// costs no more round trips than the query's shape allows (an N+1 would cost hundreds). A
// page of 25 may cost one less, when none of its items has a reference that the larger page
// holds.
func TestRoundTripsOfLargePages(t *testing.T) {
	e, err := largeEnv()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, err := e.client.DAO(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("index: %d proposals, %d accounts, %d versions, %d audits", d.ProposalCount, d.AccountCount, d.ModelVersionCount, d.AuditCount)
	if d.ProposalCount < 100 {
		t.Fatalf("the scenario made only %d proposals", d.ProposalCount)
	}
	costs(t, e, 2, 2)
	small, large := costs(t, e, 25, 5), costs(t, e, 100, 10)
	for name, q := range nestedQueries {
		t.Logf("%-40s %2d round trips for pages of 100 (nested 10), %2d for 25 (nested 5)", name, large[name], small[name])
		if small[name] > q.limit || large[name] > q.limit {
			t.Errorf("%s: %d round trips with pages of 25, %d with pages of 100; at most %d", name, small[name], large[name], q.limit)
		}
	}
}

var (
	large     *env
	largeErr  error
	largeOnce sync.Once
)

// largeEnv is an index of a long random scenario (140 proposals, 77 versions, hundreds of
// votes), built once per test binary; TestMain closes it.
func largeEnv() (*env, error) {
	largeOnce.Do(func() {
		ctx := context.Background()
		s, err := scenario.New(ctx, 42, false)
		if err != nil {
			largeErr = err
			return
		}
		if err := s.Random(ctx, 900); err != nil {
			s.Close()
			largeErr = err
			return
		}
		large, largeErr = newEnv(ctx, s, graphql.Options{Logger: quiet})
	})
	return large, largeErr
}
