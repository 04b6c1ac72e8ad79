// Package pinning makes the weights of approved model versions durable on IPFS. It consumes
// the pin queue that the indexer fills (see store.PinJob): for an approval it pins the
// weights CID recursively in kubo under the name "modeldao:<version id>", reads the content
// back and checks it against the digest on chain; for a revocation it unpins them. The
// content is one file (its sha256 is the digest) or a release directory (package release:
// the digest is its manifest's, and every file the manifest lists is read back and checked;
// a file that differs or is missing fails the pin with a reason that names it, and the
// verified files and safetensors formats are stored with the pin record for the API). The
// status of each version's pin (QUEUED, PINNING, PINNED, FAILED, UNPINNED, with attempts,
// last error, size and pinned-at) is kept in the store, where the API reads it.
//
// A job is a hint and the projection the truth: before acting the consumer re-reads the
// version and acts only if its status still asks for it (APPROVED to pin, REVOKED to unpin),
// otherwise it drops the job as stale; that is how an approval rolled back by a reorg cancels
// its pin. Every step is idempotent, so a job done twice changes nothing.
//
// Failures:
//   - kubo not answering (daemon down) is an outage, not a failed attempt: the consumer keeps
//     the job and waits, with backoff, until kubo answers, then carries on (with several
//     nodes: only when none answers; otherwise the pin is DEGRADED);
//   - content that cannot be fetched (no progress for Config.InactivityTimeout, "block not
//     found" offline) or read back is a failed attempt: the job is postponed with
//     exponential backoff and jitter (moved to a retry set, not slept on, so the queue moves
//     on) and the version is FAILED after Config.MaxAttempts attempts;
//   - a digest mismatch (of the file, of the manifest, of any file of a release), a missing
//     file, a malformed CID: FAILED at once, and the weights unpinned.
//
// Jobs that a crashed consumer took and never acked are taken over (XAUTOCLAIM) once idle for
// Config.MinIdle; a consumer working on a long pin refreshes its job so that nobody takes it
// over meanwhile.
//
// Several versions may share one weights CID, and a document the chain references (a model
// card, say) may have the CID of some weights. kubo keeps one pin per CID (named after the
// version that pinned it last), so the weights are unpinned only when no other APPROVED
// version with the same CID and no document still needs them (a recompute over the
// projection at each unpin, see release).
//
// Replication (nodes.go, catchup.go): the consumer may pin on several kubo nodes, with a
// per-node state in each pin record and a replication factor; a node down degrades a pin
// (DEGRADED), never fails it, and is caught up when it answers again.
//
// Progress of a pin: kubo's client/rpc PinAPI.Add does not expose progress, so the consumer
// calls the HTTP RPC command pin/add?progress=true itself through the client's request
// builder and reads the stream of {"Progress": blocks, "Bytes": bytes} events that kubo
// emits every 500 ms; the pin is cancelled only when neither number grew for
// Config.InactivityTimeout (as IPFS Cluster does), and the caller's context deadline (a
// Lambda's) bounds it as well.
package pinning

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/store"
)

// Consumer consumes the pin queue of one DAO. Use one Consumer from one goroutine at a time;
// run several Consumers (with distinct names) for parallelism.
type Consumer struct {
	nodes  []*Client // the IPFS nodes pinned on (nodes.go)
	factor int       // how many of them make a pin PINNED
	st     *store.Store
	cfg    Config
	log    *slog.Logger

	pendingChecked bool // the consumer's own pending list was read once
}

// New returns a consumer of the pin queue of st that pins on the one kubo daemon behind
// ipfs (cfg.Replication is then 1 whatever it says); NewReplicated pins on several.
func New(ipfs *Client, st *store.Store, cfg Config) *Consumer {
	cfg.Replication = 0
	c, err := NewReplicated([]*Client{ipfs}, st, cfg)
	if err != nil {
		panic(err) // one node, factor 0: cannot fail
	}
	return c
}

// Name returns the consumer's name in the group.
func (c *Consumer) Name() string { return c.cfg.Consumer }

