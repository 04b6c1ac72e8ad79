package indexer

import (
	"context"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/store"
)

// ErrReorgTooDeep is returned when the chain reorganised below the undo window. The index
// is left as it was.
var ErrReorgTooDeep = modeldao.Errorf(modeldao.EINTERNAL,
	"the chain reorganised deeper than the undo window (REORG_DEPTH); the index cannot roll back that far and was left untouched: run `modeldao reindex` (drops the projection and indexes again from the deployment block), and raise REORG_DEPTH if this chain reorgs that deep")

// reorg handles a checkpoint that left the canonical chain: it finds the common ancestor
// inside the undo window first, then rolls back to it in one commit. When the ancestor is
// out of reach it stops with ErrReorgTooDeep without touching the index.
//
// Depth: the window holds the last ReorgDepth indexed blocks and the hash of the parent of
// the oldest one, so a reorg that replaces ReorgDepth blocks is rolled back, and one that
// replaces ReorgDepth+1 stops.
func (ix *Indexer) reorg(ctx context.Context, cp store.Checkpoint, p *Progress) error {
	w, err := ix.cfg.Store.Window(ctx, cp)
	if err != nil {
		return err
	}
	if w.Empty() {
		ix.log.Error("reorg below the undo window: the checkpoint block is not on the chain and the index holds no undo for it",
			"checkpoint", cp.Number, "hash", cp.Hash, "reorg_depth", ix.cfg.ReorgDepth)
		return ErrReorgTooDeep
	}
	// on reports whether the node's block n is the one the index recorded: false for a
	// different block or none (the chain got shorter).
	type answer int
	const (
		differs answer = iota
		same
		missing
	)
	on := func(n uint64) (answer, error) {
		h, err := ix.header(ctx, n)
		switch {
		case err != nil:
			return differs, err
		case h == nil:
			return missing, nil
		case h.Hash() == w.Hashes[n]:
			return same, nil
		}
		return differs, nil
	}
	// The deepest ancestor the window can roll back to: the oldest block's parent.
	deepest := w.Oldest
	if _, ok := w.Hashes[w.Oldest-1]; ok && w.Oldest > 0 {
		deepest = w.Oldest - 1
	}
	if deepest == cp.Number {
		ix.log.Error("reorg below the undo window: no recorded ancestor", "checkpoint", cp.Number, "reorg_depth", ix.cfg.ReorgDepth)
		return ErrReorgTooDeep
	}
	// Gallop down from the checkpoint's parent (most reorgs are a block or two), then
	// bisect between the last block that differs and the first that matches.
	hi := cp.Number // known not to match
	lo := uint64(0)
	found := false
	for step := uint64(1); ; step *= 2 {
		n := cp.Number - min(step, cp.Number-deepest)
		a, err := on(n)
		if err != nil {
			return err
		}
		if a == same {
			lo, found = n, true
			break
		}
		hi = n
		if n == deepest {
			if a == missing {
				// The node's chain ends below the whole window: a node that is behind (or
				// restarted), not a proven deep reorg. Wait for it.
				return modeldao.Errorf(modeldao.EUNAVAILABLE, "the node's chain ends below block %d, under the index's undo window (checkpoint %d): waiting for the node to catch up", n, cp.Number)
			}
			break
		}
	}
	if !found {
		ix.log.Error("reorg deeper than the undo window: the index is left untouched",
			"checkpoint", cp.Number, "oldest_undoable", w.Oldest, "reorg_depth", ix.cfg.ReorgDepth,
			"recorded_parent", w.Hashes[deepest])
		return ErrReorgTooDeep
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		a, err := on(mid)
		if err != nil {
			return err
		}
		if a == same {
			lo = mid
		} else {
			hi = mid
		}
	}
	ancestor := store.Checkpoint{Number: lo, Hash: w.Hashes[lo]}
	if err := ix.cfg.Store.RollbackTo(ctx, cp, ancestor, ix.lease); err != nil {
		if modeldao.ErrorCode(err) == modeldao.ENOTFOUND {
			return ErrReorgTooDeep
		}
		return err
	}
	p.Reorgs++
	ix.statusMu.Lock()
	ix.status.Reorgs++
	ix.statusMu.Unlock()
	ix.log.Warn("reorg: rolled back to the common ancestor", "depth", cp.Number-lo, "from", cp.Number, "from_hash", cp.Hash,
		"ancestor", lo, "ancestor_hash", ancestor.Hash)
	return nil
}
