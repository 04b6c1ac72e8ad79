package store

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/modeldao/modeldao"
	"github.com/redis/go-redis/v9"
)

// Paging in Go: a list with several filters, or filters on the records, is read whole and
// filtered here; paging.go's pageSorted then applies the cursor rules.

// listCandidates reads the members of l (all of zset, or the intersection of its filters) in
// list order, with their scores.
func (s *Store) listCandidates(ctx context.Context, l pageList) ([]scoredMember, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	var items []scoredMember
	switch {
	case len(l.filters) == 0 || len(l.filters) == 1 && l.sameScores && l.keyLen == 0:
		key := l.zset
		if len(l.filters) == 1 {
			key = l.filters[0]
		}
		zs, err := s.rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
		if err != nil {
			return nil, readErr(err)
		}
		items = make([]scoredMember, 0, len(zs))
		for _, z := range zs {
			if m, _ := z.Member.(string); l.allows(l.id(m)) {
				items = append(items, scoredMember{m, z.Score})
			}
		}
	case l.keyLen > 0:
		// The members of an ordering by amount are not those of the filters: read the whole
		// ordering (already in list order) and keep the members whose id is in every filter.
		var order *redis.StringSliceCmd
		cmds := make([]*redis.StringSliceCmd, len(l.filters))
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			order = p.ZRange(ctx, l.zset, 0, -1)
			for i, f := range l.filters {
				cmds[i] = p.ZRange(ctx, f, 0, -1)
			}
			return nil
		})
		if err != nil {
			return nil, readErr(err)
		}
		count := make(map[string]int)
		for _, c := range cmds {
			for _, m := range c.Val() {
				count[m]++
			}
		}
		for _, m := range order.Val() {
			id := l.id(m)
			if count[id] == len(cmds) && l.allows(id) {
				items = append(items, scoredMember{m, 0})
			}
		}
	default:
		cmds := make([]*redis.StringSliceCmd, len(l.filters))
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, f := range l.filters {
				cmds[i] = p.ZRange(ctx, f, 0, -1)
			}
			return nil
		})
		if err != nil {
			return nil, readErr(err)
		}
		// Intersect, starting from the smallest set.
		sets := make([][]string, len(cmds))
		for i, c := range cmds {
			sets[i] = c.Val()
		}
		slices.SortFunc(sets, func(a, b []string) int { return len(a) - len(b) })
		keep := sets[0]
		for _, other := range sets[1:] {
			in := make(map[string]bool, len(other))
			for _, m := range other {
				in[m] = true
			}
			keep = slices.DeleteFunc(slices.Clone(keep), func(m string) bool { return !in[m] })
		}
		if l.only != nil || l.except != nil {
			keep = slices.DeleteFunc(keep, func(m string) bool { return !l.allows(m) })
		}
		if len(keep) == 0 {
			return nil, nil
		}
		args := make([]any, 0, len(keep)+2)
		args = append(args, "ZMSCORE", l.zset)
		for _, m := range keep {
			args = append(args, m)
		}
		res, err := s.rdb.Do(ctx, args...).Slice()
		if err != nil {
			return nil, readErr(err)
		}
		for i, v := range res {
			if v == nil || i >= len(keep) {
				continue // in a filter set but not in the list: the list is the authority
			}
			sc, err := scoreOf(v)
			if err != nil {
				return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "score of %s in %s", keep[i], l.zset)
			}
			items = append(items, scoredMember{keep[i], sc})
		}
	}
	sortList(items, l.desc)
	return items, nil
}

func scoreOf(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case string:
		return strconv.ParseFloat(x, 64)
	case int64:
		return float64(x), nil
	}
	return 0, errors.New("not a number")
}
