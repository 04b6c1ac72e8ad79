package indexer

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/store"
)

// errMoved says that the chain changed while a batch was read (a reorg, or a chain that
// got shorter): nothing was applied, and the iteration starts over from the checkpoint.
var errMoved = errors.New("the chain moved while the batch was read")

func moved(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errMoved, fmt.Sprintf(format, args...))
}

// headerConcurrency bounds the header reads in flight for one batch: enough to hide a
// remote node's latency over the undo window, few enough not to be rate limited.
const headerConcurrency = 8

// fetch reads the blocks after cp (up to target) and returns them, provably from one
// branch of the chain that extends cp:
//
//   - Blocks older than undoFrom are final (no reorg of at most ReorgDepth blocks can
//     replace them): their logs come from a range query, each block's hash from its logs.
//   - Every block from undoFrom on is read as a header; the headers must chain to each
//     other and to cp. Each of the block's logs must carry its header's hash. A block with
//     no logs in the range answer is taken as empty only if its header's bloom filter rules
//     out logs of the DAO's contracts (a bloom has no false negatives); otherwise its logs
//     are read again by block hash, which names one block of one branch.
//
// So a reorg that lands between the log query and the header reads, in either direction
// (old blocks with logs and new ones without, or the reverse), gives errMoved, never a
// batch that mixes branches.
func (ix *Indexer) fetch(ctx context.Context, cp store.Checkpoint, target, undoFrom uint64, maxEvents int, p *Progress) ([]modeldao.Block, error) {
	from := cp.Number + 1
	rng := ix.rng
	if ix.density > 0 {
		// Ask for no more blocks than hold about maxEvents at the density seen lately: the
		// node answers the whole range before the batch is cut, so a range that doubled
		// over a few empty blocks would otherwise return a dense stretch many times over.
		rng = max(min(rng, uint64(float64(maxEvents)/ix.density)), 1)
	}
	to := min(from+rng-1, target)
	logs, to, err := ix.logsInParts(ctx, from, to, maxEvents)
	if err != nil {
		return nil, err
	}
	// Cut the batch at a block boundary once it holds enough events, and size the next
	// range to the density just seen: dense ranges would otherwise be fetched whole and
	// mostly thrown away, again and again (memory and time growing with the density).
	read, seen := to-from+1, len(logs)
	// The density decays slowly: one empty block in a dense stretch must not make the
	// next range huge.
	ix.density = max(float64(seen)/float64(read), ix.density/2)
	if len(logs) > maxEvents {
		cut := logs[maxEvents].BlockNumber
		if cut > from {
			to = cut - 1
			i := 0
			for i < len(logs) && logs[i].BlockNumber <= to {
				i++
			}
			logs = logs[:i]
		}
	}
	ix.rng = nextRange(ix.rng, read, seen, ix.cfg.MaxBatchEvents, ix.cfg.MaxRangeBlocks)

	// Headers: the first and last blocks of the range, and every block of the window.
	need := []uint64{from}
	for n := max(from+1, undoFrom); n <= to; n++ {
		need = append(need, n)
	}
	if to > from && to < undoFrom {
		need = append(need, to)
	}
	headers, err := ix.headers(ctx, need)
	if err != nil {
		return nil, err
	}
	if headers[from].ParentHash != cp.Hash {
		return nil, moved("block %d does not extend the checkpoint %d", from, cp.Number)
	}
	for n := max(from, undoFrom) + 1; n <= to; n++ {
		if headers[n].ParentHash != headers[n-1].Hash() {
			return nil, moved("blocks %d and %d do not chain", n-1, n)
		}
	}

	logsOf := logsByBlock(logs)
	for n, h := range headers {
		if n < undoFrom {
			continue // final: the range answer is the block's whole story
		}
		if len(logsOf[n]) > 0 || !ix.dec.MayHaveLogs(h.Bloom) {
			continue
		}
		ls, err := ix.logsOfBlock(ctx, h)
		if err != nil {
			return nil, err
		}
		logsOf[n] = ls
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
	out := make([]modeldao.Block, 0, len(nums))
	prev, prevN := cp.Hash, cp.Number
	for _, n := range nums {
		ls := logsOf[n]
		b := modeldao.Block{Number: n}
		h := headers[n]
		if h != nil {
			b.Hash, b.ParentHash, b.Timestamp = h.Hash(), h.ParentHash, h.Time
		} else {
			b.Hash = ls[0].BlockHash
		}
		if n == prevN+1 {
			b.ParentHash = prev
		}
		for _, l := range ls {
			if l.BlockHash != b.Hash {
				return nil, moved("a log of block %d belongs to another branch (%s, not %s)", n, l.BlockHash, b.Hash)
			}
		}
		if h == nil && len(ls) > 0 {
			if b.Timestamp = ls[0].BlockTimestamp; b.Timestamp == 0 {
				// A node that does not put blockTimestamp in logs: read the header.
				if h, err = ix.header(ctx, n); err != nil {
					return nil, err
				}
				if h == nil || h.Hash() != b.Hash {
					return nil, moved("block %d changed while it was read", n)
				}
				b.Timestamp = h.Time
			}
		}
		for _, l := range ls {
			ev, err := ix.dec.Decode(l, b.Timestamp)
			if err != nil {
				// Bad input never stops the index: the log is reported and skipped.
				p.Skipped++
				ix.log.Error("skipping a log that does not decode", "err", err)
				ix.noteError("decode", err)
				continue
			}
			if ev != nil {
				b.Events = append(b.Events, ev)
			}
		}
		out = append(out, b)
		prev, prevN = b.Hash, n
	}
	return out, nil
}

// logsByBlock groups logs by block. A node answers in block order, so each block's logs are
// a part of the answer, not a copy (20,000 logs of a batch, read ahead while the previous
// batch commits); logs out of order are copied into their blocks' lists.
func logsByBlock(logs []types.Log) map[uint64][]types.Log {
	out := map[uint64][]types.Log{}
	for i := 0; i < len(logs); {
		n, j := logs[i].BlockNumber, i+1
		for j < len(logs) && logs[j].BlockNumber == n {
			j++
		}
		if prev, ok := out[n]; ok {
			out[n] = append(prev[:len(prev):len(prev)], logs[i:j]...)
		} else {
			out[n] = logs[i:j:j]
		}
		i = j
	}
	return out
}

// nextRange sizes the next log range after a range of read blocks answered logs logs: it
// doubles while the answers stay small, and never asks for more blocks than hold about
// maxEvents logs at the density just seen (a range that returns most of a dense chain sets
// the indexer's peak memory).
func nextRange(cur, read uint64, logs, maxEvents int, maxRange uint64) uint64 {
	next := min(cur*2, maxRange)
	if logs > 0 {
		next = min(next, read*uint64(maxEvents)/uint64(logs))
	}
	return max(next, 1)
}

// logsPerCall is about how many logs one eth_getLogs call asks for. go-ethereum's RPC
// client holds a whole answer in memory (in a buffer that doubles as it fills, then as the
// result's copy) while it decodes it; an answer of a whole 20,000-event batch made that
// the largest part of the indexer's peak memory, read ahead while the previous batch
// commits (see BENCHMARKS.md). A few calls per batch cost the node next to nothing more.
const logsPerCall = 4000

// Logs are also counted by size (logSize): a log with a long payload (a proposal's
// description, a model card) weighs as much as hundreds of votes. A call asks for about
// callLogBytes, and a batch stops growing past batchLogBytes whatever its count.
const (
	callLogBytes  = 4 << 20
	batchLogBytes = 32 << 20
)

// logSize is about what a decoded log holds in memory.
func logSize(l *types.Log) int { return len(l.Data) + 32*len(l.Topics) + 160 }

// logsInParts reads the DAO's logs of blocks from..to in calls of about logsPerCall logs (or
// callLogBytes) at the density seen lately, and stops after the call that brings the count
// past maxEvents (the batch is cut there: the node need not serve the rest) or their size
// past batchLogBytes. It returns the logs and the
// last block read. A reorg between two calls is caught as for one call: fetch checks every
// log of the window against its block's header.
func (ix *Indexer) logsInParts(ctx context.Context, from, to uint64, maxEvents int) ([]types.Log, uint64, error) {
	var all []types.Log
	size := 0
	for f := from; ; {
		part := to - f + 1
		if ix.density > 0 {
			perCall := float64(logsPerCall)
			if ix.logBytes > 0 {
				perCall = min(perCall, callLogBytes/ix.logBytes)
			}
			part = max(min(part, uint64(perCall/ix.density)), 1)
		}
		ls, t, err := ix.logs(ctx, f, min(f+part-1, to))
		if err != nil {
			return nil, 0, err
		}
		if all == nil {
			all = ls
		} else {
			all = append(all, ls...)
		}
		n := 0
		for i := range ls {
			n += logSize(&ls[i])
		}
		size += n
		if len(ls) > 0 {
			ix.logBytes = float64(n) / float64(len(ls))
		}
		if t >= to || len(all) > maxEvents || size > batchLogBytes {
			return all, t, nil
		}
		f = t + 1
	}
}

// logs reads the DAO's logs of blocks from..to, halving the range while the node refuses
// it for its size; it returns the range it read.
func (ix *Indexer) logs(ctx context.Context, from, to uint64) ([]types.Log, uint64, error) {
	for {
		q := ethereum.FilterQuery{FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(to), Addresses: ix.dec.Addresses()}
		callCtx, cancel := context.WithTimeout(ctx, ix.cfg.RPCTimeout)
		got, err := filterLogs(callCtx, ix.cfg.Chain, q)
		cancel()
		if err == nil {
			ix.rpcOK()
			return got, to, nil
		}
		if ctx.Err() != nil {
			return nil, 0, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "eth_getLogs: deadline reached")
		}
		if isPastHead(err) {
			return nil, 0, moved("the node's chain ends below block %d (%v)", to, err)
		}
		if isRangeError(err) && to > from {
			ix.rng = max((to-from+1)/2, 1)
			to = from + ix.rng - 1
			ix.log.Info("node refused the log range; splitting", "from", from, "to", to, "err", err)
			continue
		}
		ix.onRPCError("eth_getLogs")(err)
		if err := sleep(ctx, ix.bo.next()); err != nil {
			return nil, 0, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "eth_getLogs: deadline reached while retrying")
		}
	}
}

