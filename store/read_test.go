package store

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/infra/redisserver"
)

func newReadStore(t *testing.T) *Store {
	t.Helper()
	srv := redisserver.StartT(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return New(rdb, NewKeys(1337, common.HexToAddress("0x00000000000000000000000000000000000000aa")), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

type rec struct {
	M string  `json:"m"`
	S float64 `json:"s"`
	K int     `json:"k"`
}

// fill writes n members with few distinct scores (many ties) and members of mixed bytes,
// into a sorted set and a hash of records.
func fill(t *testing.T, s *Store, rng *rand.Rand, zset, hash string, n int) []scoredMember {
	t.Helper()
	ctx := context.Background()
	var items []scoredMember
	seen := map[string]bool{}
	alphabet := []string{"a", "B", "z", ":", "0", "9", "é", "~", "_", "-", "A"}
	for len(items) < n {
		var b strings.Builder
		for range 1 + rng.IntN(4) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		m := b.String()
		if seen[m] {
			continue
		}
		seen[m] = true
		sc := float64(rng.IntN(6)) * 1e5
		if rng.IntN(4) == 0 {
			sc += float64(rng.IntN(3)) // ordinal-like scores
		}
		items = append(items, scoredMember{m, sc})
		r, _ := json.Marshal(rec{M: m, S: sc, K: rng.IntN(3)})
		if err := s.rdb.ZAdd(ctx, zset, redis.Z{Score: sc, Member: m}).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.rdb.HSet(ctx, hash, m, r).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return items
}

// The Go ordering of a list is Redis's ordering of the sorted set.
func TestSortListMatchesRedis(t *testing.T) {
	s := newReadStore(t)
	rng := rand.New(rand.NewPCG(1, 2))
	items := fill(t, s, rng, "z", "h", 200)
	sortList(items, false)
	zs, err := s.rdb.ZRangeWithScores(context.Background(), "z", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	for i, z := range zs {
		if items[i].member != z.Member || items[i].score != z.Score {
			t.Fatalf("position %d: Go has %q %v, Redis %q %v", i, items[i].member, items[i].score, z.Member, z.Score)
		}
	}
}

// The script (Redis side) and pageSorted (Go side) page every list the same way, for
// cursors on members that exist and on positions that do not, forward and backward.
func TestPagingScriptMatchesGo(t *testing.T) {
	s := newReadStore(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	all := fill(t, s, rng, s.keys.Key("z"), s.keys.Key("h"), 120)
	for _, desc := range []bool{false, true} {
		items := slices.Clone(all)
		sortList(items, desc)
		l := pageList{name: "test", zset: s.keys.Key("z"), desc: desc, hash: s.keys.Key("h")}
		pos := func() *listPos {
			switch rng.IntN(4) {
			case 0:
				return nil
			case 1: // a position that is not a member
				return &listPos{float64(rng.IntN(7)) * 1e5, string(rune('a' + rng.IntN(26)))}
			default:
				it := items[rng.IntN(len(items))]
				return &listPos{it.score, it.member}
			}
		}
		for range 400 {
			w := pageWindow{n: rng.IntN(12), fromEnd: rng.IntN(2) == 0, after: pos(), before: pos()}
			raws, err := s.pagesInRedis(ctx, []pageList{l}, []pageWindow{w})
			if err != nil {
				t.Fatal(err)
			}
			got := raws[0]
			start, stop, hasNext, hasPrev := pageSorted(items, desc, w)
			var want []string
			for _, it := range items[start:stop] {
				want = append(want, it.member)
			}
			if !slices.Equal(got.members, want) || got.hasNext != hasNext || got.hasPrev != hasPrev || got.total != len(items) {
				t.Fatalf("desc=%v window %+v (after %v before %v):\nscript %q next=%v prev=%v\ngo     %q next=%v prev=%v",
					desc, w, w.after, w.before, got.members, got.hasNext, got.hasPrev, want, hasNext, hasPrev)
			}
			for i, m := range got.members {
				var r rec
				if err := json.Unmarshal([]byte(got.records[i]), &r); err != nil || r.M != m {
					t.Fatalf("record %d of the page is %q, want the record of %q", i, got.records[i], m)
				}
			}
		}
	}
}

// pageAll walks a whole list forward (or backward) with pages of n and returns the
// members in the order seen.
func pageAll(t *testing.T, s *Store, l pageList, n int, backward bool, keep func(*rec) bool) []string {
	t.Helper()
	var out []string
	args := PageArgs{First: &n}
	if backward {
		args = PageArgs{Last: &n}
	}
	for range 1000 {
		p, err := fetchList(context.Background(), s, l, args, keep)
		if err != nil {
			t.Fatal(err)
		}
		var ms []string
		for _, r := range p.Items {
			ms = append(ms, r.M)
		}
		if backward {
			out = append(ms, out...)
			if !p.HasPreviousPage {
				return out
			}
			args = PageArgs{Last: &n, Before: p.StartCursor()}
		} else {
			out = append(out, ms...)
			if !p.HasNextPage {
				return out
			}
			args = PageArgs{First: &n, After: p.EndCursor()}
		}
	}
	t.Fatal("paging does not end")
	return nil
}

// Walking a list page by page, forward or backward, in Redis or in Go (a filter forces the
// Go path), yields the whole list in order.
func TestFetchListWalks(t *testing.T) {
	s := newReadStore(t)
	rng := rand.New(rand.NewPCG(5, 6))
	all := fill(t, s, rng, s.keys.Key("z"), s.keys.Key("h"), 97)
	for _, desc := range []bool{false, true} {
		items := slices.Clone(all)
		sortList(items, desc)
		var want []string
		for _, it := range items {
			want = append(want, it.member)
		}
		inRedis := pageList{name: "t", zset: s.keys.Key("z"), desc: desc, hash: s.keys.Key("h")}
		inGo := inRedis
		inGo.filters = []string{s.keys.Key("z")} // a filter with other scores: paged in Go
		for _, n := range []int{1, 7, 50, 1000} {
			for _, l := range []pageList{inRedis, inGo} {
				for _, back := range []bool{false, true} {
					if got := pageAll(t, s, l, n, back, nil); !slices.Equal(got, want) {
						t.Fatalf("desc=%v n=%d go=%v backward=%v: walked\n%q\nwant\n%q", desc, n, l.filters != nil, back, got, want)
					}
				}
			}
		}
		// A record filter.
		keep := func(r *rec) bool { return r.K == 1 }
		var kept []string
		for _, it := range items {
			var r rec
			raw, _ := s.rdb.HGet(context.Background(), s.keys.Key("h"), it.member).Result()
			_ = json.Unmarshal([]byte(raw), &r)
			if keep(&r) {
				kept = append(kept, it.member)
			}
		}
		if got := pageAll(t, s, inRedis, 5, false, keep); !slices.Equal(got, kept) {
			t.Fatalf("filtered walk %q, want %q", got, kept)
		}
	}
}

// A cursor stays valid when the list changes: paging continues after its position, even
// when its own item is gone.
func TestCursorOnChangedList(t *testing.T) {
	s := newReadStore(t)
	ctx := context.Background()
	z, h := s.keys.Key("z"), s.keys.Key("h")
	add := func(m string, sc float64) {
		r, _ := json.Marshal(rec{M: m, S: sc})
		s.rdb.ZAdd(ctx, z, redis.Z{Score: sc, Member: m})
		s.rdb.HSet(ctx, h, m, r)
	}
	for i, m := range []string{"a", "b", "c", "d", "e", "f"} {
		add(m, float64(i/2)) // a,b: 0  c,d: 1  e,f: 2
	}
	l := pageList{name: "t", zset: z, hash: h}
	two := 2
	p, err := fetchList[rec](ctx, s, l, PageArgs{First: &two}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cur := p.EndCursor() // at b (score 0)
	// The list changes: b is removed, a new member lands before the cursor, one between b
	// and c (same score as b, after it), one at the end.
	s.rdb.ZRem(ctx, z, "b")
	add("0", 0)
	add("bb", 0)
	add("g", 3)
	for _, l := range []pageList{l, {name: "t", zset: z, hash: h, filters: []string{z}}} {
		p, err = fetchList[rec](ctx, s, l, PageArgs{First: &two, After: cur}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range p.Items {
			got = append(got, r.M)
		}
		if !slices.Equal(got, []string{"bb", "c"}) || !p.HasNextPage || !p.HasPreviousPage || p.TotalCount != 8 {
			t.Fatalf("after the changed list (go=%v): %q next=%v prev=%v total=%d", l.filters != nil, got, p.HasNextPage, p.HasPreviousPage, p.TotalCount)
		}
	}
}

func TestPageArgsErrors(t *testing.T) {
	n := func(i int) *int { return &i }
	good := EncodeCursor("proposals", 12e5+3, "42")
	for _, c := range []struct {
		args PageArgs
		want string
	}{
		{PageArgs{First: n(1001)}, "first is 1001; a page holds at most 1000 items"},
		{PageArgs{First: n(1000000000)}, "a page holds at most 1000"},
		{PageArgs{Last: n(-1)}, "last is -1; it must be between 0 and 1000"},
		{PageArgs{First: n(1), Last: n(1)}, "pass first or last, not both"},
		{PageArgs{After: "nonsense!"}, "after: cursor is not one this API issued"},
		{PageArgs{Before: "bm9wZQ"}, "before: cursor is not one this API issued"},
		{PageArgs{After: EncodeCursor("votes", 1, "x")}, "cursor is not one this API issued for this list"},
	} {
		_, err := c.args.window("proposals")
		if modeldao.ErrorCode(err) != modeldao.EINVALID || !strings.Contains(modeldao.ErrorMessage(err), c.want) {
			t.Errorf("%+v: got %v, want EINVALID %q", c.args, err, c.want)
		}
	}
	w, err := PageArgs{After: good}.window("proposals")
	if err != nil || w.after == nil || w.after.score != 12e5+3 || w.after.member != "42" || w.n != DefaultPageSize || w.fromEnd {
		t.Fatalf("a good cursor: %+v %v", w, err)
	}
	if w, _ := (PageArgs{Before: good}).window("proposals"); !w.fromEnd || w.n != DefaultPageSize {
		t.Fatalf("before alone pages backward: %+v", w)
	}
	// Every cursor is URL-safe and round-trips, whatever the member.
	for _, m := range []string{"0xabc", "1:0xdef", `{"json":"member"}`, "é"} {
		c := EncodeCursor("l", -1.5e300, m)
		p, err := decodeCursor("l", c)
		if err != nil || p.member != m || p.score != -1.5e300 || strings.ContainsAny(c, "+/=") {
			t.Errorf("cursor %q of %q: %+v %v", c, m, p, err)
		}
	}
}

func TestMetricBoundAllows(t *testing.T) {
	f := func(x modeldao.Fixed6) *modeldao.Fixed6 { return &x }
	a := &modeldao.Audit{Metrics: []modeldao.Metric{
		{Kind: modeldao.DemographicParityDifference, SensitiveFeature: "sex", Value: 50000},
		{Kind: modeldao.DemographicParityDifference, SensitiveFeature: "race", Value: 150000},
		{Kind: modeldao.DisparateImpactRatio, SensitiveFeature: "sex", Value: 900000},
	}}
	for i, c := range []struct {
		b    MetricBound
		want bool
	}{
		{MetricBound{Kind: modeldao.DemographicParityDifference, Max: f(100000)}, false}, // race is 0.15
		{MetricBound{Kind: modeldao.DemographicParityDifference, Max: f(200000)}, true},
		{MetricBound{Kind: modeldao.DemographicParityDifference, Feature: "sex", Max: f(100000)}, true},
		{MetricBound{Kind: modeldao.DisparateImpactRatio, Min: f(800000)}, true},
		{MetricBound{Kind: modeldao.DisparateImpactRatio, Min: f(950000)}, false},
		{MetricBound{Kind: modeldao.EqualizedOddsDifference, Max: f(1000000)}, false}, // not measured
	} {
		if got := c.b.Allows(a); got != c.want {
			t.Errorf("bound %d: %v, want %v", i, got, c.want)
		}
	}
}

// Every batch read costs a fixed number of round trips, whatever the number of owners.
func TestBatchesAreOneRoundTrip(t *testing.T) {
	s := newReadStore(t)
	ctx := context.Background()
	var n int
	s.rdb.AddHook(countHook{&n})
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	five := 5
	if _, err := s.VotesOfProposals(ctx, ids, VotesByWeight, true, PageArgs{First: &five, After: EncodeCursor("proposal:votes:weight", 1, "x")}); err != nil { // loads the script
		t.Fatal(err)
	}
	for name, f := range map[string]func() error{
		"VotesOfProposals": func() error {
			_, err := s.VotesOfProposals(ctx, ids, VotesByWeight, true, PageArgs{First: &five})
			return err
		},
		"ProposalsByID": func() error { _, err := s.ProposalsByID(ctx, ids); return err },
		"DAO":           func() error { _, err := s.DAO(ctx); return err },
	} {
		n = 0
		err := f()
		if err != nil && modeldao.ErrorCode(err) != modeldao.ENOTFOUND {
			t.Fatalf("%s: %v", name, err)
		}
		if n != 1 {
			t.Errorf("%s took %d round trips; want 1", name, n)
		}
	}
}

type countHook struct{ n *int }

func (h countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { *h.n++; return next(ctx, cmd) }
}
func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { *h.n++; return next(ctx, cmds) }
}

// A filter on the complement of a set held in memory (except), alone and with only and an
// index filter, walks exactly the members that are not in it, in every direction.
func TestFetchListExcept(t *testing.T) {
	s := newReadStore(t)
	rng := rand.New(rand.NewPCG(7, 8))
	all := fill(t, s, rng, s.keys.Key("z"), s.keys.Key("h"), 41)
	except, only := map[string]bool{}, map[string]bool{}
	for i, it := range all {
		if i%3 == 0 {
			except[it.member] = true
		}
		if i%2 == 0 {
			only[it.member] = true
		}
	}
	for _, desc := range []bool{false, true} {
		items := slices.Clone(all)
		sortList(items, desc)
		var notExcepted, both []string
		for _, it := range items {
			if !except[it.member] {
				notExcepted = append(notExcepted, it.member)
				if only[it.member] {
					both = append(both, it.member)
				}
			}
		}
		l := pageList{name: "t", zset: s.keys.Key("z"), desc: desc, hash: s.keys.Key("h"), except: except}
		if l.inRedis() {
			t.Fatal("a list with except is paged in Redis, which does not know the set")
		}
		withOnly := l
		withOnly.only = only
		withIndex := l
		withIndex.filters = []string{s.keys.Key("z"), s.keys.Key("z")}
		for _, n := range []int{1, 4, 100} {
			for _, back := range []bool{false, true} {
				if got := pageAll(t, s, l, n, back, nil); !slices.Equal(got, notExcepted) {
					t.Fatalf("desc=%v n=%d back=%v except: %q, want %q", desc, n, back, got, notExcepted)
				}
				if got := pageAll(t, s, withOnly, n, back, nil); !slices.Equal(got, both) {
					t.Fatalf("desc=%v n=%d back=%v only+except: %q, want %q", desc, n, back, got, both)
				}
				if got := pageAll(t, s, withIndex, n, back, nil); !slices.Equal(got, notExcepted) {
					t.Fatalf("desc=%v n=%d back=%v filters+except: %q, want %q", desc, n, back, got, notExcepted)
				}
			}
		}
	}
}
