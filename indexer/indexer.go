// Package indexer follows a chain over JSON-RPC from the deployment block and applies the
// events of the DAO's four contracts to the store: in block ranges that shrink when a node
// refuses them and grow again after successes, reorg-safe through the store's undo log,
// single-writer through the store's lease, resumable after a crash at any instant.
package indexer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/store"
)

// Config configures an Indexer. Zero values take the defaults in brackets.
type Config struct {
	Chain      Chain
	Store      *store.Store
	Deployment contracts.Deployment
	Log        *slog.Logger

	RangeBlocks    uint64        // initial log range [16], doubling while answers stay under MaxBatchEvents
	MaxRangeBlocks uint64        // largest log range [10000]
	MaxBatchEvents int           // commit once a batch holds this many events [20000]
	ReorgDepth     uint64        // undo window: deepest reorg handled, in blocks replaced [128]
	Confirmations  uint64        // index only blocks this far below the head [0]
	PollInterval   time.Duration // wait between head polls when caught up [1s]
	LeaseTTL       time.Duration // writer lease [30s]
	Owner          string        // lease owner name [hostname:pid]
	ProgressEvery  time.Duration // progress log interval during a backfill [5s]
	Backoff        time.Duration // first RPC retry delay [100ms], growing to 30×
	RPCTimeout     time.Duration // deadline of one RPC call, so a hung node cannot stall the index [10s]
}

// Indexer applies the DAO's events to the store.
type Indexer struct {
	cfg   Config
	dec   *Decoder
	log   *slog.Logger
	lease *store.Lease
	rng   uint64 // current log range
	bo    backoff

	statusMu sync.Mutex // status is also written by concurrent header reads
	status   modeldao.IndexerStatus
	// statusLoaded: the stored status was read once, to carry its reorg count over.
	statusLoaded bool
	saveMu       sync.Mutex // one saveStatus at a time
	savedAt      time.Time  // last status write, to throttle writes while retrying
	// leaseWait: the holder last logged while waiting for the lease, and when.
	leaseWaitHolder string
	leaseWaitLogged time.Time
	// ahead is the read of the next range, running while a batch commits (see readAhead).
	ahead *readAheadJob
	// rate is the events per second of the last batches, read and committed (0 until one
	// is measured): Step sizes each batch so it finishes before its deadline (batchLimit).
	rate float64
	// density is the events per block of the last range read, to turn an event budget
	// into a block range.
	density float64
	// logBytes is the size of the logs of the last eth_getLogs call, per log (logSize).
	logBytes float64
	// backfill progress
	lastProgress   time.Time
	progressBlocks uint64
	progressEvents int
}

// New returns an indexer; it checks the configuration.
func New(cfg Config) (*Indexer, error) {
	if cfg.Chain == nil || cfg.Store == nil {
		return nil, modeldao.Errorf(modeldao.EINVALID, "indexer needs a chain client and a store")
	}
	if err := cfg.Deployment.Validate(); err != nil {
		return nil, err
	}
	def := func(v *uint64, d uint64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.RangeBlocks, 16)
	def(&cfg.MaxRangeBlocks, 10000)
	def(&cfg.ReorgDepth, 128)
	if cfg.MaxBatchEvents == 0 {
		cfg.MaxBatchEvents = 20000
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = 30 * time.Second
	}
	if cfg.ProgressEvery == 0 {
		cfg.ProgressEvery = 5 * time.Second
	}
	if cfg.RPCTimeout == 0 {
		cfg.RPCTimeout = 10 * time.Second
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 100 * time.Millisecond
	}
	if cfg.Owner == "" {
		h, _ := os.Hostname()
		cfg.Owner = fmt.Sprintf("%s:%d", h, os.Getpid())
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Indexer{
		cfg: cfg, dec: NewDecoder(cfg.Deployment), log: cfg.Log.With("component", "indexer"),
		rng: cfg.RangeBlocks, bo: backoff{min: cfg.Backoff, max: 30 * cfg.Backoff},
	}, nil
}

// Progress reports what a Step or CatchUp did.
type Progress struct {
	FromBlock uint64 `json:"fromBlock"`
	ToBlock   uint64 `json:"toBlock"` // the checkpoint at the end
	Blocks    uint64 `json:"blocks"`
	Events    int    `json:"events"`
	Commits   int    `json:"commits"`
	Reorgs    int    `json:"reorgs"`
	Head      uint64 `json:"head"`
	Lag       uint64 `json:"lag"`
	CaughtUp  bool   `json:"caughtUp"`    // the checkpoint reached the head (less Confirmations) seen last
	Skipped   int    `json:"skippedLogs"` // malformed logs skipped
	Retries   int    `json:"retries"`     // batches read again because the chain moved while they were read
}

// Run follows the chain until ctx is cancelled, waiting for the lease while another
// indexer holds it. It releases the lease when it returns.
func (ix *Indexer) Run(ctx context.Context) error {
	defer ix.release()
	for {
		caughtUp, err := ix.iterate(ctx, &Progress{})
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrReorgTooDeep):
			return err
		case err != nil:
			ix.log.Warn("indexer iteration failed; retrying", "err", err)
			if sleep(ctx, ix.cfg.PollInterval) != nil {
				return nil
			}
		case caughtUp:
			if sleep(ctx, ix.cfg.PollInterval) != nil {
				return nil
			}
		}
	}
}

