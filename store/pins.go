package store

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
)

// The pin queue.
//
// The indexer enqueues a job in the same MULTI/EXEC that records an approval (op "pin") or a
// revocation (op "unpin"), with EnqueuePin. A job is a hint, the projection is the truth: a
// consumer re-reads the version record and acts only if its status still matches (APPROVED for
// pin, REVOKED for unpin), otherwise it acks the job as stale. That is how an approval that a
// reorg rolls back cancels its job.
//
// Jobs live in the stream "pinjobs", read through the consumer group PinGroup. A consumer
// acks a finished job and deletes it from the stream in one MULTI/EXEC (with the pin record
// it writes), so the stream holds only unfinished jobs and never needs trimming. A job whose
// attempt failed and that should be retried later moves, in one MULTI/EXEC, from the stream
// to the sorted set "pinjobs:retry" (score: the time it is due, in Unix milliseconds);
// PromotePinRetries moves the due ones back into the stream. Jobs of a consumer that died
// stay in the group's pending list and are taken over with ClaimPinJobs (XAUTOCLAIM).
//
// A stream entry has the fields
//
//	op       "pin" | "unpin"
//	version  version id, decimal
//	cid      weights CID (a hint: consumers use the CID of the version record)
//	sha256   0x + 64 hex digits, the on-chain digest of the weights file (a hint as well)
//	block    number of the block whose commit enqueued the job, decimal

// PinGroup is the consumer group of the pin queue.
const PinGroup = "pinners"

// Pin job operations and the job (root package's, named here for the store's callers).
const (
	PinOpPin   = modeldao.PinOpPin
	PinOpUnpin = modeldao.PinOpUnpin
)

// PinJob is a pin or unpin job of the pin queue.
type PinJob = modeldao.PinJob

// PinDelivery is a job as a consumer received it.
type PinDelivery struct {
	ID  string // stream entry id, what AckPinJob and RetryPinJob take
	Job PinJob
	// Err is set when the entry could not be parsed into a job; the consumer should ack
	// (drop) it and log Err.
	Err error
}

// EnqueuePin queues job on pipe, which should be the MULTI/EXEC (TxPipeline) that records the
// approval or revocation: XADD to the pin queue and, for a pin job, the pin record of the
// version set to QUEUED with the job's CID (attempts reset). An unpin job leaves the pin
// record as it is. Errors surface when the pipeline is executed.
func (k Keys) EnqueuePin(pipe redis.Pipeliner, ctx context.Context, job PinJob) {
	k.xaddPinJob(ctx, pipe, job)
	if job.Op == PinOpPin {
		rec, _ := json.Marshal(modeldao.Pin{
			VersionID: job.VersionID,
			CID:       modeldao.Text(job.CID),
			Status:    modeldao.PinQueued,
			UpdatedAt: time.Now().UTC(),
		})
		pipe.HSet(ctx, k.Pin(), strconv.FormatUint(job.VersionID, 10), rec)
	}
}

// xaddPinJob appends job to the pin queue on pipe: the one encoder of a job, for the
// indexer's commits and EnqueuePin alike (parsePinJob is its inverse).
func (k Keys) xaddPinJob(ctx context.Context, pipe redis.Pipeliner, job PinJob) {
	pipe.XAdd(ctx, k.pinJobXAdd(job))
}

// pinJobXAdd is the XADD of job, for xaddPinJob and the commit's multiWriter.
func (k Keys) pinJobXAdd(job PinJob) *redis.XAddArgs {
	return &redis.XAddArgs{Stream: k.PinJobs(), Values: pinJobFields(job)}
}

// pinJobFields returns the stream entry fields of the job, in a fixed order.
func pinJobFields(j PinJob) []string {
	return []string{
		"op", j.Op,
		"version", strconv.FormatUint(j.VersionID, 10),
		"cid", j.CID,
		"sha256", j.SHA256.Hex(),
		"block", strconv.FormatUint(j.Block, 10),
	}
}

