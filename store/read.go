package store

// The read side: what the GraphQL API asks of the projection.
//
// Every list of the API is a sorted set of the layout (see Keys), paged by one generic
// helper (fetchList / fetchLists) with one cursor codec (EncodeCursor / decodeCursor):
//
//   - A cursor is the base64 of the list's name, the score and the member of the item it
//     points at. Paging continues strictly after (or before) that (score, member) position,
//     ties broken on the member as Redis orders them, so a cursor stays valid when the list
//     changes under it: new items land where they belong, removed items simply no longer
//     appear, and the cursor's own item may be gone without harm.
//   - An unfiltered list, or one filtered by a single index set that has the list's scores,
//     is paged inside Redis (pagesInRedis): a first page with ZCARD and ZRANGE, a page from
//     a cursor with one Lua script (pageScript) that finds the cursor's position with ZCOUNT
//     and a binary search over ties; then the page's records with one HMGET. Two round
//     trips. Nested lists of many owners (the votes of 100 proposals) are read the same way
//     in one pipeline and one HMGET: still two round trips.
//   - A list with several filters, or with filters that need the records (title contains,
//     created after, support, metric bounds), is filtered in Go: the candidate id sets are
//     read in one pipeline and intersected, their order scores come from one ZMSCORE, and the
//     records from one HMGET; the same cursor rules are then applied in Go (pageSorted). That
//     is at most three round trips, whatever the page size (metric bounds on audits add two:
//     every audit is read to find the versions that meet them). It reads every candidate, which
//     is fine for the cardinalities of a DAO (thousands of proposals and versions, not
//     millions); nothing is written, so the API can run against a read replica and never
//     leaves temporary keys behind (no ZINTERSTORE).
//   - Records are JSON; decoded ones are cached by their raw JSON (readRecord), as decoding
//     is most of the CPU cost of a read.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
)

// Page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// PageArgs are the Relay paging arguments: First items after the cursor After, or Last
// items before the cursor Before. With neither First nor Last, the page is the first
// DefaultPageSize items (the last ones when only Before is given).
type PageArgs struct {
	First  *int
	After  string
	Last   *int
	Before string
}

// Page is one page of a list.
type Page[T any] struct {
	Items   []T
	Cursors []string // Cursors[i] points at Items[i]
	// HasNextPage: items follow the page (within Before, when given). HasPreviousPage: items
	// precede the page (within After, when given).
	HasNextPage     bool
	HasPreviousPage bool
	TotalCount      int // items of the whole list, filters applied, cursors ignored
}

// StartCursor is the cursor of the first item, "" for an empty page.
func (p *Page[T]) StartCursor() string {
	if len(p.Cursors) == 0 {
		return ""
	}
	return p.Cursors[0]
}

// EndCursor is the cursor of the last item, "" for an empty page.
func (p *Page[T]) EndCursor() string {
	if len(p.Cursors) == 0 {
		return ""
	}
	return p.Cursors[len(p.Cursors)-1]
}

// pageWindow is a validated PageArgs.
type pageWindow struct {
	n       int
	fromEnd bool
	after   *listPos
	before  *listPos
}

// listPos is a place in a list: the (score, member) of an item, which may be gone.
type listPos struct {
	score  float64
	member string
}

func (a PageArgs) window(list string) (pageWindow, error) {
	var w pageWindow
	switch {
	case a.First != nil && a.Last != nil:
		return w, modeldao.Errorf(modeldao.EINVALID, "pass first or last, not both")
	case a.First != nil:
		w.n = *a.First
	case a.Last != nil:
		w.n, w.fromEnd = *a.Last, true
	default:
		w.n, w.fromEnd = DefaultPageSize, a.Before != "" && a.After == ""
	}
	name := "first"
	if w.fromEnd {
		name = "last"
	}
	if w.n < 0 {
		return w, modeldao.Errorf(modeldao.EINVALID, "%s is %d; it must be between 0 and %d", name, w.n, MaxPageSize)
	}
	if w.n > MaxPageSize {
		return w, modeldao.Errorf(modeldao.EINVALID, "%s is %d; a page holds at most %d items: page with after/before", name, w.n, MaxPageSize)
	}
	for _, c := range []struct {
		arg string
		dst **listPos
		val string
	}{{"after", &w.after, a.After}, {"before", &w.before, a.Before}} {
		if c.val == "" {
			continue
		}
		p, err := decodeCursor(list, c.val)
		if err != nil {
			return w, modeldao.WrapError(modeldao.EINVALID, err, "%s: cursor is not one this API issued for this list: pass a cursor from pageInfo or edges of the same field and orderBy", c.arg)
		}
		*c.dst = &p
	}
	return w, nil
}

// The cursor codec. A cursor is base64url("c1" NUL list NUL score NUL member): the list name
// makes a cursor of one list (or ordering) fail clearly on another.
const cursorVersion = "c1"

