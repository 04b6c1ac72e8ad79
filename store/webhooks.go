package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
)

// Webhook endpoints and the notifier's delivery state. The notifier fans the outbox out
// into one queue per endpoint (FanOut, one MULTI/EXEC that also moves its cursor, so a crash
// neither loses nor doubles a fan-out), then delivers each queue's head, one at a time per
// endpoint, under a per-endpoint lock: Delivered pops the head, Failed schedules its next
// attempt or moves it to the dead letters. A crash between a delivery and Delivered sends
// the head again (at least once): receivers deduplicate on the event id.

// AddWebhook registers w with a new id and secret and returns it, secret included: the only
// time the secret is shown.
func (s *Store) AddWebhook(ctx context.Context, w modeldao.Webhook) (modeldao.Webhook, error) {
	if err := w.Validate(); err != nil {
		return w, err
	}
	w.ID, w.Secret = randomHex(8), "whsec_"+randomHex(32)
	w.Created = time.Now().UnixMilli()
	last, err := s.rdb.XRevRangeN(ctx, s.keys.Outbox(), "+", "-", 1).Result()
	if err != nil {
		return w, redisDown(err, "read the outbox")
	}
	w.After = "0-0"
	if len(last) == 1 {
		w.After = last[0].ID
	}
	buf, _ := json.Marshal(w)
	if err := s.rdb.HSet(ctx, s.keys.Webhooks(), w.ID, buf).Err(); err != nil {
		return w, redisDown(err, "write the webhook")
	}
	return w, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// Webhooks returns every endpoint, by id, secrets included (callers that show them print
// SecretHint instead).
func (s *Store) Webhooks(ctx context.Context) ([]modeldao.Webhook, error) {
	raw, err := s.rdb.HGetAll(ctx, s.keys.Webhooks()).Result()
	if err != nil {
		return nil, redisDown(err, "read webhooks")
	}
	out := make([]modeldao.Webhook, 0, len(raw))
	for id, v := range raw {
		var w modeldao.Webhook
		if err := json.Unmarshal([]byte(v), &w); err != nil {
			return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "webhook %s is corrupt: remove it with `modeldao webhook remove %s`", id, id)
		}
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Created < out[j].Created || out[i].Created == out[j].Created && out[i].ID < out[j].ID
	})
	return out, nil
}

// RemoveWebhook deletes endpoint id with its queue, dead letters and delivery state.
func (s *Store) RemoveWebhook(ctx context.Context, id string) error {
	n, err := s.rdb.HDel(ctx, s.keys.Webhooks(), id).Result()
	if err != nil {
		return redisDown(err, "remove the webhook")
	}
	if n == 0 {
		return modeldao.Errorf(modeldao.ENOTFOUND, "no webhook %q: `modeldao webhook list` shows the ids", id)
	}
	k := s.keys
	if err := s.rdb.Del(ctx, k.NotifyQueue(id), k.NotifyTry(id), k.NotifyDead(id)).Err(); err != nil {
		return redisDown(err, "remove the webhook's queue")
	}
	return nil
}

// FanOut copies up to count outbox entries after the notifier's cursor into the queues of
// the endpoints that want them and moves the cursor, in one MULTI/EXEC (retried when another
// notifier moved the cursor first). It returns how many entries it read; 0 means caught up.
func (s *Store) FanOut(ctx context.Context, count int64) (int, error) {
	k := s.keys
	var read int
	err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		cur, err := tx.Get(ctx, k.NotifyCursor()).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return redisDown(err, "read the notifier cursor")
		}
		notes, err := s.readOutbox(ctx, tx, cur, count)
		if err != nil {
			return err
		}
		read = len(notes)
		if read == 0 {
			return nil
		}
		hooks, err := s.Webhooks(ctx)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for _, n := range notes {
				buf, _ := json.Marshal(n)
				for _, w := range hooks {
					if w.Wants(n) {
						p.RPush(ctx, k.NotifyQueue(w.ID), buf)
					}
				}
			}
			p.Set(ctx, k.NotifyCursor(), notes[len(notes)-1].ID, 0)
			return nil
		})
		return err
	}, k.NotifyCursor())
	if errors.Is(err, redis.TxFailedErr) {
		return 1, nil // another notifier fanned out: look again
	}
	if err != nil && modeldao.ErrorCode(err) == modeldao.EINTERNAL {
		err = redisDown(err, "fan out the outbox")
	}
	return read, err
}

