package pinning

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/store"
)

// The two jobs of the queue, pin and unpin, on every node of the consumer (see nodes.go).

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
	switch {
	case rec.Status.Held():
		done, err := c.confirmHeld(ctx, d, id, rec, rep, log)
		if done || err != nil {
			return err
		}
	case rec.Status == modeldao.PinFailed:
		rep.Duplicate++
		log.Info("already FAILED: a new approval (or a re-queued job) is needed to try again", "lastError", rec.LastError)
		return c.st.AckPinJob(ctx, d.ID, nil)
	}

	rec.Status, rec.UpdatedAt = modeldao.PinPinning, now()
	if err := c.st.SetPin(ctx, *rec); err != nil {
		return err
	}
	log.Info("pinning", "attempt", rec.Attempts+1, "name", modeldao.PinName(v.ID), "nodes", len(c.nodes))
	started := time.Now()
	size, sum, rs, err := c.pinAndVerify(ctx, id, v, log)
	if rs != nil && ctx.Err() == nil {
		rec.Replicas = pinReplicas(rec.Replicas, rs)
	}
	if err != nil {
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
			return err // outage (no node answers) or Redis
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
		kept, urs, err := c.release(ctx, v.ID, id, c.nodes, log)
		if err != nil {
			return err
		}
		if !kept && len(succeeded(urs)) == 0 {
			return failure(ctx, urs)
		}
		rec.Replicas = releasedReplicas(rec.Replicas, kept, urs)
		rep.Stale++
		rec.Status, rec.LastError, rec.UpdatedAt = modeldao.PinUnpinned, fmt.Sprintf("the version became %s while it was being pinned: unpinned", status), now()
		log.Info("version no longer approved after pinning: unpinned", "versionStatus", status)
		return c.st.AckPinJob(ctx, d.ID, rec)
	}

	rec.Attempts++
	rec.Status, rec.LastError, rec.Size = modeldao.ReplicatedStatus(c.held(rec.Replicas), c.factor), c.replicaSummary(rec.Replicas), uint64(size)
	rec.PinnedAt = now()
	rec.UpdatedAt = rec.PinnedAt
	rep.Pinned++
	if rec.Status == modeldao.PinDegraded {
		log.Warn("pinned and verified, DEGRADED: fewer nodes than the replication factor hold it", "size", size, "why", rec.LastError)
	} else {
		log.Info("pinned and verified", "size", size, "sha256", v.WeightsSHA256.Hex(), "took", time.Since(started))
	}
	if sum != nil {
		return c.st.AckPinJobWithRelease(ctx, d.ID, rec, sum)
	}
	return c.st.AckPinJob(ctx, d.ID, rec)
}

// confirmHeld handles a pin job for a record that is PINNED or DEGRADED already: it asks the
// nodes whose replica says PINNED (every node for a record without replicas) whether they
// still hold the pin. When at least one does, the job is a duplicate and is acked (the
// record rewritten only if a node lost its pin: Reconcile pins there again); done is true.
// When none does, the caller pins again. No node answering is an outage.
func (c *Consumer) confirmHeld(ctx context.Context, d store.PinDelivery, id cid.Cid, rec *modeldao.Pin, rep *Report, log *slog.Logger) (done bool, err error) {
	var check []*Client
	for _, n := range c.nodes {
		if r, ok := modeldao.Replica(rec.Replicas, n.Addr); ok && r.Status == modeldao.PinPinned || len(rec.Replicas) == 0 {
			check = append(check, n)
		}
	}
	errLost := errors.New("the node no longer holds the pin")
	rs := c.onNodes(ctx, check, func(ctx context.Context, n *Client) error {
		ok, err := n.isPinned(ctx, id)
		if err == nil && !ok {
			return &transientError{msg: errLost.Error()}
		}
		return err
	})
	if ctx.Err() != nil {
		return true, ctx.Err()
	}
	confirmed, lost := 0, false
	for _, r := range rs {
		var te *transientError
		switch {
		case r.err == nil:
			confirmed++
		case errors.As(r.err, &te) && te.msg == errLost.Error():
			lost = true
			rec.Replicas = modeldao.SetReplica(rec.Replicas, modeldao.PinReplica{Node: r.node.Addr, Status: modeldao.PinFailed, Error: te.msg, UpdatedAt: now()})
		default:
			log.Warn("could not check the existing pin", "node", r.node.Addr, "err", r.err)
		}
	}
	if confirmed > 0 {
		rep.Duplicate++
		log.Info("already pinned and verified", "confirmedBy", confirmed)
		if !lost {
			return true, c.st.AckPinJob(ctx, d.ID, nil)
		}
		rec.Status, rec.LastError, rec.UpdatedAt = modeldao.ReplicatedStatus(c.held(rec.Replicas), c.factor), c.replicaSummary(rec.Replicas), now()
		return true, c.st.AckPinJob(ctx, d.ID, rec)
	}
	if len(rs) > 0 && countOutages(rs) == len(rs) {
		return true, failure(ctx, rs)
	}
	log.Warn("the record says the weights are pinned but no node confirms it: pinning again")
	return false, nil
}

