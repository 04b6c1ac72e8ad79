package store

import (
	"context"
	"sync"

	"github.com/modeldao/modeldao"
)

// The stale and contested sets are computed over every approved version or every audit,
// and a page of a list filtered by them needs the whole set. They change only when the
// indexer commits, so each set is kept for the checkpoint it was computed at (the last one
// a request read at), per rule: paging through the stale versions of a large registry reads
// the registry once, not once per page.

// reviewMemo holds the sets of one checkpoint. The sets are shared: readers must not
// modify them.
type reviewMemo struct {
	mu        sync.Mutex
	cp        string
	stale     map[modeldao.StaleRules]map[string]bool
	contested map[modeldao.Fixed6]map[string]bool
}

// reviewSet returns the set of rule k that compute computes, from the memo when the
// request's checkpoint (its view's) has it. A set is kept only when no commit landed while
// it was computed (the view still at the checkpoint it began at); a request without a view
// (not the API's) always computes.
func reviewSet[K comparable](ctx context.Context, s *Store, sets func(*reviewMemo) *map[K]map[string]bool, k K, compute func(context.Context) (map[string]bool, error)) (map[string]bool, error) {
	if viewOf(ctx) == nil {
		return compute(ctx)
	}
	cp, err := s.currentCheckpoint(ctx)
	if err != nil || cp == "" {
		return compute(ctx)
	}
	m := s.review
	m.mu.Lock()
	if m.cp == cp {
		if set, ok := (*sets(m))[k]; ok {
			m.mu.Unlock()
			return set, nil
		}
	}
	m.mu.Unlock()
	set, err := compute(ctx)
	if err != nil || viewOf(ctx).checkpoint() != cp {
		return set, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cp != cp {
		m.cp, m.stale, m.contested = cp, nil, nil
	}
	p := sets(m)
	if *p == nil {
		*p = map[K]map[string]bool{}
	}
	(*p)[k] = set
	return set, nil
}

func staleSets(m *reviewMemo) *map[modeldao.StaleRules]map[string]bool { return &m.stale }

func contestedSets(m *reviewMemo) *map[modeldao.Fixed6]map[string]bool { return &m.contested }