func (s *Store) readOutbox(ctx context.Context, c redis.Cmdable, after string, count int64) ([]modeldao.Notification, error) {
	if after == "" {
		after = "0"
	}
	msgs, err := c.XRangeN(ctx, s.keys.Outbox(), "("+after, "+", count).Result()
	if err != nil {
		return nil, redisDown(err, "read the outbox")
	}
	out := make([]modeldao.Notification, 0, len(msgs))
	for _, m := range msgs {
		n, _, err := decodeOutbox(m)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// Delivery is the head of an endpoint's queue.
type Delivery struct {
	Raw      string // the queued JSON, as sent
	Note     modeldao.Notification
	Attempts int       // failed attempts so far
	Due      time.Time // not before; zero: now
}

// QueueState is an endpoint's backlog.
type QueueState struct {
	Queued, Dead int64
	Due          time.Time // of the head; zero: now
}

// NotifyQueues returns the backlog of each endpoint id.
func (s *Store) NotifyQueues(ctx context.Context, ids []string) ([]QueueState, error) {
	k := s.keys
	lens := make([]*redis.IntCmd, len(ids))
	deads := make([]*redis.IntCmd, len(ids))
	dues := make([]*redis.StringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			lens[i] = p.LLen(ctx, k.NotifyQueue(id))
			deads[i] = p.LLen(ctx, k.NotifyDead(id))
			dues[i] = p.HGet(ctx, k.NotifyTry(id), "due")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, redisDown(err, "read the delivery queues")
	}
	out := make([]QueueState, len(ids))
	for i := range ids {
		out[i] = QueueState{Queued: lens[i].Val(), Dead: deads[i].Val()}
		if ms, err := strconv.ParseInt(dues[i].Val(), 10, 64); err == nil {
			out[i].Due = time.UnixMilli(ms)
		}
	}
	return out, nil
}

// NextDelivery returns the head of endpoint id's queue, or nil when it is empty.
func (s *Store) NextDelivery(ctx context.Context, id string) (*Delivery, error) {
	k := s.keys
	var head *redis.StringCmd
	var try *redis.MapStringStringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		head = p.LIndex(ctx, k.NotifyQueue(id), 0)
		try = p.HGetAll(ctx, k.NotifyTry(id))
		return nil
	})
	if errors.Is(err, redis.Nil) || errors.Is(head.Err(), redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, redisDown(err, "read the delivery queue")
	}
	d := &Delivery{Raw: head.Val()}
	if err := json.Unmarshal([]byte(d.Raw), &d.Note); err != nil {
		return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "queued notification of webhook %s is corrupt", id)
	}
	t := try.Val()
	d.Attempts, _ = strconv.Atoi(t["attempts"])
	if ms, err := strconv.ParseInt(t["due"], 10, 64); err == nil {
		d.Due = time.UnixMilli(ms)
	}
	return d, nil
}

// LockEndpoint takes endpoint id's delivery lock for token, for ttl; false when another
// notifier holds it. Taking it again with the same token extends it.
func (s *Store) LockEndpoint(ctx context.Context, id, token string, ttl time.Duration) (bool, error) {
	n, err := lockEndpoint.Run(ctx, s.rdb, []string{s.keys.NotifyLock(id)}, token, ttl.Milliseconds()).Int()
	if err != nil {
		return false, redisDown(err, "take the delivery lock")
	}
	return n == 1, nil
}

// UnlockEndpoint releases endpoint id's lock if token still holds it.
func (s *Store) UnlockEndpoint(ctx context.Context, id, token string) error {
	if err := unlockEndpoint.Run(ctx, s.rdb, []string{s.keys.NotifyLock(id)}, token).Err(); err != nil {
		return redisDown(err, "release the delivery lock")
	}
	return nil
}

// lockEndpoint takes or extends a lock. KEYS[1] lock; ARGV[1] token, ARGV[2] TTL in ms.
// Returns 1 when the caller holds the lock.
var lockEndpoint = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`)

// unlockEndpoint deletes a lock its token holds. KEYS[1] lock; ARGV[1] token.
var unlockEndpoint = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// settleDelivery records the outcome of delivering a queue's head, if the caller still holds
// the lock and the head is still the one delivered.
// KEYS[1] queue, KEYS[2] try, KEYS[3] lock, KEYS[4] dead letters.
// ARGV[1] token, ARGV[2] the delivered JSON, ARGV[3] outcome: "ok", "dead" or "retry",
// ARGV[4] attempts, ARGV[5] due (Unix ms) for retry.
// Returns 1 when recorded, 0 when the lock or the head changed (nothing written).
var settleDelivery = redis.NewScript(`
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[2] then return 0 end
if ARGV[3] == 'retry' then
  redis.call('HSET', KEYS[2], 'attempts', ARGV[4], 'due', ARGV[5])
  return 1
end
redis.call('LPOP', KEYS[1])
redis.call('DEL', KEYS[2])
if ARGV[3] == 'dead' then redis.call('RPUSH', KEYS[4], ARGV[2]) end
return 1
`)

func (s *Store) settle(ctx context.Context, id, token string, d *Delivery, outcome string, attempts int, due time.Time) (bool, error) {
	k := s.keys
	n, err := settleDelivery.Run(ctx, s.rdb, []string{k.NotifyQueue(id), k.NotifyTry(id), k.NotifyLock(id), k.NotifyDead(id)},
		token, d.Raw, outcome, attempts, due.UnixMilli()).Int()
	if err != nil {
		return false, redisDown(err, "record a delivery")
	}
	return n == 1, nil
}

// Delivered pops d, delivered to endpoint id. False: the lock was lost (nothing written).
func (s *Store) Delivered(ctx context.Context, id, token string, d *Delivery) (bool, error) {
	return s.settle(ctx, id, token, d, "ok", 0, time.Time{})
}

// RetryDelivery records a failed attempt of d: next attempt at due.
func (s *Store) RetryDelivery(ctx context.Context, id, token string, d *Delivery, attempts int, due time.Time) (bool, error) {
	return s.settle(ctx, id, token, d, "retry", attempts, due)
}

// DeadLetter moves d, which failed its last attempt, to endpoint id's dead letters.
func (s *Store) DeadLetter(ctx context.Context, id, token string, d *Delivery) (bool, error) {
	return s.settle(ctx, id, token, d, "dead", 0, time.Time{})
}

// DeadLetters returns endpoint id's dead letters, oldest first.
func (s *Store) DeadLetters(ctx context.Context, id string) ([]modeldao.Notification, error) {
	raw, err := s.rdb.LRange(ctx, s.keys.NotifyDead(id), 0, -1).Result()
	if err != nil {
		return nil, redisDown(err, "read dead letters")
	}
	out := make([]modeldao.Notification, 0, len(raw))
	for _, r := range raw {
		var n modeldao.Notification
		if err := json.Unmarshal([]byte(r), &n); err != nil {
			return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "dead letter of webhook %s is corrupt", id)
		}
		out = append(out, n)
	}
	return out, nil
}
