package store

import (
	"context"

	"github.com/modeldao/modeldao"
)

// The pager: how a list of the layout is read a page at a time, in Redis (pageScript,
// pager_redis.go) or in Go (listCandidates, pager_filters.go, + pageSorted), and its records
// read in one HMGET per hash. This file holds the lists and the entry points (fetchList,
// fetchLists).

// pageList describes one list of the layout.
type pageList struct {
	name string // the cursor's list name: a list and its ordering, e.g. "proposals:votes"
	zset string // the sorted set whose scores order the list
	desc bool
	// filters are sorted sets whose members are members of zset: an item is in the list when
	// it is in all of them. sameScores says that filters[0] has zset's scores, so that a
	// single filter is paged directly.
	filters    []string
	sameScores bool
	// only and except, when not nil, are filters held in memory: ids in it, ids not in it.
	only, except map[string]bool
	// hash holds the records, field = prefix + member + suffix; "" means that the member is
	// the record itself (delegations).
	hash           string
	prefix, suffix string
	// keyLen is the length of the ordering key in front of each member of zset (an ordering
	// by amount, see AmountMember): the id is what follows it. The filter sets and the
	// records know the id only.
	keyLen int
}

// id is the id of a member of zset.
func (l pageList) id(member string) string {
	if l.keyLen > 0 && len(member) >= l.keyLen {
		return member[l.keyLen:]
	}
	return member
}

func (l pageList) field(member string) string { return l.prefix + l.id(member) + l.suffix }

// byAmount makes l an ordering by amount whose members have an amount of digits hex digits.
func (l pageList) byAmount(digits int) pageList {
	l.keyLen = digits + 1
	return l
}

// allows applies the filters held in memory (only, except) to an id.
func (l pageList) allows(id string) bool { return (l.only == nil || l.only[id]) && !l.except[id] }

// inRedis reports whether the list can be paged by the script.
func (l pageList) inRedis() bool {
	return l.only == nil && l.except == nil && (len(l.filters) == 0 || len(l.filters) == 1 && l.sameScores && l.keyLen == 0)
}

// fetchList reads one page of l. keep, if not nil, filters on the records (it forces the Go
// path, which reads the records of every candidate).
func fetchList[T any](ctx context.Context, s *Store, l pageList, args PageArgs, keep func(*T) bool) (*Page[*T], error) {
	w, err := args.window(l.name)
	if err != nil {
		return nil, err
	}
	if keep == nil && l.inRedis() {
		raws, err := s.pagesInRedis(ctx, []pageList{l}, []pageWindow{w})
		if err != nil {
			return nil, err
		}
		return buildPage[T](s, l, raws[0])
	}
	items, err := s.listCandidates(ctx, l)
	if err != nil {
		return nil, err
	}
	var recs []string
	if keep != nil && len(items) > 0 {
		// Read every candidate's record, keep those that pass.
		fields := make([]string, len(items))
		for i, it := range items {
			fields[i] = l.field(it.member)
		}
		if l.hash == "" {
			recs = fields
		} else if recs, err = s.hmgetStrings(ctx, l.hash, fields); err != nil {
			return nil, err
		}
		n := 0
		for i, it := range items {
			if recs[i] == "" {
				continue
			}
			v, err := readRecord[T](s, recs[i], l.hash, fields[i])
			if err != nil {
				return nil, err
			}
			if keep(v) {
				items[n], recs[n] = it, recs[i]
				n++
			}
		}
		items, recs = items[:n], recs[:n]
	}
	start, stop, hasNext, hasPrev := pageSorted(items, l.desc, w)
	raw := rawPage{total: len(items), hasNext: hasNext, hasPrev: hasPrev}
	for _, it := range items[start:stop] {
		raw.members = append(raw.members, it.member)
		raw.scores = append(raw.scores, it.score)
	}
	switch {
	case recs != nil:
		raw.records = recs[start:stop]
	case l.hash == "":
	default:
		fields := make([]string, len(raw.members))
		for i, m := range raw.members {
			fields[i] = l.field(m)
		}
		if raw.records, err = s.hmgetStrings(ctx, l.hash, fields); err != nil {
			return nil, err
		}
	}
	return buildPage[T](s, l, raw)
}

// fetchLists reads one page of each list (all without filters) in one round trip.
func fetchLists[T any](ctx context.Context, s *Store, ls []pageList, args PageArgs) ([]*Page[*T], error) {
	ws := make([]pageWindow, len(ls))
	for i, l := range ls {
		if !l.inRedis() {
			return nil, modeldao.Errorf(modeldao.EINTERNAL, "list %s cannot be paged in a batch", l.name)
		}
		w, err := args.window(l.name)
		if err != nil {
			return nil, err
		}
		ws[i] = w
	}
	raws, err := s.pagesInRedis(ctx, ls, ws)
	if err != nil {
		return nil, err
	}
	out := make([]*Page[*T], len(ls))
	for i := range ls {
		if out[i], err = buildPage[T](s, ls[i], raws[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// buildPage decodes the records of a raw page and makes its cursors. An item whose record
// is missing (the indexer writes both in one transaction, so this is a broken invariant) is
// left out and logged.
func buildPage[T any](s *Store, l pageList, raw rawPage) (*Page[*T], error) {
	p := &Page[*T]{HasNextPage: raw.hasNext, HasPreviousPage: raw.hasPrev, TotalCount: raw.total,
		Items: make([]*T, 0, len(raw.members)), Cursors: make([]string, 0, len(raw.members))}
	recs := raw.members // the records are the members themselves
	if l.hash != "" {
		recs = make([]string, len(raw.members))
		copy(recs, raw.records)
	}
	vs, err := readRecords[T](s, recs, l.hash, func(i int) string { return l.field(raw.members[i]) })
	if err != nil {
		return nil, err
	}
	for i, m := range raw.members {
		v := vs[i]
		if v == nil {
			if l.hash == "" { // an empty member: not JSON
				if v, err = readRecord[T](s, m, l.hash, l.field(m)); err != nil {
					return nil, err
				}
			} else {
				s.log.Warn("store: list member without a record", "list", l.zset, "member", m, "hash", l.hash)
				continue
			}
		}
		p.Items = append(p.Items, v)
		if raw.cursors != nil {
			p.Cursors = append(p.Cursors, raw.cursors[i])
		} else {
			p.Cursors = append(p.Cursors, EncodeCursor(l.name, raw.scores[i], m))
		}
	}
	return p, nil
}
