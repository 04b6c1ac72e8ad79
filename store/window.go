package store

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
)

// The undo window: the blocks that a reorg may still replace. Each of them has an undo
// list (the inverse of its writes, possibly empty), a member in undoblocks, and a field in
// blocks holding its hash and its parent's hash. The parent is kept so that the window's
// oldest block can be rolled back too: a window of N blocks handles a reorg of depth N
// exactly (the common ancestor is the parent of the oldest block).

// windowBlock is the value of a block's field in the blocks hash: "<hash>:<parent hash>".
type windowBlock struct {
	Hash, Parent common.Hash
}

func (w windowBlock) String() string { return w.Hash.Hex() + ":" + w.Parent.Hex() }

// parseWindowBlock reads a blocks field; an entry written before parents were recorded has
// no parent (zero).
func parseWindowBlock(s string) windowBlock {
	h, p, _ := strings.Cut(s, ":")
	w := windowBlock{Hash: common.HexToHash(h)}
	if p != "" {
		w.Parent = common.HexToHash(p)
	}
	return w
}

// BlockHash returns the hash recorded for block n inside the undo window, if any.
func (s *Store) BlockHash(ctx context.Context, n uint64) (common.Hash, bool, error) {
	v, err := s.rdb.HGet(ctx, s.keys.Blocks(), strconv.FormatUint(n, 10)).Result()
	if errors.Is(err, redis.Nil) {
		return common.Hash{}, false, nil
	}
	if err != nil {
		return common.Hash{}, false, redisDown(err, "read block hash")
	}
	return parseWindowBlock(v).Hash, true, nil
}

// UndoWindow is what the store can roll back: the blocks Oldest..Newest (the checkpoint)
// with their recorded hashes, and the hash of Oldest's parent, the deepest possible common
// ancestor.
type UndoWindow struct {
	Oldest, Newest uint64
	Hashes         map[uint64]common.Hash // Oldest-1 .. Newest
}

// Empty reports a window that holds no block: nothing can be rolled back.
func (w UndoWindow) Empty() bool { return len(w.Hashes) == 0 }

// Window returns the undo window below the checkpoint cp. Blocks are in the window only if
// they form an unbroken run ending at cp; anything else (a checkpoint outside the window)
// gives an empty window.
func (s *Store) Window(ctx context.Context, cp Checkpoint) (UndoWindow, error) {
	raw, err := s.rdb.HGetAll(ctx, s.keys.Blocks()).Result()
	if err != nil {
		return UndoWindow{}, redisDown(err, "read the undo window")
	}
	blocks := make(map[uint64]windowBlock, len(raw))
	for f, v := range raw {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			continue
		}
		blocks[n] = parseWindowBlock(v)
	}
	w := UndoWindow{Hashes: map[uint64]common.Hash{}}
	top, ok := blocks[cp.Number]
	if !ok || top.Hash != cp.Hash {
		return UndoWindow{}, nil
	}
	n := cp.Number
	for {
		b := blocks[n]
		w.Hashes[n] = b.Hash
		w.Oldest = n
		parent := b.Parent
		if pb, ok := blocks[n-1]; ok && n > 0 {
			if parent != (common.Hash{}) && pb.Hash != parent {
				return UndoWindow{}, modeldao.Errorf(modeldao.EINTERNAL, "the undo window is corrupt (block %d's parent is not the recorded block %d): run `modeldao reindex`", n, n-1)
			}
			n--
			continue
		}
		if parent != (common.Hash{}) && n > 0 {
			w.Hashes[n-1] = parent
		}
		break
	}
	w.Newest = cp.Number
	return w, nil
}

