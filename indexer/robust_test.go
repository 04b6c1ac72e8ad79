package indexer_test

import (
	"context"
	"errors"
	"io"
	"math/big"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/internal/scenario"
	"github.com/modeldao/modeldao/store"
)

// cleanDigest indexes the scenario's current chain from scratch into a fresh Redis and
// returns the digest and checkpoint: the reference every other run must reach.
func cleanDigest(t *testing.T, s *scenario.Scenario) (string, store.Checkpoint) {
	t.Helper()
	_, rdb := newRedis(t)
	st := newStore(s, rdb)
	catchUp(t, newIndexer(t, dial(t, s.Chain.URL()), s, st, nil))
	cp, _, err := st.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return digest(t, st), cp
}

func TestBatchSizesGiveTheSameDigest(t *testing.T) {
	s := newScenario(t, 3, 150)
	want, _ := cleanDigest(t, s)
	for _, size := range []uint64{1, 7, 1000} {
		_, rdb := newRedis(t)
		st := newStore(s, rdb)
		ix := newIndexer(t, dial(t, s.Chain.URL()), s, st, func(c *indexer.Config) { c.RangeBlocks, c.MaxRangeBlocks = size, size })
		catchUp(t, ix)
		if got := digest(t, st); got != want {
			t.Errorf("range of %d blocks: digest %s, want %s", size, got, want)
		}
	}
	// A small undo window (most blocks final) and a large one (every block undoable) too.
	for _, depth := range []uint64{2, 100000} {
		_, rdb := newRedis(t)
		st := newStore(s, rdb)
		catchUp(t, newIndexer(t, dial(t, s.Chain.URL()), s, st, func(c *indexer.Config) { c.ReorgDepth = depth; c.RangeBlocks, c.MaxRangeBlocks = 13, 13 }))
		if got := digest(t, st); got != want {
			t.Errorf("undo window of %d blocks: digest %s, want %s", depth, got, want)
		}
	}
}

func TestReorgsGiveTheDigestOfTheCanonicalChain(t *testing.T) {
	ctx := context.Background()
	s := newScenario(t, 4, 60)
	_, rdb := newRedis(t)
	st := newStore(s, rdb)
	const depth = 16
	ix := newIndexer(t, dial(t, s.Chain.URL()), s, st, func(c *indexer.Config) { c.ReorgDepth = depth; c.RangeBlocks = 5 })
	rng := rand.New(rand.NewPCG(4, 4))
	reorgs := 0
	for round := range 8 {
		catchUp(t, ix)
		head, err := s.Chain.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d := uint64(1 + rng.IntN(depth-1))
		if round == 0 {
			d = depth // the deepest reorg the window allows
		}
		fork, err := s.Chain.Client.HeaderByNumber(ctx, new(big.Int).SetUint64(head.Number.Uint64()-d))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Chain.Fork(fork.Hash()); err != nil {
			t.Fatal(err)
		}
		reorgs++
		// The new branch gets different transactions and grows past the old head.
		if err := s.Random(ctx, 20+rng.IntN(20)); err != nil {
			t.Fatal(err)
		}
		s.Chain.Mine(int(d) + 1)
	}
	p := catchUp(t, ix)
	want, wantCP := cleanDigest(t, s)
	cp, _, _ := st.Checkpoint(ctx)
	if cp != wantCP {
		t.Fatalf("checkpoint %s after reorgs, want %s", cp, wantCP)
	}
	if got := digest(t, st); got != want {
		t.Fatalf("digest after %d reorgs %s, want the fresh index's %s", reorgs, got, want)
	}
	status, err := st.Status(ctx)
	if err != nil || status.Reorgs == 0 {
		t.Fatalf("status reports %d reorgs (%v); want some", status.Reorgs, err)
	}
	_ = p
}

