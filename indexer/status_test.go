package indexer_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/indexer"
)

// outage is a chain client whose node can be made unreachable.
type outage struct {
	indexer.Chain
	down atomic.Bool
}

var errOutage = errors.New("dial tcp 127.0.0.1:8545: connect: connection refused")

func (o *outage) BlockNumber(ctx context.Context) (uint64, error) {
	if o.down.Load() {
		return 0, errOutage
	}
	return o.Chain.BlockNumber(ctx)
}

func (o *outage) HeaderByNumber(ctx context.Context, n *big.Int) (*types.Header, error) {
	if o.down.Load() {
		return nil, errOutage
	}
	return o.Chain.HeaderByNumber(ctx, n)
}

func (o *outage) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	if o.down.Load() {
		return nil, errOutage
	}
	return o.Chain.FilterLogs(ctx, q)
}

// syncBuffer is a log sink that tests read while the indexer writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStatusShowsAnOutageWhileItLasts: while the node is unreachable the status says so
// (not healthy, the last error, when the head was last seen), the log warns, and after
// the outage the indexer catches up and is healthy again. Stopping releases the lease.
func TestStatusShowsAnOutageWhileItLasts(t *testing.T) {
	ctx := context.Background()
	s := newScenario(t, 31, 20)
	_, rdb := newRedis(t)
	st := newStore(s, rdb)
	logs := &syncBuffer{}
	chain := &outage{Chain: dial(t, s.Chain.URL())}
	ix := newIndexer(t, chain, s, st, func(c *indexer.Config) {
		c.PollInterval, c.Backoff = 20*time.Millisecond, 5*time.Millisecond
		c.Log = slog.New(slog.NewTextHandler(logs, nil))
		c.Owner = "status-test"
	})
	p := catchUp(t, ix)
	if !p.CaughtUp || p.Lag != 0 {
		t.Fatalf("a successful catch-up reports caughtUp %v, lag %d: want true, 0", p.CaughtUp, p.Lag)
	}
	run, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ix.Run(run) }()
	eventually(t, "a healthy status", func() bool { s, _ := st.Status(ctx); return s.Healthy && s.HeadSeenAt > 0 })

	down := time.Now()
	chain.down.Store(true)
	s.Chain.Mine(5)
	var during modeldao.IndexerStatus
	eventually(t, "the outage in the status", func() bool {
		during, _ = st.Status(ctx)
		return !during.Healthy && strings.Contains(during.LastError, "connection refused")
	})
	// A head read already in flight when the outage began may still have succeeded; from
	// then on the head is not seen again while errors go on.
	time.Sleep(300 * time.Millisecond)
	later, _ := st.Status(ctx)
	if later.Healthy || later.HeadSeenAt != during.HeadSeenAt || later.HeadSeenAt >= later.LastErrorAt || later.LastErrorAt < down.UnixMilli() {
		t.Errorf("during the outage (began at %d): headSeenAt %d then %d, lastErrorAt %d then %d, healthy %v",
			down.UnixMilli(), during.HeadSeenAt, later.HeadSeenAt, during.LastErrorAt, later.LastErrorAt, later.Healthy)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("the outage is not a warning in the log:\n%s", logs.String())
	}

	chain.down.Store(false)
	head, _ := s.Chain.Head(ctx)
	eventually(t, "recovery", func() bool {
		s, _ := st.Status(ctx)
		return s.Healthy && s.IndexedBlock == head.Number.Uint64() && s.Lag == 0
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Exists(ctx, st.Keys().Lease()).Result(); err != nil || n != 0 {
		t.Fatalf("after a clean stop the lease is still held (exists %d, %v)", n, err)
	}
}

// TestWaitingIndexerSaysWhoHoldsTheLease: a second indexer waits, and says for whom and
// until when; it starts at once when the first stops cleanly (the lease is released, not
// left to expire).
func TestWaitingIndexerSaysWhoHoldsTheLease(t *testing.T) {
	ctx := context.Background()
	s := newScenario(t, 32, 20)
	_, rdb := newRedis(t)
	st := newStore(s, rdb)
	first := newIndexer(t, dial(t, s.Chain.URL()), s, st, func(c *indexer.Config) {
		c.Owner, c.LeaseTTL, c.PollInterval = "first-indexer", time.Minute, 20*time.Millisecond
	})
	run, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- first.Run(run) }()
	eventually(t, "the first indexer's lease", func() bool { return rdb.Exists(ctx, st.Keys().Lease()).Val() == 1 })

	logs := &syncBuffer{}
	second := newIndexer(t, dial(t, s.Chain.URL()), s, st, func(c *indexer.Config) {
		c.Owner, c.PollInterval = "second-indexer", 20*time.Millisecond
		c.Log = slog.New(slog.NewTextHandler(logs, nil))
	})
	wait, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err := second.CatchUp(wait)
	cancel()
	if modeldao.ErrorCode(err) != modeldao.EUNAVAILABLE {
		t.Fatalf("catch up while another indexer holds the lease: err %v, want an EUNAVAILABLE error", err)
	}
	out := logs.String()
	if !strings.Contains(out, "holder=first-indexer") || !strings.Contains(out, "until=") {
		t.Fatalf("the waiting indexer does not say who holds the lease until when:\n%s", out)
	}

	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, st.Keys().Lease()).Val(); n != 0 {
		t.Fatalf("the first indexer stopped cleanly but left its lease (TTL a minute) behind")
	}
	if p := catchUp(t, second); !p.CaughtUp {
		t.Fatalf("second indexer did not catch up: %+v", p)
	}
}