// RollbackTo undoes the blocks after ancestor up to the checkpoint from, newest first, and
// moves the checkpoint to ancestor, in one MULTI/EXEC: a crash leaves the index at from or
// at ancestor, never in between. It fails with an ENOTFOUND error, touching nothing, when a
// block to undo is outside the undo window or ancestor is not the recorded parent.
func (s *Store) RollbackTo(ctx context.Context, from, ancestor Checkpoint, lease *Lease) error {
	if ancestor.Number >= from.Number {
		return modeldao.Errorf(modeldao.EINVALID, "rollback: ancestor %d is not below the checkpoint %d", ancestor.Number, from.Number)
	}
	err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		if err := s.checkPreconditions(ctx, tx, &from, lease); err != nil {
			return err
		}
		fields := make([]string, 0, from.Number-ancestor.Number)
		for n := ancestor.Number + 1; n <= from.Number; n++ {
			fields = append(fields, strconv.FormatUint(n, 10))
		}
		recorded, err := tx.HMGet(ctx, s.keys.Blocks(), fields...).Result()
		if err != nil {
			return redisDown(err, "read the undo window")
		}
		for i, v := range recorded {
			str, ok := v.(string)
			if !ok {
				return modeldao.Errorf(modeldao.ENOTFOUND, "block %s is outside the undo window", fields[i])
			}
			if i == 0 {
				if p := parseWindowBlock(str).Parent; p != (common.Hash{}) && p != ancestor.Hash {
					return modeldao.Errorf(modeldao.ENOTFOUND, "block %d is not the recorded parent of block %s", ancestor.Number, fields[0])
				}
			}
		}
		if p := parseWindowBlock(recorded[0].(string)).Parent; p == (common.Hash{}) {
			// An entry without its parent: the parent must be recorded itself.
			v, err := tx.HGet(ctx, s.keys.Blocks(), strconv.FormatUint(ancestor.Number, 10)).Result()
			if err != nil || parseWindowBlock(v).Hash != ancestor.Hash {
				return modeldao.Errorf(modeldao.ENOTFOUND, "block %d is outside the undo window", ancestor.Number)
			}
		}
		lists := make([]*redis.StringSliceCmd, len(fields))
		if _, err := tx.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range fields {
				lists[i] = p.LRange(ctx, s.keys.Undo(ancestor.Number+1+uint64(i)), 0, -1)
			}
			return nil
		}); err != nil {
			return redisDown(err, "read undo log")
		}
		retract, err := s.retractions(ctx, tx, ancestor.Number)
		if err != nil {
			return err
		}
		inverses := make([][]undoOp, len(fields))
		for i, l := range lists {
			raw := l.Val()
			inverses[i] = make([]undoOp, len(raw))
			for j, r := range raw {
				if err := json.Unmarshal([]byte(r), &inverses[i][j]); err != nil {
					return modeldao.WrapError(modeldao.EINTERNAL, err, "undo log of block %s is corrupt: run `modeldao reindex`", fields[i])
				}
			}
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for i := len(fields) - 1; i >= 0; i-- {
				inv := inverses[i]
				for j := len(inv) - 1; j >= 0; j-- {
					applyOp(ctx, p, inv[j])
				}
				p.Del(ctx, s.keys.Undo(ancestor.Number+1+uint64(i)))
			}
			p.HDel(ctx, s.keys.Blocks(), fields...)
			members := make([]any, len(fields))
			for i, f := range fields {
				members[i] = f
			}
			p.ZRem(ctx, s.keys.UndoBlocks(), members...)
			for _, n := range retract {
				s.xaddOutbox(ctx, p, n)
			}
			p.Set(ctx, s.keys.OutboxHigh(), strconv.FormatUint(ancestor.Number, 10), 0)
			p.Set(ctx, s.keys.Checkpoint(), ancestor.String(), 0)
			return nil
		})
		return err
	}, s.keys.Checkpoint(), s.keys.Lease())
	return s.commitError(err, "rollback")
}

// Rollback undoes the checkpoint block alone and returns the new checkpoint, its parent.
// It fails with an ENOTFOUND error, touching nothing, outside the undo window.
func (s *Store) Rollback(ctx context.Context, from Checkpoint, lease *Lease) (Checkpoint, error) {
	w, err := s.Window(ctx, from)
	if err != nil {
		return Checkpoint{}, err
	}
	h, ok := w.Hashes[from.Number-1]
	if !ok || from.Number == 0 {
		return Checkpoint{}, modeldao.Errorf(modeldao.ENOTFOUND, "block %d is outside the undo window", from.Number)
	}
	parent := Checkpoint{Number: from.Number - 1, Hash: h}
	return parent, s.RollbackTo(ctx, from, parent, lease)
}
