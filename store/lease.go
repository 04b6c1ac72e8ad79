package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
)

// Lease is the right to write the projection: one indexer at a time. Its fencing token
// grows with every acquisition, so a writer that lost its lease (paused past the TTL) can
// never commit over its successor: every commit checks the lease value inside its
// transaction.
type Lease struct {
	Owner string
	Fence int64
	TTL   time.Duration
}

func (l *Lease) value() string { return fmt.Sprintf("%s:%d", l.Owner, l.Fence) }

// renewScript extends the lease only if it is still ours.
//
// KEYS: [1] the lease (Keys.Lease). ARGV: [1] our lease value "<owner>:<fence>", [2] the
// new TTL in milliseconds. Reply: 1 if extended, 0 if the lease is not ours (or gone).
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)

// releaseScript deletes the lease only if it is still ours.
//
// KEYS: [1] the lease (Keys.Lease). ARGV: [1] our lease value "<owner>:<fence>".
// Reply: 1 if deleted, 0 if the lease is not ours (or gone).
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// AcquireLease takes the writer lease for owner, or fails with an ECONFLICT error naming
// the current holder.
func (s *Store) AcquireLease(ctx context.Context, owner string, ttl time.Duration) (*Lease, error) {
	fence, err := s.rdb.Incr(ctx, s.keys.Fence()).Result()
	if err != nil {
		return nil, redisDown(err, "take a fencing token")
	}
	l := &Lease{Owner: owner, Fence: fence, TTL: ttl}
	ok, err := s.rdb.SetNX(ctx, s.keys.Lease(), l.value(), ttl).Result()
	if err != nil {
		return nil, redisDown(err, "acquire lease")
	}
	if !ok {
		holder, _ := s.rdb.Get(ctx, s.keys.Lease()).Result()
		ttlLeft, _ := s.rdb.PTTL(ctx, s.keys.Lease()).Result()
		owner := holder
		if i := strings.LastIndexByte(holder, ':'); i >= 0 {
			owner = holder[:i] // "<owner>:<fence>"; the owner itself may hold ':' (host:pid)
		}
		return nil, &LeaseHeldError{Holder: owner, Until: time.Now().Add(max(ttlLeft, 0)).Truncate(time.Millisecond)}
	}
	return l, nil
}

// LeaseHeldError says that another indexer holds the lease, who and until when (unless
// renewed). Its code is ECONFLICT.
type LeaseHeldError struct {
	Holder string
	Until  time.Time
}

func (e *LeaseHeldError) Error() string { return e.Unwrap().Error() }

// Unwrap gives the coded error, for modeldao.ErrorCode and the user.
func (e *LeaseHeldError) Unwrap() error {
	return modeldao.Errorf(modeldao.ECONFLICT, "another indexer (%s) holds the lease until %s unless it renews it; this one waits (only one indexer writes a DAO)",
		e.Holder, e.Until.UTC().Format(time.RFC3339Nano))
}

// RenewLease extends l, or fails with ErrConflict when it was lost.
func (s *Store) RenewLease(ctx context.Context, l *Lease) error {
	n, err := renewScript.Run(ctx, s.rdb, []string{s.keys.Lease()}, l.value(), l.TTL.Milliseconds()).Int()
	if err != nil {
		return redisDown(err, "renew lease")
	}
	if n == 0 {
		return ErrConflict
	}
	return nil
}

// ReleaseLease gives l up, if it is still held.
func (s *Store) ReleaseLease(ctx context.Context, l *Lease) error {
	if err := releaseScript.Run(ctx, s.rdb, []string{s.keys.Lease()}, l.value()).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return redisDown(err, "release lease")
	}
	return nil
}

func commonHash(s string) common.Hash { return common.HexToHash(s) }
