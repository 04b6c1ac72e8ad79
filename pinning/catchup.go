package pinning

import (
	"context"
	"log/slog"
	"slices"

	"github.com/ipfs/go-cid"

	"github.com/modeldao/modeldao"
)

// Catch-up: a node that was down (or refused) while a pin was made has a FAILED replica, and
// the pin is DEGRADED; a node that was down while a version was revoked still holds its
// weights. Reconcile, run after every evidence sweep (each Drain, and Run's idle passes),
// brings every node that answers in line with the records: it pins held weights and
// documents where a replica is missing and unpins released weights where a replica is
// still PINNED (unless something else still needs the CID, as for any unpin). Nothing is
// verified again: the content was verified when first pinned, and a CID names its bytes.
// Nodes that do not answer are skipped until a later pass.

// ReplicaReport tells what a catch-up pass did, in replicas (one pin on one node).
type ReplicaReport struct {
	CaughtUp, Unpinned, Failed int
}

func (r *ReplicaReport) add(o ReplicaReport) {
	r.CaughtUp += o.CaughtUp
	r.Unpinned += o.Unpinned
	r.Failed += o.Failed
}

// Reconcile catches the nodes that answer up with the pin records, until done or ctx ends,
// or a pin job waits in the queue (jobs come first: the next pass carries on). It returns
// Redis's errors; nodes that fail are recorded on the replicas and counted, not returned.
func (c *Consumer) Reconcile(ctx context.Context) (ReplicaReport, error) {
	var rep ReplicaReport
	pins, err := c.st.PinsToReconcile(ctx)
	if err != nil {
		return rep, err
	}
	docs, err := c.st.EvidenceToReconcile(ctx)
	if err != nil {
		return rep, err
	}
	if !c.anyBehind(pins, docs) {
		return rep, nil // the usual case: no node to ping
	}
	up := c.answering(ctx)
	if len(up) == 0 {
		return rep, nil
	}
	for _, p := range pins {
		if ctx.Err() != nil {
			return rep, nil
		}
		if queued, _, err := c.st.PinBacklog(ctx); err != nil || queued > 0 {
			return rep, err
		}
		if err := c.reconcilePin(ctx, p, up, &rep); err != nil {
			return rep, err
		}
	}
	for _, p := range docs {
		if ctx.Err() != nil {
			return rep, nil
		}
		if err := c.reconcileEvidence(ctx, p, up, &rep); err != nil {
			return rep, err
		}
	}
	if rep != (ReplicaReport{}) {
		c.log.Info("replica catch-up done", "caughtUp", rep.CaughtUp, "unpinned", rep.Unpinned, "failed", rep.Failed)
	}
	return rep, nil
}

// anyBehind reports whether some record has a node to catch up.
func (c *Consumer) anyBehind(pins []modeldao.Pin, docs []modeldao.EvidencePin) bool {
	for _, p := range pins {
		if len(c.behind(p.Status, p.Replicas, c.nodes)) > 0 {
			return true
		}
	}
	for _, p := range docs {
		if len(c.behind(p.Status, p.Replicas, c.nodes)) > 0 {
			return true
		}
	}
	return false
}

// behind returns the nodes of among whose replica differs from what status asks: not
// PINNED for a held pin, PINNED for one that is not held.
func (c *Consumer) behind(status modeldao.PinStatus, replicas []modeldao.PinReplica, among []*Client) []*Client {
	var out []*Client
	for _, n := range among {
		r, ok := modeldao.Replica(replicas, n.Addr)
		pinned := ok && r.Status == modeldao.PinPinned
		if status.Held() != pinned {
			out = append(out, n)
		}
	}
	return out
}