// EncodeCursor returns the cursor of the item (score, member) of the list named list.
func EncodeCursor(list string, score float64, member string) string {
	b := make([]byte, 0, len(cursorVersion)+len(list)+len(member)+32)
	b = append(b, cursorVersion...)
	b = append(b, 0)
	b = append(b, list...)
	b = append(b, 0)
	b = strconv.AppendFloat(b, score, 'g', -1, 64)
	b = append(b, 0)
	b = append(b, member...)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errCursor = errors.New("malformed cursor")

func decodeCursor(list, c string) (listPos, error) {
	if len(c) > 4096 {
		return listPos{}, errCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return listPos{}, errCursor
	}
	parts := strings.SplitN(string(b), "\x00", 4)
	if len(parts) != 4 || parts[0] != cursorVersion || parts[3] == "" {
		return listPos{}, errCursor
	}
	if parts[1] != list {
		return listPos{}, errors.New("cursor of another list")
	}
	score, err := strconv.ParseFloat(parts[2], 64)
	if err != nil || math.IsNaN(score) {
		return listPos{}, errCursor
	}
	return listPos{score, parts[3]}, nil
}

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
	// only, if not nil, is one more filter held in memory.
	only map[string]bool
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

// inRedis reports whether the list can be paged by the script.
func (l pageList) inRedis() bool {
	return l.only == nil && (len(l.filters) == 0 || len(l.filters) == 1 && l.sameScores && l.keyLen == 0)
}

// pageScript pages a sorted set from a cursor: it finds the cursors' positions with ZCOUNT
// and a binary search over ties, and reads the page's members and scores. Records are read
// afterwards with one plain HMGET for all pages: moving large records through Lua costs
// Redis far more CPU than the script itself.
//
// KEYS: zset. ARGV: desc, hasAfter, afterScore, afterMember, hasBefore, beforeScore,
// beforeMember, n, fromEnd.
// Reply: {total, start, stop, a, b, {member, score, ...}} where [a, b) is the part of the
// list between the cursors and [start, stop) the page, as indexes in list order.
//
// Members are compared byte by byte (as Redis orders ties), not with Lua's '<', which uses
// the server's locale.
var pageScript = redis.NewScript(`
local z = KEYS[1]
local desc = ARGV[1] == '1'
local function lt(a, b)
  local la, lb = #a, #b
  local m = la < lb and la or lb
  for i = 1, m do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return la < lb
end
-- count of items before the position (s, m) in list order: those at or before it when
-- inclusive, strictly before it otherwise
local function count(s, m, inclusive)
  local lo, hi
  if desc then
    lo = redis.call('ZCOUNT', z, '(' .. s, '+inf')
    hi = redis.call('ZCOUNT', z, s, '+inf')
  else
    lo = redis.call('ZCOUNT', z, '-inf', '(' .. s)
    hi = redis.call('ZCOUNT', z, '-inf', s)
  end
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local x
    if desc then x = redis.call('ZREVRANGE', z, mid, mid)[1] else x = redis.call('ZRANGE', z, mid, mid)[1] end
    local past
    if desc then
      if inclusive then past = lt(x, m) else past = not lt(m, x) end
    else
      if inclusive then past = lt(m, x) else past = not lt(x, m) end
    end
    if past then hi = mid else lo = mid + 1 end
  end
  return lo
end
local total = redis.call('ZCARD', z)
local a, b = 0, total
if ARGV[2] == '1' then a = count(ARGV[3], ARGV[4], true) end
if ARGV[5] == '1' then b = count(ARGV[6], ARGV[7], false) end
if b < a then b = a end
local n = tonumber(ARGV[8])
local start, stop
if ARGV[9] == '1' then
  start = b - n
  if start < a then start = a end
  stop = b
else
  start = a
  stop = a + n
  if stop > b then stop = b end
end
local items = {}
if stop > start then
  if desc then
    items = redis.call('ZREVRANGE', z, start, stop - 1, 'WITHSCORES')
  else
    items = redis.call('ZRANGE', z, start, stop - 1, 'WITHSCORES')
  end
end
return {total, start, stop, a, b, items}
`)

func scoreArg(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// key is the sorted set that l pages in Redis: its only filter, or the list itself.
func (l pageList) key() string {
	if len(l.filters) == 1 {
		return l.filters[0]
	}
	return l.zset
}

// scriptArgs returns the arguments of pageScript for l.
func (l pageList) scriptArgs(w pageWindow) []any {
	args := []any{boolArg(l.desc), "0", "", "", "0", "", "", w.n, boolArg(w.fromEnd)}
	if w.after != nil {
		args[1], args[2], args[3] = "1", scoreArg(w.after.score), w.after.member
	}
	if w.before != nil {
		args[4], args[5], args[6] = "1", scoreArg(w.before.score), w.before.member
	}
	return args
}

// rawPage is a page before its records are decoded.
type rawPage struct {
	members []string
	scores  []float64
	records []string // "" where the record is missing
	hasNext bool
	hasPrev bool
	total   int
}

func parseScriptReply(v any, w pageWindow) (rawPage, error) {
	var p rawPage
	r, ok := v.([]any)
	if !ok || len(r) != 6 {
		return p, errors.New("unexpected reply of the page script")
	}
	nums := make([]int, 5)
	for i := range nums {
		n, ok := r[i].(int64)
		if !ok {
			return p, errors.New("unexpected reply of the page script")
		}
		nums[i] = int(n)
	}
	total, start, stop, a, b := nums[0], nums[1], nums[2], nums[3], nums[4]
	items, _ := r[5].([]any)
	for i := 0; i+1 < len(items); i += 2 {
		m, _ := items[i].(string)
		ss, _ := items[i+1].(string)
		sc, err := strconv.ParseFloat(ss, 64)
		if err != nil {
			return p, errors.New("unexpected score in the page script's reply")
		}
		p.members = append(p.members, m)
		p.scores = append(p.scores, sc)
	}
	if stop-start != len(p.members) {
		return p, errors.New("page script returned a short page")
	}
	p.total = total
	p.hasNext, p.hasPrev = pageFlags(total, a, b, start, stop, w.fromEnd)
	return p, nil
}

// pageFlags follows the Relay specification: paging forward, hasNextPage says that the
// items between the cursors go on past the page and hasPreviousPage that items precede
// the after cursor; paging backward, the mirror image.
func pageFlags(total, a, b, start, stop int, fromEnd bool) (hasNext, hasPrev bool) {
	if fromEnd {
		return b < total, start > a
	}
	return stop < b, a > 0
}

// readErr wraps an error of Redis met while reading.
func readErr(err error) error {
	if err == nil {
		return nil
	}
	var e *modeldao.Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "the request ran out of time reading Redis: ask for fewer items")
	}
	return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "Redis did not answer; retry later")
}

