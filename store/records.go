package store

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Records served from process memory per checkpoint.
//
// Every write of the projection is a commit of the indexer (or a rollback) that moves the
// checkpoint in the same MULTI/EXEC; so a record read at checkpoint C is the record at C
// for as long as the checkpoint stays C. The store keeps the raw records it read, by (hash,
// field), for the one checkpoint it saw last (recordCache); a read that knows its checkpoint
// takes them from memory and asks Redis only for the others, with the checkpoint in the
// same MULTI so that it knows they belong to the same one. A different checkpoint empties
// the cache. Pin records are the exception: the pinner writes them outside commits, so they
// are always read from Redis.
//
// What a read "knows" its checkpoint from: a page read (pagesInRedis) reads the checkpoint
// around its ids, so its records are those of the ids' checkpoint; any other read uses the
// request's view (WithView), the checkpoint the request saw first, so that one request
// reads one checkpoint whenever its records are in memory. A read without either asks Redis
// for all its records with the checkpoint, and fills the cache.

// recordCacheBytes bounds the keys and raw records held for one checkpoint; past it the
// cache is emptied and refills (the working set of the API's pages is a few MB).
const recordCacheBytes = 16 << 20

type recordKey struct{ hash, field string }

type recordCache struct {
	mu    sync.RWMutex
	cp    string // the checkpoint of every entry; "" when empty
	m     map[recordKey]string
	bytes int
}

func newRecordCache() *recordCache { return &recordCache{m: map[recordKey]string{}} }

// get returns the record (hash, field) at cp: ok false when it is not known at cp; "" with
// ok true when the record is known to be missing.
func (c *recordCache) get(cp, hash, field string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.cp != cp {
		return "", false
	}
	v, ok := c.m[recordKey{hash, field}]
	return v, ok
}

// fill sets vals[i] to the record (hash, fields[i]) at cp where it is known, under one
// read lock for all of them (its shared counter is contended by every request), and
// returns unknown with the indexes of the others appended.
func (c *recordCache) fill(cp, hash string, fields, vals []string, unknown []int) []int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for i, f := range fields {
		v, ok := c.m[recordKey{hash, f}]
		if !ok || c.cp != cp {
			unknown = append(unknown, i)
			continue
		}
		vals[i] = v
	}
	return unknown
}

// put stores records read at cp, emptying the cache first when it holds another checkpoint.
func (c *recordCache) put(cp, hash string, fields, vals []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cp != cp {
		c.cp, c.m, c.bytes = cp, map[recordKey]string{}, 0
	}
	for i, f := range fields {
		k := recordKey{hash, f}
		if _, ok := c.m[k]; ok {
			continue
		}
		n := len(hash) + len(f) + len(vals[i])
		if c.bytes+n > recordCacheBytes {
			c.m, c.bytes = map[recordKey]string{}, 0
		}
		// The field may share its memory with the other fields of its read (Addrs).
		k.field = strings.Clone(f)
		c.m[k] = vals[i]
		c.bytes += n
	}
}

// View is the checkpoint one request reads at: the first one its reads saw. See WithView.
type view struct {
	mu sync.Mutex
	cp string
}

type viewKey struct{}

// WithView returns a context whose reads share one view of the index: records in memory at
// the checkpoint the request saw first are taken from memory without a round trip. The API
// calls it once per operation; a view already in ctx is kept.
func WithView(ctx context.Context) context.Context {
	if viewOf(ctx) != nil {
		return ctx
	}
	return context.WithValue(ctx, viewKey{}, &view{})
}

// WithViewAt is WithView for a request that has read the checkpoint already (cp, as
// Checkpoint.String writes it): its first read then needs no round trip when its page is in
// memory at cp.
func WithViewAt(ctx context.Context, cp string) context.Context {
	return context.WithValue(ctx, viewKey{}, &view{cp: cp})
}

func viewOf(ctx context.Context) *view {
	v, _ := ctx.Value(viewKey{}).(*view)
	return v
}

