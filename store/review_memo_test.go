package store

import (
	"context"
	"reflect"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// The stale and contested sets are computed once per checkpoint and rule for the API's
// requests (those with a view), again after a commit, and always for other callers.
func TestReviewSetsKeptPerCheckpoint(t *testing.T) {
	bg := context.Background()
	s := newReadStore(t)
	var f forkChain
	f.salt = 5
	b1 := f.next(common.Hash{}, 1, func(a modeldao.At) modeldao.Event {
		return &modeldao.PolicyAdopted{At: a, Policy: modeldao.Policy{ID: 1, Name: "p"}}
	})
	if _, err := s.Apply(bg, ApplyArgs{Blocks: []modeldao.Block{b1}, KeepUndo: 100, Init: &modeldao.DAOParams{ChainID: 1337, VotingPeriod: 2}}); err != nil {
		t.Fatal(err)
	}
	same := func(a, b map[string]bool) bool { return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer() }
	rules, other := modeldao.StaleRules{MaxAuditAgeBlocks: 100}, modeldao.StaleRules{MaxAuditAgeBlocks: 7}
	stale := func(ctx context.Context, r modeldao.StaleRules) map[string]bool {
		t.Helper()
		set, err := s.staleIDs(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	contested := func(ctx context.Context, tol modeldao.Fixed6) map[string]bool {
		t.Helper()
		set, err := s.contestedIDs(ctx, tol)
		if err != nil {
			t.Fatal(err)
		}
		return set
	}

	s1, c1 := stale(WithView(bg), rules), contested(WithView(bg), 50_000)
	if !same(s1, stale(WithView(bg), rules)) || !same(c1, contested(WithView(bg), 50_000)) {
		t.Error("a second request at the same checkpoint computed the sets again")
	}
	if same(s1, stale(WithView(bg), other)) || same(c1, contested(WithView(bg), 10_000)) {
		t.Error("another rule got the first rule's set")
	}
	if same(s1, stale(bg, rules)) || same(c1, contested(bg, 50_000)) {
		t.Error("a caller without a view got the memo")
	}

	b2 := f.next(b1.Hash, 2)
	cp1 := Checkpoint{Number: 1, Hash: b1.Hash}
	if _, err := s.Apply(bg, ApplyArgs{From: &cp1, Blocks: []modeldao.Block{b2}, KeepUndo: 100}); err != nil {
		t.Fatal(err)
	}
	s2, c2 := stale(WithView(bg), rules), contested(WithView(bg), 50_000)
	if same(s1, s2) || same(c1, c2) {
		t.Error("after a commit the sets of the previous checkpoint were served")
	}
	if !same(s2, stale(WithView(bg), rules)) || !same(c2, contested(WithView(bg), 50_000)) {
		t.Error("the new checkpoint's sets are not kept")
	}
	// A request still at the old checkpoint computes its own (the memo holds the newest).
	if same(s2, stale(WithViewAt(bg, cp1.String()), rules)) {
		t.Error("a request at the previous checkpoint got the new checkpoint's set")
	}
}