// logsOfBlock reads the DAO's logs of the block with header h, by its hash.
func (ix *Indexer) logsOfBlock(ctx context.Context, h *types.Header) ([]types.Log, error) {
	hash := h.Hash()
	ls, err := retry(ctx, &ix.bo, ix.onRPCError("eth_getLogs"), func(ctx context.Context) ([]types.Log, error) {
		ctx, cancel := context.WithTimeout(ctx, ix.cfg.RPCTimeout)
		defer cancel()
		ls, err := ix.cfg.Chain.FilterLogs(ctx, ethereum.FilterQuery{BlockHash: &hash, Addresses: ix.dec.Addresses()})
		if err != nil && isPastHead(err) {
			return nil, errBlockGone
		}
		return ls, err
	})
	if errors.Is(err, errBlockGone) {
		return nil, moved("block %d (%s) left the chain", h.Number, hash)
	}
	return ls, err
}

// errBlockGone ends a retry: the node no longer knows the block asked for by hash.
var errBlockGone = errors.New("block not found")

// headers reads the headers of blocks ns, a few at a time. A block the node does not have
// (the chain got shorter) gives errMoved.
func (ix *Indexer) headers(ctx context.Context, ns []uint64) (map[uint64]*types.Header, error) {
	out := make(map[uint64]*types.Header, len(ns))
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, headerConcurrency)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	seen := make(map[uint64]bool, len(ns))
	for _, n := range ns {
		if seen[n] {
			continue
		}
		seen[n] = true
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			bo := ix.bo.fresh()
			h, err := ix.headerWith(ctx, n, &bo)
			if err == nil && h == nil {
				err = moved("block %d is not on the node's chain any more", n)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				return
			}
			out[n] = h
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// MayHaveLogs reports whether a block with this bloom filter may hold logs of the DAO's
// contracts: false means certainly not.
func (d *Decoder) MayHaveLogs(bloom types.Bloom) bool {
	for _, a := range d.Addresses() {
		if types.BloomLookup(bloom, a) {
			return true
		}
	}
	return false
}