// live fails when the request's context is done: go-redis does not watch contexts unless
// told to (ContextTimeoutEnabled), so every read checks before its round trip.
func live(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return readErr(err)
	}
	return nil
}

// pagesInRedis reads one page of each list in two round trips, whatever the number of
// lists: first the members of every page in one pipeline (a page without cursors, the
// usual first page, with plain ZCARD and ZRANGE; a page from a cursor with pageScript),
// then the records of all pages with one HMGET per hash. When Redis does not know the
// script yet (first use, restart, SCRIPT FLUSH), it is loaded and the pipeline sent again.
func (s *Store) pagesInRedis(ctx context.Context, ls []pageList, ws []pageWindow) ([]rawPage, error) {
	if len(ls) == 0 {
		return nil, nil
	}
	if err := live(ctx); err != nil {
		return nil, err
	}
	out := make([]rawPage, len(ls))
	for attempt := 0; ; attempt++ {
		scripts := make([]*redis.Cmd, len(ls))
		cards := make([]*redis.IntCmd, len(ls))
		ranges := make([]*redis.ZSliceCmd, len(ls))
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, l := range ls {
				w := ws[i]
				if w.after != nil || w.before != nil {
					scripts[i] = pageScript.EvalSha(ctx, p, []string{l.key()}, l.scriptArgs(w)...)
					continue
				}
				cards[i] = p.ZCard(ctx, l.key())
				if w.n == 0 {
					continue
				}
				start, stop := int64(0), int64(w.n-1)
				if w.fromEnd {
					start, stop = int64(-w.n), -1
				}
				if l.desc {
					ranges[i] = p.ZRevRangeWithScores(ctx, l.key(), start, stop)
				} else {
					ranges[i] = p.ZRangeWithScores(ctx, l.key(), start, stop)
				}
			}
			return nil
		})
		if err != nil && attempt == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
			if err := pageScript.Load(ctx, s.rdb).Err(); err != nil {
				return nil, readErr(err)
			}
			continue
		}
		if err != nil {
			return nil, readErr(err)
		}
		for i := range ls {
			if scripts[i] != nil {
				if out[i], err = parseScriptReply(scripts[i].Val(), ws[i]); err != nil {
					return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "page %s", ls[i].name)
				}
				continue
			}
			p := rawPage{total: int(cards[i].Val())}
			if ranges[i] != nil {
				for _, z := range ranges[i].Val() {
					m, _ := z.Member.(string)
					p.members = append(p.members, m)
					p.scores = append(p.scores, z.Score)
				}
			}
			// Without cursors the part between them is the whole list: [0, total).
			start, stop := 0, len(p.members)
			if ws[i].fromEnd {
				start, stop = p.total-len(p.members), p.total
			}
			p.hasNext, p.hasPrev = pageFlags(p.total, 0, p.total, start, stop, ws[i].fromEnd)
			out[i] = p
		}
		break
	}
	return out, s.readRecords(ctx, ls, out)
}

// readRecords fills in the records of raw pages: one HMGET per hash for all of them.
func (s *Store) readRecords(ctx context.Context, ls []pageList, pages []rawPage) error {
	type ref struct{ page, item int }
	fields := map[string][]string{}
	refs := map[string][]ref{}
	for i, l := range ls {
		if l.hash == "" {
			continue
		}
		pages[i].records = make([]string, len(pages[i].members))
		for j, m := range pages[i].members {
			fields[l.hash] = append(fields[l.hash], l.field(m))
			refs[l.hash] = append(refs[l.hash], ref{i, j})
		}
	}
	if len(fields) == 0 {
		return nil
	}
	if err := live(ctx); err != nil {
		return err
	}
	cmds := map[string]*redis.SliceCmd{}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for h, fs := range fields {
			cmds[h] = p.HMGet(ctx, h, fs...)
		}
		return nil
	})
	if err != nil {
		return readErr(err)
	}
	for h, c := range cmds {
		for k, v := range c.Val() {
			r := refs[h][k]
			pages[r.page].records[r.item], _ = v.(string)
		}
	}
	return nil
}

// scoredMember is a member of a sorted set with its score.
type scoredMember struct {
	member string
	score  float64
}

// sortList sorts items in list order: by score, then member, bytewise, as Redis orders a
// sorted set; reversed when desc.
func sortList(items []scoredMember, desc bool) {
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if desc {
			a, b = b, a
		}
		if a.score != b.score {
			return a.score < b.score
		}
		return a.member < b.member
	})
}

// countBefore is the Go twin of the script's count: the number of items (in list order)
// at or before p when inclusive, strictly before it otherwise.
func countBefore(items []scoredMember, desc bool, p listPos, inclusive bool) int {
	return sort.Search(len(items), func(i int) bool {
		x := items[i]
		if x.score != p.score {
			return (x.score > p.score) != desc
		}
		if desc {
			if inclusive {
				return x.member < p.member
			}
			return x.member <= p.member
		}
		if inclusive {
			return x.member > p.member
		}
		return x.member >= p.member
	})
}