// CatchUp indexes until the checkpoint reaches the head as it was seen last, then returns.
// While another indexer holds the lease it waits, until ctx ends.
func (ix *Indexer) CatchUp(ctx context.Context) (Progress, error) {
	defer ix.release()
	var p Progress
	for {
		caughtUp, err := ix.iterate(ctx, &p)
		if err != nil {
			return p, err
		}
		if caughtUp {
			if ix.lease != nil {
				return p, nil
			}
			if err := sleep(ctx, ix.cfg.PollInterval); err != nil {
				return p, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "another indexer kept the lease until the deadline")
			}
		}
	}
}

// Step follows the chain until ctx's deadline minus margin (polling for new blocks once
// caught up), for one Lambda invocation, and returns its progress. Without a deadline it
// behaves like CatchUp.
func (ix *Indexer) Step(ctx context.Context, margin time.Duration) (Progress, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		return ix.CatchUp(ctx)
	}
	// Reads stop at the deadline minus margin; a batch already read commits under the
	// invocation's own deadline (the margin covers it), so that its work is not lost.
	commitCtx := ctx
	ctx, cancel := context.WithDeadline(ctx, dl.Add(-margin))
	defer cancel()
	defer ix.release()
	var p Progress
	for {
		caughtUp, err := ix.iterateWith(ctx, commitCtx, &p)
		if ctx.Err() != nil {
			ix.log.Debug("step deadline reached", "commits", p.Commits, "events", p.Events, "err", err)
			return p, nil
		}
		if err != nil {
			return p, err
		}
		if caughtUp && sleep(ctx, ix.cfg.PollInterval) != nil {
			return p, nil
		}
	}
}

// iterate does one unit of work: a rollback to the common ancestor after a reorg, or one
// batch. caughtUp reports that there is nothing to do until the head moves (or that
// another indexer holds the lease).
func (ix *Indexer) iterate(ctx context.Context, p *Progress) (caughtUp bool, err error) {
	return ix.iterateWith(ctx, ctx, p)
}

