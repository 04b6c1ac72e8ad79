package store

import (
	"context"
	"errors"
	"strconv"

	"github.com/modeldao/modeldao"
	"github.com/redis/go-redis/v9"
)

// Paging in Redis: the page script, the pipeline that reads the pages of many lists in one
// round trip, and the records of those pages.

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
	cursors []string // the members' cursors, when made already (pages kept in memory)
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

// pagesInRedis reads one page of each list in two round trips, whatever the number of
// lists: first the members of every page in one pipeline (a page without cursors, the
// usual first page, with plain ZCARD and ZRANGE; a page from a cursor with pageScript),
// then the records of all pages with one HMGET per hash. When Redis does not know the
// script yet (first use, restart, SCRIPT FLUSH), it is loaded and the pipeline sent again.
func (s *Store) pagesInRedis(ctx context.Context, ls []pageList, ws []pageWindow) ([]rawPage, error) {
	if len(ls) == 0 {
		return nil, nil
	}
	// Pages in memory serve requests with a view (the API's): the first read of a request
	// learns the checkpoint with one GET. Other callers read Redis.
	kb := pageKeyBufs.Get().(*[]byte)
	key := pagesKey((*kb)[:0], ls, ws)
	defer func() {
		if cap(key) <= maxPooledPageKey {
			*kb = key[:0]
			pageKeyBufs.Put(kb)
		}
	}()
	if viewOf(ctx) != nil {
		cur, err := s.currentCheckpoint(ctx)
		if err != nil {
			return nil, err
		}
		if out, ok := s.pages.get(cur, key); ok && cur != "" {
			return out, nil
		}
	}
	// The ids and the records must be of one checkpoint: when a commit lands between the
	// two reads (rare: a commit per block), the page is read again.
	for attempt := 0; ; attempt++ {
		out, cp, err := s.pageIDs(ctx, ls, ws)
		if err != nil {
			return nil, err
		}
		got, err := s.readRecords(ctx, cp, ls, out)
		if err != nil {
			return nil, err
		}
		if got == cp || cp == "" || attempt == 2 {
			viewOf(ctx).observe(got)
			if got == cp && cp != "" {
				for i := range out {
					out[i].cursors = make([]string, len(out[i].members))
					for j, m := range out[i].members {
						out[i].cursors[j] = EncodeCursor(ls[i].name, out[i].scores[j], m)
					}
				}
				s.pages.put(cp, string(key), out)
			}
			return out, nil
		}
	}
}

// pageIDs reads the members of one page of each list in one round trip, and the checkpoint
// they belong to: the pipeline reads the checkpoint before and after the pages (it cannot
// be a MULTI: EVALSHA of an unknown script would abort it), and is sent again when a
// commit landed in between (a commit moves the checkpoint). cp is "" when nothing is
// indexed.
func (s *Store) pageIDs(ctx context.Context, ls []pageList, ws []pageWindow) (out []rawPage, cp string, err error) {
	if err := live(ctx); err != nil {
		return nil, "", err
	}
	out = make([]rawPage, len(ls))
	for attempt := 0; ; attempt++ {
		scripts := make([]*redis.Cmd, len(ls))
		cards := make([]*redis.IntCmd, len(ls))
		ranges := make([]*redis.ZSliceCmd, len(ls))
		var cp1, cp2 *redis.StringCmd
		cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			cp1 = p.Get(ctx, s.keys.Checkpoint())
			defer func() { cp2 = p.Get(ctx, s.keys.Checkpoint()) }()
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
		if errors.Is(err, redis.Nil) {
			// No checkpoint yet (nothing indexed): the error that counts is the next one.
			err = nil
			for _, c := range cmds {
				if e := c.Err(); e != nil && !errors.Is(e, redis.Nil) {
					err = e
					break
				}
			}
		}
		if err != nil && attempt == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
			if err := pageScript.Load(ctx, s.rdb).Err(); err != nil {
				return nil, "", readErr(err)
			}
			continue
		}
		if err != nil {
			return nil, "", readErr(err)
		}
		if cp1.Val() != cp2.Val() && attempt < 3 {
			continue
		}
		cp = cp1.Val()
		for i := range ls {
			if scripts[i] != nil {
				if out[i], err = parseScriptReply(scripts[i].Val(), ws[i]); err != nil {
					return nil, "", modeldao.WrapError(modeldao.EINTERNAL, err, "page %s", ls[i].name)
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
		return out, cp, nil
	}
}

// readRecords fills in the records of raw pages read at checkpoint cp: from memory, or one
// HMGET per hash for all of them (readFields). It returns the checkpoint of the records.
func (s *Store) readRecords(ctx context.Context, cp string, ls []pageList, pages []rawPage) (string, error) {
	type ref struct{ page, item int }
	var gs []fieldGroup
	group := map[string]int{}
	var refs [][]ref
	for i, l := range ls {
		if l.hash == "" {
			continue
		}
		pages[i].records = make([]string, len(pages[i].members))
		g, ok := group[l.hash]
		if !ok {
			g = len(gs)
			group[l.hash] = g
			gs = append(gs, fieldGroup{hash: l.hash})
			refs = append(refs, nil)
		}
		for j, m := range pages[i].members {
			gs[g].fields = append(gs[g].fields, l.field(m))
			refs[g] = append(refs[g], ref{i, j})
		}
	}
	if len(gs) == 0 {
		return cp, nil
	}
	got, err := s.readFields(ctx, cp, gs)
	if err != nil {
		return "", err
	}
	for g := range gs {
		for k, v := range gs[g].vals {
			r := refs[g][k]
			pages[r.page].records[r.item] = v
		}
	}
	return got, nil
}