func (c *Consumer) reconcilePin(ctx context.Context, p modeldao.Pin, up []*Client, rep *ReplicaReport) error {
	nodes := c.behind(p.Status, p.Replicas, up)
	if len(nodes) == 0 {
		return nil
	}
	log := c.log.With("version", p.VersionID, "cid", p.CID)
	id, err := cid.Decode(string(p.CID))
	if err != nil {
		return nil // a record the job path FAILED already would not be held
	}
	v, err := c.st.VersionForPin(ctx, p.VersionID)
	if err != nil || v == nil || v.WeightsCID != p.CID {
		return err // the version changed: its job sorts it out
	}
	next := p
	if p.Status.Held() {
		if v.Status != modeldao.VersionApproved {
			return nil // revoked meanwhile: the unpin job comes
		}
		rs := c.onNodes(ctx, nodes, func(ctx context.Context, n *Client) error {
			_, err := n.pinAdd(ctx, id, modeldao.PinName(v.ID), c.cfg.InactivityTimeout, nil)
			return err
		})
		if ctx.Err() != nil {
			return nil // cut short (a deadline): nothing learnt about the nodes
		}
		next.Replicas = pinReplicas(p.Replicas, rs)
		next.Status, next.LastError = modeldao.ReplicatedStatus(c.held(next.Replicas), c.factor), c.replicaSummary(next.Replicas)
		c.count(rs, &rep.CaughtUp, rep, log, "pinned")
	} else {
		kept, rs, err := c.release(ctx, p.VersionID, id, nodes, log)
		if err != nil {
			return err
		}
		next.Replicas = releasedReplicas(p.Replicas, kept, rs)
		c.count(rs, &rep.Unpinned, rep, log, "unpinned")
	}
	next.UpdatedAt = now()
	// A job may have rewritten the record while the nodes worked: then it is the truth,
	// and the next pass looks again.
	cur, err := c.st.GetPin(ctx, p.VersionID)
	if err != nil || cur == nil || cur.Status != p.Status || !cur.UpdatedAt.Equal(p.UpdatedAt) {
		return err
	}
	return c.st.SetPin(ctx, next)
}

func (c *Consumer) reconcileEvidence(ctx context.Context, p modeldao.EvidencePin, up []*Client, rep *ReplicaReport) error {
	nodes := c.behind(p.Status, p.Replicas, up)
	if len(nodes) == 0 {
		return nil
	}
	log := c.log.With("evidence", p.EvidenceRef.String(), "cid", p.CID)
	id, err := cid.Decode(string(p.CID))
	if err != nil {
		return nil
	}
	rs := c.onNodes(ctx, nodes, func(ctx context.Context, n *Client) error {
		_, err := n.pinAdd(ctx, id, p.PinName(), min(c.cfg.InactivityTimeout, evidenceInactivity), nil)
		return err
	})
	if ctx.Err() != nil {
		return nil // cut short (a deadline): nothing learnt about the nodes
	}
	next := p
	next.Replicas = pinReplicas(p.Replicas, rs)
	next.Status, next.LastError, next.UpdatedAt = modeldao.ReplicatedStatus(c.held(next.Replicas), c.factor), c.replicaSummary(next.Replicas), now()
	c.count(rs, &rep.CaughtUp, rep, log, "pinned")
	cur, err := c.st.EvidencePins(ctx, []modeldao.EvidenceRef{p.EvidenceRef})
	if err != nil || cur[0] == nil || cur[0].CID != p.CID || !slices.Equal(cur[0].Replicas, p.Replicas) {
		return err
	}
	return c.st.SetEvidencePin(ctx, next)
}

// count adds the nodes that succeeded to *ok and the others to rep.Failed, and logs them.
func (c *Consumer) count(rs []nodeResult, ok *int, rep *ReplicaReport, log *slog.Logger, did string) {
	for _, r := range rs {
		if r.err == nil {
			*ok++
			log.Info("replica caught up: "+did, "node", r.node.Addr)
		} else {
			rep.Failed++
			log.Warn("replica still behind", "node", r.node.Addr, "err", nodeError(r.node, r.err))
		}
	}
}