// iterateWith is iterate whose commit runs under commitCtx, which may end later than ctx.
func (ix *Indexer) iterateWith(ctx, commitCtx context.Context, p *Progress) (caughtUp bool, err error) {
	defer func() {
		if err != nil && ctx.Err() == nil {
			ix.failed(ctx, "", err)
		}
	}()
	// A read ahead of this iteration finishes before anything else uses the chain client's
	// state (backoff, range size); it is used below if it still fits.
	ix.waitAhead()
	if waiting, err := ix.holdLease(ctx); waiting || err != nil {
		return waiting, err
	}
	st := ix.cfg.Store
	head, err := ix.head(ctx)
	if err != nil {
		return false, err
	}
	p.Head = head
	target := head - min(head, ix.cfg.Confirmations)
	cp, ok, err := st.Checkpoint(ctx)
	if err != nil {
		return false, err
	}
	var from *store.Checkpoint
	var init *modeldao.DAOParams
	if ok {
		// Is the checkpoint still on the canonical chain?
		h, err := ix.header(ctx, cp.Number)
		if err != nil {
			return false, err
		}
		if h == nil || h.Hash() != cp.Hash {
			return false, ix.reorg(ctx, cp, p)
		}
		from = &cp
	} else {
		start := ix.cfg.Deployment.Block
		if start > 0 {
			h, err := ix.header(ctx, start-1)
			if err != nil {
				return false, err
			}
			if h == nil {
				return false, modeldao.Errorf(modeldao.EUNAVAILABLE, "the node does not serve block %d (before the start block): is it the right chain?", start-1)
			}
			cp = store.Checkpoint{Number: start - 1, Hash: h.Hash()}
		}
		params := ix.cfg.Deployment.Params()
		init = &params
	}
	if p.FromBlock == 0 {
		p.FromBlock = cp.Number + 1
	}
	if cp.Number >= target {
		ix.indexed(ctx, cp, head, p)
		return true, nil
	}

	// Blocks from undoFrom on may still be replaced by a reorg of at most ReorgDepth blocks
	// (the head and the ReorgDepth-1 blocks below it): they get an undo list.
	undoFrom := head + 1 - min(head+1, ix.cfg.ReorgDepth)
	readStart := time.Now()
	var blocks []modeldao.Block
	if pf := ix.takeAhead(); pf != nil && pf.cp == cp && pf.undoFrom <= undoFrom && pf.err == nil && len(pf.blocks) > 0 &&
		pf.blocks[len(pf.blocks)-1].Number <= target {
		// Read while the previous batch committed, from the checkpoint that commit wrote; its
		// blocks from pf.undoFrom on (a superset of today's window) carry the branch proof.
		blocks, undoFrom, readStart = pf.blocks, pf.undoFrom, pf.start
		p.Skipped += pf.skipped
	} else {
		limit := ix.batchLimit(ctx)
		ix.log.Debug("reading a batch", "from", cp.Number+1, "limit", limit, "range", ix.rng)
		if blocks, err = ix.fetch(ctx, cp, target, undoFrom, limit, p); errors.Is(err, errMoved) {
			// Nothing was applied; start over from the checkpoint, which a reorg may have left.
			p.Retries++
			ix.log.Info("the chain moved while a batch was read; reading it again", "reason", err)
			return false, sleep(ctx, ix.bo.next())
		}
		if err != nil || len(blocks) == 0 {
			return false, err
		}
	}
	// Reading a batch from a slow node may take a good part of the lease's TTL (the commit
	// would then fail with ErrConflict, writing nothing, and CatchUp would stop): renew the
	// lease before the commit when the read took more than a third of it.
	if time.Since(readStart) > ix.cfg.LeaseTTL/3 {
		if waiting, err := ix.holdLease(ctx); waiting || err != nil {
			return waiting, err
		}
	}
	if from == nil {
		// The first batch: its parent is the block before the start block, which is not
		// recorded; the store checks against an empty checkpoint instead.
		blocks[0].ParentHash = cp.Hash
	}
	ix.bo.reset()
	// The read ahead adapts the range and the density while this batch commits: what the
	// log reports is what this batch was read with.
	rng, density := ix.rng, ix.density
	if last := blocks[len(blocks)-1]; last.Number < target && ix.timeForAnother(ctx, time.Since(readStart)) {
		// Read the next range while this batch commits (the node and Redis work in parallel).
		ix.readAhead(ctx, store.Checkpoint{Number: last.Number, Hash: last.Hash}, target, undoFrom)
	}
	res, err := st.Apply(commitCtx, store.ApplyArgs{From: from, Lease: ix.lease, Blocks: blocks, UndoFrom: undoFrom, KeepUndo: ix.cfg.ReorgDepth, Init: init})
	if err != nil {
		ix.takeAhead()
		return false, err
	}
	took := time.Since(readStart)
	ix.measure(res.Events, took)
	ix.log.Debug("batch committed", "from", blocks[0].Number, "to", res.Checkpoint.Number, "events", res.Events,
		"took", took.Round(time.Millisecond), "rate", int(ix.rate), "range", rng, "density", int(density))
	p.Commits++
	p.Events += res.Events
	p.Blocks += uint64(len(blocks))
	ix.indexed(commitCtx, res.Checkpoint, head, p)
	ix.progress(res, head)
	return p.CaughtUp, nil
}

