package rpcproxy_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/modeldao/modeldao/infra/anvil"
	"github.com/modeldao/modeldao/infra/rpcproxy"
)

func start(t *testing.T, opts rpcproxy.Options) *rpcproxy.Proxy {
	t.Helper()
	p, err := rpcproxy.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func dial(t *testing.T, url string) (*rpc.Client, *ethclient.Client) {
	t.Helper()
	c, err := rpc.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, ethclient.NewClient(c)
}

func blockNumber(t *testing.T, c *ethclient.Client) uint64 {
	t.Helper()
	n, err := c.BlockNumber(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLatencyAndBatches(t *testing.T) {
	ctx := context.Background()
	node := anvil.StartT(t)
	const minLat = 20 * time.Millisecond
	p := start(t, rpcproxy.Options{Target: node.URL(), MinLatency: minLat, MaxLatency: 40 * time.Millisecond, Seed: 1})
	raw, c := dial(t, p.URL())
	if err := node.MineBlocks(ctx, 3); err != nil {
		t.Fatal(err)
	}

	// Each call waits at least the least latency, and answers what the node answers.
	for range 5 {
		began := time.Now()
		if n := blockNumber(t, c); n != 3 {
			t.Fatalf("block number through the proxy %d, want 3", n)
		}
		if d := time.Since(began); d < minLat {
			t.Fatalf("a call took %v through a proxy with at least %v latency", d, minLat)
		}
	}
	// Calls sent at once each get their own delay and their own answer.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n, err := c.BlockNumber(ctx); err != nil || n != 3 {
				errs <- errors.Join(err, errors.New("wrong block number"))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// A batch goes through as one request, its answers in place.
	batch := []rpc.BatchElem{
		{Method: "eth_chainId", Result: new(hexutil.Uint64)},
		{Method: "eth_blockNumber", Result: new(hexutil.Uint64)},
		{Method: "eth_getBlockByNumber", Args: []any{"0x99", false}, Result: new(map[string]any)},
	}
	if err := raw.BatchCallContext(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if id := *batch[0].Result.(*hexutil.Uint64); batch[0].Error != nil || id != anvil.ChainID {
		t.Fatalf("batch chain id %d, %v", id, batch[0].Error)
	}
	if n := *batch[1].Result.(*hexutil.Uint64); batch[1].Error != nil || n != 3 {
		t.Fatalf("batch block number %d, %v", n, batch[1].Error)
	}
	if got := p.Count("eth_blockNumber"); got != 5+20+1 {
		t.Fatalf("proxy counted %d eth_blockNumber calls, want 26", got)
	}
	if got := p.Count("eth_chainId"); got != 1 {
		t.Fatalf("proxy counted %d eth_chainId calls, want 1", got)
	}
}

func TestHoldResponseUntilTheChainChanged(t *testing.T) {
	ctx := context.Background()
	node := anvil.StartT(t)
	p := start(t, rpcproxy.Options{Target: node.URL(), MaxLatency: 5 * time.Millisecond})
	_, c := dial(t, p.URL())
	if err := node.MineBlocks(ctx, 10); err != nil {
		t.Fatal(err)
	}
	// The node answers 10; before the answer reaches the client, 4 blocks are rolled back.
	held := p.Hold(rpcproxy.Hold{Match: rpcproxy.Method("eth_blockNumber"), Then: func(ctx context.Context, _ rpcproxy.Call) error {
		return node.Rollback(ctx, 4)
	}})
	if n := blockNumber(t, c); n != 10 {
		t.Fatalf("held answer %d, want the stale 10", n)
	}
	if err := held.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if calls := held.Calls(); len(calls) != 1 || calls[0].Method != "eth_blockNumber" {
		t.Fatalf("held calls %v", calls)
	}
	if n := blockNumber(t, c); n != 6 {
		t.Fatalf("after the hold: %d, want 6", n)
	}

	// The same with the request held: the node sees it only after the rollback, and a log
	// query past the new head is refused as out of range.
	held = p.Hold(rpcproxy.Hold{Match: rpcproxy.Method("eth_getLogs"), Stage: rpcproxy.Request, Then: func(ctx context.Context, c rpcproxy.Call) error {
		var q struct{ FromBlock hexutil.Uint64 }
		if err := c.Param(0, &q); err != nil || q.FromBlock != 5 {
			return fmt.Errorf("held log query from block %d (%v), want 5", q.FromBlock, err)
		}
		return node.Rollback(ctx, 3)
	}})
	_, err := c.FilterLogs(ctx, ethereum.FilterQuery{FromBlock: big.NewInt(5), ToBlock: big.NewInt(6)})
	var re rpc.Error
	if !errors.As(err, &re) || re.ErrorCode() != -32602 || !strings.Contains(err.Error(), "BlockOutOfRange") {
		t.Fatalf("log query held until the chain got shorter: %v, want -32602 BlockOutOfRangeError", err)
	}
	if err := held.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// Only the matching call was held; others pass.
	if n := blockNumber(t, c); n != 3 {
		t.Fatalf("head %d, want 3", n)
	}
}

func TestHoldNthCallAndThenError(t *testing.T) {
	ctx := context.Background()
	node := anvil.StartT(t)
	p := start(t, rpcproxy.Options{Target: node.URL()})
	_, c := dial(t, p.URL())
	boom := errors.New("boom")
	held := p.Hold(rpcproxy.Hold{Match: rpcproxy.MethodWith("eth_getBlockByNumber", `"0x0"`), Times: 2,
		Then: func(context.Context, rpcproxy.Call) error { return boom }})
	for range 3 {
		if _, err := c.HeaderByNumber(ctx, big.NewInt(1)); !errors.Is(err, ethereum.NotFound) {
			t.Fatalf("block 1: %v", err) // does not match: not held
		}
	}
	select {
	case <-held.Done():
		t.Fatal("the hold is done before any matching call")
	default:
	}
	for range 2 {
		if _, err := c.HeaderByNumber(ctx, big.NewInt(0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := held.Wait(ctx); !errors.Is(err, boom) {
		t.Fatalf("Wait = %v, want Then's error", err)
	}
	if n := len(held.Calls()); n != 2 {
		t.Fatalf("%d calls held, want 2", n)
	}
}

func TestKillStopAndRestartOnTheSamePort(t *testing.T) {
	ctx := context.Background()
	node := anvil.StartT(t)
	p := start(t, rpcproxy.Options{Target: node.URL()})
	url := p.URL()
	_, c := dial(t, url)
	blockNumber(t, c)

	// Killed while a response is held: the client sees a broken call, not an answer.
	entered, release := make(chan struct{}), make(chan struct{})
	wait := func(context.Context, rpcproxy.Call) error {
		close(entered)
		<-release
		return nil
	}
	held := p.Hold(rpcproxy.Hold{Match: rpcproxy.Method("eth_blockNumber"), Then: wait})
	errc := make(chan error, 1)
	go func() {
		_, err := c.BlockNumber(ctx)
		errc <- err
	}()
	<-entered
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-errc; err == nil {
		t.Fatal("a call in flight when the proxy was killed got an answer")
	}
	if err := held.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BlockNumber(ctx); err == nil {
		t.Fatal("a killed proxy answered")
	}
	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	if p.URL() != url {
		t.Fatalf("restarted on %s, was %s", p.URL(), url)
	}
	blockNumber(t, c)

	// Stopped gracefully: the call in flight finishes, new ones are refused.
	entered, release = make(chan struct{}), make(chan struct{})
	p.Hold(rpcproxy.Hold{Match: rpcproxy.Method("eth_chainId"), Then: wait})
	go func() {
		_, err := c.ChainID(ctx)
		errc <- err
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- p.Stop(ctx) }()
	close(release)
	if err := <-errc; err != nil {
		t.Fatalf("a call in flight during a graceful stop: %v", err)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if _, err := c.BlockNumber(ctx); err == nil {
		t.Fatal("a stopped proxy answered")
	}
	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	blockNumber(t, c)
}