func TestReorgDeeperThanTheWindowStopsWithReindexAdvice(t *testing.T) {
	ctx := context.Background()
	s := newScenario(t, 5, 40)
	_, rdb := newRedis(t)
	st := newStore(s, rdb)
	ix := newIndexer(t, dial(t, s.Chain.URL()), s, st, func(c *indexer.Config) { c.ReorgDepth = 4 })
	catchUp(t, ix)
	head, _ := s.Chain.Head(ctx)
	fork, _ := s.Chain.Client.HeaderByNumber(ctx, new(big.Int).SetUint64(head.Number.Uint64()-10))
	if err := s.Chain.Fork(fork.Hash()); err != nil {
		t.Fatal(err)
	}
	_ = s.Random(ctx, 10)
	s.Chain.Mine(12)
	_, err := ix.CatchUp(ctx)
	if !errors.Is(err, indexer.ErrReorgTooDeep) {
		t.Fatalf("err = %v, want ErrReorgTooDeep", err)
	}
	if !strings.Contains(err.Error(), "modeldao reindex") {
		t.Fatalf("error %q does not say how to recover", err)
	}
	// After a reindex (drop and index again) the projection equals a fresh one.
	if _, err := st.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	catchUp(t, newIndexer(t, dial(t, s.Chain.URL()), s, st, func(c *indexer.Config) { c.ReorgDepth = 4 }))
	want, _ := cleanDigest(t, s)
	if got := digest(t, st); got != want {
		t.Fatalf("digest after reindex %s, want %s", got, want)
	}
}

// faultHook fails the failAt-th Redis command or pipeline, before it reaches Redis or after
// (the reply lost: the write happened but the indexer does not know).
type faultHook struct {
	n      atomic.Int64
	failAt int64
	after  bool
}

var errInjected = errors.New("injected fault: connection dropped")

func (h *faultHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *faultHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.n.Add(1) != h.failAt {
			return next(ctx, cmd)
		}
		if h.after {
			_ = next(ctx, cmd)
		}
		return errInjected
	}
}

func (h *faultHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.n.Add(1) != h.failAt {
			return next(ctx, cmds)
		}
		if h.after {
			_ = next(ctx, cmds)
		}
		return errInjected
	}
}

