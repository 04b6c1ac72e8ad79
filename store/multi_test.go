package store

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/infra/redisserver"
)

// A batch sends only the last write of each field or member: a delegate whose power changes
// at every event moves in the ordering by power once per batch, not once per event. The
// state is the same as block by block, in the undo window and outside it, and so is the
// state after rolling the window back (the inverses of the replaced writes are kept).
func TestBatchWritesEachMemberOnce(t *testing.T) {
	ctx := context.Background()
	const blocks, perBlock = 6, 40
	D, E := acct(1), acct(2)
	var c chainOf
	for n := uint64(1); n <= blocks; n++ {
		b := c.block()
		for i := 0; i < perBlock; i++ {
			v := int64((n-1)*perBlock) + int64(i)
			who := D
			if i%2 == 1 {
				who = E
			}
			b.Events = append(b.Events, &modeldao.DelegateVotesChanged{At: c.at(n), Delegate: who, Previous: big.NewInt(v), Current: big.NewInt(v + 1)})
		}
		c.blocks[n-1] = b
	}
	init := &modeldao.DAOParams{ChainID: 1337, VotingDelay: 1, VotingPeriod: 100, QuorumNumerator: 4}
	last := Checkpoint{Number: blocks, Hash: c.blocks[blocks-1].Hash}
	for _, undoFrom := range []uint64{1 << 62, 3} {
		// One batch of every block.
		one := newReadStore(t)
		res, err := one.Apply(ctx, ApplyArgs{Blocks: c.blocks, UndoFrom: undoFrom, KeepUndo: 100, Init: init})
		if err != nil {
			t.Fatal(err)
		}
		// Per event: its power history member and its total member; the two orderings of
		// delegates and the account records are written once per batch (per block in the
		// window).
		if events := blocks * perBlock; res.Writes > 2*events+12*blocks {
			t.Errorf("undo from %d: %d writes for %d power changes of two delegates", undoFrom, res.Writes, events)
		}
		// Block by block.
		each := newReadStore(t)
		for i, b := range c.blocks {
			a := ApplyArgs{Blocks: []modeldao.Block{b}, UndoFrom: undoFrom, KeepUndo: 100}
			if i == 0 {
				a.Init = init
			} else {
				a.From = &Checkpoint{Number: b.Number - 1, Hash: c.blocks[i-1].Hash}
			}
			if _, err := each.Apply(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		same := func(what string) {
			t.Helper()
			x, err := one.Digest(ctx)
			if err != nil {
				t.Fatal(err)
			}
			y, err := each.Digest(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if x != y {
				t.Errorf("undo from %d, %s: one batch gives digest %s, block by block %s", undoFrom, what, x, y)
			}
		}
		same("applied")
		members, err := one.rdb.ZRange(ctx, one.keys.DelegatesByPower(), 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(members) != 2 {
			t.Errorf("undo from %d: ordering by power holds %d members, want the 2 delegates", undoFrom, len(members))
		}
		if undoFrom > blocks {
			continue
		}
		ancestor := Checkpoint{Number: undoFrom - 1, Hash: c.blocks[undoFrom-2].Hash}
		for _, s := range []*Store{one, each} {
			if err := s.RollbackTo(ctx, last, ancestor, nil); err != nil {
				t.Fatal(err)
			}
		}
		same("rolled back")
	}
}

// chunkFault fails the n-th pipeline a client sends (before sending it, or after it was
// sent when after is set), as a dropped connection would.
type chunkFault struct {
	n, failAt int
	after     bool
}

func (h *chunkFault) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *chunkFault) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return next
}
func (h *chunkFault) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n++
		if h.n != h.failAt {
			return next(ctx, cmds)
		}
		if h.after {
			_ = next(ctx, cmds)
		}
		return errors.New("injected fault")
	}
}

