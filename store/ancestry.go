package store

// Ancestries of versions. Bases are fixed when a version is submitted, but their statuses
// change later (a revoke) and reorgs may undo that change, so whatever depends on an
// ancestor's status (the taintedAncestry flag, stale approvals) is computed when read rather
// than stored on each descendant: a revocation would otherwise rewrite an unbounded set of
// descendants in one block, each write with its own undo entry. A walk reads each level of a
// whole group of versions in one round trip, not one per version.

import (
	"context"

	"github.com/modeldao/modeldao"
)

// maxAncestryNodes bounds the versions one walk collects per root, so that a hostile DAG of
// merges cannot make a read explode (each version has at most modeldao.MaxBases bases and
// is visited once).
const maxAncestryNodes = 4096

// Ancestries returns, for each root, its ancestors up to maxDepth levels, nearest first,
// each version once at its smallest depth (breadth first, bases in submitted order). Bases
// the index does not know (none on a consistent index: the registry requires existing
// bases) are skipped.
func (s *Store) Ancestries(ctx context.Context, roots []*modeldao.ModelVersion, maxDepth int) ([][]modeldao.Ancestor, error) {
	type walk struct {
		seen     map[uint64]bool
		frontier []uint64
		out      []modeldao.Ancestor
	}
	ws := make([]walk, len(roots))
	for i, v := range roots {
		ws[i] = walk{seen: map[uint64]bool{v.ID: true}, frontier: v.Bases}
	}
	known := map[uint64]*modeldao.ModelVersion{}
	for depth := 1; depth <= maxDepth; depth++ {
		var need []uint64
		queued := map[uint64]bool{}
		for _, w := range ws {
			for _, id := range w.frontier {
				if _, ok := known[id]; !ok && !w.seen[id] && !queued[id] {
					queued[id] = true
					need = append(need, id)
				}
			}
		}
		if len(need) > 0 {
			vs, err := s.VersionsByID(ctx, need)
			if err != nil {
				return nil, err
			}
			for i, id := range need {
				known[id] = vs[i] // nil when unknown
			}
		}
		active := false
		for i := range ws {
			w := &ws[i]
			var next []uint64
			for _, id := range w.frontier {
				if w.seen[id] || len(w.out) >= maxAncestryNodes {
					continue
				}
				w.seen[id] = true
				v := known[id]
				if v == nil {
					continue
				}
				w.out = append(w.out, modeldao.Ancestor{Depth: depth, Version: v})
				next = append(next, v.Bases...)
			}
			w.frontier = next
			active = active || len(next) > 0
		}
		if !active {
			break
		}
	}
	out := make([][]modeldao.Ancestor, len(ws))
	for i, w := range ws {
		out[i] = w.out
	}
	return out, nil
}

// TaintingAncestors returns, for each version, the REVOKED or REJECTED versions of its
// ancestry up to modeldao.TaintDepth levels, nearest first (never nil).
func (s *Store) TaintingAncestors(ctx context.Context, vs []*modeldao.ModelVersion) ([][]*modeldao.ModelVersion, error) {
	walks, err := s.Ancestries(ctx, vs, modeldao.TaintDepth)
	if err != nil {
		return nil, err
	}
	out := make([][]*modeldao.ModelVersion, len(vs))
	for i, w := range walks {
		out[i] = []*modeldao.ModelVersion{}
		for _, a := range w {
			if modeldao.Tainting(a.Version.Status) {
				out[i] = append(out[i], a.Version)
			}
		}
	}
	return out, nil
}
