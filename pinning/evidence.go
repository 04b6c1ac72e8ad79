package pinning

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ipfs/go-cid"

	"github.com/modeldao/modeldao"
)

// Evidence: besides approved weights, the pinner keeps every document the chain references
// available, the model card of every submitted version, the report of every audit and the
// document of every adopted policy. The indexer enqueues no job for them: the pinner sweeps
// the projection (store.EvidenceDue) for documents without a final pin record, pins each
// one on every node under its own name ("modeldao:card:<version>",
// "modeldao:report:<audit>", "modeldao:policy:<policy>"), and checks a report's bytes
// against the reportSha256 on chain (PolicyAdopted carries no digest of the document: its
// CID is its only anchor, as for model cards). A document that cannot be fetched is retried with
// backoff and FAILED after Config.MaxAttempts; a report that does not hash to its digest is
// FAILED at once (and stays pinned: it is the evidence that the auditor posted something
// else than they claimed). Documents are never unpinned.

// evidenceBatch is how many documents one sweep takes; evidenceInactivity caps the
// inactivity timeout of a document's pin, so that an unreachable document holds the
// pinner for less than a weights pin may.
const (
	evidenceBatch      = 50
	evidenceInactivity = 30 * time.Second
)

// EvidenceReport tells what a sweep did.
type EvidenceReport struct {
	Pinned, Failed, Retrying int
}

// PinEvidence pins the documents that are due now, until none is left, ctx ends, or a pin
// job waits in the queue (weights come first: the next sweep carries on). It returns an
// EUNAVAILABLE error when kubo stopped answering, and Redis's errors.
func (c *Consumer) PinEvidence(ctx context.Context) (EvidenceReport, error) {
	var rep EvidenceReport
	seen := map[modeldao.EvidenceRef]bool{}
	for ctx.Err() == nil {
		due, err := c.st.EvidenceDue(ctx, time.Now(), evidenceBatch)
		if err != nil {
			return rep, err
		}
		progress := false
		for _, p := range due {
			if seen[p.EvidenceRef] {
				continue // retried in this sweep already: wait for the next one
			}
			seen[p.EvidenceRef] = true
			progress = true
			if queued, _, err := c.st.PinBacklog(ctx); err != nil {
				return rep, err
			} else if queued > 0 {
				return rep, nil
			}
			if err := c.pinEvidence(ctx, p, &rep); err != nil {
				return rep, err
			}
		}
		if !progress {
			break
		}
	}
	if rep != (EvidenceReport{}) {
		c.log.Info("evidence sweep done", "pinned", rep.Pinned, "failed", rep.Failed, "retrying", rep.Retrying)
	}
	return rep, nil
}

func (c *Consumer) pinEvidence(ctx context.Context, p modeldao.EvidencePin, rep *EvidenceReport) error {
	log := c.log.With("evidence", p.EvidenceRef.String(), "cid", p.CID)
	id, perr := cid.Decode(string(p.CID))
	if perr != nil {
		p.Attempts++
		p.Status, p.LastError, p.UpdatedAt = modeldao.PinFailed, fmt.Sprintf("%q is not a CID", p.CID), now()
		rep.Failed++
		log.Error("evidence pin FAILED", "err", p.LastError)
		return c.st.SetEvidencePin(ctx, p)
	}
	rs := c.onNodes(ctx, c.nodes, func(ctx context.Context, n *Client) error {
		_, err := n.pinAdd(ctx, id, p.PinName(), min(c.cfg.InactivityTimeout, evidenceInactivity), nil)
		return err
	})
	var size int64
	var err error
	if held := succeeded(rs); len(held) == 0 {
		err = failure(ctx, rs)
	} else {
		for _, n := range held {
			if p.SHA256 != (common.Hash{}) {
				size, err = Verify(ctx, n, id.String(), p.SHA256)
			} else {
				size, err = n.fileSize(ctx, id)
			}
			if err = c.classifyOn(ctx, n, err); !isOutage(err) {
				break
			}
			for i := range rs {
				if rs[i].node == n {
					rs[i].err = err // gone after pinning: the next node reads it back
				}
			}
		}
	}
	p.Replicas = pinReplicas(p.Replicas, rs)
	if err != nil {
		var pe *permanentError
		var te *transientError
		var oe *errOutage
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &oe):
			return oe.err
		case errors.As(err, &pe):
			p.Attempts++
			p.Status, p.LastError, p.UpdatedAt = modeldao.PinFailed, reason(pe.err), now()
			rep.Failed++
			log.Error("evidence pin FAILED", "err", p.LastError)
			return c.st.SetEvidencePin(ctx, p)
		case errors.As(err, &te):
			p.Attempts++
			p.LastError, p.UpdatedAt = te.msg, now()
			if p.Attempts >= c.cfg.MaxAttempts {
				p.Status, p.LastError = modeldao.PinFailed, fmt.Sprintf("gave up after %d attempts: %s", p.Attempts, te.msg)
				rep.Failed++
				log.Error("evidence pin FAILED", "err", p.LastError)
			} else {
				p.Status, p.NextAttempt = modeldao.PinQueued, time.Now().Add(c.backoff(p.Attempts, 0))
				rep.Retrying++
				log.Warn("evidence pin attempt failed: will retry", "attempt", p.Attempts, "err", te.msg, "retryAt", p.NextAttempt)
			}
			return c.st.SetEvidencePin(ctx, p)
		default:
			return err // Redis
		}
	}
	p.Attempts++
	p.Status, p.LastError, p.Size, p.Verified = modeldao.ReplicatedStatus(c.held(p.Replicas), c.factor), c.replicaSummary(p.Replicas), uint64(size), p.SHA256 != (common.Hash{})
	p.PinnedAt = now()
	p.UpdatedAt, p.NextAttempt = p.PinnedAt, time.Time{}
	rep.Pinned++
	log.Info("evidence pinned", "size", size, "verified", p.Verified, "status", p.Status.String())
	return c.st.SetEvidencePin(ctx, p)
}

// fileSize returns the size of the UnixFS node id (files/stat), without reading it.
func (c *Client) fileSize(ctx context.Context, id cid.Cid) (int64, error) {
	var out struct{ Size, CumulativeSize int64 }
	if err := c.Request("files/stat", "/ipfs/"+id.String()).Exec(ctx, &out); err != nil {
		return 0, readErr(ctx, id, err)
	}
	return out.Size, nil
}