func TestCrashAtAnyRedisCommandThenResume(t *testing.T) {
	ctx := context.Background()
	s := newScenario(t, 6, 80)
	want, _ := cleanDigest(t, s)
	srv, _ := newRedis(t)
	rng := rand.New(rand.NewPCG(6, 6))
	crashes := 0
	for i := 0; ; i++ {
		if i > 500 {
			t.Fatal("indexer did not finish after 500 crashes")
		}
		hook := &faultHook{failAt: int64(1 + rng.IntN(40)), after: rng.IntN(2) == 0}
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
		rdb.AddHook(hook)
		st := newStore(s, rdb)
		// A crashed process leaves its lease behind: a short TTL lets the next one take over.
		ix := newIndexer(t, dial(t, s.Chain.URL()), s, st, func(c *indexer.Config) {
			c.RangeBlocks, c.MaxRangeBlocks, c.LeaseTTL, c.ReorgDepth = 3, 3, 50*time.Millisecond, 20
			c.Owner = "crashy"
		})
		_, err := ix.CatchUp(ctx)
		rdb.Close()
		if err == nil && hook.n.Load() < hook.failAt {
			break // finished before the fault fired
		}
		crashes++
		time.Sleep(60 * time.Millisecond) // the dead process's lease expires
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	st := newStore(s, rdb)
	catchUp(t, newIndexer(t, dial(t, s.Chain.URL()), s, st, nil))
	if got := digest(t, st); got != want {
		t.Fatalf("digest after %d crashes %s, want %s", crashes, got, want)
	}
	checkOracle(t, s, rdb, st)
	if crashes < 5 {
		t.Fatalf("only %d crashes were injected; the test did not exercise recovery", crashes)
	}
}

func TestTwoIndexersAtOnceCountEveryVoteOnce(t *testing.T) {
	ctx := context.Background()
	s := newScenario(t, 7, 150)
	want, wantCP := cleanDigest(t, s)
	_, rdb := newRedis(t)
	st := newStore(s, rdb)
	run, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i, ttl := range []time.Duration{30 * time.Millisecond, 30 * time.Millisecond} {
		ix := newIndexer(t, dial(t, s.Chain.URL()), s, st, func(c *indexer.Config) {
			// Tiny leases that expire mid-work: only the checkpoint compare-and-set in every
			// commit keeps the two apart.
			c.RangeBlocks, c.MaxRangeBlocks, c.LeaseTTL, c.PollInterval = 2, 2, ttl, 5*time.Millisecond
			c.Owner = []string{"a", "b"}[i]
		})
		wg.Add(1)
		go func() { defer wg.Done(); _ = ix.Run(run) }()
	}
	for {
		cp, ok, err := st.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ok && cp == wantCP {
			break
		}
		if run.Err() != nil {
			t.Fatalf("indexers did not reach %s (at %s)", wantCP, cp)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if got := digest(t, st); got != want {
		t.Fatalf("two indexers: digest %s, want %s", got, want)
	}
	checkOracle(t, s, rdb, st)
}

// faultyRPC is a JSON-RPC proxy that misbehaves like public endpoints do.
type faultyRPC struct {
	target *url.URL
	rng    *rand.Rand
	mu     sync.Mutex
	counts map[string]int
}

func (f *faultyRPC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	roll := f.rng.IntN(100)
	f.mu.Unlock()
	if isLogs := strings.Contains(string(body), "eth_getLogs"); isLogs && roll >= 22 {
		roll = 22 + roll%56 // half of the log queries that pass the transport faults are refused as too large
		f.mu.Lock()
		if f.counts["too-many-results"] == 0 {
			roll = 22 // the first one always is, so that every run exercises range splitting
		}
		f.mu.Unlock()
	}
	count := func(k string) { f.mu.Lock(); f.counts[k]++; f.mu.Unlock() }
	isLogs := strings.Contains(string(body), "eth_getLogs")
	switch {
	case roll < 8:
		count("429")
		http.Error(w, "rate limited", http.StatusTooManyRequests)
		return
	case roll < 14:
		count("502")
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	case roll < 18:
		count("drop")
		if hj, ok := w.(http.Hijacker); ok {
			c, _, _ := hj.Hijack()
			c.Close()
			return
		}
	case roll < 22:
		count("timeout")
		time.Sleep(300 * time.Millisecond) // past the indexer's RPC timeout
	case isLogs && roll < 50:
		count("too-many-results")
		id := "1"
		if i := strings.Index(string(body), `"id":`); i >= 0 {
			id = strings.TrimRight(strings.SplitN(string(body)[i+5:], ",", 2)[0], "}")
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":`+id+`,"error":{"code":-32005,"message":"query returned more than 10000 results"}}`)
		return
	}
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	r.ContentLength = int64(len(body))
	httputil.NewSingleHostReverseProxy(f.target).ServeHTTP(w, r)
}

func TestFaultyRPCGivesTheSameDigest(t *testing.T) {
	s := newScenario(t, 8, 150)
	want, _ := cleanDigest(t, s)
	u, _ := url.Parse(s.Chain.URL())
	proxy := &faultyRPC{target: u, rng: rand.New(rand.NewPCG(8, 8)), counts: map[string]int{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(proxy)
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	_, rdb := newRedis(t)
	st := newStore(s, rdb)
	ix := newIndexer(t, dial(t, srv.URL), s, st, func(c *indexer.Config) {
		c.RPCTimeout, c.Backoff, c.RangeBlocks = 150*time.Millisecond, time.Millisecond, 64
	})
	catchUp(t, ix)
	if got := digest(t, st); got != want {
		t.Fatalf("digest through a faulty RPC %s, want %s", got, want)
	}
	for _, k := range []string{"429", "502", "drop", "timeout", "too-many-results"} {
		if proxy.counts[k] == 0 {
			t.Errorf("the proxy never injected %s: the test did not exercise it", k)
		}
	}
	t.Logf("faults injected: %v", proxy.counts)
}
