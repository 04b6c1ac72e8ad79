// Package notify delivers the outbox (see store/outbox.go) to the registered webhook
// endpoints: it fans the outbox out into one queue per endpoint (store.FanOut, from a
// cursor persisted in Redis), then delivers each queue's head as JSON signed with
// HMAC-SHA256, one request in flight per endpoint, so an endpoint sees its events in order
// and a slow one holds up only itself. Delivery is at least once: a crash between a
// receiver's 2xx and the pop sends the event again with the same X-ModelDAO-Event-Id, which
// receivers use as the idempotency key. A failed attempt is retried with exponential backoff
// and jitter; after MaxAttempts the event goes to the endpoint's dead letters and the queue
// moves on.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/big"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/store"
)

// Headers of a delivery.
const (
	HeaderSignature = "X-ModelDAO-Signature" // "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)
	HeaderTimestamp = "X-ModelDAO-Timestamp" // Unix seconds when the request was signed
	HeaderEventID   = "X-ModelDAO-Event-Id"  // the notification id: the idempotency key
	HeaderEvent     = "X-ModelDAO-Event"     // the notification type
)

// Environment variables of the notifier.
const (
	EnvMaxAttempts    = "MODELDAO_NOTIFY_MAX_ATTEMPTS"
	EnvBaseBackoff    = "MODELDAO_NOTIFY_BASE_BACKOFF"
	EnvMaxBackoff     = "MODELDAO_NOTIFY_MAX_BACKOFF"
	EnvRequestTimeout = "MODELDAO_NOTIFY_REQUEST_TIMEOUT"
	EnvPollInterval   = "MODELDAO_NOTIFY_POLL_INTERVAL"
)

// Config tunes the notifier.
type Config struct {
	MaxAttempts    int           // attempts of an event before its dead letter [8]
	BaseBackoff    time.Duration // wait after the first failure, doubled after each [2s]
	MaxBackoff     time.Duration // longest wait between attempts [10m]
	RequestTimeout time.Duration // one request's deadline [10s]
	PollInterval   time.Duration // Run's wait for new outbox entries [1s]
	Concurrency    int           // endpoints delivered to at once [32]
	// LockTTL is how long an endpoint stays locked to a notifier that stopped answering
	// (crashed): then another one resumes its queue. [2 × RequestTimeout + 5s]
	LockTTL time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{MaxAttempts: 8, BaseBackoff: 2 * time.Second, MaxBackoff: 10 * time.Minute,
		RequestTimeout: 10 * time.Second, PollInterval: time.Second, Concurrency: 32}
}

// ConfigFromEnv reads the MODELDAO_NOTIFY_* variables over the defaults (getenv nil: os.Getenv).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg := DefaultConfig()
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{EnvBaseBackoff, &cfg.BaseBackoff}, {EnvMaxBackoff, &cfg.MaxBackoff}, {EnvRequestTimeout, &cfg.RequestTimeout}, {EnvPollInterval, &cfg.PollInterval}} {
		if v := getenv(d.name); v != "" {
			x, err := config.ParseDuration(d.name, v)
			if err != nil {
				return cfg, err
			}
			*d.dst = x
		}
	}
	if v := getenv(EnvMaxAttempts); v != "" {
		n, err := config.ParseWhole(EnvMaxAttempts, v, 1, math.MaxInt, "a whole number >= 1")
		if err != nil {
			return cfg, err
		}
		cfg.MaxAttempts = n
	}
	return cfg, nil
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.BaseBackoff <= 0 {
		c.BaseBackoff = d.BaseBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = d.MaxBackoff
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = d.RequestTimeout
	}
	if c.PollInterval <= 0 {
		c.PollInterval = d.PollInterval
	}
	if c.Concurrency <= 0 {
		c.Concurrency = d.Concurrency
	}
	if c.LockTTL <= 0 {
		c.LockTTL = 2*c.RequestTimeout + 5*time.Second
	}
	return c
}

// Notifier delivers one DAO's outbox.
type Notifier struct {
	st    *store.Store
	cfg   Config
	log   *slog.Logger
	http  *http.Client
	token string // this notifier's lock token
	now   func() time.Time

	mu      sync.Mutex
	running map[string]bool // endpoints with a delivery goroutine
	wg      sync.WaitGroup
	sem     chan struct{}
}

