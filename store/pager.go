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
	return buildPages[T](s, ls, raws)
}

// buildPage decodes the records of a raw page and makes its cursors. An item whose record
// is missing (the indexer writes both in one transaction, so this is a broken invariant) is
// left out and logged.
func buildPage[T any](s *Store, l pageList, raw rawPage) (*Page[*T], error) {
	ps, err := buildPages[T](s, []pageList{l}, []rawPage{raw})
	if err != nil {
		return nil, err
	}
	return ps[0], nil
}

// buildPages is buildPage for the pages of one read, together: their records are looked up
// in one readRecords (one read lock, one allocation of values; a page of 50 versions read
// 50 lists of audits, and buildPage per list was 5 % of its CPU), and the pages, their items
// and their cursors are allocated once for all of them. A page's items and cursors are
// clipped: appending to them copies.
func buildPages[T any](s *Store, ls []pageList, raws []rawPage) ([]*Page[*T], error) {
	n := 0
	for _, raw := range raws {
		n += len(raw.members)
	}
	// The records of all pages, in order; off[i] is where page i's start.
	recs := make([]string, n)
	off := make([]int, len(raws)+1)
	hash := ""
	for i, raw := range raws {
		if ls[i].hash != "" {
			copy(recs[off[i]:off[i]+len(raw.members)], raw.records)
		} else {
			copy(recs[off[i]:], raw.members) // the records are the members themselves
		}
		off[i+1] = off[i] + len(raw.members)
		if i == 0 || ls[i].hash == hash {
			hash = ls[i].hash
		} else {
			hash = "" // lists of several hashes: the error names the field alone
		}
	}
	pageOf := func(k int) int {
		i := 0
		for off[i+1] <= k {
			i++
		}
		return i
	}
	vs, err := readRecords[T](s, recs, hash, func(k int) string {
		i := pageOf(k)
		return ls[i].field(raws[i].members[k-off[i]])
	})
	if err != nil {
		return nil, err
	}
	pages := make([]Page[*T], len(raws))
	out := make([]*Page[*T], len(raws))
	items := make([]*T, 0, n)
	cursors := make([]string, 0, n)
	for i, raw := range raws {
		l := ls[i]
		from := len(items)
		for j, m := range raw.members {
			v := vs[off[i]+j]
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
			items = append(items, v)
			if raw.cursors != nil {
				cursors = append(cursors, raw.cursors[j])
			} else {
				cursors = append(cursors, EncodeCursor(l.name, raw.scores[j], m))
			}
		}
		to := len(items)
		pages[i] = Page[*T]{Items: items[from:to:to], Cursors: cursors[from:to:to],
			HasNextPage: raw.hasNext, HasPreviousPage: raw.hasPrev, TotalCount: raw.total}
		out[i] = &pages[i]
	}
	return out, nil
}
