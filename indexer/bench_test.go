package indexer_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/store"
)

// TestMain lets the test binary double as the chain node of BenchmarkBackfill: run with
// MODELDAO_BENCH_NODE=<events> it builds the chain, serves JSON-RPC and prints where.
func TestMain(m *testing.M) {
	if n := os.Getenv("MODELDAO_BENCH_NODE"); n != "" {
		events, _ := strconv.Atoi(n)
		if err := runNode(events); err != nil {
			fmt.Fprintln(os.Stderr, "bench node:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type nodeReady struct {
	URL        string               `json:"url"`
	Deployment contracts.Deployment `json:"deployment"`
	Events     int                  `json:"events"`
}

// runNode builds a chain of at least target events, serves it, and waits for stdin to close.
func runNode(target int) error {
	ctx := context.Background()
	const accounts = 400
	chain, err := devchain.New(devchain.Options{Accounts: accounts, HTTPAddr: "127.0.0.1:0", BlockGasLimit: 4_000_000_000})
	if err != nil {
		return err
	}
	defer chain.Close()
	cfg := contracts.DefaultConfig()
	cfg.VotingPeriod = 100_000
	dao, err := chain.Deploy(ctx, cfg, 0)
	if err != nil {
		return err
	}
	events, err := generate(ctx, chain, dao, accounts, target)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(nodeReady{URL: chain.URL(), Deployment: dao.Deployment, Events: events})
	fmt.Printf("READY %s\n", b)
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the benchmark closes stdin
	return nil
}

// BenchmarkBackfill measures backfills of 100,000 and 400,000 events (and 1,000,000 with
// MODELDAO_BENCH_1M=1; MODELDAO_BENCH_EVENTS=n,m,… picks other sizes), mostly delegation
// changes and votes, over JSON-RPC into a fresh redis-server, with the indexer's default
// configuration (indexer.Config zero values: what `modeldao index` and the Lambda run).
// The chain node runs in a child process (this test binary, see TestMain), so that the
// figures are the indexer's own. Each size reports events/s of the backfill; peak-RSS-MiB,
// this process's peak resident set during the backfill (VmHWM, reset before it through
// /proc/self/clear_refs); redis-RSS-MiB, redis-server's used_memory_rss after it; and
// node-events/s, the rate of a bare eth_getLogs loop over the same node and range (raw
// JSON, not decoded) measured in the same run, with node-ratio = events/s over it.
//
//	MODELDAO_BENCH_1M=1 go test ./indexer -run '^$' -bench Backfill -benchtime 1x -timeout 60m
func BenchmarkBackfill(b *testing.B) {
	sizes := []int{100_000, 400_000}
	if os.Getenv("MODELDAO_BENCH_1M") != "" {
		sizes = append(sizes, 1_000_000)
	}
	if v := os.Getenv("MODELDAO_BENCH_EVENTS"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				b.Fatalf("MODELDAO_BENCH_EVENTS: %q is not a positive number", f)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) { benchBackfill(b, n) })
	}
}

func benchBackfill(b *testing.B, target int) {
	ctx := context.Background()
	node := exec.Command(os.Args[0], "-test.run=^$")
	node.Env = append(os.Environ(), "MODELDAO_BENCH_NODE="+strconv.Itoa(target))
	node.Stderr = os.Stderr
	stdin, _ := node.StdinPipe()
	stdout, _ := node.StdoutPipe()
	if err := node.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); _ = node.Wait() }()
	var ready nodeReady
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
			if err := json.Unmarshal([]byte(line), &ready); err != nil {
				b.Fatal(err)
			}
			break
		}
	}
	if ready.URL == "" {
		b.Fatal("the bench node did not start")
	}
	_, rdb := newRedis(b)
	st := store.New(rdb, store.NewKeys(ready.Deployment.ChainID, ready.Deployment.Governor), quiet)
	ix, err := indexer.New(indexer.Config{Chain: dial(b, ready.URL), Store: st, Deployment: ready.Deployment, Log: quiet})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	debug.FreeOSMemory()
	resetHWM()
	rssBefore := vmHWM()
	b.ResetTimer()
	start := time.Now()
	p, err := ix.CatchUp(ctx)
	el := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if p.Events < ready.Events*9/10 {
		b.Fatalf("indexed %d events, the chain has about %d", p.Events, ready.Events)
	}
	rss := vmHWM()
	redisRSS := redisRSS(b, rdb)
	nodeRate, nodeLogs := bareGetLogs(b, ready.URL, ready.Deployment, p.FromBlock, p.ToBlock)
	rate := float64(p.Events) / el.Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(float64(p.Events), "events")
	b.ReportMetric(float64(rss)/1024, "peak-RSS-MiB")
	b.ReportMetric(float64(redisRSS)/(1<<20), "redis-RSS-MiB")
	b.ReportMetric(nodeRate, "node-events/s")
	b.ReportMetric(rate/nodeRate, "node-ratio")
	fmt.Fprintf(os.Stderr, "backfill: %d events (%d logs) in %d blocks, %d commits, %s, %.0f events/s; peak RSS %d MiB (at start %d MiB); redis-server RSS %d MiB; bare eth_getLogs %.0f logs/s (ratio %.2f)\n",
		p.Events, nodeLogs, p.Blocks, p.Commits, el.Round(time.Millisecond), rate, rss/1024, rssBefore/1024, redisRSS>>20, nodeRate, rate/nodeRate)
}