// parsePinJob parses the fields of a stream entry.
func parsePinJob(values map[string]any) (PinJob, error) {
	str := func(k string) string {
		s, _ := values[k].(string)
		return s
	}
	var j PinJob
	if len(values) == 0 {
		return j, modeldao.Errorf(modeldao.EINVALID, "pin job has no fields (deleted entry)")
	}
	j.Op = str("op")
	if j.Op != PinOpPin && j.Op != PinOpUnpin {
		return j, modeldao.Errorf(modeldao.EINVALID, "pin job op %q: want %q or %q", j.Op, PinOpPin, PinOpUnpin)
	}
	var err error
	if j.VersionID, err = strconv.ParseUint(str("version"), 10, 64); err != nil || j.VersionID == 0 {
		return j, modeldao.Errorf(modeldao.EINVALID, "pin job version %q: want a decimal version id > 0", str("version"))
	}
	j.CID = str("cid")
	if h := str("sha256"); h != "" {
		b, err := hexBytes(h)
		if err != nil || len(b) != 32 {
			return j, modeldao.Errorf(modeldao.EINVALID, "pin job sha256 %q: want 0x and 64 hex digits", h)
		}
		j.SHA256 = common.BytesToHash(b)
	}
	if b := str("block"); b != "" {
		if j.Block, err = strconv.ParseUint(b, 10, 64); err != nil {
			return j, modeldao.Errorf(modeldao.EINVALID, "pin job block %q: want a decimal block number", b)
		}
	}
	return j, nil
}

func hexBytes(s string) ([]byte, error) {
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return nil, errors.New("no 0x prefix")
	}
	return hex.DecodeString(s[2:])
}

func pinRedisErr(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "redis: "+format, args...)
}

// EnsurePinGroup creates the consumer group PinGroup of the pin queue, and the stream if it
// does not exist yet, reading from the start of the stream so that jobs enqueued before the
// first consumer are not missed. It does nothing if the group exists.
func (s *Store) EnsurePinGroup(ctx context.Context) error {
	err := s.rdb.XGroupCreateMkStream(ctx, s.keys.PinJobs(), PinGroup, "0").Err()
	if err != nil && strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return nil
	}
	return pinRedisErr(err, "creating consumer group %s on %s", PinGroup, s.keys.PinJobs())
}

func deliveries(msgs []redis.XMessage) []PinDelivery {
	out := make([]PinDelivery, 0, len(msgs))
	for _, m := range msgs {
		j, err := parsePinJob(m.Values)
		out = append(out, PinDelivery{ID: m.ID, Job: j, Err: err})
	}
	return out
}

// ReadPinJobs reads up to count new jobs for consumer, waiting up to block for one to
// arrive (block <= 0: no wait). It returns no job, and no error, when none arrived.
func (s *Store) ReadPinJobs(ctx context.Context, consumer string, count int64, block time.Duration) ([]PinDelivery, error) {
	return s.readGroup(ctx, consumer, ">", count, block)
}

// PendingPinJobs returns up to count jobs that consumer received and has not acked yet (its
// own pending list: what an earlier run of the same consumer name left behind).
func (s *Store) PendingPinJobs(ctx context.Context, consumer string, count int64) ([]PinDelivery, error) {
	return s.readGroup(ctx, consumer, "0", count, -1)
}

func (s *Store) readGroup(ctx context.Context, consumer, id string, count int64, block time.Duration) ([]PinDelivery, error) {
	if block <= 0 {
		block = -1 // no BLOCK argument
	}
	res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group:    PinGroup,
		Consumer: consumer,
		Streams:  []string{s.keys.PinJobs(), id},
		Count:    count,
		Block:    block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, pinRedisErr(err, "reading pin jobs from %s", s.keys.PinJobs())
	}
	var out []PinDelivery
	for _, st := range res {
		out = append(out, deliveries(st.Messages)...)
	}
	return out, nil
}

// ClaimPinJobs takes over, for consumer, up to count jobs that another consumer received and
// has not acked for at least minIdle (XAUTOCLAIM): the jobs of a consumer that crashed.
func (s *Store) ClaimPinJobs(ctx context.Context, consumer string, minIdle time.Duration, count int64) ([]PinDelivery, error) {
	var out []PinDelivery
	start := "0-0"
	for int64(len(out)) < count {
		msgs, next, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream:   s.keys.PinJobs(),
			Group:    PinGroup,
			Consumer: consumer,
			MinIdle:  minIdle,
			Start:    start,
			Count:    count - int64(len(out)),
		}).Result()
		if err != nil {
			return out, pinRedisErr(err, "claiming idle pin jobs of %s", s.keys.PinJobs())
		}
		out = append(out, deliveries(msgs)...)
		if next == "0-0" || next == "" {
			break
		}
		start = next
	}
	return out, nil
}

