package indexer

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao/store"
)

// What the indexer tells about itself: the status record the API serves, the logs, and the
// lease it holds.

const (
	// statusEvery throttles status writes while a call is retried.
	statusEvery = time.Second
	// leaseWaitLogEvery repeats the "waiting for the lease" line while the wait goes on.
	leaseWaitLogEvery = 30 * time.Second
)

// release gives the lease up, so that a successor starts at once instead of waiting for
// the TTL: on every clean stop (Ctrl-C, SIGTERM, the end of a Lambda invocation).
func (ix *Indexer) release() {
	ix.dropAhead()
	if ix.lease == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := ix.cfg.Store.ReleaseLease(ctx, ix.lease); err != nil {
		ix.log.Warn("could not release the lease; a successor waits until it expires", "ttl", ix.cfg.LeaseTTL, "err", err)
	} else {
		ix.log.Debug("lease released", "owner", ix.cfg.Owner)
	}
	ix.lease = nil
}

// ensureLease takes or renews the writer lease.
func (ix *Indexer) ensureLease(ctx context.Context) error {
	st := ix.cfg.Store
	if ix.lease != nil {
		if err := st.RenewLease(ctx, ix.lease); err == nil {
			return nil
		} else if !errors.Is(err, store.ErrConflict) {
			return err
		}
		ix.log.Warn("lease lost; taking it again")
		ix.lease = nil
	}
	l, err := st.AcquireLease(ctx, ix.cfg.Owner, ix.cfg.LeaseTTL)
	if err != nil {
		return err
	}
	if ix.leaseWaitHolder != "" {
		ix.log.Info("took the lease after waiting", "previous_holder", ix.leaseWaitHolder)
		ix.leaseWaitHolder = ""
	}
	ix.lease = l
	return nil
}

// holdLease takes or renews the lease; waiting reports that another indexer holds it (and
// says so in the log), which is not an error.
func (ix *Indexer) holdLease(ctx context.Context) (waiting bool, err error) {
	err = ix.ensureLease(ctx)
	var held *store.LeaseHeldError
	if errors.As(err, &held) {
		ix.waitForLease(held)
		return true, nil
	}
	return false, err
}

// waitForLease says, once and then every leaseWaitLogEvery, who holds the lease and until
// when.
func (ix *Indexer) waitForLease(held *store.LeaseHeldError) {
	now := time.Now()
	if held.Holder == ix.leaseWaitHolder && now.Sub(ix.leaseWaitLogged) < leaseWaitLogEvery {
		return
	}
	ix.log.Info("another indexer holds the lease; waiting (one indexer writes a DAO at a time)",
		"holder", held.Holder, "until", held.Until.UTC().Format(time.RFC3339Nano), "owner", ix.cfg.Owner)
	ix.leaseWaitHolder, ix.leaseWaitLogged = held.Holder, now
}

// head reads the chain's head, retrying until ctx ends.
func (ix *Indexer) head(ctx context.Context) (uint64, error) {
	head, err := retry(ctx, &ix.bo, ix.onRPCError("eth_blockNumber"), func(ctx context.Context) (uint64, error) {
		ctx, cancel := context.WithTimeout(ctx, ix.cfg.RPCTimeout)
		defer cancel()
		return ix.cfg.Chain.BlockNumber(ctx)
	})
	if err != nil {
		return 0, err
	}
	ix.statusMu.Lock()
	ix.status.ChainHead, ix.status.HeadSeenAt, ix.status.Healthy = head, time.Now().UnixMilli(), true
	ix.statusMu.Unlock()
	return head, nil
}

// header reads block n's header; nil when the node does not have block n.
func (ix *Indexer) header(ctx context.Context, n uint64) (*types.Header, error) {
	return ix.headerWith(ctx, n, &ix.bo)
}

func (ix *Indexer) headerWith(ctx context.Context, n uint64, bo *backoff) (*types.Header, error) {
	return retry(ctx, bo, ix.onRPCError("eth_getBlockByNumber"), func(ctx context.Context) (*types.Header, error) {
		ctx, cancel := context.WithTimeout(ctx, ix.cfg.RPCTimeout)
		defer cancel()
		h, err := ix.cfg.Chain.HeaderByNumber(ctx, new(big.Int).SetUint64(n))
		if errors.Is(err, ethereum.NotFound) || err != nil && isPastHead(err) {
			return nil, nil
		}
		return h, err
	})
}