// Report tells what a Drain (or Run, until it returned) did.
type Report struct {
	Jobs      int // jobs taken from the queue
	Pinned    int // versions pinned and verified
	Unpinned  int // revoked versions unpinned
	Failed    int // versions marked FAILED
	Retrying  int // failed attempts postponed to a later retry
	Stale     int // jobs dropped because the version no longer asks for them
	Duplicate int // jobs already done
	Kept      int // revocations left pinned (UnpinOnRevoke off)
	Invalid   int // malformed jobs dropped
	Aborted   int // jobs left unfinished (deadline, cancellation): the next run resumes them
	// Evidence is what the sweeps for model cards, audit reports and policy documents did.
	Evidence EvidenceReport
	// Replicas is what the catch-up passes of the IPFS nodes did (catchup.go).
	Replicas ReplicaReport
	// Queued and Waiting are the jobs left at the end: in the queue (new or being worked on
	// by other consumers) and in the retry set.
	Queued  int64
	Waiting int64
	Elapsed time.Duration
}

// LogValue lets a Report be logged as a group.
func (r Report) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("jobs", r.Jobs), slog.Int("pinned", r.Pinned), slog.Int("unpinned", r.Unpinned),
		slog.Int("failed", r.Failed), slog.Int("retrying", r.Retrying), slog.Int("stale", r.Stale),
		slog.Int("duplicate", r.Duplicate), slog.Int("kept", r.Kept), slog.Int("invalid", r.Invalid),
		slog.Int("aborted", r.Aborted), slog.Int64("queued", r.Queued), slog.Int64("waiting", r.Waiting),
		slog.Int("evidencePinned", r.Evidence.Pinned), slog.Int("evidenceFailed", r.Evidence.Failed),
		slog.Int("replicasCaughtUp", r.Replicas.CaughtUp), slog.Int("replicasUnpinned", r.Replicas.Unpinned),
		slog.Int("replicasFailed", r.Replicas.Failed), slog.Duration("elapsed", r.Elapsed),
	)
}

// Run consumes the queue until ctx is cancelled, waiting for new jobs. Redis or kubo being
// unavailable makes it wait and retry, never return; it returns nil once ctx is done.
func (c *Consumer) Run(ctx context.Context) error {
	var rep Report
	start := time.Now()
	defer func() {
		rep.Elapsed = time.Since(start)
		c.log.Info("pin consumer stopped", "report", rep)
	}()
	c.log.Info("pin consumer started", "ipfs", c.Nodes(), "replication", c.factor)
	trouble, groupReady := 0, false
	var lastSweep time.Time
	for ctx.Err() == nil {
		var err error
		if !groupReady {
			err = c.st.EnsurePinGroup(ctx)
			groupReady = err == nil
		}
		var d *store.PinDelivery
		if err == nil {
			d, err = c.next(ctx, c.blockFor(ctx))
		}
		if err == nil && d != nil {
			err = c.process(ctx, *d, &rep)
		}
		if err == nil && d == nil && time.Since(lastSweep) >= c.cfg.EvidenceEvery {
			var er EvidenceReport
			er, err = c.PinEvidence(ctx)
			rep.Evidence.Pinned += er.Pinned
			rep.Evidence.Failed += er.Failed
			rep.Evidence.Retrying += er.Retrying
			if err == nil {
				var rr ReplicaReport
				rr, err = c.Reconcile(ctx)
				rep.Replicas.add(rr)
			}
			if err == nil {
				lastSweep = time.Now()
			}
		}
		if err == nil {
			trouble = 0
			continue
		}
		if ctx.Err() != nil {
			break
		}
		groupReady = false // the group may have been deleted (NOGROUP): create it again
		trouble++
		wait := c.backoff(min(trouble, 6), 30*time.Second)
		c.log.Warn("pin consumer: will try again", "err", err, "in", wait)
		if !sleep(ctx, wait) {
			break
		}
	}
	return nil
}

