package store

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// multiChunk is how many commands a commit hands to Redis at a time inside its MULTI.
const multiChunk = 512

// multiWriter sends the writes of one commit in one MULTI/EXEC on the watched connection,
// multiChunk commands at a time: MULTI, then the commands in plain pipelines (Redis queues
// them and answers QUEUED), then EXEC. The transaction stays one: Redis applies nothing
// before EXEC, discards the queue when the connection drops (a crash at any instant leaves
// the batch fully applied or not at all), and EXEC fails when a watched key changed.
// What it saves is memory: a go-redis TxPipeline holds a command object, its arguments and
// the encoded undo entries for every write of the batch until EXEC (a third of a 20,000-event
// batch's peak in the profiles, see BENCHMARKS.md); here only one chunk's are alive.
//
// Commands go through Do (a generic reply), since typed commands read the QUEUED answers
// as their own replies.
type multiWriter struct {
	ctx    context.Context
	pipe   redis.Pipeliner // a plain pipeline on the watched connection
	queued int             // commands in pipe
	err    error
}

func newMultiWriter(ctx context.Context, tx *redis.Tx) *multiWriter {
	w := &multiWriter{ctx: ctx, pipe: tx.Pipeline()}
	w.do("multi")
	return w
}

// do queues one command.
func (w *multiWriter) do(args ...any) {
	if w.err != nil {
		return
	}
	w.pipe.Do(w.ctx, args...)
	w.queued++
	if w.queued >= multiChunk {
		w.flush()
	}
}

// flush sends the queued commands and checks that Redis queued every one.
func (w *multiWriter) flush() {
	if w.err != nil || w.queued == 0 {
		return
	}
	w.queued = 0
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

// exec sends EXEC and returns the first error: redis.TxFailedErr when a watched key changed
// (nothing was written), or the error of a command. After a failure before EXEC it sends
// DISCARD, so the connection does not go back to the pool inside a MULTI.
func (w *multiWriter) exec() error {
	if w.err == nil {
		exec := w.pipe.Do(w.ctx, "exec")
		w.queued = 0
		_, err := w.pipe.Exec(w.ctx)
		switch {
		case errors.Is(err, redis.Nil):
			return redis.TxFailedErr
		case err != nil:
			return err
		}
		res, _ := exec.Val().([]any)
		for _, r := range res {
			if e, ok := r.(error); ok {
				return e
			}
		}
		return nil
	}
	w.pipe.Discard()
	w.pipe.Do(w.ctx, "discard")
	_, _ = w.pipe.Exec(w.ctx)
	return w.err
}
