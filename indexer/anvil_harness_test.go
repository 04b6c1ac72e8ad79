package indexer_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/infra/anvil"
	"github.com/modeldao/modeldao/internal/scenario"
	"github.com/modeldao/modeldao/store"
)

// anvilRun is a DAO on anvil whose history the test rewrites with real reorgs and
// rollbacks while indexers follow it.
type anvilRun struct {
	t    *testing.T
	node *anvil.Node
	s    *scenario.Scenario
	rng  *rand.Rand
	// base is the last block of the set-up: no reorg or rollback goes below it, so the
	// contracts stay deployed.
	base uint64
	// mu serialises what changes the chain outside the scenario (mining, reorgs, rollbacks):
	// a held call's reorg runs on the proxy's goroutine. Unserialised, anvil 1.7.1 was seen
	// to lose a block from its number index (eth_getBlockByNumber null below the head), which
	// no indexer can follow.
	mu sync.Mutex
	// what happened, for failure messages
	events []string
}

func newAnvilRun(t *testing.T, seed uint64) *anvilRun {
	t.Helper()
	ctx := context.Background()
	node := anvil.StartT(t, anvil.Options{Quiet: true})
	s, err := scenario.NewWith(ctx, scenario.Options{Seed: seed, Node: node})
	if err != nil {
		t.Fatal(err)
	}
	r := &anvilRun{t: t, node: node, s: s, rng: rand.New(rand.NewPCG(seed, 0xa11ce))}
	r.base = r.head().Number.Uint64()
	return r
}

