package store

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
)

// The relayer's state (see Keys' relay:* block). Every check that more than one relayer
// instance could race on is one Lua script, so two Lambda containers that receive the same
// signature at the same instant cannot both send it, nor both spend the last of the budget.

// windowScript is a sliding-window rate limit: it forgets hits older than the window, then
// admits the hit when fewer than max remain.
//
//	KEYS[1]  the window (zset of hits by time in ms)
//	ARGV[1]  now, unix ms
//	ARGV[2]  window length, ms
//	ARGV[3]  max hits in a window
//	ARGV[4]  a member unique to this hit
//
// Returns {1, 0} when admitted, {0, ms until the oldest hit leaves the window} when not.
var windowScript = redis.NewScript(`
local now, window, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= max then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}`)

// admitScript admits a verified request: the signer's nonce must not be claimed yet, the
// signer's window must have room, and the period's budget must cover the gas estimate. Then
// it claims the nonce, counts the hit, reserves the estimate and writes the PENDING record,
// all at once.
//
//	KEYS[1]  the nonce claim (relay:claim:…)
//	KEYS[2]  the signer's window
//	KEYS[3]  the period's budget counter
//	KEYS[4]  the request's record
//	ARGV[1]  request id
//	ARGV[2]  now, unix ms
//	ARGV[3]  signer window length, ms
//	ARGV[4]  max requests of a signer in a window
//	ARGV[5]  gas estimate to reserve
//	ARGV[6]  gas budget of a period
//	ARGV[7]  TTL of the budget counter, ms (the rest of the period and one more)
//	ARGV[8]  TTL of the claim, ms
//	ARGV[9]  the record (JSON)
//	ARGV[10] TTL of the record, ms
//
// Returns {"ok", ""}, {"replay", id holding the claim}, {"signer", ms to wait} or
// {"budget", gas already reserved}.
var admitScript = redis.NewScript(`
local held = redis.call('GET', KEYS[1])
if held then return {'replay', held} end
local now, window, max = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
if redis.call('ZCARD', KEYS[2]) >= max then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {'signer', tostring(tonumber(oldest[2]) + window - now)}
end
local spent = tonumber(redis.call('GET', KEYS[3]) or '0')
local est = tonumber(ARGV[5])
if spent + est > tonumber(ARGV[6]) then return {'budget', tostring(spent)} end
redis.call('INCRBY', KEYS[3], est)
redis.call('PEXPIRE', KEYS[3], ARGV[7])
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('PEXPIRE', KEYS[2], window)
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[8])
redis.call('SET', KEYS[4], ARGV[9], 'PX', ARGV[10])
return {'ok', ''}`)

