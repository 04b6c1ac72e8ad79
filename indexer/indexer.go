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
	"math/big"
	"os"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

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

	RangeBlocks    uint64        // initial log range [1000]
	MaxRangeBlocks uint64        // largest log range [10000]
	MaxBatchEvents int           // commit once a batch holds this many events [20000]
	ReorgDepth     uint64        // undo window: deepest reorg handled [128]
	Confirmations  uint64        // index only blocks this far below the head [0]
	PollInterval   time.Duration // wait between head polls when caught up [1s]
	LeaseTTL       time.Duration // writer lease [30s]
	Owner          string        // lease owner name [hostname:pid]
	ProgressEvery  time.Duration // progress log interval during a backfill [5s]
	Backoff        time.Duration // first RPC retry delay [100ms], growing to 30×
	RPCTimeout     time.Duration // deadline of one RPC call, so a hung node cannot stall the index [10s]
}

// ErrReorgTooDeep is returned when the chain reorganised below the undo window.
var ErrReorgTooDeep = modeldao.Errorf(modeldao.EINTERNAL,
	"the chain reorganised deeper than the undo window (ReorgDepth); the index cannot roll back that far: run `modeldao reindex` (drops the projection and indexes again from the deployment block), and raise REORG_DEPTH if this chain reorgs that deep")

// Indexer applies the DAO's events to the store.
type Indexer struct {
	cfg    Config
	dec    *Decoder
	log    *slog.Logger
	lease  *store.Lease
	rng    uint64 // current log range
	bo     backoff
	status modeldao.IndexerStatus
	// statusLoaded: the stored status was read once, to carry its reorg count over.
	statusLoaded bool
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
	def(&cfg.RangeBlocks, 1000)
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
	CaughtUp  bool   `json:"caughtUp"`
	Skipped   int    `json:"skippedLogs"` // malformed logs skipped
}