// fail marks the version FAILED with cause, unpins id (if not nil and nothing else needs
// it) on every node and acks the job.
func (c *Consumer) fail(ctx context.Context, d store.PinDelivery, rec *modeldao.Pin, id *cid.Cid, cause error, rep *Report, log *slog.Logger) error {
	if id != nil {
		kept, rs, err := c.release(ctx, rec.VersionID, *id, c.nodes, log)
		if err != nil {
			return err
		}
		if !kept && len(succeeded(rs)) == 0 {
			if err := failure(ctx, rs); ctx.Err() != nil || isOutage(err) {
				return err // wait for a node before recording the failure
			}
		}
		rec.Replicas = releasedReplicas(rec.Replicas, kept, rs)
	}
	rec.Status, rec.LastError, rec.UpdatedAt = modeldao.PinFailed, reason(cause), now()
	rep.Failed++
	log.Error("pin FAILED", "attempts", rec.Attempts, "err", rec.LastError)
	return c.st.AckPinJob(ctx, d.ID, rec)
}

func isOutage(err error) bool {
	var oe *errOutage
	return errors.As(err, &oe)
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
		kept, rs, err := c.release(ctx, v.ID, id, c.nodes, log)
		if err != nil {
			return err
		}
		if !kept && len(succeeded(rs)) == 0 {
			err := failure(ctx, rs)
			var te *transientError
			if !errors.As(err, &te) {
				return err // ctx, outage
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
		rec.Replicas = releasedReplicas(rec.Replicas, kept, rs)
	}
	rec.Status, rec.LastError, rec.UpdatedAt = modeldao.PinUnpinned, "", now()
	rep.Unpinned++
	log.Info("version revoked: unpinned")
	return c.st.AckPinJob(ctx, d.ID, rec)
}

// release unpins id for version on nodes unless something else still needs it: another
// APPROVED version with the same weights CID (queued, pinning or held), or a document the
// chain references (a model card, an audit report, a policy document: documents are never
// unpinned) with that CID. It reports whether it kept the pin, and otherwise the result of
// each node. Its error is a store error or ctx's.
func (c *Consumer) release(ctx context.Context, version uint64, id cid.Cid, nodes []*Client, log *slog.Logger) (kept bool, _ []nodeResult, _ error) {
	others, err := c.st.PinsByCID(ctx, id.String())
	if err != nil {
		return false, nil, err
	}
	for _, p := range others {
		if p.VersionID == version || (p.Status != modeldao.PinQueued && p.Status != modeldao.PinPinning && !p.Status.Held()) {
			continue
		}
		ov, err := c.st.VersionForPin(ctx, p.VersionID)
		if err != nil {
			return false, nil, err
		}
		if ov != nil && ov.Status == modeldao.VersionApproved {
			log.Info("weights stay pinned: another approved version has the same CID", "sharedWith", p.VersionID)
			return true, nil, nil
		}
	}
	ref, ok, err := c.st.EvidenceWithCID(ctx, id.String())
	if err != nil {
		return false, nil, err
	}
	if ok {
		log.Info("weights stay pinned: a document the chain references has the same CID", "document", ref.String())
		return true, nil, nil
	}
	rs := c.onNodes(ctx, nodes, func(ctx context.Context, n *Client) error { return n.unpin(ctx, id) })
	if ctx.Err() != nil {
		return false, nil, ctx.Err()
	}
	return false, rs, nil
}

// releasedReplicas returns the replicas of a pin that release kept (every node UNPINNED for
// this record: the pin stays on behalf of its other users) or unpinned (per node).
func releasedReplicas(replicas []modeldao.PinReplica, kept bool, rs []nodeResult) []modeldao.PinReplica {
	if !kept {
		return unpinReplicas(replicas, rs)
	}
	out := make([]modeldao.PinReplica, 0, len(replicas))
	for _, r := range replicas {
		out = append(out, modeldao.PinReplica{Node: r.Node, Status: modeldao.PinUnpinned, UpdatedAt: now()})
	}
	return out
}
