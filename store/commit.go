package store

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
)

// opsPerEvent is about how many writes an event of a backfill makes, after the batch keeps
// only the last write of each field or member.
const opsPerEvent = 4

// ApplyArgs are the inputs of one commit.
type ApplyArgs struct {
	// From is the checkpoint the batch builds on; nil when the projection is empty. The
	// commit fails with ErrConflict unless the stored checkpoint still equals it.
	From *Checkpoint
	// Lease, when set, must still be held: the commit fails with ErrConflict otherwise.
	Lease *Lease
	// Blocks to apply, in increasing order, the first one's parent being From. Blocks
	// without events may be left out, except inside the undo window (their hashes are kept).
	Blocks []modeldao.Block
	// UndoFrom is the first block number inside the reorg window: blocks from it on get an
	// undo list and a recorded hash; older ones are final.
	UndoFrom uint64
	// KeepUndo is how many blocks of undo history to keep below the new checkpoint.
	KeepUndo uint64
	// Init is the DAO's static description, written with the first commit.
	Init *modeldao.DAOParams
}

// ApplyResult says what a commit did.
type ApplyResult struct {
	Checkpoint Checkpoint
	Events     int
	Writes     int
	Reads      int // reads that missed the prefetch (round trips)
}

// Apply applies blocks to the projection in one atomic MULTI/EXEC that also moves the
// checkpoint: after a crash at any instant either all of the batch is there or none of it.
func (s *Store) Apply(ctx context.Context, a ApplyArgs) (ApplyResult, error) {
	if len(a.Blocks) == 0 {
		return ApplyResult{}, modeldao.Errorf(modeldao.EINVALID, "apply: no blocks")
	}
	if a.From != nil && a.Blocks[0].ParentHash != a.From.Hash {
		return ApplyResult{}, modeldao.Errorf(modeldao.ECONFLICT, "apply: block %d does not extend checkpoint %s", a.Blocks[0].Number, a.From)
	}
	for i := 1; i < len(a.Blocks); i++ {
		if a.Blocks[i].Number <= a.Blocks[i-1].Number {
			return ApplyResult{}, modeldao.Errorf(modeldao.EINVALID, "apply: blocks %d and %d are out of order", a.Blocks[i-1].Number, a.Blocks[i].Number)
		}
	}
	var res ApplyResult
	err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		if err := s.checkPreconditions(ctx, tx, a.From, a.Lease); err != nil {
			return err
		}
		b := newBatch(ctx, s, tx)
		// About as many writes as a batch of votes and delegations makes, so that the op
		// list does not grow by copying (growslice showed in the backfill profiles).
		events := 0
		for _, blk := range a.Blocks {
			events += len(blk.Events)
		}
		b.ops = make([]op, 0, opsPerEvent*events)
		if a.Init != nil && a.From == nil {
			if err := b.initDAO(*a.Init); err != nil {
				return err
			}
		}
		if err := b.prefetchBlocks(a.Blocks); err != nil {
			return err
		}
		if err := b.loadOutboxHigh(); err != nil {
			return err
		}
		for _, blk := range a.Blocks {
			if blk.Number >= a.UndoFrom && !b.inUndo {
				// Entering the window: what earlier, final blocks changed is written without
				// undo, so that this block's inverses start from their end state.
				b.flushEntities()
			}
			b.block = blk
			b.inUndo = blk.Number >= a.UndoFrom
			if err := b.applyBlock(blk); err != nil {
				return err
			}
			for _, ev := range blk.Events {
				b.noteEvent(ev)
			}
			if b.inUndo {
				// Undo is per block: write this block's records now so that the next block's
				// inverses restore exactly this block's end state.
				b.flushEntities()
			}
		}
		last := a.Blocks[len(a.Blocks)-1]
		b.block = last
		b.inUndo = last.Number >= a.UndoFrom
		if err := b.refreshProposals(last.Number); err != nil {
			return err
		}
		b.flushEntities()
		if b.err != nil {
			return b.err
		}
		if err := b.resolveUndo(); err != nil {
			return err
		}
		cp := Checkpoint{Number: last.Number, Hash: last.Hash}
		// Undo history older than the window is pruned in the same transaction.
		var prune []string
		if cp.Number > a.KeepUndo {
			var err error
			prune, err = tx.ZRangeByScore(ctx, s.keys.UndoBlocks(), &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatUint(cp.Number-a.KeepUndo, 10)}).Result()
			if err != nil {
				return redisDown(err, "read undo blocks")
			}
		}
		// One MULTI/EXEC, sent in chunks (multiWriter): the batch's writes, the undo lists and
		// hashes of its blocks in the window, the pruning of older undo, pin jobs, the outbox
		// and the checkpoint.
		w := s.newMultiWriter(ctx, tx)
		for i := range b.ops {
			if o := b.ops[i]; o.K != 0 { // 0: replaced by a later write of the batch
				w.op(o.undoOp)
			}
		}
		for _, blk := range a.Blocks {
			if blk.Number < a.UndoFrom {
				continue
			}
			n := strconv.FormatUint(blk.Number, 10)
			// Several RPUSH in a row build the same list as one; each stays within a chunk.
			inv := b.undo[blk.Number]
			for len(inv) > 0 {
				part := inv[:min(len(inv), max(w.chunk/2, 1))]
				inv = inv[len(part):]
				args := make([]any, 0, 2+len(part))
				args = append(args, "rpush", s.keys.Undo(blk.Number))
				for _, o := range part {
					args = append(args, o.appendJSON(make([]byte, 0, len(o.Key)+len(o.F)+len(o.V)+48)))
				}
				w.do(args...)
			}
			w.do("hset", s.keys.Blocks(), n, windowBlock{Hash: blk.Hash, Parent: blk.ParentHash}.String())
			w.do("zadd", s.keys.UndoBlocks(), float64(blk.Number), n)
		}
		for _, m := range prune {
			n, _ := strconv.ParseUint(m, 10, 64)
			w.do("del", s.keys.Undo(n))
			w.do("hdel", s.keys.Blocks(), m)
			w.do("zrem", s.keys.UndoBlocks(), m)
		}
		for _, j := range b.pinJobs {
			w.xadd(s.keys.pinJobXAdd(j))
		}
		b.writeOutbox(w, cp.Number)
		w.do("set", s.keys.Checkpoint(), cp.String())
		if err := w.exec(); err != nil {
			return err
		}
		res = ApplyResult{Checkpoint: cp, Writes: b.liveOps, Reads: b.reads}
		for _, blk := range a.Blocks {
			res.Events += len(blk.Events)
		}
		return nil
	}, s.keys.Checkpoint(), s.keys.Lease())
	return res, s.commitError(err, "apply")
}