// readAheadJob is a batch read in the background from checkpoint cp.
type readAheadJob struct {
	cp       store.Checkpoint
	undoFrom uint64
	start    time.Time
	cancel   context.CancelFunc
	done     chan struct{}
	blocks   []modeldao.Block
	skipped  int
	err      error
}

// readAhead starts reading the batch after cp while the current batch commits. Only the
// read runs concurrently: the goroutine is the only user of ix.rng and ix.bo until
// waitAhead returns (status fields are behind statusMu).
func (ix *Indexer) readAhead(ctx context.Context, cp store.Checkpoint, target, undoFrom uint64) {
	ctx, cancel := context.WithCancel(ctx)
	j := &readAheadJob{cp: cp, undoFrom: undoFrom, start: time.Now(), cancel: cancel, done: make(chan struct{})}
	ix.ahead = j
	limit := ix.batchLimit(ctx) // here: the main loop updates the rate meanwhile
	go func() {
		defer close(j.done)
		var p Progress
		j.blocks, j.err = ix.fetch(ctx, cp, target, undoFrom, limit, &p)
		j.skipped = p.Skipped
	}()
}

// waitAhead waits for the read ahead, if one runs, keeping its result for takeAhead.
func (ix *Indexer) waitAhead() {
	if ix.ahead != nil {
		<-ix.ahead.done
	}
}

// takeAhead waits for the read ahead and hands it over (nil when there is none).
func (ix *Indexer) takeAhead() *readAheadJob {
	j := ix.ahead
	if j == nil {
		return nil
	}
	<-j.done
	j.cancel()
	ix.ahead = nil
	return j
}

// dropAhead stops a read ahead that will not be used.
func (ix *Indexer) dropAhead() {
	if ix.ahead != nil {
		ix.ahead.cancel()
		ix.takeAhead()
	}
}

// Batch sizing against a deadline: a batch that cannot be read and committed before the
// deadline is thrown away whole (nothing of it is written), so an invocation that starts
// one too big commits nothing at all.
const (
	// deadlineShare is the part of the time left that one batch may take: the estimate
	// is of the last batches, and the node or Redis may be slower for this one.
	deadlineShare = 0.4
	// minBatchEvents is the smallest batch asked for, however little time is left.
	minBatchEvents = 200
	// firstRate is the rate assumed before a batch was measured, in events/s: a slow
	// node's (a loaded machine reads and commits a few thousand a second).
	firstRate = 1000
)

// batchLimit is how many events the next batch may hold: MaxBatchEvents, or fewer when
// ctx's deadline is near at the rate measured so far.
func (ix *Indexer) batchLimit(ctx context.Context) int {
	limit := ix.cfg.MaxBatchEvents
	dl, ok := ctx.Deadline()
	if !ok {
		return limit
	}
	rate := ix.rate
	if rate <= 0 {
		rate = firstRate
	}
	fit := rate * time.Until(dl).Seconds() * deadlineShare
	if fit < float64(limit) {
		limit = max(int(fit), min(minBatchEvents, ix.cfg.MaxBatchEvents))
	}
	return limit
}

// timeForAnother reports whether a batch like the one that took took so far (its commit
// is to come) leaves time before ctx's deadline to read another. A read ahead cut off by
// the deadline is not only wasted: the node goes on serving it, and the next invocation's
// first read waits behind it.
func (ix *Indexer) timeForAnother(ctx context.Context, took time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > 2*took
}

// measure updates the rate with a batch of events read and committed in d.
func (ix *Indexer) measure(events int, d time.Duration) {
	if events < minBatchEvents || d <= 0 {
		return // too small to say anything about the rate
	}
	r := float64(events) / d.Seconds()
	if ix.rate == 0 {
		ix.rate = r
		return
	}
	// A slower batch counts at once; a faster one only half, so that one lucky batch
	// does not size the next too big.
	if r < ix.rate {
		ix.rate = r
	} else {
		ix.rate = (ix.rate + r) / 2
	}
}