// TouchPinJob resets the idle time of a job that consumer is working on, so that
// ClaimPinJobs of other consumers leaves it alone (a heartbeat for long pins).
func (s *Store) TouchPinJob(ctx context.Context, consumer, id string) error {
	err := s.rdb.XClaimJustID(ctx, &redis.XClaimArgs{
		Stream:   s.keys.PinJobs(),
		Group:    PinGroup,
		Consumer: consumer,
		MinIdle:  0,
		Messages: []string{id},
	}).Err()
	return pinRedisErr(err, "refreshing pin job %s", id)
}

// AckPinJob finishes the job id: it writes pin (if not nil) as the version's pin record, acks
// the job and deletes it from the stream, in one MULTI/EXEC.
func (s *Store) AckPinJob(ctx context.Context, id string, pin *modeldao.Pin) error {
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		if pin != nil {
			if err := s.setPin(ctx, pipe, *pin); err != nil {
				return err
			}
		}
		pipe.XAck(ctx, s.keys.PinJobs(), PinGroup, id)
		pipe.XDel(ctx, s.keys.PinJobs(), id)
		return nil
	})
	return pinRedisErr(err, "acking pin job %s", id)
}

// RetryPinJob postpones the job id to due: in one MULTI/EXEC it writes pin (if not nil),
// adds the job to the retry set and acks and deletes the stream entry. PromotePinRetries puts
// it back into the stream once due. Scheduling the same job twice keeps one copy, due at the
// later time.
func (s *Store) RetryPinJob(ctx context.Context, id string, job PinJob, due time.Time, pin *modeldao.Pin) error {
	member, _ := json.Marshal(pinJobFields(job))
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		if pin != nil {
			if err := s.setPin(ctx, pipe, *pin); err != nil {
				return err
			}
		}
		pipe.ZAdd(ctx, s.keys.PinRetry(), redis.Z{Score: float64(due.UnixMilli()), Member: string(member)})
		pipe.XAck(ctx, s.keys.PinJobs(), PinGroup, id)
		pipe.XDel(ctx, s.keys.PinJobs(), id)
		return nil
	})
	return pinRedisErr(err, "postponing pin job %s", id)
}

// promotePinRetries moves due members of the retry set (JSON arrays of stream fields) back
// into the stream, atomically.
//
// KEYS: [1] the retry set (Keys.PinRetry), [2] the pin job stream (Keys.PinJobs).
// ARGV: [1] now, in Unix milliseconds (members with a score up to it are due), [2] the most
// jobs to move. Reply: how many it moved.
var promotePinRetries = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(due) do
  redis.call('ZREM', KEYS[1], m)
  redis.call('XADD', KEYS[2], '*', unpack(cjson.decode(m)))