func (s *Store) commitError(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redis.TxFailedErr):
		return ErrConflict
	case modeldao.ErrorCode(err) != modeldao.EINTERNAL:
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "%s: deadline reached before the commit finished; nothing or everything was written", what)
	}
	var re redis.Error
	if errors.As(err, &re) {
		return modeldao.WrapError(modeldao.EINTERNAL, err, "%s: redis refused the commit", what)
	}
	return redisDown(err, what)
}

// checkPreconditions verifies, on the watched connection, that the checkpoint is the
// expected one and the lease is still ours.
func (s *Store) checkPreconditions(ctx context.Context, tx *redis.Tx, from *Checkpoint, lease *Lease) error {
	cur, err := tx.Get(ctx, s.keys.Checkpoint()).Result()
	switch {
	case errors.Is(err, redis.Nil):
		if from != nil {
			return ErrConflict
		}
	case err != nil:
		return redisDown(err, "read checkpoint")
	default:
		if from == nil || cur != from.String() {
			return ErrConflict
		}
	}
	if lease != nil {
		v, err := tx.Get(ctx, s.keys.Lease()).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return redisDown(err, "read lease")
		}
		if v != lease.value() {
			return ErrConflict
		}
	}
	return nil
}

// SetStatus records the indexer's status (outside the projection; not transactional).
func (s *Store) SetStatus(ctx context.Context, st modeldao.IndexerStatus) error {
	st.UpdatedAt = time.Now().UnixMilli()
	buf, _ := json.Marshal(st)
	if err := s.rdb.Set(ctx, s.keys.Status(), buf, 0).Err(); err != nil {
		return redisDown(err, "write status")
	}
	return nil
}

// Status returns the indexer's last recorded status.
func (s *Store) Status(ctx context.Context) (modeldao.IndexerStatus, error) {
	var st modeldao.IndexerStatus
	v, err := s.rdb.Get(ctx, s.keys.Status()).Result()
	if errors.Is(err, redis.Nil) {
		return st, nil
	}
	if err != nil {
		return st, redisDown(err, "read status")
	}
	if err := json.Unmarshal([]byte(v), &st); err != nil {
		return st, modeldao.WrapError(modeldao.EINTERNAL, err, "indexer status is corrupt")
	}
	return st, nil
}