// pageSorted applies w to items in list order and returns the indexes of the page and the
// page flags, exactly as the script does.
func pageSorted(items []scoredMember, desc bool, w pageWindow) (start, stop int, hasNext, hasPrev bool) {
	total := len(items)
	a, b := 0, total
	if w.after != nil {
		a = countBefore(items, desc, *w.after, true)
	}
	if w.before != nil {
		b = countBefore(items, desc, *w.before, false)
	}
	b = max(b, a)
	if w.fromEnd {
		start, stop = max(b-w.n, a), b
	} else {
		start, stop = a, min(a+w.n, b)
	}
	hasNext, hasPrev = pageFlags(total, a, b, start, stop, w.fromEnd)
	return start, stop, hasNext, hasPrev
}

// candidates reads the members of l (all of zset, or the intersection of its filters) in
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
			if m, _ := z.Member.(string); l.only == nil || l.only[l.id(m)] {
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
			if count[id] == len(cmds) && (l.only == nil || l.only[id]) {
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
		if l.only != nil {
			keep = slices.DeleteFunc(keep, func(m string) bool { return !l.only[m] })
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

// hmget reads fields of a hash in one command; missing fields are "".
func (s *Store) hmgetStrings(ctx context.Context, hash string, fields []string) ([]string, error) {
	if len(fields) == 0 {
		return nil, nil
	}
	if err := live(ctx); err != nil {
		return nil, err
	}
	vals, err := s.rdb.HMGet(ctx, hash, fields...).Result()
	if err != nil {
		return nil, readErr(err)
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i], _ = v.(string)
	}
	return out, nil
}

// readRecord decodes one JSON record. Decoding dominates the CPU cost of a read (a page of
// 50 proposals is ~100 KB of JSON with hashes in hex), so decoded records are kept in a
// small cache keyed by their raw JSON: a record that did not change is decoded once. The
// caller gets a shallow copy, a pointer of its own (the API's batching tells objects apart
// by pointer); nested values are shared and must not be modified.
func readRecord[T any](raw, what string) (*T, error) {
	k := decodeKey{reflect.TypeFor[T](), raw}
	if v, ok := decoded.get(k); ok {
		c := *(v.(*T))
		return &c, nil
	}
	v := new(T)
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "the record of %s in Redis is not valid JSON: reindex", what)
	}
	decoded.put(k, v)
	c := *v
	return &c, nil
}

// decodeCacheBytes bounds the raw JSON held by each of the two generations of the cache.
const decodeCacheBytes = 8 << 20

type decodeKey struct {
	typ reflect.Type
	raw string
}

// decodeCache is a two-generation cache: when the current generation is full it becomes
// the previous one and the oldest is dropped; a hit in the previous one moves forward. It
// is shared by all stores of the process: the raw JSON and the type determine the value.
type decodeCache struct {
	mu        sync.RWMutex
	cur, prev map[decodeKey]any
	curBytes  int
}

var decoded = &decodeCache{cur: map[decodeKey]any{}}

func (c *decodeCache) get(k decodeKey) (any, bool) {
	c.mu.RLock()
	v, ok := c.cur[k]
	old := false
	if !ok {
		v, ok = c.prev[k]
		old = ok
	}
	c.mu.RUnlock()
	if old {
		c.put(k, v)
	}
	return v, ok
}

func (c *decodeCache) put(k decodeKey, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.curBytes+len(k.raw) > decodeCacheBytes {
		c.prev, c.cur, c.curBytes = c.cur, map[decodeKey]any{}, 0
	}
	if _, ok := c.cur[k]; !ok {
		c.cur[k] = v
		c.curBytes += len(k.raw)
	}
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
			v, err := readRecord[T](recs[i], l.field(it.member))
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
	for i, m := range raw.members {
		rec := m
		if l.hash != "" {
			if i >= len(raw.records) || raw.records[i] == "" {
				s.log.Warn("store: list member without a record", "list", l.zset, "member", m, "hash", l.hash)
				continue
			}
			rec = raw.records[i]
		}
		v, err := readRecord[T](rec, l.field(m))
		if err != nil {
			return nil, err
		}
		p.Items = append(p.Items, v)
		p.Cursors = append(p.Cursors, EncodeCursor(l.name, raw.scores[i], m))
	}
	return p, nil
}

