package graphql

// Lineage fields of ModelVersion: bases, derivatives, ancestors, and the flag on versions
// whose ancestry holds a REVOKED or REJECTED version (store.Ancestries says why it is
// computed when read).

import (
	"context"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/graphql/model"
	"github.com/modeldao/modeldao/store"
)

// ancestors(maxDepth) defaults to defaultAncestorDepth and is capped at maxAncestorDepth.
const (
	defaultAncestorDepth = 8
	maxAncestorDepth     = 32
)

func (r modelVersionResolver) Base(ctx context.Context, obj *modeldao.ModelVersion) (*modeldao.ModelVersion, error) {
	return byKey(ctx, obj, func(v *modeldao.ModelVersion) (uint64, bool) {
		if len(v.Bases) == 0 {
			return 0, false
		}
		return v.Bases[0], true
	}, r.versions)
}

func (r modelVersionResolver) Bases(ctx context.Context, obj *modeldao.ModelVersion) ([]*modeldao.ModelVersion, error) {
	return load(ctx, obj, func(ctx context.Context, vs []*modeldao.ModelVersion) ([][]*modeldao.ModelVersion, error) {
		lists := make([][]uint64, len(vs))
		for i, v := range vs {
			lists[i] = v.Bases
		}
		return r.versionLists(ctx, lists)
	})
}

// versionLists reads the versions of every list of ids in one round trip, keeping each
// list's order and skipping ids the index does not know, and registers them as one sibling
// group for their own fields.
func (r *Resolver) versionLists(ctx context.Context, lists [][]uint64) ([][]*modeldao.ModelVersion, error) {
	var ids []uint64
	for _, l := range lists {
		ids = append(ids, l...)
	}
	var vs []*modeldao.ModelVersion
	if len(ids) > 0 {
		var err error
		if vs, err = r.store.VersionsByID(ctx, ids); err != nil {
			return nil, err
		}
	}
	out := make([][]*modeldao.ModelVersion, len(lists))
	var all []*modeldao.ModelVersion
	i := 0
	for j, l := range lists {
		out[j] = []*modeldao.ModelVersion{}
		for range l {
			if v := vs[i]; v != nil {
				out[j] = append(out[j], v)
				all = append(all, v)
			}
			i++
		}
	}
	register(ctx, all)
	return out, nil
}

func (r modelVersionResolver) Derivatives(ctx context.Context, obj *modeldao.ModelVersion, orderDirection *model.OrderDirection, first *int, after *string, last *int, before *string) (*model.ModelVersionConnection, error) {
	args, desc := pageArgs(first, after, last, before), isDesc(orderDirection, false)
	return nested(ctx, obj, func(ctx context.Context, vs []*modeldao.ModelVersion) ([]*store.Page[*modeldao.ModelVersion], error) {
		return r.store.DerivativesOfVersions(ctx, versionIDs(vs), desc, args)
	}, versionConn)
}

func (r modelVersionResolver) Ancestors(ctx context.Context, obj *modeldao.ModelVersion, maxDepth *int) ([]*model.Ancestor, error) {
	depth := defaultAncestorDepth
	if maxDepth != nil {
		depth = *maxDepth
	}
	if depth < 1 {
		return nil, modeldao.Errorf(modeldao.EINVALID, "ancestors(maxDepth: %d): give a depth of at least 1 (1: the bases)", depth)
	}
	depth = min(depth, maxAncestorDepth)
	return load(ctx, obj, func(ctx context.Context, vs []*modeldao.ModelVersion) ([][]*model.Ancestor, error) {
		walks, err := r.store.Ancestries(ctx, vs, depth)
		if err != nil {
			return nil, err
		}
		out := make([][]*model.Ancestor, len(vs))
		var all []*modeldao.ModelVersion
		for i, w := range walks {
			out[i] = make([]*model.Ancestor, len(w))
			for j, a := range w {
				out[i][j] = &model.Ancestor{Depth: a.Depth, ModelVersion: a.Version}
				all = append(all, a.Version)
			}
		}
		register(ctx, all)
		return out, nil
	})
}

func (r modelVersionResolver) TaintedAncestry(ctx context.Context, obj *modeldao.ModelVersion) (bool, error) {
	return load(ctx, obj, func(ctx context.Context, vs []*modeldao.ModelVersion) ([]bool, error) {
		t, err := r.store.TaintingAncestors(ctx, vs)
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

func (r modelVersionResolver) TaintingAncestors(ctx context.Context, obj *modeldao.ModelVersion) ([]*modeldao.ModelVersion, error) {
	return load(ctx, obj, func(ctx context.Context, vs []*modeldao.ModelVersion) ([][]*modeldao.ModelVersion, error) {
		t, err := r.store.TaintingAncestors(ctx, vs)
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
