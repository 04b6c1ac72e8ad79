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
//     the job and waits, with backoff, until kubo answers, then carries on;
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
// Several versions may share one weights CID. kubo keeps one pin per CID (named after the
// version that pinned it last), so the weights are unpinned only when no other APPROVED
// version with the same CID still needs them.
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
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/store"
)

// Consumer consumes the pin queue of one DAO. Use one Consumer from one goroutine at a time;
// run several Consumers (with distinct names) for parallelism.
type Consumer struct {
	ipfs *Client
	st   *store.Store
	cfg  Config
	log  *slog.Logger

	pendingChecked bool // the consumer's own pending list was read once
}

// New returns a consumer of the pin queue of st that pins on the kubo daemon behind ipfs.
func New(ipfs *Client, st *store.Store, cfg Config) *Consumer {
	cfg = cfg.withDefaults()
	return &Consumer{
		ipfs: ipfs,
		st:   st,
		cfg:  cfg,
		log:  cfg.Logger.With("component", "pinning", "consumer", cfg.Consumer),
	}
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
	// Evidence is what the sweeps for model cards and audit reports did.
	Evidence EvidenceReport
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
		slog.Duration("elapsed", r.Elapsed),
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
	c.log.Info("pin consumer started", "ipfs", c.ipfs.Addr)
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

// waitForIPFS returns once kubo answers, or ctx's error.
func (c *Consumer) waitForIPFS(ctx context.Context) error {
	for i := 1; ; i++ {
		if !sleep(ctx, c.backoff(min(i, 10), 30*time.Second)) {
			return ctx.Err()
		}
		if err := c.ipfs.Ping(ctx); err == nil {
			c.log.Info("IPFS answers again", "ipfs", c.ipfs.Addr)
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

func (c *Consumer) handlePin(ctx context.Context, d store.PinDelivery, v *modeldao.ModelVersion, rep *Report, log *slog.Logger) error {
	rec, err := c.st.GetPin(ctx, v.ID)
	if err != nil {
		return err
	}
	if rec == nil || rec.CID != v.WeightsCID {
		rec = &modeldao.Pin{VersionID: v.ID, CID: v.WeightsCID}
	}
	id, perr := cid.Decode(string(v.WeightsCID))
	if perr != nil {
		rec.Attempts++
		return c.fail(ctx, d, rec, nil, modeldao.WrapError(modeldao.EINVALID, perr, "weights CID %q is not a CID", v.WeightsCID), rep, log)
	}
	switch rec.Status {
	case modeldao.PinPinned:
		ok, err := c.ipfs.isPinned(ctx, id)
		if err != nil {
			var te *transientError
			if err = c.classify(ctx, err); !errors.As(err, &te) {
				return err // ctx, outage, Redis
			}
			log.Warn("could not check the existing pin: pinning again", "err", err)
		}
		if ok {
			rep.Duplicate++
			log.Info("already pinned and verified")
			return c.st.AckPinJob(ctx, d.ID, nil)
		}
		log.Warn("the record says PINNED but kubo has no such pin: pinning again")
	case modeldao.PinFailed:
		rep.Duplicate++
		log.Info("already FAILED: a new approval (or a re-queued job) is needed to try again", "lastError", rec.LastError)
		return c.st.AckPinJob(ctx, d.ID, nil)
	}

	rec.Status, rec.UpdatedAt = modeldao.PinPinning, now()
	if err := c.st.SetPin(ctx, *rec); err != nil {
		return err
	}
	log.Info("pinning", "attempt", rec.Attempts+1, "name", modeldao.PinName(v.ID))
	started := time.Now()
	size, sum, err := c.pinAndVerify(ctx, id, v, log)
	if err != nil {
		err = c.classify(ctx, err)
		var pe *permanentError
		var te *transientError
		switch {
		case ctx.Err() != nil:
			c.requeue(rec, log)
			return ctx.Err()
		case errors.As(err, &pe):
			rec.Attempts++
			return c.fail(ctx, d, rec, &id, pe.err, rep, log)
		case errors.As(err, &te):
			rec.Attempts++
			if rec.Attempts >= c.cfg.MaxAttempts {
				return c.fail(ctx, d, rec, &id, fmt.Errorf("gave up after %d attempts: %s", rec.Attempts, te.msg), rep, log)
			}
			due := time.Now().Add(c.backoff(rec.Attempts, 0))
			rec.Status, rec.LastError, rec.UpdatedAt = modeldao.PinQueued, te.msg, now()
			log.Warn("pin attempt failed: will retry", "attempt", rec.Attempts, "of", c.cfg.MaxAttempts, "err", te.msg, "retryAt", due)
			rep.Retrying++
			return c.st.RetryPinJob(ctx, d.ID, d.Job, due, rec)
		default:
			return err // outage or Redis
		}
	}

	// The version may have changed while we pinned (revoked, or its approval rolled back).
	v2, err := c.st.VersionForPin(ctx, v.ID)
	if err != nil {
		return err
	}
	if v2 == nil || v2.Status != modeldao.VersionApproved || v2.WeightsCID != v.WeightsCID {
		status := "absent"
		if v2 != nil {
			status = v2.Status.String()
		}
		if _, err := c.release(ctx, v.ID, id, log); err != nil {
			return c.classify(ctx, err)
		}
		rep.Stale++
		rec.Status, rec.LastError, rec.UpdatedAt = modeldao.PinUnpinned, fmt.Sprintf("the version became %s while it was being pinned: unpinned", status), now()
		log.Info("version no longer approved after pinning: unpinned", "versionStatus", status)
		return c.st.AckPinJob(ctx, d.ID, rec)
	}

	rec.Attempts++
	rec.Status, rec.LastError, rec.Size = modeldao.PinPinned, "", uint64(size)
	rec.PinnedAt = now()
	rec.UpdatedAt = rec.PinnedAt
	rep.Pinned++
	log.Info("pinned and verified", "size", size, "sha256", v.WeightsSHA256.Hex(), "took", time.Since(started))
	if sum != nil {
		return c.st.AckPinJobWithRelease(ctx, d.ID, rec, sum)
	}
	return c.st.AckPinJob(ctx, d.ID, rec)
}

// fail marks the version FAILED with cause, unpins id (if not nil and no other approved
// version needs it) and acks the job.
func (c *Consumer) fail(ctx context.Context, d store.PinDelivery, rec *modeldao.Pin, id *cid.Cid, cause error, rep *Report, log *slog.Logger) error {
	if id != nil {
		if _, err := c.release(ctx, rec.VersionID, *id, log); err != nil {
			return c.classify(ctx, err)
		}
	}
	rec.Status, rec.LastError, rec.UpdatedAt = modeldao.PinFailed, reason(cause), now()
	rep.Failed++
	log.Error("pin FAILED", "attempts", rec.Attempts, "err", rec.LastError)
	return c.st.AckPinJob(ctx, d.ID, rec)
}

func (c *Consumer) handleUnpin(ctx context.Context, d store.PinDelivery, v *modeldao.ModelVersion, rep *Report, log *slog.Logger) error {
	if !c.cfg.UnpinOnRevoke {
		rep.Kept++
		log.Info("version revoked: weights stay pinned (UnpinOnRevoke is off)")
		return c.st.AckPinJob(ctx, d.ID, nil)
	}
	rec, err := c.st.GetPin(ctx, v.ID)
	if err != nil {
		return err
	}
	if rec != nil && rec.Status == modeldao.PinUnpinned {
		rep.Duplicate++
		log.Info("already unpinned")
		return c.st.AckPinJob(ctx, d.ID, nil)
	}
	if rec == nil {
		rec = &modeldao.Pin{VersionID: v.ID, CID: v.WeightsCID}
	}
	if id, perr := cid.Decode(string(v.WeightsCID)); perr == nil {
		if _, err := c.release(ctx, v.ID, id, log); err != nil {
			err = c.classify(ctx, err)
			var te *transientError
			if !errors.As(err, &te) {
				return err // ctx, outage, Redis
			}
			rec.Attempts++
			if rec.Attempts >= c.cfg.MaxAttempts {
				rec.LastError, rec.UpdatedAt = fmt.Sprintf("unpin gave up after %d attempts: %s", rec.Attempts, te.msg), now()
				rep.Failed++
				log.Error("unpin failed", "err", rec.LastError)
				return c.st.AckPinJob(ctx, d.ID, rec)
			}
			due := time.Now().Add(c.backoff(rec.Attempts, 0))
			rec.LastError, rec.UpdatedAt = te.msg, now()
			rep.Retrying++
			log.Warn("unpin attempt failed: will retry", "attempt", rec.Attempts, "err", te.msg, "retryAt", due)
			return c.st.RetryPinJob(ctx, d.ID, d.Job, due, rec)
		}
	}
	rec.Status, rec.LastError, rec.UpdatedAt = modeldao.PinUnpinned, "", now()
	rep.Unpinned++
	log.Info("version revoked: unpinned")
	return c.st.AckPinJob(ctx, d.ID, rec)
}

// release unpins id for version unless another APPROVED version with the same CID still
// needs it (queued, pinning or pinned). It reports whether it unpinned.
func (c *Consumer) release(ctx context.Context, version uint64, id cid.Cid, log *slog.Logger) (bool, error) {
	others, err := c.st.PinsByCID(ctx, id.String())
	if err != nil {
		return false, &storeError{err}
	}
	for _, p := range others {
		if p.VersionID == version || (p.Status != modeldao.PinQueued && p.Status != modeldao.PinPinning && p.Status != modeldao.PinPinned) {
			continue
		}
		ov, err := c.st.VersionForPin(ctx, p.VersionID)
		if err != nil {
			return false, &storeError{err}
		}
		if ov != nil && ov.Status == modeldao.VersionApproved {
			log.Info("weights stay pinned: another approved version has the same CID", "sharedWith", p.VersionID)
			return false, nil
		}
	}
	if err := c.ipfs.unpin(ctx, id); err != nil {
		return false, err
	}
	return true, nil
}

// storeError marks an error of the store met in the middle of kubo calls.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// classify sorts the error of a step that talks to kubo: ctx's error when ctx ended; store
// errors as they are; *transientError and *permanentError as they are; anything else
// (transport) becomes an *errOutage when kubo does not answer a ping, or a transient error
// when it does (the connection broke, but the daemon is there: try again later).
func (c *Consumer) classify(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var se *storeError
	if errors.As(err, &se) {
		return se.err
	}
	var te *transientError
	var pe *permanentError
	if errors.As(err, &te) || errors.As(err, &pe) {
		return err
	}
	if perr := c.ipfs.Ping(ctx); perr != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &errOutage{err: perr}
	}
	return &transientError{msg: fmt.Sprintf("talking to the IPFS API at %s: %v", c.ipfs.Addr, err)}
}

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
