package indexer_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/infra/rpcproxy"
	"github.com/modeldao/modeldao/store"
)

// These tests run the indexer against anvil, a second EVM node, whose anvil_reorg and
// anvil_rollback rewrite history the way real chains do, with a JSON-RPC proxy in between
// that adds a real network's latency or holds a chosen call until the chain changed. Every
// follower must end with the digest of a fresh index of the final chain.

const catchUpTimeout = 60 * time.Second

func proxy(t *testing.T, target string, minLat, maxLat time.Duration, seed uint64) *rpcproxy.Proxy {
	t.Helper()
	p, err := rpcproxy.Start(rpcproxy.Options{Target: target, MinLatency: minLat, MaxLatency: maxLat, Seed: seed, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestAnvilReorgsUnderLatencyAndHeldCalls runs seeded random workloads on anvil while reorgs
// of depth 1–20 (dropping, re-including, moving and adding transactions) and rollbacks
// happen, some at the moment a follower's eth_getLogs or header read has been answered by the
// node but not yet delivered. One follower reads through a proxy with 30–90 ms per call, the
// other through a proxy that holds those calls.
func TestAnvilReorgsUnderLatencyAndHeldCalls(t *testing.T) {
	for _, seed := range []uint64{21, 22, 23} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { reorgsUnderLatency(t, seed, 8) })
	}
}

func reorgsUnderLatency(t *testing.T, seed uint64, rounds int) {
	ctx := context.Background()
	r := newAnvilRun(t, seed)
	if err := r.s.Random(ctx, 30); err != nil {
		t.Fatal(err)
	}
	slow := proxy(t, r.node.URL(), 30*time.Millisecond, 90*time.Millisecond, seed)
	holding := proxy(t, r.node.URL(), 0, 5*time.Millisecond, seed+1)
	followers := []*follower{
		startFollower(t, "through 30-90 ms latency", slow.URL(), r.s, nil),
		startFollower(t, "through held calls", holding.URL(), r.s, nil),
	}
	fail := func(err error) {
		t.Helper()
		t.Fatalf("%v\nhistory:\n  %s", err, r.history())
	}
	caughtUp := func() {
		t.Helper()
		for _, f := range followers {
			if err := f.caughtUp(ctx, r.node, catchUpTimeout); err != nil {
				fail(err)
			}
		}
	}
	caughtUp()
	// Most reorgs replace only blocks without DAO logs by blocks with some: the old branch
	// leaves no log whose block hash could give the change away, so only headers read on the
	// same branch as the logs keep the new events from being lost.
	var empty int
	// held makes the chain change while a call of the holding follower is held, and waits
	// for it to have happened.
	held := func(h rpcproxy.Hold) {
		t.Helper()
		done := holding.Hold(h)
		// New blocks without DAO logs for the follower to fetch while the hold is set.
		if err := r.mine(ctx, empty); err != nil {
			fail(err)
		}
		wait, cancel := context.WithTimeout(ctx, catchUpTimeout)
		defer cancel()
		if err := done.Wait(wait); err != nil {
			fail(err)
		}
	}
	reorgThen := func(ctx context.Context, c rpcproxy.Call) error {
		r.logf("held %s %s", c.Method, c.Params)
		if r.rng.IntN(4) == 0 {
			return r.reorg(ctx, 1+r.rng.IntN(20), false)
		}
		return r.reorg(ctx, 1+r.rng.IntN(empty), true)
	}
	for round := range rounds {
		if err := r.s.Random(ctx, 6+r.rng.IntN(10)); err != nil {
			fail(err)
		}
		empty = 1 + r.rng.IntN(5)
		switch kind := round % 6; kind {
		case 0, 1: // a reorg while the slow follower is fetching the new blocks
			if err := r.mine(ctx, empty); err != nil {
				fail(err)
			}
			time.Sleep(time.Duration(r.rng.IntN(300)) * time.Millisecond)
			depth, first := 1+r.rng.IntN(empty), true
			if kind == 1 {
				depth, first = 1+r.rng.IntN(20), false
			}
			if err := r.reorg(ctx, depth, first); err != nil {
				fail(err)
			}
		case 2, 3: // the node answered eth_getLogs; the chain reorganises before the answer arrives
			held(rpcproxy.Hold{Match: rpcproxy.Method("eth_getLogs"), Then: reorgThen})
		case 4: // the same after a header read
			held(rpcproxy.Hold{Match: rpcproxy.Method("eth_getBlockByNumber"), Then: reorgThen})
		case 5: // the chain gets shorter, then grows on another branch
			if err := r.rollback(ctx, 1+r.rng.IntN(8)); err != nil {
				fail(err)
			}
			if err := r.s.Resync(ctx); err != nil {
				fail(err)
			}
			if err := r.s.Random(ctx, 4+r.rng.IntN(8)); err != nil {
				fail(err)
			}
		}
		if err := r.s.Resync(ctx); err != nil {
			fail(err)
		}
		// Blocks after the change, so that every follower has something to fetch on the new
		// branch.
		if err := r.mine(ctx, 1+r.rng.IntN(3)); err != nil {
			fail(err)
		}
		caughtUp()
	}
	checkFollowers(t, r, followers...)
}

// checkFollowers compares every follower with a fresh index of the final chain.
func checkFollowers(t *testing.T, r *anvilRun, followers ...*follower) {
	t.Helper()
	ctx := context.Background()
	want, wantCP, wantRDB := freshIndex(t, r.node.URL(), r.s)
	for _, f := range followers {
		if cp := f.checkpoint(ctx); cp != wantCP {
			t.Errorf("%s: checkpoint %s, fresh index %s", f.name, cp, wantCP)
		}
		if got := digest(t, f.st); got != want {
			t.Errorf("%s: digest %s, a fresh index of the same chain %s; differences:\n  %s",
				f.name, got, want, projectionDiff(ctx, f.rdb, wantRDB, 12))
		}
	}
	if t.Failed() {
		t.Logf("history:\n  %s", r.history())
	}
}

// TestAnvilChainShorterWhileLogsInFlight holds a follower's eth_getLogs before it reaches
// the node, rolls the chain back below the query's first block, and lets it go: anvil answers
// -32602 "BlockOutOfRangeError". The follower must recognise the chain got shorter and end
// equal to a fresh index once the chain grows again.
func TestAnvilChainShorterWhileLogsInFlight(t *testing.T) {
	ctx := context.Background()
	r := newAnvilRun(t, 31)
	if err := r.s.Random(ctx, 40); err != nil {
		t.Fatal(err)
	}
	p := proxy(t, r.node.URL(), 0, 2*time.Millisecond, 31)
	f := startFollower(t, "log query outlived by its blocks", p.URL(), r.s, nil)
	for range 3 {
		if err := f.caughtUp(ctx, r.node, catchUpTimeout); err != nil {
			t.Fatalf("%v\nhistory:\n  %s", err, r.history())
		}
		// The follower is at the head; the next blocks make it query their logs, and that
		// query reaches the node after the chain got shorter than its first block.
		done := p.Hold(rpcproxy.Hold{Match: rpcproxy.Method("eth_getLogs"), Stage: rpcproxy.Request,
			Then: func(ctx context.Context, c rpcproxy.Call) error {
				var q struct{ FromBlock hexutil.Uint64 }
				if err := c.Param(0, &q); err != nil {
					return err
				}
				_, head, err := r.maxDepth(ctx, 0)
				if err != nil {
					return err
				}
				// Below the query's first block and below the follower's checkpoint (the block
				// before it), so that the follower has a block to roll back.
				if err := r.rollback(ctx, int(head-uint64(q.FromBlock))+2+r.rng.IntN(3)); err != nil {
					return err
				}
				if h, err := r.node.Head(ctx); err != nil || h.Number.Uint64() >= uint64(q.FromBlock) {
					return fmt.Errorf("after the rollback the head is %v (%v); the query from %d would not be out of range", h.Number, err, q.FromBlock)
				}
				return nil
			}})
		if err := r.mine(ctx, 1+r.rng.IntN(3)); err != nil {
			t.Fatal(err)
		}
		wait, cancel := context.WithTimeout(ctx, catchUpTimeout)
		err := done.Wait(wait)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		// Without a new block, the follower must see that its checkpoint is gone and roll
		// back to the new head; retrying the refused query cannot get it there.
		if err := f.caughtUp(ctx, r.node, 15*time.Second); err != nil {
			t.Fatalf("after the chain got shorter under a log query in flight: %v\nhistory:\n  %s", err, r.history())
		}
		if err := r.s.Resync(ctx); err != nil {
			t.Fatal(err)
		}
		// The chain grows again, on another branch.
		if err := r.s.Random(ctx, 5+r.rng.IntN(10)); err != nil {
			t.Fatal(err)
		}
		if err := r.mine(ctx, 2); err != nil {
			t.Fatal(err)
		}
		if err := f.caughtUp(ctx, r.node, catchUpTimeout); err != nil {
			t.Fatalf("%v\nhistory:\n  %s", err, r.history())
		}
	}
	checkFollowers(t, r, f)
}

// TestAnvilReorgDepthIsExact: with ReorgDepth N, a reorg of exactly N blocks is rolled back
// and re-applied; one of N+1 stops the indexer with ErrReorgTooDeep, leaving the index as it
// was (digest and checkpoint).
func TestAnvilReorgDepthIsExact(t *testing.T) {
	ctx := context.Background()
	const depth = 8
	r := newAnvilRun(t, 41)
	if err := r.s.Random(ctx, 60); err != nil {
		t.Fatal(err)
	}
	// Each case indexes the chain up to its head with ReorgDepth N, then reorganises it.
	indexed := func(t *testing.T) (*indexer.Indexer, *store.Store, *redis.Client) {
		_, rdb := newRedis(t)
		st := newStore(r.s, rdb)
		ix := newIndexer(t, dial(t, r.node.URL()), r.s, st, func(c *indexer.Config) { c.ReorgDepth = depth })
		catchUp(t, ix)
		return ix, st, rdb
	}

	t.Run("depth N is handled", func(t *testing.T) {
		ix, st, rdb := indexed(t)
		if err := r.reorg(ctx, depth, true); err != nil {
			t.Fatal(err)
		}
		if _, err := ix.CatchUp(ctx); err != nil {
			t.Fatalf("a reorg of depth %d with ReorgDepth %d: %v", depth, depth, err)
		}
		want, wantCP, wantRDB := freshIndex(t, r.node.URL(), r.s)
		if cp, _, _ := st.Checkpoint(ctx); cp != wantCP {
			t.Fatalf("checkpoint %s, fresh index %s", cp, wantCP)
		}
		if got := digest(t, st); got != want {
			t.Fatalf("digest %s after a reorg of depth %d, fresh index %s; differences:\n  %s", got, depth, want, projectionDiff(ctx, rdb, wantRDB, 12))
		}
	})

	t.Run("depth N+1 stops and touches nothing", func(t *testing.T) {
		if err := r.s.Resync(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r.s.Random(ctx, 10); err != nil {
			t.Fatal(err)
		}
		ix, st, _ := indexed(t)
		before, beforeCP := digest(t, st), checkpointOf(t, st)
		if err := r.reorg(ctx, depth+1, true); err != nil {
			t.Fatal(err)
		}
		_, err := ix.CatchUp(ctx)
		if !errors.Is(err, indexer.ErrReorgTooDeep) {
			t.Fatalf("a reorg of depth %d with ReorgDepth %d: err = %v, want ErrReorgTooDeep", depth+1, depth, err)
		}
		if cp := checkpointOf(t, st); cp != beforeCP {
			t.Errorf("the stopped indexer moved the checkpoint from %s to %s", beforeCP, cp)
		}
		if got := digest(t, st); got != before {
			t.Errorf("the stopped indexer changed the index (digest %s, was %s)", got, before)
		}
	})
}

func checkpointOf(t *testing.T, st *store.Store) store.Checkpoint {
	t.Helper()
	cp, _, err := st.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cp
}