// readMany reads records by hash field, in one HMGET; nil where there is none.
func readMany[T any](ctx context.Context, s *Store, hash string, fields []string) ([]*T, error) {
	recs, err := s.hmgetStrings(ctx, hash, fields)
	if err != nil {
		return nil, err
	}
	out := make([]*T, len(fields))
	for i, r := range recs {
		if r == "" {
			continue
		}
		if out[i], err = readRecord[T](r, hash+" "+fields[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func decIDs(ids []uint64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = decID(id)
	}
	return out
}

func hexID(h common.Hash) string { return strings.ToLower(h.Hex()) }

// ---- proposals ----

// ProposalOrder orders proposals.
type ProposalOrder int

const (
	ProposalsByCreated  ProposalOrder = iota // block and log of creation
	ProposalsByDeadline                      // last block of voting
	ProposalsByVotes                         // votes cast (for + against + abstain), exactly; ties by id
)

// ProposalQuery selects proposals. Zero fields do not filter.
type ProposalQuery struct {
	State         *modeldao.ProposalState
	Proposer      *common.Address
	VersionID     *uint64 // proposals whose registry calls concern this model version
	CreatedAfter  *time.Time
	CreatedBefore *time.Time
	TitleContains string // case-insensitive
	OrderBy       ProposalOrder
	Desc          bool
	Page          PageArgs
}

func (s *Store) proposalList(order ProposalOrder, desc bool) pageList {
	l := pageList{hash: s.keys.Key("proposal"), desc: desc}
	switch order {
	case ProposalsByDeadline:
		l.name, l.zset = "proposals:deadline", s.keys.Key("proposals", "deadline")
	case ProposalsByVotes:
		l.name, l.zset = "proposals:votes", s.keys.Key("proposals", "votes")
		l = l.byAmount(TotalDigits)
	default:
		l.name, l.zset = "proposals", s.keys.Key("proposals")
	}
	return l
}

// Proposals returns a page of proposals.
func (s *Store) Proposals(ctx context.Context, q ProposalQuery) (*Page[*modeldao.Proposal], error) {
	l := s.proposalList(q.OrderBy, q.Desc)
	if q.State != nil {
		l.filters = append(l.filters, s.keys.Key("proposals", "state", q.State.String()))
	}
	if q.Proposer != nil {
		l.filters = append(l.filters, s.keys.Key("proposals", "proposer", Addr(*q.Proposer)))
	}
	if q.VersionID != nil {
		l.filters = append(l.filters, s.keys.Key("proposals", "version", decID(*q.VersionID)))
	}
	l.sameScores = q.OrderBy == ProposalsByCreated // the filter sets are scoredMember by creation
	var keep func(*modeldao.Proposal) bool
	if q.CreatedAfter != nil || q.CreatedBefore != nil || q.TitleContains != "" {
		title := strings.ToLower(q.TitleContains)
		keep = func(p *modeldao.Proposal) bool {
			t := time.Unix(int64(p.Created.Timestamp), 0)
			return (q.CreatedAfter == nil || t.After(*q.CreatedAfter)) &&
				(q.CreatedBefore == nil || t.Before(*q.CreatedBefore)) &&
				(title == "" || strings.Contains(strings.ToLower(p.Title), title))
		}
	}
	return fetchList(ctx, s, l, q.Page, keep)
}

// ProposalsByID returns the proposals with the given ids (decimal), nil for unknown ones.
func (s *Store) ProposalsByID(ctx context.Context, ids []string) ([]*modeldao.Proposal, error) {
	return readMany[modeldao.Proposal](ctx, s, s.keys.Key("proposal"), ids)
}

// ProposalsOfVersions returns a page of the proposals concerning each version, by
// creation, in one round trip.
func (s *Store) ProposalsOfVersions(ctx context.Context, versionIDs []uint64, desc bool, args PageArgs) ([]*Page[*modeldao.Proposal], error) {
	ls := make([]pageList, len(versionIDs))
	for i, v := range versionIDs {
		ls[i] = pageList{name: "version:proposals", zset: s.keys.Key("proposals", "version", decID(v)), desc: desc, hash: s.keys.Key("proposal")}
	}
	return fetchLists[modeldao.Proposal](ctx, s, ls, args)
}

// ---- votes ----

// VoteOrder orders votes.
type VoteOrder int

const (
	VotesByTime   VoteOrder = iota // block and log of the vote
	VotesByWeight                  // weight, exactly, ties by voter address; only within one proposal
)

// VoteQuery selects votes. Zero fields do not filter.
type VoteQuery struct {
	Voter      *common.Address
	ProposalID string
	Support    *modeldao.VoteSupport
	OrderBy    VoteOrder
	Desc       bool
	Page       PageArgs
}

func (s *Store) votesOfProposal(id string, order VoteOrder, desc bool) pageList {
	l := pageList{name: "proposal:votes", zset: s.keys.Key("votes", "p", id), desc: desc,
		hash: s.keys.Key("vote"), prefix: id + ":"}
	if order == VotesByWeight {
		l.name, l.zset = "proposal:votes:weight", s.keys.Key("votes", "p", id, "weight")
		l = l.byAmount(AmountDigits)
	}
	return l
}

func (s *Store) votesOfVoter(voter common.Address, desc bool) pageList {
	return pageList{name: "voter:votes", zset: s.keys.Key("votes", "v", Addr(voter)), desc: desc,
		hash: s.keys.Key("vote"), suffix: ":" + Addr(voter)}
}

// Votes returns a page of votes. Ordering by weight needs ProposalID.
func (s *Store) Votes(ctx context.Context, q VoteQuery) (*Page[*modeldao.Vote], error) {
	var l pageList
	switch {
	case q.ProposalID != "":
		l = s.votesOfProposal(q.ProposalID, q.OrderBy, q.Desc)
	case q.OrderBy == VotesByWeight:
		return nil, modeldao.Errorf(modeldao.EINVALID, "votes are ordered by weight only within one proposal: set where.proposal, or order by TIME")
	case q.Voter != nil:
		l = s.votesOfVoter(*q.Voter, q.Desc)
	default:
		l = pageList{name: "votes", zset: s.keys.Key("votes"), desc: q.Desc, hash: s.keys.Key("vote")}
	}
	var keep func(*modeldao.Vote) bool
	if q.Support != nil || q.Voter != nil && q.ProposalID != "" {
		keep = func(v *modeldao.Vote) bool {
			return (q.Support == nil || v.Support == *q.Support) && (q.Voter == nil || v.Voter == *q.Voter)
		}
	}
	return fetchList(ctx, s, l, q.Page, keep)
}

// VotesByID returns votes by id ("<proposalId>:<voter>", see VoteID), nil for unknown ones.
func (s *Store) VotesByID(ctx context.Context, ids []string) ([]*modeldao.Vote, error) {
	return readMany[modeldao.Vote](ctx, s, s.keys.Key("vote"), ids)
}

// VotesOfProposals returns a page of votes of each proposal, in one round trip.
func (s *Store) VotesOfProposals(ctx context.Context, ids []string, order VoteOrder, desc bool, args PageArgs) ([]*Page[*modeldao.Vote], error) {
	ls := make([]pageList, len(ids))
	for i, id := range ids {
		ls[i] = s.votesOfProposal(id, order, desc)
	}
	return fetchLists[modeldao.Vote](ctx, s, ls, args)
}

// VotesOfVoters returns a page of the votes of each voter, by time, in one round trip.
func (s *Store) VotesOfVoters(ctx context.Context, voters []common.Address, desc bool, args PageArgs) ([]*Page[*modeldao.Vote], error) {
	ls := make([]pageList, len(voters))
	for i, v := range voters {
		ls[i] = s.votesOfVoter(v, desc)
	}
	return fetchLists[modeldao.Vote](ctx, s, ls, args)
}

// ---- accounts and delegation ----

// DelegateOrder orders delegates.
type DelegateOrder int

const (
	DelegatesByVotingPower DelegateOrder = iota // voting power, exactly; ties by address
	DelegatesByDelegators                       // number of accounts delegating to them
)

// Delegates returns a page of the delegates (modeldao.Account.IsDelegate): every order lists
// the same accounts.
func (s *Store) Delegates(ctx context.Context, order DelegateOrder, desc bool, args PageArgs) (*Page[*modeldao.Account], error) {
	l := pageList{name: "delegates:power", zset: s.keys.Key("accounts", "power"), desc: desc, hash: s.keys.Key("account")}
	l = l.byAmount(AmountDigits)
	if order == DelegatesByDelegators {
		l = pageList{name: "delegates:delegators", zset: s.keys.Key("accounts", "delegators"), desc: desc, hash: s.keys.Key("account")}
	}
	return fetchList[modeldao.Account](ctx, s, l, args, nil)
}

// Accounts returns the accounts at the given addresses, nil for addresses the index has
// never seen.
func (s *Store) Accounts(ctx context.Context, addrs []common.Address) ([]*modeldao.Account, error) {
	fields := make([]string, len(addrs))
	for i, a := range addrs {
		fields[i] = Addr(a)
	}
	return readMany[modeldao.Account](ctx, s, s.keys.Key("account"), fields)
}

// DelegatorsOf returns a page of the accounts delegating to each address, by the time of
// their delegation, in one round trip.
func (s *Store) DelegatorsOf(ctx context.Context, addrs []common.Address, desc bool, args PageArgs) ([]*Page[*modeldao.Account], error) {
	ls := make([]pageList, len(addrs))
	for i, a := range addrs {
		ls[i] = pageList{name: "delegators", zset: s.keys.Key("delegators", Addr(a)), desc: desc, hash: s.keys.Key("account")}
	}
	return fetchLists[modeldao.Account](ctx, s, ls, args)
}

// DelegationsOf returns a page of the delegate changes of each address, in one round trip.
func (s *Store) DelegationsOf(ctx context.Context, addrs []common.Address, desc bool, args PageArgs) ([]*Page[*modeldao.Delegation], error) {
	ls := make([]pageList, len(addrs))
	for i, a := range addrs {
		ls[i] = pageList{name: "delegations", zset: s.keys.Key("delegations", Addr(a)), desc: desc}
	}
	return fetchLists[modeldao.Delegation](ctx, s, ls, args)
}

// ---- models and versions ----

// ModelQuery selects models.
type ModelQuery struct {
	Owner        *common.Address
	NameContains string // case-insensitive
	Desc         bool
	Page         PageArgs
}

// ModelID is the id of the model called name: keccak256 of the name, as the registry has it.
func ModelID(name string) common.Hash { return crypto.Keccak256Hash([]byte(name)) }

// Models returns a page of models, by the time of their first version.
func (s *Store) Models(ctx context.Context, q ModelQuery) (*Page[*modeldao.Model], error) {
	l := pageList{name: "models", zset: s.keys.Key("models"), desc: q.Desc, hash: s.keys.Key("model")}
	var keep func(*modeldao.Model) bool
	if q.Owner != nil || q.NameContains != "" {
		name := strings.ToLower(q.NameContains)
		keep = func(m *modeldao.Model) bool {
			return (q.Owner == nil || m.Owner == *q.Owner) && strings.Contains(strings.ToLower(m.Name), name)
		}
	}
	return fetchList(ctx, s, l, q.Page, keep)
}

// ModelsByID returns models by id, nil for unknown ones.
func (s *Store) ModelsByID(ctx context.Context, ids []common.Hash) ([]*modeldao.Model, error) {
	fields := make([]string, len(ids))
	for i, id := range ids {
		fields[i] = hexID(id)
	}
	return readMany[modeldao.Model](ctx, s, s.keys.Key("model"), fields)
}

// VersionsOfModels returns a page of the versions of each model, by id, in one round trip.
func (s *Store) VersionsOfModels(ctx context.Context, ids []common.Hash, desc bool, args PageArgs) ([]*Page[*modeldao.ModelVersion], error) {
	ls := make([]pageList, len(ids))
	for i, id := range ids {
		ls[i] = pageList{name: "versions", zset: s.keys.Key("versions", "model", hexID(id)), desc: desc, hash: s.keys.Key("version")}
	}
	return fetchLists[modeldao.ModelVersion](ctx, s, ls, args)
}

// MetricBound filters model versions on the metrics of their audits: a version passes when
// one of its audits has at least one metric of Kind (on Feature, when set) and every such
// metric is at most Max and at least Min (those that are set). This is how a policy bound
// checks an audit (modeldao.Policy.Check).
type MetricBound struct {
	Kind    modeldao.MetricKind
	Feature string
	Max     *modeldao.Fixed6
	Min     *modeldao.Fixed6
}

// Allows reports whether audit a satisfies the bound.
func (b MetricBound) Allows(a *modeldao.Audit) bool {
	found := false
	for _, m := range a.Metrics {
		if m.Kind != b.Kind || b.Feature != "" && m.SensitiveFeature != b.Feature {
			continue
		}
		found = true
		if b.Max != nil && m.Value > *b.Max || b.Min != nil && m.Value < *b.Min {
			return false
		}
	}
	return found
}

// VersionQuery selects model versions. Zero fields do not filter.
type VersionQuery struct {
	Status    *modeldao.VersionStatus
	Publisher *common.Address
	ModelName string // exact name
	ModelID   *common.Hash
	Tag       string
	License   string
	PolicyID  *uint64 // approved under this policy
	// Metrics: one audit of the version must satisfy all of them.
	Metrics []MetricBound
	Desc    bool
	Page    PageArgs
}

// ModelVersions returns a page of model versions, by id.
func (s *Store) ModelVersions(ctx context.Context, q VersionQuery) (*Page[*modeldao.ModelVersion], error) {
	l := pageList{name: "versions", zset: s.keys.Key("versions"), desc: q.Desc, hash: s.keys.Key("version"), sameScores: true}
	add := func(parts ...string) {
		l.filters = append(l.filters, s.keys.Key(append([]string{"versions"}, parts...)...))
	}
	if q.Status != nil {
		add("status", q.Status.String())
	}
	if q.Publisher != nil {
		add("publisher", Addr(*q.Publisher))
	}
	if q.ModelName != "" {
		add("model", hexID(ModelID(q.ModelName)))
	}
	if q.ModelID != nil {
		add("model", hexID(*q.ModelID))
	}
	if q.Tag != "" {
		add("tag", q.Tag)
	}
	if q.License != "" {
		add("license", q.License)
	}
	if q.PolicyID != nil {
		add("policy", decID(*q.PolicyID))
	}
	if len(q.Metrics) > 0 {
		only, err := s.versionsMeeting(ctx, q.Metrics)
		if err != nil {
			return nil, err
		}
		l.only = only
	}
	return fetchList[modeldao.ModelVersion](ctx, s, l, q.Page, nil)
}

// versionsMeeting returns the ids of the versions that have an audit meeting all bounds. It
// reads every audit (two round trips).
func (s *Store) versionsMeeting(ctx context.Context, bounds []MetricBound) (map[string]bool, error) {
	ids, err := s.rdb.ZRange(ctx, s.keys.Key("audits"), 0, -1).Result()
	if err != nil {
		return nil, readErr(err)
	}
	audits, err := readMany[modeldao.Audit](ctx, s, s.keys.Key("audit"), ids)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, a := range audits {
		if a == nil {
			continue
		}
		ok := true
		for _, b := range bounds {
			if !b.Allows(a) {
				ok = false
				break
			}
		}
		if ok {
			out[decID(a.VersionID)] = true
		}
	}
	return out, nil
}

// VersionsByID returns model versions by id, nil for unknown ones.
func (s *Store) VersionsByID(ctx context.Context, ids []uint64) ([]*modeldao.ModelVersion, error) {
	return readMany[modeldao.ModelVersion](ctx, s, s.keys.Key("version"), decIDs(ids))
}

// VersionsOfPolicies returns a page of the versions approved under each policy, in one
// round trip.
func (s *Store) VersionsOfPolicies(ctx context.Context, ids []uint64, desc bool, args PageArgs) ([]*Page[*modeldao.ModelVersion], error) {
	ls := make([]pageList, len(ids))
	for i, id := range ids {
		ls[i] = pageList{name: "versions", zset: s.keys.Key("versions", "policy", decID(id)), desc: desc, hash: s.keys.Key("version")}
	}
	return fetchLists[modeldao.ModelVersion](ctx, s, ls, args)
}

// ---- audits, policies, auditors ----

// AuditQuery selects audits. Zero fields do not filter.
type AuditQuery struct {
	VersionID *uint64
	Auditor   *common.Address
	PolicyID  *uint64
	Passed    *bool
	Desc      bool
	Page      PageArgs
}

// Audits returns a page of audits, by id.
func (s *Store) Audits(ctx context.Context, q AuditQuery) (*Page[*modeldao.Audit], error) {
	l := pageList{name: "audits", zset: s.keys.Key("audits"), desc: q.Desc, hash: s.keys.Key("audit"), sameScores: true}
	if q.VersionID != nil {
		l.filters = append(l.filters, s.keys.Key("audits", "version", decID(*q.VersionID)))
	}
	if q.Auditor != nil {
		l.filters = append(l.filters, s.keys.Key("audits", "auditor", Addr(*q.Auditor)))
	}
	if q.PolicyID != nil {
		l.filters = append(l.filters, s.keys.Key("audits", "policy", decID(*q.PolicyID)))
	}
	var keep func(*modeldao.Audit) bool
	if q.Passed != nil {
		keep = func(a *modeldao.Audit) bool { return a.Passed == *q.Passed }
	}
	return fetchList(ctx, s, l, q.Page, keep)
}

// AuditsByID returns audits by id, nil for unknown ones.
func (s *Store) AuditsByID(ctx context.Context, ids []uint64) ([]*modeldao.Audit, error) {
	return readMany[modeldao.Audit](ctx, s, s.keys.Key("audit"), decIDs(ids))
}

func (s *Store) auditsOf(ctx context.Context, kind string, owners []string, desc bool, args PageArgs) ([]*Page[*modeldao.Audit], error) {
	ls := make([]pageList, len(owners))
	for i, o := range owners {
		ls[i] = pageList{name: "audits", zset: s.keys.Key("audits", kind, o), desc: desc, hash: s.keys.Key("audit")}
	}
	return fetchLists[modeldao.Audit](ctx, s, ls, args)
}

// AuditsOfVersions returns a page of the audits of each version, in one round trip.
func (s *Store) AuditsOfVersions(ctx context.Context, ids []uint64, desc bool, args PageArgs) ([]*Page[*modeldao.Audit], error) {
	return s.auditsOf(ctx, "version", decIDs(ids), desc, args)
}

// AuditsOfPolicies returns a page of the audits under each policy, in one round trip.
func (s *Store) AuditsOfPolicies(ctx context.Context, ids []uint64, desc bool, args PageArgs) ([]*Page[*modeldao.Audit], error) {
	return s.auditsOf(ctx, "policy", decIDs(ids), desc, args)
}

// AuditsOfAuditors returns a page of the audits of each auditor, in one round trip.
func (s *Store) AuditsOfAuditors(ctx context.Context, addrs []common.Address, desc bool, args PageArgs) ([]*Page[*modeldao.Audit], error) {
	owners := make([]string, len(addrs))
	for i, a := range addrs {
		owners[i] = Addr(a)
	}
	return s.auditsOf(ctx, "auditor", owners, desc, args)
}

// Policies returns a page of policies, by id; active filters when not nil.
func (s *Store) Policies(ctx context.Context, active *bool, desc bool, args PageArgs) (*Page[*modeldao.Policy], error) {
	l := pageList{name: "policies", zset: s.keys.Key("policies"), desc: desc, hash: s.keys.Key("policy")}
	var keep func(*modeldao.Policy) bool
	if active != nil {
		keep = func(p *modeldao.Policy) bool { return p.Active == *active }
	}
	return fetchList(ctx, s, l, args, keep)
}

// PoliciesByID returns policies by id, nil for unknown ones.
func (s *Store) PoliciesByID(ctx context.Context, ids []uint64) ([]*modeldao.Policy, error) {
	return readMany[modeldao.Policy](ctx, s, s.keys.Key("policy"), decIDs(ids))
}

// Auditors returns a page of auditors, by first registration; active filters when not nil.
func (s *Store) Auditors(ctx context.Context, active *bool, desc bool, args PageArgs) (*Page[*modeldao.Auditor], error) {
	l := pageList{name: "auditors", zset: s.keys.Key("auditors"), desc: desc, hash: s.keys.Key("auditor")}
	var keep func(*modeldao.Auditor) bool
	if active != nil {
		keep = func(a *modeldao.Auditor) bool { return a.Active == *active }
	}
	return fetchList(ctx, s, l, args, keep)
}

// AuditorsByAddress returns auditors by address, nil for addresses never registered.
func (s *Store) AuditorsByAddress(ctx context.Context, addrs []common.Address) ([]*modeldao.Auditor, error) {
	fields := make([]string, len(addrs))
	for i, a := range addrs {
		fields[i] = Addr(a)
	}
	return readMany[modeldao.Auditor](ctx, s, s.keys.Key("auditor"), fields)
}

// ---- DAO, status, pins ----

// DAOInfo is the DAO's parameters and the sizes of its lists.
type DAOInfo struct {
	modeldao.DAOParams
	ProposalCount int
	DelegateCount int // accounts with voting power
	AccountCount  int // accounts the index has seen
	ModelCount    int
	VersionCount  int
	AuditCount    int
	PolicyCount   int
	AuditorCount  int
}

// Quorum is the quorum at the current total supply: supply × numerator / 100, as
// GovernorVotesQuorumFraction computes it.
func (d *DAOInfo) Quorum() *big.Int {
	if d.TotalSupply == nil {
		return new(big.Int)
	}
	q := new(big.Int).Mul(d.TotalSupply, new(big.Int).SetUint64(d.QuorumNumerator))
	return q.Quo(q, big.NewInt(100))
}

// DAO returns the DAO's parameters and counts in one round trip; ENOTFOUND before the
// indexer has written them.
func (s *Store) DAO(ctx context.Context) (*DAOInfo, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	var params *redis.StringCmd
	var cards [7]*redis.IntCmd
	var accounts *redis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		params = p.Get(ctx, s.keys.DAO())
		for i, k := range []string{"proposals", "accounts:power", "models", "versions", "audits", "policies", "auditors"} {
			cards[i] = p.ZCard(ctx, s.keys.Prefix()+k)
		}
		accounts = p.HLen(ctx, s.keys.Key("account"))
		return nil
	})
	if errors.Is(err, redis.Nil) || err == nil && params.Err() == redis.Nil {
		return nil, modeldao.Errorf(modeldao.ENOTFOUND, "the DAO is not indexed yet: start the indexer and retry")
	}
	if err != nil {
		return nil, readErr(err)
	}
	d := &DAOInfo{}
	if err := json.Unmarshal([]byte(params.Val()), &d.DAOParams); err != nil {
		return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "the DAO record in Redis is not valid JSON: reindex")
	}
	d.ProposalCount, d.DelegateCount, d.ModelCount = int(cards[0].Val()), int(cards[1].Val()), int(cards[2].Val())
	d.VersionCount, d.AuditCount, d.PolicyCount, d.AuditorCount = int(cards[3].Val()), int(cards[4].Val()), int(cards[5].Val()), int(cards[6].Val())
	d.AccountCount = int(accounts.Val())
	return d, nil
}

func decID(x uint64) string { return strconv.FormatUint(x, 10) }

// Pins returns the pin records of the given versions in one HMGET, nil where a version has
// none (not approved yet, or the indexer has not queued it).
func (s *Store) Pins(ctx context.Context, versionIDs []uint64) ([]*modeldao.Pin, error) {
	return readMany[modeldao.Pin](ctx, s, s.keys.Pin(), decIDs(versionIDs))
}