// Drain consumes the jobs that can be done now, until the queue is empty or the deadline of
// ctx minus Config.DrainMargin, for one Lambda invocation. Jobs it could not finish stay in
// the queue for the next invocation; jobs waiting for a retry that is not due yet stay in
// the retry set (Report.Waiting). It returns an EUNAVAILABLE error when it ended waiting for
// kubo, and the error of Redis when Redis failed.
func (c *Consumer) Drain(ctx context.Context) (Report, error) {
	var rep Report
	start := time.Now()
	c.pendingChecked = false // resume what an earlier invocation of this consumer left
	work := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		work, cancel = context.WithDeadline(ctx, dl.Add(-c.cfg.DrainMargin))
		defer cancel()
	}
	err := c.drain(work, &rep)
	if err == nil && work.Err() == nil {
		rep.Evidence, err = c.PinEvidence(work)
		if err == nil && work.Err() == nil {
			rep.Replicas, err = c.Reconcile(work)
		}
		if work.Err() != nil && modeldao.ErrorCode(err) != modeldao.EUNAVAILABLE {
			err = nil // the deadline: the next invocation carries on
		}
	}
	if q, w, berr := c.st.PinBacklog(context.WithoutCancel(ctx)); berr == nil {
		rep.Queued, rep.Waiting = q, w
	}
	rep.Elapsed = time.Since(start)
	if err != nil {
		c.log.Error("pin drain ended early", "err", err, "report", rep)
		return rep, err
	}
	c.log.Info("pin drain done", "report", rep)
	return rep, nil
}

