package graphql

import (
	"context"
	"log/slog"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/store"
)

// heldGets is a go-redis hook that counts the GETs sent and, while armed, holds each GET's
// answer (already read from Redis) until released: a GET "on its way" for as long as a test
// needs.
type heldGets struct {
	gets    atomic.Int32
	armed   atomic.Bool
	arrived chan struct{}
	release chan struct{}
}

func (h *heldGets) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *heldGets) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h *heldGets) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if cmd.Name() == "get" {
			h.gets.Add(1)
			if h.armed.Load() {
				h.arrived <- struct{}{}
				<-h.release
			}
		}
		return err
	}
}

func checkpointEnv(t *testing.T) (*checkpointReads, *heldGets, func(n uint64)) {
	t.Helper()
	ctx := context.Background()
	rs, err := redisserver.Start(ctx, redisserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs.Close() })
	keys := store.NewKeys(1337, common.HexToAddress("0x01"))
	hook := &heldGets{arrived: make(chan struct{}), release: make(chan struct{})}
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	rdb.AddHook(hook)
	writer := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { rdb.Close(); writer.Close() })
	commit := func(n uint64) {
		cp := store.Checkpoint{Number: n, Hash: common.BigToHash(new(big.Int).SetUint64(n))}
		if err := writer.Set(ctx, keys.Checkpoint(), cp.String(), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return newCheckpointReads(store.New(rdb, keys, slog.New(slog.DiscardHandler))), hook, commit
}

func number(t *testing.T, cp string) uint64 {
	t.Helper()
	if cp == "" {
		return 0
	}
	n, _, _ := strings.Cut(cp, ":")
	v, err := strconv.ParseUint(n, 10, 64)
	if err != nil {
		t.Fatalf("checkpoint %q", cp)
	}
	return v
}

// A request that arrives while a GET is on its way does not take that GET's answer (it may
// predate a commit the request must see): it waits for the next GET, which every request
// that arrived meanwhile shares.
func TestCheckpointReadsAreFreshAndShared(t *testing.T) {
	c, hook, commit := checkpointEnv(t)
	ctx := context.Background()
	if cp := c.get(ctx); cp != "" {
		t.Fatalf("nothing indexed: %q, want empty", cp)
	}
	commit(1)
	hook.armed.Store(true)
	first := make(chan string, 1)
	go func() { first <- c.get(ctx) }()
	<-hook.arrived // the first GET has read checkpoint 1 and is held on its way back

	commit(2)
	const joiners = 10
	var wg sync.WaitGroup
	got := make([]string, joiners)
	for i := range joiners {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = c.get(ctx) }()
	}
	waitFor(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.next != nil && c.next.joined == joiners
	})
	hook.armed.Store(false)
	hook.release <- struct{}{}
	if n := number(t, <-first); n != 1 {
		t.Fatalf("the first request read checkpoint %d, want 1 (its GET left before the commit)", n)
	}
	wg.Wait()
	for i, cp := range got {
		if n := number(t, cp); n != 2 {
			t.Fatalf("request %d, arrived after commit 2, read checkpoint %d", i, n)
		}
	}
	if n := hook.gets.Load(); n != 3 {
		t.Fatalf("%d GETs, want 3 (nothing indexed, the held one, one shared by the %d requests)", n, joiners)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reading || c.next != nil {
		t.Fatal("a GET is still marked as on its way")
	}
}

// A request whose context ends stops waiting; the GET it waited for still answers the others.
func TestCheckpointReadsHonourTheContext(t *testing.T) {
	c, hook, commit := checkpointEnv(t)
	commit(7)
	hook.armed.Store(true)
	first := make(chan string, 1)
	go func() { first <- c.get(context.Background()) }()
	<-hook.arrived
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if cp := c.get(ctx); cp != "" {
		t.Fatalf("a request past its deadline got %q, want empty", cp)
	}
	hook.armed.Store(false)
	hook.release <- struct{}{}
	if n := number(t, <-first); n != 7 {
		t.Fatalf("read %d, want 7", n)
	}
	if n := number(t, c.get(context.Background())); n != 7 {
		t.Fatalf("after: read %d, want 7", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