// onRPCError reports a failed chain call: a warning in the log, and the error in the
// status (written at most every statusEvery), so that an outage shows while it lasts.
func (ix *Indexer) onRPCError(call string) func(error) {
	return func(err error) {
		ix.log.Warn("chain RPC failed; retrying with backoff", "call", call, "err", err, "transient", isTransient(err))
		ix.failed(context.Background(), call, err)
	}
}

// rpcOK notes a successful chain call.
func (ix *Indexer) rpcOK() {
	ix.bo.reset()
	ix.statusMu.Lock()
	ix.status.Healthy = true
	ix.statusMu.Unlock()
}

// failed records err as the last error and marks the indexer unhealthy.
func (ix *Indexer) failed(ctx context.Context, call string, err error) {
	ix.noteError(call, err)
	ix.statusMu.Lock()
	ix.status.Healthy = false
	due := time.Since(ix.savedAt) >= statusEvery
	ix.statusMu.Unlock()
	if due {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		ix.saveStatus(ctx)
	}
}

// noteError records err as the last error without changing the health (a malformed log
// is skipped, not a failure).
func (ix *Indexer) noteError(call string, err error) {
	msg := err.Error()
	if call != "" {
		msg = fmt.Sprintf("%s: %v", call, err)
	}
	ix.statusMu.Lock()
	ix.status.LastError, ix.status.LastErrorAt = msg, time.Now().UnixMilli()
	ix.statusMu.Unlock()
}

// indexed records that the index reached cp with the chain's head at head.
func (ix *Indexer) indexed(ctx context.Context, cp store.Checkpoint, head uint64, p *Progress) {
	p.ToBlock = cp.Number
	p.Lag = head - min(head, cp.Number)
	p.CaughtUp = cp.Number >= head-min(head, ix.cfg.Confirmations)
	ix.statusMu.Lock()
	ix.status.IndexedBlock, ix.status.IndexedHash, ix.status.Healthy = cp.Number, cp.Hash.Hex(), true
	ix.statusMu.Unlock()
	ix.saveStatus(ctx)
}

// saveStatus writes the status record; the lag is counted from the last head seen, and
// headSeenAt says how old that is.
func (ix *Indexer) saveStatus(ctx context.Context) {
	// A read ahead (readAhead) may report an RPC failure while the main loop saves.
	ix.saveMu.Lock()
	defer ix.saveMu.Unlock()
	if !ix.statusLoaded {
		// The reorg count and the last error are the index's, not this process's: carry
		// them across restarts.
		if prev, err := ix.cfg.Store.Status(ctx); err == nil {
			ix.statusMu.Lock()
			ix.status.Reorgs += prev.Reorgs
			if ix.status.LastError == "" {
				ix.status.LastError, ix.status.LastErrorAt = prev.LastError, prev.LastErrorAt
			}
			ix.statusMu.Unlock()
			ix.statusLoaded = true
		}
	}
	ix.statusMu.Lock()
	s := ix.status
	s.Lag = s.ChainHead - min(s.ChainHead, s.IndexedBlock)
	ix.savedAt = time.Now()
	ix.statusMu.Unlock()
	if err := ix.cfg.Store.SetStatus(ctx, s); err != nil {
		ix.log.Debug("could not save status", "err", err)
	}
}

func (ix *Indexer) progress(res store.ApplyResult, head uint64) {
	ix.progressEvents += res.Events
	now := time.Now()
	if ix.lastProgress.IsZero() {
		ix.lastProgress = now
		ix.progressBlocks = res.Checkpoint.Number
		return
	}
	el := now.Sub(ix.lastProgress)
	if el < ix.cfg.ProgressEvery {
		return
	}
	blocks := res.Checkpoint.Number - ix.progressBlocks
	bps := float64(blocks) / el.Seconds()
	eps := float64(ix.progressEvents) / el.Seconds()
	left := head - min(head, res.Checkpoint.Number)
	eta := time.Duration(0)
	if bps > 0 {
		eta = time.Duration(float64(left)/bps) * time.Second
	}
	ix.log.Info("indexing", "block", res.Checkpoint.Number, "head", head, "blocks_per_s", int(bps), "events_per_s", int(eps), "eta", eta.Round(time.Second).String())
	ix.lastProgress, ix.progressBlocks, ix.progressEvents = now, res.Checkpoint.Number, 0
}