func (v *view) checkpoint() string {
	if v == nil {
		return ""
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.cp
}

// observe records that a read of the request saw cp. A commit between two reads of one
// request moves the view to the newer checkpoint (the reads that follow use it): each read
// is of one checkpoint, but an operation of several reads may span a commit, as it did
// before the view.
func (v *view) observe(cp string) {
	if v == nil || cp == "" {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.cp = cp
}

// fieldGroup is a read of fields of one hash; vals receives the records, "" where missing.
type fieldGroup struct {
	hash   string
	fields []string
	vals   []string
}

// cacheable reports whether the records of hash only change with the checkpoint: not the
// hashes the pinner writes outside commits (pin records, release summaries, evidence pins).
func (s *Store) cacheable(hash string) bool {
	return hash != "" && hash != s.volatile[0] && hash != s.volatile[1] && hash != s.volatile[2]
}

// readFields fills gs with the records at one checkpoint and returns it ("" when nothing is
// indexed). at, when not "", is the checkpoint the caller needs (that of its page's ids);
// otherwise the request's view, if it has one, is used. Records known at that checkpoint
// come from memory; the others come from Redis in one MULTI with the checkpoint. When the
// checkpoint read is not the one expected, every record is read again at the new one, so
// that the answer is of one checkpoint (the returned one).
func (s *Store) readFields(ctx context.Context, at string, gs []fieldGroup) (string, error) {
	v := viewOf(ctx)
	want := at
	if want == "" {
		want = v.checkpoint()
	}
	type miss struct{ g, i int }
	var misses []miss
	var unknown []int
	for gi := range gs {
		g := &gs[gi]
		g.vals = make([]string, len(g.fields))
		if want != "" && s.cacheable(g.hash) {
			unknown = s.recs.fill(want, g.hash, g.fields, g.vals, unknown[:0])
			for _, i := range unknown {
				misses = append(misses, miss{gi, i})
			}
			continue
		}
		for i := range g.fields {
			misses = append(misses, miss{gi, i})
		}
	}
	if len(misses) == 0 {
		return want, nil
	}
	if err := live(ctx); err != nil {
		return "", err
	}
	for attempt := 0; ; attempt++ {
		// The fields to read, by group, in the order of misses.
		byGroup := make([][]string, len(gs))
		for _, m := range misses {
			byGroup[m.g] = append(byGroup[m.g], gs[m.g].fields[m.i])
		}
		var cpCmd *redis.StringCmd
		cmds := make([]*redis.SliceCmd, len(gs))
		_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			cpCmd = p.Get(ctx, s.keys.Checkpoint())
			for gi, fs := range byGroup {
				if len(fs) > 0 {
					cmds[gi] = p.HMGet(ctx, gs[gi].hash, fs...)
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return "", readErr(err)
		}
		got := cpCmd.Val()
		next := make([]int, len(gs))
		for _, m := range misses {
			c := cmds[m.g].Val()
			if k := next[m.g]; k < len(c) {
				gs[m.g].vals[m.i], _ = c[k].(string)
			}
			next[m.g]++
		}
		if got != "" {
			for gi, fs := range byGroup {
				if len(fs) > 0 && s.cacheable(gs[gi].hash) {
					vals := make([]string, len(fs))
					for k, x := range cmds[gi].Val() {
						vals[k], _ = x.(string)
					}
					s.recs.put(got, gs[gi].hash, fs, vals)
				}
			}
		}
		if got == want || len(misses) == countFields(gs) || attempt > 0 {
			// One checkpoint: the memory's and Redis's agree, or everything came from Redis.
			if at == "" {
				v.observe(got)
			}
			return got, nil
		}
		// A commit landed since want: read every field at the new checkpoint.
		misses = misses[:0]
		for gi := range gs {
			for i := range gs[gi].fields {
				misses = append(misses, miss{gi, i})
			}
		}
		want = got
	}
}

func countFields(gs []fieldGroup) int {
	n := 0
	for _, g := range gs {
		n += len(g.fields)
	}
	return n
}

// Pages served from process memory per checkpoint: the pages a pagesInRedis call read
// (members, scores, records, flags, cursors), by their lists and windows, for the
// checkpoint the store saw last. A read whose request already knows its checkpoint (the
// view) takes them without a round trip; the first read of a request asks Redis for the
// checkpoint alone (one GET, not the pages and their replies) and then looks.

// pageCacheBytes bounds the records (most of a page's size) of the pages held for one
// checkpoint; past it the cache is emptied and refills.
const pageCacheBytes = 16 << 20

type pageCache struct {
	mu    sync.RWMutex
	cp    string
	m     map[string][]rawPage
	bytes int
}

func newPageCache() *pageCache { return &pageCache{m: map[string][]rawPage{}} }

// get looks the pages of key up; key is pagesKey's bytes (a lookup by string(key) does not
// copy them).
func (c *pageCache) get(cp string, key []byte) ([]rawPage, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.cp != cp {
		return nil, false
	}
	p, ok := c.m[string(key)]
	return p, ok
}

// put stores pages read at cp; they must not be modified afterwards (readers share them).
func (c *pageCache) put(cp, key string, pages []rawPage) {
	n := len(key)
	for _, p := range pages {
		for i, m := range p.members {
			n += len(m) + len(p.cursors[i]) + 8
		}
		for _, r := range p.records {
			n += len(r)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cp != cp || c.bytes+n > pageCacheBytes {
		c.cp, c.m, c.bytes = cp, map[string][]rawPage{}, 0
	}
	if _, ok := c.m[key]; !ok {
		c.m[key] = pages
		c.bytes += n
	}
}

// pageKeyBufs holds the buffers pagesKey writes into: a key is looked up far more often
// than stored, and the key of 50 lists (the audits of a page of versions) is several KB.
var pageKeyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledPageKey keeps a rare huge key from pinning its memory in the pool.
const maxPooledPageKey = 64 << 10

// pagesKey appends to dst what identifies the pages of ls in windows ws: everything the
// reads depend on.
func pagesKey(dst []byte, ls []pageList, ws []pageWindow) []byte {
	// Sized once: the key of 50 lists (the audits of a page of versions) regrew its buffer
	// several times (2 % of that page's CPU).
	n := 0
	for i, l := range ls {
		n += len(l.name) + len(l.key()) + len(l.hash) + len(l.prefix) + len(l.suffix) + 48
		for _, p := range []*listPos{ws[i].after, ws[i].before} {
			if p != nil {
				n += len(p.member) + 26
			}
		}
	}
	b := slices.Grow(dst, n)
	for i, l := range ls {
		w := ws[i]
		b = append(b, l.name...)
		b = append(b, 0)
		b = append(b, l.key()...)
		b = append(b, 0)
		b = append(b, l.hash...)
		b = append(b, 0)
		b = append(b, l.prefix...)
		b = append(b, 0)
		b = append(b, l.suffix...)
		b = append(b, 0)
		b = strconv.AppendBool(b, l.desc)
		b = strconv.AppendInt(b, int64(l.keyLen), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(w.n), 10)
		b = strconv.AppendBool(b, w.fromEnd)
		for _, p := range []*listPos{w.after, w.before} {
			b = append(b, 0)
			if p != nil {
				b = strconv.AppendFloat(b, p.score, 'g', -1, 64)
				b = append(b, 0)
				b = append(b, p.member...)
			}
		}
		b = append(b, 1)
	}
	return b
}

// currentCheckpoint is the request's checkpoint: its view's, or read from Redis (and made
// the view's). "" when nothing is indexed. The caller has a view.
func (s *Store) currentCheckpoint(ctx context.Context) (string, error) {
	v := viewOf(ctx)
	if cp := v.checkpoint(); cp != "" {
		return cp, nil
	}
	if err := live(ctx); err != nil {
		return "", err
	}
	cp, err := s.rdb.Get(ctx, s.keys.Checkpoint()).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", readErr(err)
	}
	v.observe(cp)
	return cp, nil
}