end
return #due
`)

// PromotePinRetries moves up to limit jobs of the retry set that are due at now back into the
// stream, and returns how many it moved.
func (s *Store) PromotePinRetries(ctx context.Context, now time.Time, limit int) (int, error) {
	n, err := promotePinRetries.Run(ctx, s.rdb, []string{s.keys.PinRetry(), s.keys.PinJobs()},
		now.UnixMilli(), limit).Int()
	return n, pinRedisErr(err, "promoting due pin retries of %s", s.keys.PinRetry())
}

// NextPinRetry returns when the earliest job of the retry set is due, and false if the set is
// empty.
func (s *Store) NextPinRetry(ctx context.Context) (time.Time, bool, error) {
	zs, err := s.rdb.ZRangeWithScores(ctx, s.keys.PinRetry(), 0, 0).Result()
	if err != nil {
		return time.Time{}, false, pinRedisErr(err, "reading %s", s.keys.PinRetry())
	}
	if len(zs) == 0 {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(int64(zs[0].Score)), true, nil
}

// PinBacklog returns the number of unfinished jobs in the stream (new or being worked on) and
// the number waiting in the retry set.
func (s *Store) PinBacklog(ctx context.Context) (queued, retrying int64, err error) {
	pipe := s.rdb.Pipeline()
	xl := pipe.XLen(ctx, s.keys.PinJobs())
	zc := pipe.ZCard(ctx, s.keys.PinRetry())
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, 0, pinRedisErr(err, "reading the pin backlog")
	}
	return xl.Val(), zc.Val(), nil
}

// VersionForPin returns the version record id from the projection, or nil if there is none.
func (s *Store) VersionForPin(ctx context.Context, id uint64) (*modeldao.ModelVersion, error) {
	return pinnerRecord[modeldao.ModelVersion](ctx, s, s.keys.VersionRecords(), id, "version")
}

// pinnerRecord reads the record of version id in hash key straight from Redis (the pinner
// must see what is there now, not the API's per-checkpoint memory), nil if there is none.
// what names the record in errors.
func pinnerRecord[T any](ctx context.Context, s *Store, key string, id uint64, what string) (*T, error) {
	raw, err := s.rdb.HGet(ctx, key, strconv.FormatUint(id, 10)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, pinRedisErr(err, "reading the %s of version %d", what, id)
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "version %d: malformed %s in %s", id, what, key)
	}
	return &v, nil
}

// GetPin returns the pin record of version id, or nil if there is none.
func (s *Store) GetPin(ctx context.Context, id uint64) (*modeldao.Pin, error) {
	pins, err := s.pinRecords(ctx, []uint64{id})
	if err != nil {
		return nil, err
	}
	return pins[0], nil
}

// SetPin writes a pin record.
func (s *Store) SetPin(ctx context.Context, p modeldao.Pin) error {
	rec, err := json.Marshal(p)
	if err != nil {
		return modeldao.WrapError(modeldao.EINTERNAL, err, "encoding the pin record of version %d", p.VersionID)
	}
	if p.Status == modeldao.PinFailed {
		_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error { return s.setPin(ctx, pipe, p) })
		return pinRedisErr(err, "writing the pin record of version %d", p.VersionID)
	}
	return pinRedisErr(s.rdb.HSet(ctx, s.keys.Pin(), strconv.FormatUint(p.VersionID, 10), rec).Err(),
		"writing the pin record of version %d", p.VersionID)
}

func (s *Store) setPin(ctx context.Context, pipe redis.Pipeliner, p modeldao.Pin) error {
	rec, err := json.Marshal(p)
	if err != nil {
		return modeldao.WrapError(modeldao.EINTERNAL, err, "encoding the pin record of version %d", p.VersionID)
	}
	pipe.HSet(ctx, s.keys.Pin(), strconv.FormatUint(p.VersionID, 10), rec)
	if p.Status == modeldao.PinFailed {
		s.notePinFailed(ctx, pipe, p) // the webhook with the record that says so
	}
	return nil
}

// pinRecords returns the pin records of the versions ids, in the same order, nil where a
// version has none. (read.go's Pins is the API's twin of it.)
func (s *Store) pinRecords(ctx context.Context, ids []uint64) ([]*modeldao.Pin, error) {
	out := make([]*modeldao.Pin, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	fields := make([]string, len(ids))
	for i, id := range ids {
		fields[i] = strconv.FormatUint(id, 10)
	}
	vals, err := s.rdb.HMGet(ctx, s.keys.Pin(), fields...).Result()
	if err != nil {
		return nil, pinRedisErr(err, "reading pin records")
	}
	for i, v := range vals {
		raw, ok := v.(string)
		if !ok {
			continue
		}
		var p modeldao.Pin
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "version %d: malformed pin record in %s", ids[i], s.keys.Pin())
		}
		out[i] = &p
	}
	return out, nil
}

// scanPins calls fn with every pin record.
func (s *Store) scanPins(ctx context.Context, fn func(p modeldao.Pin)) error {
	var cursor uint64
	for {
		kv, next, err := s.rdb.HScan(ctx, s.keys.Pin(), cursor, "", 500).Result()
		if err != nil {
			return pinRedisErr(err, "scanning %s", s.keys.Pin())
		}
		for i := 1; i < len(kv); i += 2 {
			var p modeldao.Pin
			if err := json.Unmarshal([]byte(kv[i]), &p); err != nil {
				return modeldao.WrapError(modeldao.EINTERNAL, err, "version %s: malformed pin record in %s", kv[i-1], s.keys.Pin())
			}
			fn(p)
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// PinSummary counts the pin records by status (the GraphQL pinStatus summary). Statuses
// without records are absent.
func (s *Store) PinSummary(ctx context.Context) (map[modeldao.PinStatus]int, error) {
	out := make(map[modeldao.PinStatus]int)
	err := s.scanPins(ctx, func(p modeldao.Pin) { out[p.Status]++ })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PinsByCID returns the pin records whose CID is cid (several versions may share weights).
func (s *Store) PinsByCID(ctx context.Context, cid string) ([]modeldao.Pin, error) {
	var out []modeldao.Pin
	err := s.scanPins(ctx, func(p modeldao.Pin) {
		if string(p.CID) == cid {
			out = append(out, p)
		}
	})
	return out, err
}