// bareGetLogs reads the DAO's logs of blocks from..to from the node as fast as one client
// can, in ranges of about 20,000 logs, keeping the raw JSON undecoded: the rate at which
// the node serves the logs, the limit of any indexer reading them from it.
func bareGetLogs(b *testing.B, url string, d contracts.Deployment, from, to uint64) (logsPerSec float64, logs int) {
	c, err := rpc.Dial(url)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	addrs := []common.Address{d.Governor, d.Token, d.Timelock, d.Registry}
	const step = 25 // blocks: ~20,000 logs of the bench chain
	start := time.Now()
	for n := from; n <= to; n += step {
		var raw []json.RawMessage
		q := map[string]any{"fromBlock": hexutil.Uint64(n), "toBlock": hexutil.Uint64(min(n+step-1, to)), "address": addrs}
		if err := c.CallContext(context.Background(), &raw, "eth_getLogs", q); err != nil {
			b.Fatal(err)
		}
		logs += len(raw)
	}
	return float64(logs) / time.Since(start).Seconds(), logs
}

// redisRSS returns redis-server's resident set size in bytes.
func redisRSS(b *testing.B, rdb *redis.Client) int64 {
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory_rss:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	b.Fatal("INFO memory has no used_memory_rss")
	return 0
}

// resetHWM resets this process's peak RSS to its current RSS, so that VmHWM measures the
// backfill alone and not the sizes benchmarked before it.
func resetHWM() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// vmHWM returns this process's peak resident set size in KiB.
func vmHWM() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// generate sends delegation changes and votes from every account, one each per block,
// until the chain holds about target events; it returns the number of events.
func generate(ctx context.Context, chain *devchain.Chain, dao *devchain.DAO, accounts, target int) (int, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	nonces := make([]uint64, accounts)
	n0, err := chain.Client.PendingNonceAt(ctx, chain.Accounts[0].Address)
	if err != nil {
		return 0, err
	}
	nonces[0] = n0
	opts := func(i int) *bind.TransactOpts {
		o := chain.Opts(i)
		o.Nonce = new(big.Int).SetUint64(nonces[i])
		o.GasLimit = 3_000_000 // no estimation round trip; storage writes cost more on the newest forks
		o.GasFeeCap, o.GasTipCap = big.NewInt(100e9), big.NewInt(1e9)
		nonces[i]++
		return o
	}
	var sendErr error
	send := func(_ *types.Transaction, err error) {
		if err != nil && sendErr == nil {
			sendErr = err
		}
	}
	for i := range accounts {
		send(dao.Token.Mint(opts(0), chain.Accounts[i].Address, devchain.Tokens(1000)))
		if i%200 == 199 {
			chain.Commit()
		}
	}
	chain.Commit()
	events := accounts // a Transfer per mint
	var proposal contracts.Proposal
	voted := map[int]bool{}
	newProposal := func() {
		p, err := dao.RegistryProposal(fmt.Sprintf("bench proposal %d", events), contracts.AddAuditor(chain.Accounts[rng.IntN(accounts)].Address, "a"))
		if err != nil {
			send(nil, err)
			return
		}
		send(dao.DAO.Propose(opts(0), p))
		events++
		chain.Commit()
		chain.Mine(2)
		proposal, voted = p, map[int]bool{}
	}
	newProposal()
	for events < target && sendErr == nil {
		for i := range accounts {
			if rng.IntN(2) == 0 && !voted[i] {
				send(dao.Governor.CastVoteWithReason(opts(i), proposal.ID(), uint8(rng.IntN(3)), "bench"))
				voted[i] = true
				events++
			} else {
				send(dao.Token.Delegate(opts(i), chain.Accounts[rng.IntN(accounts)].Address))
				events += 3 // DelegateChanged and up to two DelegateVotesChanged
			}
		}
		chain.Commit()
		if len(voted) > accounts*3/4 {
			newProposal()
		}
	}
	return events, sendErr
}