func (r *anvilRun) head() *types.Header {
	r.t.Helper()
	h, err := r.node.Head(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return h
}

func (r *anvilRun) logf(format string, args ...any) {
	r.events = append(r.events, fmt.Sprintf(format, args...))
}

// maxDepth caps a reorg or rollback depth so that it stays above the set-up.
func (r *anvilRun) maxDepth(ctx context.Context, want int) (int, uint64, error) {
	h, err := r.node.Head(ctx)
	if err != nil {
		return 0, 0, err
	}
	head := h.Number.Uint64()
	return int(min(uint64(want), head-r.base)), head, nil
}

// reorg replaces the last depth blocks (at most down to the set-up) by a new branch: of each
// sender's transactions in them a nonce-ordered prefix is kept (all of them half of the time)
// and moved by up to a block, and up to two new token transactions are added. So
// the new branch drops, re-includes, changes and adds transactions. With first set, the new
// branch's first block always gets a new transaction, so that no reorged block can come out
// identical to the one it replaced. It does not touch the scenario: call Resync after it.
func (r *anvilRun) reorg(ctx context.Context, depth int, first bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	depth, head, err := r.maxDepth(ctx, depth)
	if err != nil || depth == 0 {
		return err
	}
	fork := head - uint64(depth)
	signer := types.LatestSignerForChainID(big.NewInt(anvil.ChainID))
	type old struct {
		tx     *types.Transaction
		offset int
	}
	bySender := map[common.Address][]old{}
	var senders []common.Address
	for n := fork + 1; n <= head; n++ {
		b, err := r.node.Client().BlockByNumber(ctx, new(big.Int).SetUint64(n))
		if err != nil {
			return fmt.Errorf("read block %d: %w", n, err)
		}
		for _, tx := range b.Transactions() {
			from, err := types.Sender(signer, tx)
			if err != nil {
				return err
			}
			if bySender[from] == nil {
				senders = append(senders, from)
			}
			bySender[from] = append(bySender[from], old{tx, int(n - fork - 1)})
		}
	}
	shift := []int{-1, 0, 0, 1}[r.rng.IntN(4)]
	var txs []anvil.RawTxAt
	kept := map[common.Address]uint64{}
	last := map[common.Address]int{} // block of a sender's last kept transaction: its next nonce goes there or later
	dropped := 0
	for _, from := range senders {
		list := bySender[from]
		keep := len(list)
		if r.rng.IntN(2) == 0 {
			keep = r.rng.IntN(len(list) + 1)
		}
		for _, o := range list[:keep] {
			at := max(0, min(depth-1, o.offset+shift))
			txs = append(txs, anvil.RawTxAt{Tx: o.tx, Block: uint64(at)})
			last[from] = at
		}
		kept[from] = uint64(keep)
		dropped += len(list) - keep
	}
	added := r.rng.IntN(3)
	if first && added == 0 {
		added = 1
	}
	for i := range added {
		acct := r.rng.IntN(scenario.Accounts)
		if first && i == 0 {
			// An account with nothing kept in the branch can send in its first block.
			for k := range scenario.Accounts {
				if a := (acct + k) % scenario.Accounts; kept[r.s.Address(a)] == 0 {
					acct = a
					break
				}
			}
		}
		from := r.s.Address(acct)
		nonce, err := r.node.Client().NonceAt(ctx, from, new(big.Int).SetUint64(fork))
		if err != nil {
			return err
		}
		tx, err := r.tokenTx(acct, nonce+kept[from])
		if err != nil {
			return err
		}
		at := last[from] + r.rng.IntN(depth-last[from])
		if first && i == 0 && kept[from] == 0 {
			at = 0
		}
		kept[from]++
		last[from] = at
		txs = append(txs, anvil.RawTxAt{Tx: tx, Block: uint64(at)})
	}
	sort.SliceStable(txs, func(i, j int) bool { return txs[i].Block < txs[j].Block })
	if err := r.node.Reorg(ctx, depth, txs); err != nil {
		return err
	}
	r.logf("reorg of depth %d at head %d: kept %d transactions, dropped %d, added %d, shifted by %d", depth, head, len(txs)-added, dropped, added, shift)
	return nil
}

// tokenTx signs a token transfer or delegation of an account with the given nonce (a
// transfer beyond its balance reverts, and is a transaction of the branch all the same).
func (r *anvilRun) tokenTx(acct int, nonce uint64) (*types.Transaction, error) {
	to := r.s.Address(r.rng.IntN(scenario.Accounts))
	var data []byte
	var err error
	if r.rng.IntN(2) == 0 {
		data, err = contracts.TokenABI.Pack("transfer", to, devchain.Tokens(int64(1+r.rng.IntN(20))))
	} else {
		data, err = contracts.TokenABI.Pack("delegate", to)
	}
	if err != nil {
		return nil, err
	}
	token := r.s.DAO.Deployment.Token
	return types.SignNewTx(r.node.Keys()[acct], types.LatestSignerForChainID(big.NewInt(anvil.ChainID)), &types.DynamicFeeTx{
		ChainID: big.NewInt(anvil.ChainID), Nonce: nonce, GasTipCap: big.NewInt(1e9), GasFeeCap: big.NewInt(50e9),
		Gas: 300_000, To: &token, Data: data,
	})
}

// rollback shortens the chain by depth blocks (at most down to the set-up).
func (r *anvilRun) rollback(ctx context.Context, depth int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	depth, head, err := r.maxDepth(ctx, depth)
	if err != nil || depth == 0 {
		return err
	}
	if err := r.node.Rollback(ctx, depth); err != nil {
		return err
	}
	r.logf("rollback of %d blocks from head %d", depth, head)
	return nil
}

// mine mines n empty blocks.
func (r *anvilRun) mine(ctx context.Context, n int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.node.MineBlocks(ctx, n)
}

// history returns what happened, for failure messages.
func (r *anvilRun) history() string { return strings.Join(r.events, "\n  ") }

// follower is an indexer following the chain in the background, with its own Redis.
type follower struct {
	name string
	st   *store.Store
	rdb  *redis.Client
	done chan error
	stop context.CancelFunc
}

func startFollower(t *testing.T, name, url string, s *scenario.Scenario, mod func(*indexer.Config)) *follower {
	t.Helper()
	_, rdb := newRedis(t)
	f := &follower{name: name, st: newStore(s, rdb), rdb: rdb, done: make(chan error, 1)}
	ix := newIndexer(t, dial(t, url), s, f.st, func(c *indexer.Config) {
		c.PollInterval, c.Backoff, c.Owner = 10*time.Millisecond, 5*time.Millisecond, name
		if mod != nil {
			mod(c)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	f.stop = cancel
	go func() { f.done <- ix.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-f.done
	})
	return f
}

func (f *follower) checkpoint(ctx context.Context) store.Checkpoint {
	cp, _, _ := f.st.Checkpoint(ctx)
	return cp
}

// waitFor waits until the follower's checkpoint satisfies ok, failing when its indexer
// stopped or the time is up.
func (f *follower) waitFor(ctx context.Context, what string, timeout time.Duration, ok func(store.Checkpoint) bool) error {
	deadline := time.Now().Add(timeout)
	for {
		cp := f.checkpoint(ctx)
		if ok(cp) {
			return nil
		}
		select {
		case err := <-f.done:
			f.done <- err // for the cleanup
			return fmt.Errorf("%s: the indexer stopped at %s before %s: %v", f.name, cp, what, err)
		default:
		}
		if time.Now().After(deadline) {
			st, _ := f.st.Status(ctx)

			return fmt.Errorf("%s: not %s after %v (checkpoint %s, last error %q)", f.name, what, timeout, cp, st.LastError)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// caughtUp waits until the follower indexed the node's current head, hash included.
func (f *follower) caughtUp(ctx context.Context, node *anvil.Node, timeout time.Duration) error {
	head, err := node.Head(ctx)
	if err != nil {
		return err
	}
	want := store.Checkpoint{Number: head.Number.Uint64(), Hash: head.Hash()}
	return f.waitFor(ctx, "at the head "+want.String(), timeout, func(cp store.Checkpoint) bool { return cp == want })
}

// freshIndex indexes the chain at url from scratch, straight from the node, into a new
// Redis: the reference every follower must equal.
func freshIndex(t *testing.T, url string, s *scenario.Scenario) (string, store.Checkpoint, *redis.Client) {
	t.Helper()
	_, rdb := newRedis(t)
	st := newStore(s, rdb)
	catchUp(t, newIndexer(t, dial(t, url), s, st, nil))
	cp, _, err := st.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return digest(t, st), cp, rdb
}

// projectionDiff lists how two indexes of one DAO differ (bookkeeping keys aside), at most
// limit lines: what a digest mismatch is made of.
func projectionDiff(ctx context.Context, got, want *redis.Client, limit int) string {
	a, errA := dumpProjection(ctx, got)
	b, errB := dumpProjection(ctx, want)
	if err := errors.Join(errA, errB); err != nil {
		return err.Error()
	}
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		if a[k] != b[k] {
			out = append(out, fmt.Sprintf("%s: got %q, want %q", k, a[k], b[k]))
		}
	}
	if len(out) > limit {
		out = append(out[:limit], fmt.Sprintf("… %d more", len(out)-limit))
	}
	return strings.Join(out, "\n  ")
}

// bookkeeping are the key names (after the DAO prefix) outside the projection, as
// Store.Digest skips them.
var bookkeeping = map[string]bool{"cp": true, "lease": true, "fence": true, "blocks": true, "undo": true, "undoblocks": true, "status": true, "pin": true, "pinjobs": true}

func dumpProjection(ctx context.Context, rdb *redis.Client) (map[string]string, error) {
	out := map[string]string{}
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		name := key
		if i := strings.Index(key, "}"); i >= 0 {
			name = strings.TrimPrefix(key[i+1:], ":")
		}
		first, _, _ := strings.Cut(name, ":")
		if bookkeeping[first] {
			continue
		}
		switch typ := rdb.Type(ctx, key).Val(); typ {
		case "hash":
			for f, v := range rdb.HGetAll(ctx, key).Val() {
				out[name+" "+f] = v
			}
		case "zset":
			for _, z := range rdb.ZRangeWithScores(ctx, key, 0, -1).Val() {
				out[name+" "+fmt.Sprint(z.Member)] = fmt.Sprint(z.Score)
			}
		default:
			out[name] = rdb.Get(ctx, key).Val()
		}
	}
	return out, iter.Err()
}
