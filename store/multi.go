package store

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// DefaultCommitChunk is about how many arguments (command names, keys, values) a commit
// hands to Redis at a time inside its MULTI: a few hundred commands.
const DefaultCommitChunk = 2048

// SetCommitChunk sets how many arguments a commit sends to Redis at a time (0: the
// default); small values make the tests exercise a commit sent in many parts. Call it
// before the store is used.
func (s *Store) SetCommitChunk(n int) {
	if n <= 0 {
		n = DefaultCommitChunk
	}
	s.commitChunk = n
}

// multiWriter sends the writes of one commit in one MULTI/EXEC on the watched connection,
// about commitChunk arguments at a time. A commit that fits in one chunk goes as one go-redis
// TxPipeline. A larger one sends MULTI and its first chunk in a plain pipeline, each further
// chunk likewise (Redis queues the commands and answers QUEUED), and the last one with EXEC.
// The transaction stays one: Redis applies nothing before EXEC, discards the queue when the
// connection drops (a crash at any instant leaves the batch fully applied or not at all), and
// EXEC fails when a watched key changed. What it saves is memory: a TxPipeline holds a
// command object, its arguments and the encoded undo entries of every write of the batch
// until EXEC (a third of a 20,000-event batch's live heap in the profiles, see
// BENCHMARKS.md); here only one chunk's are alive.
//
// Commands go through Do (a generic reply), since typed commands would read the QUEUED
// answers as their own replies.
type multiWriter struct {
	ctx     context.Context
	tx      *redis.Tx
	chunk   int
	pending [][]any // commands not sent yet
	args    int     // their arguments
	pipe    redis.Pipeliner
	started bool // MULTI was sent
	err     error
}

func (s *Store) newMultiWriter(ctx context.Context, tx *redis.Tx) *multiWriter {
	chunk := s.commitChunk
	if chunk <= 0 {
		chunk = DefaultCommitChunk
	}
	return &multiWriter{ctx: ctx, tx: tx, chunk: chunk}
}

// do queues one command.
func (w *multiWriter) do(args ...any) {
	if w.err != nil {
		return
	}
	w.pending = append(w.pending, args)
	w.args += len(args)
	if w.args >= w.chunk {
		w.flush()
	}
}

// flush sends the pending commands inside the MULTI (sending MULTI first if needed) and
// checks that Redis queued every one.
func (w *multiWriter) flush() {
	if w.err != nil || len(w.pending) == 0 {
		return
	}
	if w.pipe == nil {
		w.pipe = w.tx.Pipeline()
	}
	if !w.started {
		w.pipe.Do(w.ctx, "multi")
		w.started = true
	}
	for _, args := range w.pending {
		w.pipe.Do(w.ctx, args...)
	}
	w.pending, w.args = w.pending[:0], 0
	if _, err := w.pipe.Exec(w.ctx); err != nil {
		w.err = err
	}
}

// op queues one write of the batch.
func (w *multiWriter) op(o undoOp) {
	switch o.K {
	case opHSet:
		w.do("hset", o.Key, o.F, o.V)
	case opHDel:
		w.do("hdel", o.Key, o.F)
	case opSet:
		w.do("set", o.Key, o.V)
	case opDel:
		w.do("del", o.Key)
	case opZAdd:
		w.do("zadd", o.Key, o.S, o.F)
	case opZRem:
		w.do("zrem", o.Key, o.F)
	}
}

// xadd queues the XADD that go-redis' XAdd would send for a (the fields the store uses).
func (w *multiWriter) xadd(a *redis.XAddArgs) {
	args := []any{"xadd", a.Stream}
	if a.MaxLen > 0 {
		if a.Approx {
			args = append(args, "maxlen", "~", a.MaxLen)
		} else {
			args = append(args, "maxlen", a.MaxLen)
		}
	}
	args = append(args, "*")
	switch v := a.Values.(type) {
	case []string:
		for _, s := range v {
			args = append(args, s)
		}
	case []any:
		args = append(args, v...)
	default:
		panic("store: xadd values must be []string or []any") // programming error
	}
	w.do(args...)
}

// exec ends the transaction and returns the first error: redis.TxFailedErr when a watched
// key changed (nothing was written), or the error of a command. After a failure before
// EXEC it sends DISCARD, so that the connection does not go back to the pool inside a MULTI.
func (w *multiWriter) exec() error {
	if !w.started && w.err == nil {
		_, err := w.tx.TxPipelined(w.ctx, func(p redis.Pipeliner) error {
			for _, args := range w.pending {
				p.Do(w.ctx, args...)
			}
			return nil
		})
		return err
	}
	if w.err == nil {
		for _, args := range w.pending {
			w.pipe.Do(w.ctx, args...)
		}
		w.pending = nil
		exec := w.pipe.Do(w.ctx, "exec")
		_, err := w.pipe.Exec(w.ctx)
		switch {
		case errors.Is(err, redis.Nil):
			return redis.TxFailedErr
		case err != nil:
			// EXEC may not have reached Redis: end the MULTI in case it is still open.
			w.err = err
			return w.discard()
		}
		res, _ := exec.Val().([]any)
		for _, r := range res {
			if e, ok := r.(error); ok {
				return e
			}
		}
		return nil
	}
	return w.discard()
}

// discard sends DISCARD (an error when no MULTI is open, which is ignored) and returns the
// error that ended the transaction.
func (w *multiWriter) discard() error {
	w.pipe.Discard()
	w.pipe.Do(w.ctx, "discard")
	_, _ = w.pipe.Exec(w.ctx)
	return w.err
}