func (c *Consumer) drain(ctx context.Context, rep *Report) error {
	if err := c.st.EnsurePinGroup(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	for ctx.Err() == nil {
		d, err := c.next(ctx, 0)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if d == nil {
			return nil
		}
		if err := c.process(ctx, *d, rep); err != nil {
			if ctx.Err() != nil && modeldao.ErrorCode(err) != modeldao.EUNAVAILABLE {
				return nil
			}
			return err
		}
	}
	return nil
}

// blockFor is how long Run's read may wait: Block, but no longer than until the next retry
// is due or than MinIdle/2 (so that jobs of dead consumers are taken over in time).
func (c *Consumer) blockFor(ctx context.Context) time.Duration {
	b := min(c.cfg.Block, c.cfg.MinIdle/2)
	if due, ok, err := c.st.NextPinRetry(ctx); err == nil && ok {
		b = min(b, time.Until(due))
	}
	return max(b, time.Millisecond)
}

// next returns the next job to work on, or nil if none came within block: first the
// consumer's own unacked jobs (once, at start), then due retries are put back in the queue,
// then jobs of dead consumers, then new jobs.
func (c *Consumer) next(ctx context.Context, block time.Duration) (*store.PinDelivery, error) {
	if !c.pendingChecked {
		ds, err := c.st.PendingPinJobs(ctx, c.cfg.Consumer, 1)
		if err != nil {
			return nil, err
		}
		if len(ds) > 0 {
			c.log.Info("resuming own unfinished pin job", "job", ds[0].ID)
			return &ds[0], nil
		}
		c.pendingChecked = true
	}
	if _, err := c.st.PromotePinRetries(ctx, time.Now(), 100); err != nil {
		return nil, err
	}
	ds, err := c.st.ClaimPinJobs(ctx, c.cfg.Consumer, c.cfg.MinIdle, 1)
	if err != nil {
		return nil, err
	}
	if len(ds) > 0 {
		c.log.Info("took over pin job of a consumer that stopped", "job", ds[0].ID, "minIdle", c.cfg.MinIdle)
		return &ds[0], nil
	}
	ds, err = c.st.ReadPinJobs(ctx, c.cfg.Consumer, 1, block)
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	return &ds[0], nil
}

// errOutage marks kubo not answering: the job is kept, and the consumer waits for kubo.
type errOutage struct{ err error }

func (e *errOutage) Error() string { return e.err.Error() }
func (e *errOutage) Unwrap() error { return e.err }

// process works on one job until it is finished (acked or postponed), the context ends (the
// job stays in the queue), or Redis fails. While kubo does not answer it waits for kubo and
// then tries again, without counting an attempt. A heartbeat keeps the job from being taken
// over meanwhile.
func (c *Consumer) process(ctx context.Context, d store.PinDelivery, rep *Report) error {
	rep.Jobs++
	hbCtx, stop := context.WithCancel(ctx)
	defer stop()
	go c.heartbeat(hbCtx, d.ID)
	for {
		err := c.handle(ctx, d, rep)
		var oe *errOutage
		if !errors.As(err, &oe) {
			if err != nil && ctx.Err() != nil {
				rep.Aborted++
			}
			return err
		}
		c.log.Warn("IPFS is unavailable: keeping the job and waiting for the daemon", "job", d.ID, "err", oe.err)
		if err := c.waitForIPFS(ctx); err != nil {
			rep.Aborted++
			return oe.err
		}
	}
}

func (c *Consumer) heartbeat(ctx context.Context, id string) {
	t := time.NewTicker(max(c.cfg.MinIdle/3, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.st.TouchPinJob(ctx, c.cfg.Consumer, id); err != nil && ctx.Err() == nil {
				c.log.Warn("could not refresh pin job", "job", id, "err", err)
			}
		}
	}
}

// waitForIPFS returns once a kubo node answers, or ctx's error.
func (c *Consumer) waitForIPFS(ctx context.Context) error {
	for i := 1; ; i++ {
		if !sleep(ctx, c.backoff(min(i, 10), 30*time.Second)) {
			return ctx.Err()
		}
		if up := c.answering(ctx); len(up) > 0 {
			c.log.Info("IPFS answers again", "ipfs", up[0].Addr)
			return nil
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// backoff returns the delay before attempt+1: BaseBackoff*2^(attempt-1), capped at
// MaxBackoff and limit (if > 0), with "equal jitter" (half fixed, half random).
func (c *Consumer) backoff(attempt int, limit time.Duration) time.Duration {
	d := c.cfg.BaseBackoff
	for i := 1; i < attempt && d < c.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.cfg.MaxBackoff)
	if limit > 0 {
		d = min(d, limit)
	}
	half := d / 2
	return half + rand.N(half+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// handle does one job once. It returns nil when the job is finished (acked or postponed), an
// *errOutage when kubo did not answer (the job is kept), or the context's or Redis's error.
func (c *Consumer) handle(ctx context.Context, d store.PinDelivery, rep *Report) error {
	log := c.log.With("job", d.ID)
	if d.Err != nil {
		rep.Invalid++
		log.Error("dropping malformed pin job", "err", d.Err)
		return c.st.AckPinJob(ctx, d.ID, nil)
	}
	job := d.Job
	log = log.With("op", job.Op, "version", job.VersionID)
	v, err := c.st.VersionForPin(ctx, job.VersionID)
	if err != nil {
		if modeldao.ErrorCode(err) == modeldao.EINTERNAL {
			rep.Invalid++
			log.Error("dropping pin job of a version whose record is malformed", "err", err)
			return c.st.AckPinJob(ctx, d.ID, nil)
		}
		return err
	}
	want := modeldao.VersionApproved
	if job.Op == store.PinOpUnpin {
		want = modeldao.VersionRevoked
	}
	if v == nil || v.Status != want {
		rep.Stale++
		status := "absent"
		if v != nil {
			status = v.Status.String()
		}
		log.Info("dropping stale pin job: the version no longer asks for it", "versionStatus", status, "want", want.String())
		return c.st.AckPinJob(ctx, d.ID, nil)
	}
	log = log.With("cid", v.WeightsCID)
	if job.CID != string(v.WeightsCID) {
		log.Warn("the job's CID differs from the version's: using the version's", "jobCid", job.CID)
	}
	if job.Op == store.PinOpUnpin {
		return c.handleUnpin(ctx, d, v, rep, log)
	}
	return c.handlePin(ctx, d, v, rep, log)
}

// storeError marks an error of the store met in the middle of kubo calls.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// requeue puts the pin record of a job left unfinished back to QUEUED (best effort).
func (c *Consumer) requeue(rec *modeldao.Pin, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rec.Status, rec.UpdatedAt = modeldao.PinQueued, now()
	if err := c.st.SetPin(ctx, *rec); err != nil {
		log.Warn("could not put the pin record back to QUEUED", "err", err)
	}
}

// reason is the text recorded as a pin's last error.
func reason(err error) string {
	var me *modeldao.Error
	if errors.As(err, &me) {
		if me.Err != nil && me.Err.Error() != me.Message {
			var mm *DigestMismatchError
			if errors.As(me.Err, &mm) {
				return me.Message
			}
			return me.Message + ": " + me.Err.Error()
		}
		return me.Message
	}
	return err.Error()
}

func now() time.Time { return time.Now().UTC() }
