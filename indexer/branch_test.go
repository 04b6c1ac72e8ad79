package indexer_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/internal/scenario"
	"github.com/modeldao/modeldao/store"
)

// betweenCalls is a chain client that runs a hook after a chosen call returned from the
// node and before its answer reaches the indexer: the moment when a real node reorganises
// under a slow client.
type betweenCalls struct {
	indexer.Chain
	mu sync.Mutex
	// afterLogs, when set, runs once after the next eth_getLogs answered by range.
	afterLogs func()
}

func (b *betweenCalls) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	ls, err := b.Chain.FilterLogs(ctx, q)
	b.mu.Lock()
	hook := b.afterLogs
	if q.BlockHash == nil {
		b.afterLogs = nil
	}
	b.mu.Unlock()
	if hook != nil && q.BlockHash == nil {
		hook()
	}
	return ls, err
}

func (b *betweenCalls) onNextLogs(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.afterLogs = f
}

// forkBelow replaces the last depth blocks of the chain by a branch that f fills, grown
// one block past the old head: a reorg of exactly depth blocks.
func forkBelow(t *testing.T, s *scenario.Scenario, depth uint64, f func()) {
	t.Helper()
	ctx := context.Background()
	head, err := s.Chain.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	parent, err := s.Chain.Client.HeaderByNumber(ctx, new(big.Int).Sub(head.Number, new(big.Int).SetUint64(depth)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Chain.Fork(parent.Hash()); err != nil {
		t.Fatal(err)
	}
	if f != nil {
		f()
	}
	now, err := s.Chain.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if now.Number.Uint64() <= head.Number.Uint64() {
		s.Chain.Mine(int(head.Number.Uint64() - now.Number.Uint64() + 1))
	}
}

// daoActivity sends transactions that make DAO logs: transfers and delegations.
func daoActivity(t *testing.T, s *scenario.Scenario, n int) {
	t.Helper()
	ctx := context.Background()
	d, c := s.DAO, s.Chain
	// A fixed gas limit: right after a fork the node estimates gas on the old head's state.
	opts := func(i int) *bind.TransactOpts { o := c.Opts(i); o.GasLimit = 1_000_000; return o }
	for i := range n {
		if _, err := d.Mined(ctx)(d.Token.Transfer(opts(i%scenario.Holders), c.Accounts[scenario.Extra1+i%2].Address, devchain.Tokens(int64(1+i)))); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Mined(ctx)(d.Token.Delegate(opts(scenario.Extra1+i%2), c.Accounts[i%scenario.Holders].Address)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReorgBetweenLogsAndHeadersLosesNothing: a reorg lands after eth_getLogs answered for
// a range and before the indexer reads the range's headers. The old blocks had no DAO
// logs and the new ones do (the answer misses their events), then the other way round (the
// answer holds events of blocks that left the chain). Either way the index must end equal
// to a fresh index of the final chain.
func TestReorgBetweenLogsAndHeadersLosesNothing(t *testing.T) {
	s := newScenario(t, 21, 40)
	_, rdb := newRedis(t)
	st := newStore(s, rdb)
	chain := &betweenCalls{Chain: dial(t, s.Chain.URL())}
	ix := newIndexer(t, chain, s, st, func(c *indexer.Config) { c.ReorgDepth = 32 })
	catchUp(t, ix)

	// Old branch: empty blocks; new branch: transfers and delegations in their place.
	s.Chain.Mine(6)
	chain.onNextLogs(func() { forkBelow(t, s, 6, func() { daoActivity(t, s, 3) }) })
	p := catchUp(t, ix)
	catchUp(t, ix)
	sameAsFreshIndex(t, s, st, fmt.Sprintf("new branch with logs where the answer had none (progress %+v)", p))

	// Old branch: DAO activity; new branch: empty blocks.
	daoActivity(t, s, 3)
	chain.onNextLogs(func() { forkBelow(t, s, 6, nil) })
	catchUp(t, ix)
	catchUp(t, ix)
	sameAsFreshIndex(t, s, st, "answer with logs of blocks that left the chain")
}

// TestChainShorterDuringLogQuery: the chain gets shorter while eth_getLogs is in flight, so
// the node answers for a range past its new head. The indexer re-checks its checkpoint and
// ends equal to a fresh index.
func TestChainShorterDuringLogQuery(t *testing.T) {
	ctx := context.Background()
	s := newScenario(t, 22, 30)
	_, rdb := newRedis(t)
	st := newStore(s, rdb)
	chain := &betweenCalls{Chain: dial(t, s.Chain.URL())}
	ix := newIndexer(t, chain, s, st, func(c *indexer.Config) { c.ReorgDepth = 32 })
	catchUp(t, ix)
	daoActivity(t, s, 4)
	head, _ := s.Chain.Head(ctx)
	chain.onNextLogs(func() {
		parent, err := s.Chain.Client.HeaderByNumber(ctx, new(big.Int).Sub(head.Number, big.NewInt(5)))
		if err != nil {
			t.Error(err)
			return
		}
		if err := s.Chain.Fork(parent.Hash()); err != nil {
			t.Error(err)
		}
		s.Chain.Mine(1) // the new head is 4 blocks below the old one
	})
	catchUp(t, ix)
	sameAsFreshIndex(t, s, st, "chain shorter during a log query")
}

// TestReorgDepthIsExact: with ReorgDepth N, a reorg that replaces exactly N indexed blocks
// is rolled back; one that replaces N+1 stops with ErrReorgTooDeep and leaves the index
// (digest, checkpoint, undo window) as it was.
func TestReorgDepthIsExact(t *testing.T) {
	ctx := context.Background()
	const n = 6
	s := newScenario(t, 23, 40)
	_, rdb := newRedis(t)
	st := newStore(s, rdb)
	ix := newIndexer(t, dial(t, s.Chain.URL()), s, st, func(c *indexer.Config) { c.ReorgDepth = n; c.RangeBlocks = 3 })
	catchUp(t, ix)
	daoActivity(t, s, n) // activity in every block of the window
	catchUp(t, ix)

	forkBelow(t, s, n, func() { daoActivity(t, s, 2) })
	p := catchUp(t, ix)
	if p.Reorgs != 1 {
		t.Errorf("progress reports %d reorgs, want 1", p.Reorgs)
	}
	sameAsFreshIndex(t, s, st, fmt.Sprintf("reorg of depth %d = REORG_DEPTH", n))

	daoActivity(t, s, n)
	catchUp(t, ix)
	before, beforeCP := digest(t, st), mustCheckpoint(t, st)
	keysBefore := dump(t, rdb)
	forkBelow(t, s, n+1, func() { daoActivity(t, s, 2) })
	_, err := ix.CatchUp(ctx)
	if !errors.Is(err, indexer.ErrReorgTooDeep) {
		t.Fatalf("reorg of depth %d = REORG_DEPTH+1: err = %v, want ErrReorgTooDeep", n+1, err)
	}
	if got, cp := digest(t, st), mustCheckpoint(t, st); got != before || cp != beforeCP {
		t.Fatalf("a reorg deeper than the window changed the index: digest %s → %s, checkpoint %s → %s", before, got, beforeCP, cp)
	}
	if after := dump(t, rdb); !equalDump(keysBefore, after) {
		t.Fatalf("a reorg deeper than the window changed the undo window or other keys")
	}
}

// sameAsFreshIndex fails unless st has the checkpoint and digest of a fresh index of the
// scenario's chain as it is now.
func sameAsFreshIndex(t *testing.T, s *scenario.Scenario, st *store.Store, what string) {
	t.Helper()
	want, wantCP := cleanDigest(t, s)
	if cp := mustCheckpoint(t, st); cp != wantCP {
		t.Fatalf("%s: checkpoint %s, want the fresh index's %s", what, cp, wantCP)
	}
	if got := digest(t, st); got != want {
		t.Fatalf("%s: digest %s, want the fresh index's %s", what, got, want)
	}
}

func mustCheckpoint(t *testing.T, st *store.Store) store.Checkpoint {
	t.Helper()
	cp, ok, err := st.Checkpoint(context.Background())
	if err != nil || !ok {
		t.Fatalf("checkpoint: %v (present %v)", err, ok)
	}
	return cp
}

// dump returns every key of the index but the status, lease and fence (which an indexer
// that stops may update) with its serialized value: the whole state, undo window included.
func dump(t *testing.T, rdb *redis.Client) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.HasSuffix(k, ":status") || strings.HasSuffix(k, ":lease") || strings.HasSuffix(k, ":fence") {
			continue
		}
		v, err := rdb.Dump(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

func equalDump(a, b map[string]string) bool { return maps.Equal(a, b) }
