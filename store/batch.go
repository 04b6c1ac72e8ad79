package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
)

// Checkpoint is the last block applied to the projection.
type Checkpoint struct {
	Number uint64
	Hash   common.Hash
}

func (c Checkpoint) String() string { return fmt.Sprintf("%d:%s", c.Number, c.Hash.Hex()) }

func parseCheckpoint(s string) (Checkpoint, error) {
	n, h, ok := strings.Cut(s, ":")
	num, err := strconv.ParseUint(n, 10, 64)
	if !ok || err != nil || !strings.HasPrefix(h, "0x") || len(h) != 66 {
		return Checkpoint{}, modeldao.Errorf(modeldao.EINTERNAL, "checkpoint %q is corrupt: run `modeldao reindex`", s)
	}
	return Checkpoint{Number: num, Hash: common.HexToHash(h)}, nil
}

// Checkpoint returns the checkpoint, and false when nothing was indexed yet.
func (s *Store) Checkpoint(ctx context.Context) (Checkpoint, bool, error) {
	v, err := s.rdb.Get(ctx, s.keys.Checkpoint()).Result()
	if errors.Is(err, redis.Nil) {
		return Checkpoint{}, false, nil
	}
	if err != nil {
		return Checkpoint{}, false, redisDown(err, "read checkpoint")
	}
	cp, err := parseCheckpoint(v)
	return cp, err == nil, err
}

func redisDown(err error, what string) error {
	return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "redis: %s", what)
}

// ErrConflict is returned (wrapped) when the checkpoint or the lease changed under a commit:
// another indexer wrote, or this one lost its lease. Nothing was written.
var ErrConflict = modeldao.Errorf(modeldao.ECONFLICT, "another indexer moved the checkpoint or holds the lease; nothing was written")

// value is the state of one hash field or string key as the batch knows it.
type value struct {
	s      string
	exists bool
	op     int32 // 1 + the index in Batch.ops of the batch's write that set it; 0: none
}

// zstate is what the batch knows of one sorted-set member: its state now and, when a record
// proved it (zknown), its state before the batch.
type zstate struct {
	score              float64
	present            bool
	baseKnown, basePre bool    // basePre: the member was in the set before the batch
	baseScore          float64 // its score then
	op                 int32   // 1 + the index in Batch.ops of the batch's last write of it; 0: none
}

// atBase reports whether the member is as it was before the batch, as far as a record says.
func (z zstate) atBase() bool {
	return z.baseKnown && z.present == z.basePre && (!z.present || z.score == z.baseScore)
}

type fieldRef struct{ key, field string } // field "" with str=true means a string key

// opKind enumerates the writes a batch sends, each invertible for the undo log.
type opKind byte

const (
	opHSet opKind = 'h' // key field value
	opHDel opKind = 'd' // key field
	opSet  opKind = 's' // key value
	opDel  opKind = 'x' // key (string)
	opZAdd opKind = 'z' // key member score
	opZRem opKind = 'r' // key member
)

// undoOp is the JSON form of an inverse operation in an undo list.
type undoOp struct {
	K   opKind  `json:"o"`
	Key string  `json:"k"`
	F   string  `json:"f,omitempty"`
	V   string  `json:"v,omitempty"`
	S   float64 `json:"s,omitempty"`
}

// undoJSON is undoOp's stored form. Keys, members and values may hold a chain string's
// bytes (versions:tag:<t>, versions:license:<l>), which need not be UTF-8: modeldao.Text
// keeps them exact, where a plain string would come back with U+FFFD and a rollback would
// write to another key.
type undoJSON struct {
	K   opKind        `json:"o"`
	Key modeldao.Text `json:"k"`
	F   modeldao.Text `json:"f,omitempty"`
	V   modeldao.Text `json:"v,omitempty"`
	S   float64       `json:"s,omitempty"`
}

func (o undoOp) MarshalJSON() ([]byte, error) { return o.appendJSON(nil), nil }