// A commit sent in many parts (a tiny commit chunk) is still one transaction: a fault at
// any of its parts, before or after the part reached Redis, leaves the batch either fully
// applied or not at all, the connection usable (no MULTI left open on it), and a retry gives
// the state of a commit without faults.
func TestCommitInPartsIsAtomic(t *testing.T) {
	ctx := context.Background()
	var c chainOf
	D, E := acct(1), acct(2)
	for n := uint64(1); n <= 4; n++ {
		b := c.block()
		for i := int64(0); i < 10; i++ {
			v := int64(n)*10 + i
			b.Events = append(b.Events, &modeldao.DelegateVotesChanged{At: c.at(n), Delegate: []common.Address{D, E}[i%2], Previous: big.NewInt(v), Current: big.NewInt(v + 1)})
		}
		c.blocks[n-1] = b
	}
	args := ApplyArgs{Blocks: c.blocks, UndoFrom: 3, KeepUndo: 100, Init: &modeldao.DAOParams{ChainID: 1337, VotingDelay: 1, VotingPeriod: 100, QuorumNumerator: 4}}
	ref := newReadStore(t)
	if _, err := ref.Apply(ctx, args); err != nil {
		t.Fatal(err)
	}
	want, err := ref.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv := redisserver.StartT(t)
	faults := 0
	for failAt := 1; ; failAt++ {
		for _, after := range []bool{false, true} {
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, PoolSize: 1})
			if err := rdb.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			hook := &chunkFault{failAt: failAt, after: after}
			rdb.AddHook(hook)
			s := New(rdb, ref.keys, ref.log)
			s.SetCommitChunk(8)
			_, err := s.Apply(ctx, args)
			if hook.n < failAt {
				if err != nil {
					t.Fatal(err)
				}
				if faults < 10 {
					t.Fatalf("the commit went in %d parts; the chunk did not split it", hook.n)
				}
				rdb.Close()
				return
			}
			faults++
			cp, applied, cerr := s.Checkpoint(ctx)
			if cerr != nil {
				t.Fatalf("fault at part %d (after: %v): the connection is not usable: %v", failAt, after, cerr)
			}
			got, derr := s.Digest(ctx)
			if derr != nil {
				t.Fatal(derr)
			}
			switch {
			case applied && got != want:
				t.Fatalf("fault at part %d (after: %v): checkpoint %v written with a partial batch", failAt, after, cp)
			case !applied && err == nil:
				t.Fatalf("fault at part %d (after: %v): Apply reported success but nothing was written", failAt, after)
			case !applied:
				n, kerr := rdb.DBSize(ctx).Result()
				if kerr != nil || n != 0 {
					t.Fatalf("fault at part %d (after: %v): nothing committed, yet %d keys were written (%v)", failAt, after, n, kerr)
				}
				if _, err := s.Apply(ctx, args); err != nil {
					t.Fatalf("retry after a fault at part %d: %v", failAt, err)
				}
				if got, _ := s.Digest(ctx); got != want {
					t.Fatalf("retry after a fault at part %d (after: %v): digest %s, want %s", failAt, after, got, want)
				}
			}
			rdb.Close()
		}
	}
}

// beforePart runs do before the n-th pipeline a client sends.
type beforePart struct {
	n, at int
	do    func()
}

func (h *beforePart) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *beforePart) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *beforePart) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.n++; h.n == h.at {
			h.do()
		}
		return next(ctx, cmds)
	}
}

// Another writer that moves the checkpoint while a commit is being sent in parts makes the
// commit fail with ErrConflict and write nothing, as a commit sent at once does.
func TestCommitInPartsConflicts(t *testing.T) {
	ctx := context.Background()
	var c chainOf
	for n := uint64(1); n <= 3; n++ {
		b := c.block()
		for i := int64(0); i < 10; i++ {
			b.Events = append(b.Events, &modeldao.DelegateVotesChanged{At: c.at(n), Delegate: acct(1), Previous: big.NewInt(int64(n)*10 + i), Current: big.NewInt(int64(n)*10 + i + 1)})
		}
		c.blocks[n-1] = b
	}
	s := newReadStore(t)
	s.SetCommitChunk(8)
	other := redis.NewClient(s.rdb.(*redis.Client).Options())
	defer other.Close()
	hook := &beforePart{at: 3, do: func() {
		if err := other.Set(ctx, s.keys.Checkpoint(), "7:0x"+strings.Repeat("0", 64), 0).Err(); err != nil {
			t.Error(err)
		}
	}}
	s.rdb.AddHook(hook)
	_, err := s.Apply(ctx, ApplyArgs{Blocks: c.blocks, UndoFrom: 2, KeepUndo: 100, Init: &modeldao.DAOParams{ChainID: 1337, VotingDelay: 1, VotingPeriod: 100, QuorumNumerator: 4}})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("Apply while another writer moved the checkpoint: %v, want ErrConflict", err)
	}
	if hook.n < 4 {
		t.Fatalf("the commit went in %d parts", hook.n)
	}
	if n, err := other.DBSize(ctx).Result(); err != nil || n != 1 {
		t.Fatalf("%d keys after the failed commit (%v), want only the other writer's checkpoint", n, err)
	}
}

// On Redis Cluster a commit sent in parts is one MULTI/EXEC on the node of the DAO's hash
// slot, and gives the state of a single node.
func TestCommitInPartsOnCluster(t *testing.T) {
	ctx := context.Background()
	var c chainOf
	for n := uint64(1); n <= 3; n++ {
		b := c.block()
		for i := int64(0); i < 10; i++ {
			b.Events = append(b.Events, &modeldao.DelegateVotesChanged{At: c.at(n), Delegate: acct(1 + int(i%3)), Previous: big.NewInt(int64(n)*10 + i), Current: big.NewInt(int64(n)*10 + i + 1)})
		}
		c.blocks[n-1] = b
	}
	args := ApplyArgs{Blocks: c.blocks, UndoFrom: 2, KeepUndo: 100, Init: &modeldao.DAOParams{ChainID: 1337, VotingDelay: 1, VotingPeriod: 100, QuorumNumerator: 4}}
	ref := newReadStore(t)
	if _, err := ref.Apply(ctx, args); err != nil {
		t.Fatal(err)
	}
	want, err := ref.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cl := redisserver.StartClusterT(t)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs()})
	defer rdb.Close()
	s := New(rdb, ref.keys, ref.log)
	s.SetCommitChunk(8)
	if _, err := s.Apply(ctx, args); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Digest(ctx); err != nil || got != want {
		t.Fatalf("digest on the cluster %s (%v), on one node %s", got, err, want)
	}
}