// updateScript moves a record from one status to the next, and corrects the budget by the
// difference between the gas reserved and the gas spent, only if the record is still in the
// expected status: a request is settled once, however many instances poll it.
//
//	KEYS[1]  the record
//	KEYS[2]  the budget counter of the record's period
//	ARGV[1]  the status the record must have
//	ARGV[2]  the new record (JSON)
//	ARGV[3]  TTL of the record, ms
//	ARGV[4]  gas to give back to the budget (negative: to charge)
//
// Returns 1 when updated, 0 when the record is gone or in another status.
var updateScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if cjson.decode(cur)['status'] ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
local r = tonumber(ARGV[4])
if r ~= 0 and redis.call('EXISTS', KEYS[2]) == 1 then redis.call('DECRBY', KEYS[2], r) end
return 1`)

// compareDeleteScript deletes a key only if it holds the given value (a claim of this
// request, a lock of this owner).
//
//	KEYS[1]  the key
//	ARGV[1]  the value it must hold
var compareDeleteScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// RelayHit counts a request from a client address in its sliding window. It returns false
// and how long to wait when the window is full.
func (s *Store) RelayHit(ctx context.Context, ip string, now time.Time, window time.Duration, max int, member string) (bool, time.Duration, error) {
	res, err := windowScript.Run(ctx, s.rdb, []string{s.keys.RelayIPWindow(ip)},
		now.UnixMilli(), window.Milliseconds(), max, member).Int64Slice()
	if err != nil {
		return false, 0, unavailable(err, "count the request")
	}
	return res[0] == 1, time.Duration(res[1]) * time.Millisecond, nil
}

// RelayAdmission is what RelayAdmit needs to admit a verified request.
type RelayAdmission struct {
	Record       modeldao.RelayRecord // Status PENDING, ID, Kind, Signer, GasEstimate set
	Nonce        string               // the signer's nonce the request consumes (decimal)
	Now          time.Time
	SignerWindow time.Duration
	SignerMax    int
	Budget       uint64        // gas per period
	Period       time.Duration // budget period
	ClaimTTL     time.Duration // how long a nonce stays claimed
	RecordTTL    time.Duration // how long a record is kept
}

// Outcomes of RelayAdmit.
const (
	RelayAdmitted    = "ok"
	RelayReplayed    = "replay"
	RelaySignerFull  = "signer"
	RelayBudgetSpent = "budget"
)

// RelayAdmitResult is RelayAdmit's answer: Outcome, and for a replay the id that holds the
// nonce, for a full window how long to wait, for a spent budget the gas already reserved.
type RelayAdmitResult struct {
	Outcome    string
	HeldBy     string
	RetryAfter time.Duration
	Reserved   uint64
}

// RelayBudgetPeriod is the index of the budget period that contains t.
func RelayBudgetPeriod(t time.Time, period time.Duration) int64 {
	return t.UnixMilli() / period.Milliseconds()
}

// RelayAdmit claims the signer's nonce, counts the request in the signer's window and
// reserves its gas estimate in the period's budget, in one script (see admitScript).
func (s *Store) RelayAdmit(ctx context.Context, a RelayAdmission) (RelayAdmitResult, error) {
	rec, err := json.Marshal(a.Record)
	if err != nil {
		return RelayAdmitResult{}, modeldao.WrapError(modeldao.EINTERNAL, err, "encode a relay record")
	}
	p := RelayBudgetPeriod(a.Now, a.Period)
	periodEnd := time.UnixMilli((p + 1) * a.Period.Milliseconds())
	keys := []string{
		s.keys.RelayClaim(string(a.Record.Kind), a.Record.Signer, a.Nonce),
		s.keys.RelaySignerWindow(a.Record.Signer),
		s.keys.RelayBudget(p),
		s.keys.RelayRecord(a.Record.ID),
	}
	res, err := admitScript.Run(ctx, s.rdb, keys, a.Record.ID, a.Now.UnixMilli(), a.SignerWindow.Milliseconds(), a.SignerMax,
		a.Record.GasEstimate, a.Budget, periodEnd.Sub(a.Now).Milliseconds()+a.Period.Milliseconds(),
		a.ClaimTTL.Milliseconds(), rec, a.RecordTTL.Milliseconds()).StringSlice()
	if err != nil {
		return RelayAdmitResult{}, unavailable(err, "admit the request")
	}
	out := RelayAdmitResult{Outcome: res[0]}
	switch res[0] {
	case RelayReplayed:
		out.HeldBy = res[1]
	case RelaySignerFull:
		ms, _ := strconv.ParseInt(res[1], 10, 64)
		out.RetryAfter = time.Duration(ms) * time.Millisecond
	case RelayBudgetSpent:
		out.Reserved, _ = strconv.ParseUint(res[1], 10, 64)
		out.RetryAfter = periodEnd.Sub(a.Now)
	}
	return out, nil
}

// RelayUpdate replaces the record of rec.ID with rec if it is still in status from, and
// gives refund gas back to the budget period the request was admitted in (negative refund:
// charges it). It reports whether it updated.
func (s *Store) RelayUpdate(ctx context.Context, rec modeldao.RelayRecord, from modeldao.RelayStatus, period time.Duration, refund int64, ttl time.Duration) (bool, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return false, modeldao.WrapError(modeldao.EINTERNAL, err, "encode a relay record")
	}
	p := RelayBudgetPeriod(time.UnixMilli(rec.CreatedAt), period)
	n, err := updateScript.Run(ctx, s.rdb, []string{s.keys.RelayRecord(rec.ID), s.keys.RelayBudget(p)},
		string(from), b, ttl.Milliseconds(), refund).Int64()
	if err != nil {
		return false, unavailable(err, "update the request")
	}
	return n == 1, nil
}

// RelayRecord returns the record of a relayed request, or an ENOTFOUND error.
func (s *Store) RelayRecord(ctx context.Context, id string) (*modeldao.RelayRecord, error) {
	b, err := s.rdb.Get(ctx, s.keys.RelayRecord(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, modeldao.Errorf(modeldao.ENOTFOUND, "no relayed request %s (records are kept for a limited time)", id)
	}
	if err != nil {
		return nil, unavailable(err, "read the request")
	}
	var rec modeldao.RelayRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "decode relay record %s", id)
	}
	return &rec, nil
}

// RelayRelease frees the signer's nonce claimed by request id, when the request failed
// before its transaction was sent (so the same signature may be tried again).
func (s *Store) RelayRelease(ctx context.Context, kind modeldao.RelayKind, signer common.Address, nonce, id string) error {
	if err := compareDeleteScript.Run(ctx, s.rdb, []string{s.keys.RelayClaim(string(kind), signer, nonce)}, id).Err(); err != nil {
		return unavailable(err, "release the nonce claim")
	}
	return nil
}

// RelayBudgetReserved is the gas reserved or spent in the period that contains t.
func (s *Store) RelayBudgetReserved(ctx context.Context, t time.Time, period time.Duration) (uint64, error) {
	n, err := s.rdb.Get(ctx, s.keys.RelayBudget(RelayBudgetPeriod(t, period))).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable(err, "read the gas budget")
	}
	return n, nil
}

// RelayLock takes the lock of relayer account a for owner, waiting up to ctx's deadline:
// one instance at a time picks the account's next nonce and sends, so that two instances
// never send two transactions with the same nonce. The lock expires after ttl in case its
// holder dies.
func (s *Store) RelayLock(ctx context.Context, a common.Address, owner string, ttl time.Duration) error {
	key := s.keys.RelaySender(a)
	wait := 10 * time.Millisecond
	for {
		ok, err := s.rdb.SetNX(ctx, key, owner, ttl).Result()
		if err != nil {
			return unavailable(err, "lock the relayer account")
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return modeldao.WrapError(modeldao.EUNAVAILABLE, ctx.Err(), "the relayer account is busy sending another transaction: try again")
		case <-time.After(wait):
		}
		if wait < 200*time.Millisecond {
			wait *= 2
		}
	}
}

// RelayUnlock releases the lock RelayLock took for owner.
func (s *Store) RelayUnlock(ctx context.Context, a common.Address, owner string) error {
	if err := compareDeleteScript.Run(ctx, s.rdb, []string{s.keys.RelaySender(a)}, owner).Err(); err != nil {
		return unavailable(err, "unlock the relayer account")
	}
	return nil
}

func unavailable(err error, what string) error {
	return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "Redis did not answer when the relayer tried to %s: retry later", what)
}