// appendJSON appends o's stored form (undoJSON's, which UnmarshalJSON reads) without
// reflection: an undo list holds an entry per write in the window, and encoding them went
// through encoding/json's reflection for every field.
func (o undoOp) appendJSON(b []byte) []byte {
	b = append(b, `{"o":`...)
	b = strconv.AppendUint(b, uint64(o.K), 10)
	b = append(b, `,"k":`...)
	b = appendText(b, o.Key)
	if o.F != "" {
		b = append(b, `,"f":`...)
		b = appendText(b, o.F)
	}
	if o.V != "" {
		b = append(b, `,"v":`...)
		b = appendText(b, o.V)
	}
	if o.S != 0 {
		b = append(b, `,"s":`...)
		b = strconv.AppendFloat(b, o.S, 'g', -1, 64) // exact round trip, valid JSON
	}
	return append(b, '}')
}

// appendText appends s as modeldao.Text encodes it. Printable ASCII, which keys, members
// and the old JSON records of hash writes are, is escaped here as encoding/json escapes it
// (quotes and backslashes, and <, > and & as \u00XX); a string with anything else goes to
// Text's own encoding (escapes of control and non-ASCII characters, or the hex form of
// invalid UTF-8). One pass over a table: the old records make this megabytes per batch.
func appendText(b []byte, s string) []byte {
	at := len(b)
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		esc := textEscapes[s[i]]
		if esc == "" {
			continue
		}
		if esc == textOther {
			buf, _ := modeldao.Text(s).MarshalJSON()
			return append(b[:at], buf...)
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// textOther marks, in textEscapes, the bytes appendText leaves to modeldao.Text.
const textOther = "other"

// textEscapes is what appendText writes for each byte: "" for itself, an escape, or
// textOther. Read-only after init.
var textEscapes = func() (t [256]string) {
	for c := range t {
		if c < 0x20 || c >= 0x7f {
			t[c] = textOther
		}
	}
	t['"'], t['\\'], t['<'], t['>'], t['&'] = `\"`, `\\`, `\u003c`, `\u003e`, `\u0026`
	return t
}()

func (o *undoOp) UnmarshalJSON(b []byte) error {
	var u undoJSON
	if err := json.Unmarshal(b, &u); err != nil {
		return err
	}
	*o = undoOp{K: u.K, Key: string(u.Key), F: string(u.F), V: string(u.V), S: u.S}
	return nil
}

type op struct {
	undoOp
}

// entity is a decoded JSON record cached by the batch, written back when dirty.
type entity struct {
	ref   fieldRef
	str   bool // a string key rather than a hash field
	v     any
	dirty bool
}

// Batch applies the blocks of one commit. It reads through a cache (filled by Prefetch in
// one pipelined round trip, or by single reads as a fallback) and buffers writes, which
// Commit sends in one MULTI/EXEC together with the new checkpoint and, for the blocks inside
// the undo window, the inverse of every write.
type Batch struct {
	s    *Store
	ctx  context.Context
	conn redis.Cmdable // the watched connection

	vals     map[fieldRef]value
	zscores  map[fieldRef]zstate
	entities map[fieldRef]*entity
	order    []*entity         // dirty entities in first-dirtied order, for deterministic writes
	keys     map[string]string // the keys of the batch's writes, one copy each (intern)

	// ops are the writes of the commit. Only the last write of a field or member counts
	// (the commit is atomic, and writes of different fields or members commute): a write
	// that replaces an earlier one of the batch empties the earlier one's slot (K 0, skipped
	// by the commit), and a member that returns to its state before the batch needs no
	// write at all. So an ordering by amount, whose member changes with every vote or
	// power change, costs the commit one ZREM and one ZADD per account, not one per event
	// (what made a batch's memory grow with its events, see BENCHMARKS.md).
	ops        []op
	liveOps    int // ops not emptied
	undo       map[uint64][]undoOp
	pending    []pendingUndo // inverses waiting for their old values (resolveUndo)
	block      modeldao.Block
	inUndo     bool // the current block is inside the undo window
	head       uint64
	pinJobs    []PinJob
	openAdded  []string
	power      powerBatch // voting power history (power.go)
	notes      []note     // the outbox entries the batch derived (outbox.go)
	outboxHigh uint64     // outbox:high when the batch began
	reads      int        // fallback reads and undo-resolving pipelines, for the tests and logs
	err        error
}

func newBatch(ctx context.Context, s *Store, conn redis.Cmdable) *Batch {
	return &Batch{
		s: s, ctx: ctx, conn: conn,
		vals:     map[fieldRef]value{},
		zscores:  map[fieldRef]zstate{},
		entities: map[fieldRef]*entity{},
		keys:     map[string]string{},
		undo:     map[uint64][]undoOp{},
	}
}

// prefetch loads the given hash fields (and string keys, field "") in one pipeline.
func (b *Batch) prefetch(refs []fieldRef, strs []string) error {
	byKey := map[string][]string{}
	for _, r := range refs {
		if _, ok := b.vals[r]; ok {
			continue
		}
		byKey[r.key] = append(byKey[r.key], r.field)
	}
	var strKeys []string
	for _, k := range strs {
		if _, ok := b.vals[fieldRef{k, ""}]; !ok {
			strKeys = append(strKeys, k)
		}
	}
	if len(byKey) == 0 && len(strKeys) == 0 {
		return nil
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pipe := b.conn.Pipeline()
	cmds := make([]*redis.SliceCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.HMGet(b.ctx, k, byKey[k]...)
	}
	var strCmds []*redis.StringCmd
	for _, k := range strKeys {
		strCmds = append(strCmds, pipe.Get(b.ctx, k))
	}
	if _, err := pipe.Exec(b.ctx); err != nil && !errors.Is(err, redis.Nil) {
		return redisDown(err, "prefetch")
	}
	for i, k := range keys {
		for j, v := range cmds[i].Val() {
			s, ok := v.(string)
			b.vals[fieldRef{k, byKey[k][j]}] = value{s: s, exists: ok}
		}
	}
	for i, k := range strKeys {
		s, err := strCmds[i].Result()
		b.vals[fieldRef{k, ""}] = value{s: s, exists: err == nil}
	}
	return nil
}

// get returns the current value of a hash field (str=false) or string key.
func (b *Batch) get(r fieldRef, str bool) (value, error) {
	if v, ok := b.vals[r]; ok {
		return v, nil
	}
	b.reads++
	var s string
	var err error
	if str {
		s, err = b.conn.Get(b.ctx, r.key).Result()
	} else {
		s, err = b.conn.HGet(b.ctx, r.key, r.field).Result()
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return value{}, redisDown(err, "read "+r.key)
	}
	v := value{s: s, exists: err == nil}
	b.vals[r] = v
	return v, nil
}

// load returns the decoded record at r (creating a zero one when absent; ok reports
// whether it existed). The record is cached: later loads in the batch return the same
// pointer, and changes are written when it is marked dirty.
func load[T any](b *Batch, key, field string, str bool) (*T, bool, error) {
	r := fieldRef{key, field}
	if e, ok := b.entities[r]; ok {
		return e.v.(*T), true, nil
	}
	v, err := b.get(r, str)
	if err != nil {
		return nil, false, err
	}
	t := new(T)
	if v.exists {
		if err := json.Unmarshal([]byte(v.s), t); err != nil {
			return nil, false, modeldao.WrapError(modeldao.EINTERNAL, err, "record %s %s is corrupt: run `modeldao reindex`", key, field)
		}
	}
	b.entities[r] = &entity{ref: r, str: str, v: t}
	return t, v.exists, nil
}

// touch marks the record at (key, field) as changed.
func (b *Batch) touch(key, field string) {
	e := b.entities[fieldRef{key, field}]
	if e == nil {
		panic("store: touch of a record that was not loaded: " + key + " " + field) // programming error in the projection
	}
	if !e.dirty {
		e.dirty = true
		b.order = append(b.order, e)
	}
}

// flushEntities turns dirty records into writes.
func (b *Batch) flushEntities() {
	for _, e := range b.order {
		var buf []byte
		if a, ok := e.v.(*modeldao.Account); ok {
			buf = appendAccount(nil, a) // most of a backfill's records (encode.go)
		} else {
			var err error
			if buf, err = json.Marshal(e.v); err != nil {
				panic(fmt.Sprintf("store: marshal %T: %v", e.v, err)) // our own types always marshal
			}
		}
		if e.str {
			b.write(undoOp{K: opSet, Key: e.ref.key, V: string(buf)})
		} else {
			b.write(undoOp{K: opHSet, Key: e.ref.key, F: e.ref.field, V: string(buf)})
		}
		e.dirty = false
	}
	b.order = b.order[:0]
}

// write buffers one hash/string write, recording its inverse when in the undo window.
// When the batch does not know the old value yet, the inverse is left pending: resolveUndo
// reads every pending old value in one pipelined round trip before the commit, instead of
// one synchronous read per write (what made the undo window slow).
func (b *Batch) write(o undoOp) {
	str := o.K == opSet || o.K == opDel
	o.Key = b.intern(o.Key)
	r := fieldRef{o.Key, o.F}
	old, known := b.vals[r]
	exists := o.K == opHSet || o.K == opSet
	if known && old.exists == exists && old.s == o.V {
		return // changes nothing: no write, no inverse
	}
	if b.inUndo {
		inv := undoOp{Key: o.Key, F: o.F}
		if known {
			b.undo[b.block.Number] = append(b.undo[b.block.Number], hashInverse(inv, str, old))
		} else {
			b.undo[b.block.Number] = append(b.undo[b.block.Number], inv)
			b.pending = append(b.pending, pendingUndo{block: b.block.Number, i: len(b.undo[b.block.Number]) - 1, str: str, write: o})
		}
	}
	b.replaceOp(old.op)
	v := value{exists: exists, op: b.appendOp(o)}
	if exists {
		v.s = o.V
	}
	b.vals[r] = v
}

// appendOp adds o to the commit's writes and returns 1 + its index.
func (b *Batch) appendOp(o undoOp) int32 {
	b.ops = append(b.ops, op{o})
	b.liveOps++
	return int32(len(b.ops))
}

// replaceOp empties the write at 1 + index i (0: none), which a later write of the same
// field or member replaces.
func (b *Batch) replaceOp(i int32) {
	if i > 0 {
		b.ops[i-1] = op{}
		b.liveOps--
	}
}

// intern returns the batch's copy of key: the key functions build a new string at every
// call, and a batch writes the same few keys many times.
func (b *Batch) intern(key string) string {
	if k, ok := b.keys[key]; ok {
		return k
	}
	b.keys[key] = key
	return key
}

// hashInverse fills inv (key and field set) with the write that restores old.
func hashInverse(inv undoOp, str bool, old value) undoOp {
	switch {
	case old.exists && str:
		inv.K, inv.V = opSet, old.s
	case old.exists:
		inv.K, inv.V = opHSet, old.s
	case str:
		inv.K = opDel
	default:
		inv.K = opHDel
	}
	return inv
}

// pendingUndo is an inverse whose old value was not known when its write was buffered:
// undo[block][i], to be completed by resolveUndo. It is the batch's first write of its
// field or member, or the first after the member returned to its state before the batch
// (zwrite forgets it then), so the old value is what Redis holds now.
type pendingUndo struct {
	block uint64
	i     int
	str   bool   // a string key (hash writes only)
	z     bool   // a sorted-set write
	write undoOp // the write whose inverse is pending
}

// resolveUndo reads the old values of the pending inverses in one pipeline, completes
// them, and drops the inverses of hash writes that changed nothing (as write does for known
// values).
func (b *Batch) resolveUndo() error {
	if len(b.pending) == 0 {
		return nil
	}
	pipe := b.conn.Pipeline()
	cmds := make([]redis.Cmder, len(b.pending))
	for i, pu := range b.pending {
		switch {
		case pu.z:
			cmds[i] = pipe.ZScore(b.ctx, pu.write.Key, pu.write.F)
		case pu.str:
			cmds[i] = pipe.Get(b.ctx, pu.write.Key)
		default:
			cmds[i] = pipe.HGet(b.ctx, pu.write.Key, pu.write.F)
		}
	}
	b.reads++
	if _, err := pipe.Exec(b.ctx); err != nil && !errors.Is(err, redis.Nil) {
		return redisDown(err, "read old values for the undo log")
	}
	noop := map[uint64]map[int]bool{}
	for i, pu := range b.pending {
		inv := &b.undo[pu.block][pu.i]
		if pu.z {
			s, err := cmds[i].(*redis.FloatCmd).Result()
			if err == nil {
				inv.K, inv.S = opZAdd, s
			} else {
				inv.K = opZRem
			}
			continue
		}
		s, err := cmds[i].(*redis.StringCmd).Result()
		old := value{s: s, exists: err == nil}
		*inv = hashInverse(*inv, pu.str, old)
		o := pu.write
		if old.exists == (o.K == opHSet || o.K == opSet) && old.s == o.V {
			if noop[pu.block] == nil {
				noop[pu.block] = map[int]bool{}
			}
			noop[pu.block][pu.i] = true
		}
	}
	for n, drop := range noop {
		kept := b.undo[n][:0]
		for i, inv := range b.undo[n] {
			if !drop[i] {
				kept = append(kept, inv)
			}
		}
		b.undo[n] = kept
	}
	b.pending = nil
	return nil
}

// zadd sets member's score in a sorted set.
func (b *Batch) zadd(key, member string, score float64) {
	b.zwrite(undoOp{K: opZAdd, Key: key, F: member, S: score})
}

// zknown tells the batch whether member is in a sorted set, with score 0, when a record
// loaded in this batch proves it (the members of orderings by amount carry the amount, so
// the record says which member exists). It spares the ZSCORE round trip that writing an
// unknown member costs inside the undo window. What the batch already knows is kept.
func (b *Batch) zknown(key, member string, present bool) {
	r := fieldRef{b.intern(key), member}
	if _, ok := b.zscores[r]; ok {
		return
	}
	b.zscores[r] = zstate{present: present, baseKnown: true, basePre: present}
}

// zaddNew adds a member that names its event's place in the chain (a history entry: block
// hash or number and log index), so that it is in the set neither before the batch nor
// earlier in it. It is zknown(…, false) and zadd without the batch's map of members, whose
// hashing of these long members showed in the backfill profiles: no later write replaces
// it, and its inverse is a ZREM.
func (b *Batch) zaddNew(key, member string, score float64) {
	o := undoOp{K: opZAdd, Key: b.intern(key), F: member, S: score}
	if b.inUndo {
		b.undo[b.block.Number] = append(b.undo[b.block.Number], undoOp{K: opZRem, Key: o.Key, F: o.F})
	}
	b.appendOp(o)
}

// zrem removes member from a sorted set.
func (b *Batch) zrem(key, member string) { b.zwrite(undoOp{K: opZRem, Key: key, F: member}) }

func (b *Batch) zwrite(o undoOp) {
	o.Key = b.intern(o.Key)
	r := fieldRef{o.Key, o.F}
	old, known := b.zscores[r]
	if b.inUndo {
		var inv undoOp
		switch {
		case !known:
			inv = undoOp{Key: o.Key, F: o.F}
			b.pending = append(b.pending, pendingUndo{block: b.block.Number, i: len(b.undo[b.block.Number]), z: true, write: o})
		case old.present:
			inv = undoOp{K: opZAdd, Key: o.Key, F: o.F, S: old.score}
		default:
			inv = undoOp{K: opZRem, Key: o.Key, F: o.F}
		}
		b.undo[b.block.Number] = append(b.undo[b.block.Number], inv)
	}
	now := old // baseKnown false when !known
	now.present = o.K == opZAdd
	now.score = 0
	if now.present {
		now.score = o.S
	}
	b.replaceOp(old.op)
	if now.atBase() {
		// Back to its state before the batch: neither write is needed, and forgetting the
		// member is exact (a later write reads, or proves, the state before the batch).
		delete(b.zscores, r)
		return
	}
	now.op = b.appendOp(o)
	b.zscores[r] = now
}

// fail records the first error of a write; Commit returns it.
func (b *Batch) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

func applyOp(ctx context.Context, p redis.Pipeliner, o undoOp) {
	switch o.K {
	case opHSet:
		p.HSet(ctx, o.Key, o.F, o.V)
	case opHDel:
		p.HDel(ctx, o.Key, o.F)
	case opSet:
		p.Set(ctx, o.Key, o.V, 0)
	case opDel:
		p.Del(ctx, o.Key)
	case opZAdd:
		p.ZAdd(ctx, o.Key, redis.Z{Score: o.S, Member: o.F})
	case opZRem:
		p.ZRem(ctx, o.Key, o.F)
	}
}