// Run follows the chain until ctx is cancelled, waiting for the lease while another
// indexer holds it.
func (ix *Indexer) Run(ctx context.Context) error {
	defer ix.release()
	for {
		_, caughtUp, err := ix.iterate(ctx, &Progress{})
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
func (ix *Indexer) CatchUp(ctx context.Context) (Progress, error) {
	defer ix.release()
	var p Progress
	for {
		_, caughtUp, err := ix.iterate(ctx, &p)
		if err != nil {
			return p, err
		}
		if caughtUp {
			return p, nil
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
	ctx, cancel := context.WithDeadline(ctx, dl.Add(-margin))
	defer cancel()
	defer ix.release()
	var p Progress
	for {
		_, caughtUp, err := ix.iterate(ctx, &p)
		if ctx.Err() != nil {
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

func (ix *Indexer) release() {
	if ix.lease == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = ix.cfg.Store.ReleaseLease(ctx, ix.lease)
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
	ix.lease = l
	return nil
}

func (ix *Indexer) onRPCError(what string) func(error) {
	return func(err error) {
		level := slog.LevelWarn
		if isTransient(err) {
			level = slog.LevelInfo
		}
		ix.log.Log(context.Background(), level, "chain RPC failed; backing off", "call", what, "err", err)
		ix.status.LastError = fmt.Sprintf("%s: %v", what, err)
	}
}

func (ix *Indexer) header(ctx context.Context, n uint64) (*types.Header, error) {
	return retry(ctx, &ix.bo, ix.onRPCError("eth_getBlockByNumber"), func(ctx context.Context) (*types.Header, error) {
		ctx, cancel := context.WithTimeout(ctx, ix.cfg.RPCTimeout)
		defer cancel()
		h, err := ix.cfg.Chain.HeaderByNumber(ctx, new(big.Int).SetUint64(n))
		if errors.Is(err, ethereum.NotFound) {
			return nil, nil
		}
		return h, err
	})
}

// iterate does one unit of work: a reorg check and rollback of one block, or one batch.
func (ix *Indexer) iterate(ctx context.Context, p *Progress) (committed bool, caughtUp bool, err error) {
	defer func() {
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			ix.status.LastError = err.Error()
			ix.saveStatus(ctx)
		}
	}()
	if err := ix.ensureLease(ctx); err != nil {
		if modeldao.ErrorCode(err) == modeldao.ECONFLICT {
			// Someone else indexes: nothing to do until their lease expires.
			ix.log.Debug("waiting for the lease", "err", err)
			return false, true, nil
		}
		return false, false, err
	}
	st := ix.cfg.Store
	head, err := retry(ctx, &ix.bo, ix.onRPCError("eth_blockNumber"), func(ctx context.Context) (uint64, error) {
		ctx, cancel := context.WithTimeout(ctx, ix.cfg.RPCTimeout)
		defer cancel()
		return ix.cfg.Chain.BlockNumber(ctx)
	})
	if err != nil {
		return false, false, err
	}
	ix.status.ChainHead = head
	p.Head = head
	target := uint64(0)
	if head > ix.cfg.Confirmations {
		target = head - ix.cfg.Confirmations
	}
	cp, ok, err := st.Checkpoint(ctx)
	if err != nil {
		return false, false, err
	}
	var from *store.Checkpoint
	var init *modeldao.DAOParams
	if ok {
		// Is the checkpoint still on the canonical chain?
		h, err := ix.header(ctx, cp.Number)
		if err != nil {
			return false, false, err
		}
		if h == nil || h.Hash() != cp.Hash {
			return ix.rollback(ctx, cp, p)
		}
		from = &cp
	} else {
		start := ix.cfg.Deployment.Block
		if start > 0 {
			h, err := ix.header(ctx, start-1)
			if err != nil {
				return false, false, err
			}
			if h == nil {
				return false, false, modeldao.Errorf(modeldao.EUNAVAILABLE, "the node does not serve block %d (before the start block): is it the right chain?", start-1)
			}
			cp = store.Checkpoint{Number: start - 1, Hash: h.Hash()}
		}
		d := ix.cfg.Deployment
		init = &modeldao.DAOParams{ChainID: d.ChainID, Token: d.Token, Governor: d.Governor, Timelock: d.Timelock, Registry: d.Registry, StartBlock: d.Block}
	}
	if p.FromBlock == 0 {
		p.FromBlock = cp.Number + 1
	}
	if cp.Number >= target {
		ix.status.IndexedBlock, ix.status.IndexedHash = cp.Number, cp.Hash.Hex()
		ix.saveStatus(ctx)
		p.ToBlock, p.Lag, p.CaughtUp = cp.Number, head-min(head, cp.Number), true
		return false, true, nil
	}

	blocks, err := ix.fetch(ctx, cp, target, head, p)
	if err != nil || len(blocks) == 0 {
		return false, false, err
	}
	undoFrom := uint64(0)
	if head+1 > ix.cfg.ReorgDepth {
		undoFrom = head + 1 - ix.cfg.ReorgDepth
	}
	if from == nil {
		// The first batch: its parent is the block before the start block, which is not
		// recorded; the store checks against an empty checkpoint instead.
		blocks[0].ParentHash = cp.Hash
	}
	res, err := st.Apply(ctx, store.ApplyArgs{From: from, Lease: ix.lease, Blocks: blocks, UndoFrom: undoFrom, KeepUndo: ix.cfg.ReorgDepth, Init: init})
	if err != nil {
		return false, false, err
	}
	p.Commits++
	p.Events += res.Events
	p.Blocks += uint64(len(blocks))
	p.ToBlock = res.Checkpoint.Number
	p.Lag = head - min(head, res.Checkpoint.Number)
	ix.status.IndexedBlock, ix.status.IndexedHash = res.Checkpoint.Number, res.Checkpoint.Hash.Hex()
	ix.status.Lag = p.Lag
	ix.status.LastError = ""
	ix.saveStatus(ctx)
	ix.progress(res, head)
	return true, res.Checkpoint.Number >= target, nil
}

// rollback undoes the checkpoint block after a reorg.
func (ix *Indexer) rollback(ctx context.Context, cp store.Checkpoint, p *Progress) (bool, bool, error) {
	parent, err := ix.cfg.Store.Rollback(ctx, cp, ix.lease)
	if modeldao.ErrorCode(err) == modeldao.ENOTFOUND {
		ix.log.Error("reorg deeper than the undo window", "block", cp.Number, "depth", ix.cfg.ReorgDepth)
		return false, false, ErrReorgTooDeep
	}
	if err != nil {
		return false, false, err
	}
	p.Reorgs++
	ix.status.Reorgs++
	ix.log.Warn("reorg: rolled back a block", "block", cp.Number, "hash", cp.Hash, "checkpoint", parent.Number)
	return true, false, nil
}

func (ix *Indexer) saveStatus(ctx context.Context) {
	if !ix.statusLoaded {
		// The reorg count is the index's, not this process's: carry it across restarts.
		if prev, err := ix.cfg.Store.Status(ctx); err == nil {
			ix.status.Reorgs += prev.Reorgs
			ix.statusLoaded = true
		}
	}
	s := ix.status
	s.Lag = s.ChainHead - min(s.ChainHead, s.IndexedBlock)
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

// fetch reads the next range of logs after cp (up to target) and returns its blocks,
// verified to extend cp. The range shrinks when the node refuses it and grows after
// successes; the batch ends early once it holds MaxBatchEvents events.
func (ix *Indexer) fetch(ctx context.Context, cp store.Checkpoint, target, head uint64, p *Progress) ([]modeldao.Block, error) {
	from := cp.Number + 1
	to := min(from+ix.rng-1, target)
	var logs []types.Log
	for {
		q := ethereum.FilterQuery{FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(to), Addresses: ix.dec.Addresses()}
		callCtx, cancel := context.WithTimeout(ctx, ix.cfg.RPCTimeout)
		got, err := ix.cfg.Chain.FilterLogs(callCtx, q)
		cancel()
		if err == nil {
			logs = got
			ix.bo.reset()
			if ix.rng < ix.cfg.MaxRangeBlocks {
				ix.rng = min(ix.rng*2, ix.cfg.MaxRangeBlocks)
			}
			break
		}
		if ctx.Err() != nil {
			return nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "eth_getLogs: deadline reached")
		}
		if isRangeError(err) && to > from {
			ix.rng = max((to-from+1)/2, 1)
			to = from + ix.rng - 1
			ix.log.Info("node refused the log range; splitting", "from", from, "to", to, "err", err)
			continue
		}
		ix.onRPCError("eth_getLogs")(err)
		if err := sleep(ctx, ix.bo.next()); err != nil {
			return nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "eth_getLogs: deadline reached while retrying")
		}
	}
	// Cut the batch at a block boundary once it holds enough events, and size the next
	// range to what fitted: dense ranges would otherwise be fetched whole and mostly thrown
	// away, again and again (memory and time growing with the chain's density).
	if len(logs) > ix.cfg.MaxBatchEvents {
		cut := logs[ix.cfg.MaxBatchEvents].BlockNumber
		if cut > from {
			to = cut - 1
			i := 0
			for i < len(logs) && logs[i].BlockNumber <= to {
				i++
			}
			logs = logs[:i]
		}
		ix.rng = max(to-from+1, 1)
	}

	undoFrom := uint64(0)
	if head+1 > ix.cfg.ReorgDepth {
		undoFrom = head + 1 - ix.cfg.ReorgDepth
	}
	// Headers: every block inside the undo window (their hashes are recorded and chained),
	// and the first and last blocks of the range.
	headers := map[uint64]*types.Header{}
	need := []uint64{from, to}
	for n := max(from, undoFrom); n <= to; n++ {
		need = append(need, n)
	}
	for _, n := range need {
		if headers[n] != nil {
			continue
		}
		h, err := ix.header(ctx, n)
		if err != nil {
			return nil, err
		}
		if h == nil {
			return nil, modeldao.Errorf(modeldao.ECONFLICT, "block %d vanished while indexing (a reorg); will retry", n)
		}
		headers[n] = h
	}
	if headers[from].ParentHash != cp.Hash {
		return nil, modeldao.Errorf(modeldao.ECONFLICT, "block %d does not extend the checkpoint %d (a reorg in progress); will retry", from, cp.Number)
	}
	for n := max(from, undoFrom) + 1; n <= to; n++ {
		if headers[n].ParentHash != headers[n-1].Hash() {
			return nil, modeldao.Errorf(modeldao.ECONFLICT, "blocks %d and %d do not chain (a reorg in progress); will retry", n-1, n)
		}
	}

	// The blocks of the batch, in order: those with logs, every block inside the undo
	// window (their hashes are recorded), and the first and last of the range.
	logsOf := map[uint64][]types.Log{}
	for _, l := range logs {
		logsOf[l.BlockNumber] = append(logsOf[l.BlockNumber], l)
	}
	nums := make([]uint64, 0, len(headers)+len(logsOf))
	for n := range headers {
		nums = append(nums, n)
	}
	for n := range logsOf {
		if headers[n] == nil {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	type entry struct {
		n    uint64
		hash common.Hash
		logs []types.Log
	}
	entries := make([]entry, 0, len(nums))
	for _, n := range nums {
		e := entry{n: n, logs: logsOf[n]}
		if h := headers[n]; h != nil {
			e.hash = h.Hash()
		} else {
			e.hash = e.logs[0].BlockHash
		}
		for _, l := range e.logs {
			if l.BlockHash != e.hash {
				return nil, modeldao.Errorf(modeldao.ECONFLICT, "a log of block %d belongs to another fork (a reorg in progress); will retry", n)
			}
		}
		entries = append(entries, e)
	}
	out := make([]modeldao.Block, 0, len(entries))
	prev := cp.Hash
	prevN := cp.Number
	for _, e := range entries {
		b := modeldao.Block{Number: e.n, Hash: e.hash}
		if h := headers[e.n]; h != nil {
			b.ParentHash, b.Timestamp = h.ParentHash, h.Time
		}
		if e.n == prevN+1 {
			b.ParentHash = prev
		}
		for _, l := range e.logs {
			ts := l.BlockTimestamp
			if ts == 0 {
				h := headers[e.n]
				if h == nil {
					var err error
					if h, err = ix.header(ctx, e.n); err != nil {
						return nil, err
					}
					if h == nil || h.Hash() != e.hash {
						return nil, modeldao.Errorf(modeldao.ECONFLICT, "block %d changed while indexing; will retry", e.n)
					}
					headers[e.n] = h
				}
				ts = h.Time
			}
			b.Timestamp = ts
			ev, err := ix.dec.Decode(l, ts)
			if err != nil {
				// Bad input never stops the index: the log is reported and skipped.
				p.Skipped++
				ix.log.Error("skipping a log that does not decode", "err", err)
				ix.status.LastError = err.Error()
				continue
			}
			if ev != nil {
				b.Events = append(b.Events, ev)
			}
		}
		out = append(out, b)
		prev, prevN = e.hash, e.n
	}
	return out, nil
}
