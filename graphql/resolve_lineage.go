package graphql

// Lineage fields of ModelVersion: bases, derivatives, ancestors, and the flag on versions
// whose ancestry holds a REVOKED or REJECTED version.
//
// Bases are fixed when a version is submitted, but their statuses change later (a revoke)
// and reorgs may undo that change. The flag is therefore computed when read, from the
// version records of the ancestry, rather than stored on each descendant: a revocation
// would otherwise have to rewrite an unbounded set of descendants in one block, and every
// such write would need its own undo entry. Reading costs one round trip per ancestry
// level for a whole sibling group (the batcher's group), not per version.

import (
	"context"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/graphql/model"
	"github.com/modeldao/modeldao/store"
)

// Bounds of an ancestry walk: ancestors(maxDepth) defaults to defaultAncestorDepth and is
// capped at maxAncestorDepth; the taint flag looks taintDepth levels up. maxAncestryNodes
// bounds the versions one walk collects per root, so that a hostile DAG of merges cannot
// make a read explode (with MaxBases bases per version, an ancestry grows by at most 8 per
// version it holds, and each version is visited once).
const (
	defaultAncestorDepth = 8
	maxAncestorDepth     = 32
	taintDepth           = 256
	maxAncestryNodes     = 4096
)

type ancestor struct {
	depth int
	v     *modeldao.ModelVersion
}

// walkAncestors returns, for each root, its ancestors up to maxDepth levels, nearest first,
// each version once at its smallest depth (breadth first, bases in submitted order). It reads
// each level of the whole group in one store read. Bases the index does not know (none on
// a consistent index: the registry requires existing bases) are skipped.
func (r *Resolver) walkAncestors(ctx context.Context, roots []*modeldao.ModelVersion, maxDepth int) ([][]ancestor, error) {
	type walk struct {
		seen     map[uint64]bool
		frontier []uint64
		out      []ancestor
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
			vs, err := r.store.VersionsByID(ctx, need)
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
				w.out = append(w.out, ancestor{depth, v})
				next = append(next, v.Bases...)
			}
			w.frontier = next
			active = active || len(next) > 0
		}
		if !active {
			break
		}
	}
	out := make([][]ancestor, len(ws))
	for i, w := range ws {
		out[i] = w.out
	}
	return out, nil
}

func (r *modelVersionResolver) Base(ctx context.Context, obj *modeldao.ModelVersion) (*modeldao.ModelVersion, error) {
	return byKey(ctx, obj, func(v *modeldao.ModelVersion) (uint64, bool) {
		if len(v.Bases) == 0 {
			return 0, false
		}
		return v.Bases[0], true
	}, r.versions)
}

func (r *modelVersionResolver) Bases(ctx context.Context, obj *modeldao.ModelVersion) ([]*modeldao.ModelVersion, error) {
	return load(ctx, obj, func(ctx context.Context, vs []*modeldao.ModelVersion) ([][]*modeldao.ModelVersion, error) {
		var ids []uint64
		for _, v := range vs {
			ids = append(ids, v.Bases...)
		}
		var bases []*modeldao.ModelVersion
		if len(ids) > 0 {
			var err error
			if bases, err = r.store.VersionsByID(ctx, ids); err != nil {
				return nil, err
			}
		}
		out := make([][]*modeldao.ModelVersion, len(vs))
		var all []*modeldao.ModelVersion
		i := 0
		for j, v := range vs {
			out[j] = []*modeldao.ModelVersion{}
			for range v.Bases {
				if b := bases[i]; b != nil {
					out[j] = append(out[j], b)
					all = append(all, b)
				}
				i++
			}
		}
		register(ctx, all)
		return out, nil
	})
}

func (r *modelVersionResolver) Derivatives(ctx context.Context, obj *modeldao.ModelVersion, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.ModelVersionConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, false)
	return nested(ctx, obj, func(ctx context.Context, vs []*modeldao.ModelVersion) ([]*store.Page[*modeldao.ModelVersion], error) {
		return r.store.DerivativesOfVersions(ctx, versionIDs(vs), desc, args)
	}, versionConn)
}

func (r *modelVersionResolver) Ancestors(ctx context.Context, obj *modeldao.ModelVersion, maxDepth *int) ([]*model.Ancestor, error) {
	depth := defaultAncestorDepth
	if maxDepth != nil {
		depth = *maxDepth
	}
	if depth < 1 {
		return nil, modeldao.Errorf(modeldao.EINVALID, "ancestors(maxDepth: %d): give a depth of at least 1 (1: the bases)", depth)
	}
	depth = min(depth, maxAncestorDepth)
	return load(ctx, obj, func(ctx context.Context, vs []*modeldao.ModelVersion) ([][]*model.Ancestor, error) {
		walks, err := r.walkAncestors(ctx, vs, depth)
		if err != nil {
			return nil, err
		}
		out := make([][]*model.Ancestor, len(vs))
		var all []*modeldao.ModelVersion
		for i, w := range walks {
			out[i] = make([]*model.Ancestor, len(w))
			for j, a := range w {
				out[i][j] = &model.Ancestor{Depth: a.depth, ModelVersion: a.v}
				all = append(all, a.v)
			}
		}
		register(ctx, all)
		return out, nil
	})
}

// tainting returns, for each version of the group, the REVOKED or REJECTED versions of its
// ancestry, nearest first.
func (r *modelVersionResolver) tainting(ctx context.Context, vs []*modeldao.ModelVersion) ([][]*modeldao.ModelVersion, error) {
	walks, err := r.walkAncestors(ctx, vs, taintDepth)
	if err != nil {
		return nil, err
	}
	out := make([][]*modeldao.ModelVersion, len(vs))
	for i, w := range walks {
		out[i] = []*modeldao.ModelVersion{}
		for _, a := range w {
			if modeldao.Tainting(a.v.Status) {
				out[i] = append(out[i], a.v)
			}
		}
	}
	return out, nil
}

func (r *modelVersionResolver) TaintedAncestry(ctx context.Context, obj *modeldao.ModelVersion) (bool, error) {
	return load(ctx, obj, func(ctx context.Context, vs []*modeldao.ModelVersion) ([]bool, error) {
		t, err := r.tainting(ctx, vs)
		if err != nil {
			return nil, err
		}
		out := make([]bool, len(vs))
		for i := range t {
			out[i] = len(t[i]) > 0
		}
		return out, nil
	})
}

func (r *modelVersionResolver) TaintingAncestors(ctx context.Context, obj *modeldao.ModelVersion) ([]*modeldao.ModelVersion, error) {
	return load(ctx, obj, func(ctx context.Context, vs []*modeldao.ModelVersion) ([][]*modeldao.ModelVersion, error) {
		t, err := r.tainting(ctx, vs)
		if err != nil {
			return nil, err
		}
		var all []*modeldao.ModelVersion
		for _, l := range t {
			all = append(all, l...)
		}
		register(ctx, all)
		return t, nil
	})
}