// New returns a notifier over st. client nil: a client without redirects (a signed request
// goes to the registered URL only).
func New(st *store.Store, cfg Config, client *http.Client, log *slog.Logger) *Notifier {
	cfg = cfg.withDefaults()
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if log == nil {
		log = slog.Default()
	}
	host, _ := os.Hostname()
	return &Notifier{st: st, cfg: cfg, log: log, http: client, now: time.Now,
		token:   fmt.Sprintf("%s:%d:%s", host, os.Getpid(), randHex(6)),
		running: map[string]bool{}, sem: make(chan struct{}, cfg.Concurrency)}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Report sums up a RunOnce.
type Report struct {
	FannedOut, Delivered, Retried, Dead int
}

type counters struct {
	mu sync.Mutex
	r  Report
}

func (c *counters) add(f func(*Report)) { c.mu.Lock(); f(&c.r); c.mu.Unlock() }

// RunOnce fans out the outbox and delivers every queue until it is empty, waits for a
// retry, or ctx ends (the Lambda function's invocation): it stops starting requests once
// less than RequestTimeout is left, so no request outlives the deadline.
func (n *Notifier) RunOnce(ctx context.Context) (Report, error) {
	var c counters
	if err := n.fanOut(ctx, &c); err != nil {
		return c.r, err
	}
	if err := n.kick(ctx, &c); err != nil {
		return c.r, err
	}
	n.wg.Wait()
	return c.r, nil
}

// Run fans out and delivers until ctx ends, polling the outbox every PollInterval; each
// endpoint's queue is drained by its own goroutine, so a slow receiver delays only itself.
func (n *Notifier) Run(ctx context.Context) error {
	var c counters
	defer n.wg.Wait()
	t := time.NewTicker(n.cfg.PollInterval)
	defer t.Stop()
	for {
		if err := n.fanOut(ctx, &c); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			n.log.Warn("notify: fan-out failed; retrying", "err", err)
		} else if err := n.kick(ctx, &c); err != nil && ctx.Err() == nil {
			n.log.Warn("notify: reading the queues failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (n *Notifier) fanOut(ctx context.Context, c *counters) error {
	for {
		k, err := n.st.FanOut(ctx, 500)
		if err != nil {
			return err
		}
		if k == 0 {
			return nil
		}
		c.add(func(r *Report) { r.FannedOut += k })
	}
}

// kick starts a delivery goroutine for each endpoint with a due head and none running.
func (n *Notifier) kick(ctx context.Context, c *counters) error {
	hooks, err := n.st.Webhooks(ctx)
	if err != nil {
		return err
	}
	ids := make([]string, len(hooks))
	for i, w := range hooks {
		ids[i] = w.ID
	}
	qs, err := n.st.NotifyQueues(ctx, ids)
	if err != nil {
		return err
	}
	for i, w := range hooks {
		if qs[i].Queued == 0 || qs[i].Due.After(n.now()) {
			continue
		}
		n.mu.Lock()
		busy := n.running[w.ID]
		n.running[w.ID] = true
		n.mu.Unlock()
		if busy {
			continue
		}
		n.wg.Add(1)
		go func(w modeldao.Webhook) {
			defer n.wg.Done()
			defer func() { n.mu.Lock(); delete(n.running, w.ID); n.mu.Unlock() }()
			select {
			case n.sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-n.sem }()
			if err := n.drain(ctx, w, c); err != nil && ctx.Err() == nil {
				n.log.Warn("notify: delivering to an endpoint failed", "webhook", w.ID, "err", err)
			}
		}(w)
	}
	return nil
}

// drain delivers endpoint w's queue in order, under its lock, until it is empty, its head
// waits for a retry, or ctx leaves less than a request's time.
func (n *Notifier) drain(ctx context.Context, w modeldao.Webhook, c *counters) error {
	ok, err := n.st.LockEndpoint(ctx, w.ID, n.token, n.cfg.LockTTL)
	if err != nil || !ok {
		return err // another notifier delivers to it
	}
	defer n.st.UnlockEndpoint(context.WithoutCancel(ctx), w.ID, n.token)
	log := n.log.With("webhook", w.ID)
	for {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < n.cfg.RequestTimeout {
			return nil // the next request might not finish: leave it to the next run
		}
		if ctx.Err() != nil {
			return nil
		}
		if ok, err := n.st.LockEndpoint(ctx, w.ID, n.token, n.cfg.LockTTL); err != nil || !ok {
			return err
		}
		d, err := n.st.NextDelivery(ctx, w.ID)
		if err != nil || d == nil {
			return err
		}
		if d.Due.After(n.now()) {
			return nil
		}
		status, perr := n.post(ctx, w, d)
		if ctx.Err() != nil {
			return nil // cut short: the head stays, the next run sends it again
		}
		if perr == nil {
			if _, err := n.st.Delivered(ctx, w.ID, n.token, d); err != nil {
				return err
			}
			c.add(func(r *Report) { r.Delivered++ })
			log.Debug("notify: delivered", "event", d.Note.ID, "type", d.Note.Type, "status", status)
			continue
		}
		attempts := d.Attempts + 1
		if attempts >= n.cfg.MaxAttempts {
			if _, err := n.st.DeadLetter(ctx, w.ID, n.token, d); err != nil {
				return err
			}
			c.add(func(r *Report) { r.Dead++ })
			log.Error("notify: gave up on an event: dead letter", "event", d.Note.ID, "attempts", attempts, "err", perr)
			continue
		}
		due := n.now().Add(n.backoff(attempts))
		if _, err := n.st.RetryDelivery(ctx, w.ID, n.token, d, attempts, due); err != nil {
			return err
		}
		c.add(func(r *Report) { r.Retried++ })
		log.Warn("notify: delivery failed; will retry", "event", d.Note.ID, "attempt", attempts, "retryAt", due, "err", perr)
		return nil // the queue waits for its head: per-endpoint order
	}
}

// backoff is BaseBackoff·2^(attempts-1), capped at MaxBackoff, with jitter over its upper
// half so that endpoints that failed together do not retry in lockstep.
func (n *Notifier) backoff(attempts int) time.Duration {
	d := n.cfg.BaseBackoff
	for i := 1; i < attempts && d < n.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, n.cfg.MaxBackoff)
	j, _ := rand.Int(rand.Reader, big.NewInt(int64(d/2)+1))
	return d/2 + time.Duration(j.Int64())
}

// post sends d to w: a 2xx answer is a delivery, anything else a failed attempt.
func (n *Notifier) post(ctx context.Context, w modeldao.Webhook, d *store.Delivery) (int, error) {
	body := []byte(d.Raw)
	ts := n.now().Unix()
	rctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ModelDAO-Webhook/1")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(w.Secret, ts, body))
	req.Header.Set(HeaderEventID, d.Note.ID)
	req.Header.Set(HeaderEvent, string(d.Note.Type))
	resp, err := n.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("receiver answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// Sign returns the signature header of body sent at ts (Unix seconds) with secret.
func Sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.", ts)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify is what a receiver does with a delivery: it recomputes the signature over the
// timestamp header and the raw body, compares in constant time, and rejects a timestamp
// further than tolerance from now (a replayed request, captured earlier, is refused even
// though its signature is valid; within the tolerance, the event id deduplicates).
func Verify(secret, signature, timestamp string, body []byte, tolerance time.Duration, now time.Time) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return modeldao.Errorf(modeldao.EINVALID, "missing or malformed %s header", HeaderTimestamp)
	}
	if !hmac.Equal([]byte(signature), []byte(Sign(secret, ts, body))) {
		return modeldao.Errorf(modeldao.EINVALID, "signature does not match: wrong secret or altered body")
	}
	if age := now.Sub(time.Unix(ts, 0)); age > tolerance || age < -tolerance {
		return modeldao.Errorf(modeldao.EINVALID, "timestamp %s is %s from now, beyond the tolerance %s: a replay?", timestamp, age.Round(time.Second), tolerance)
	}
	return nil
}
