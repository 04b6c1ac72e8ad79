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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/core/types"

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

// BenchmarkBackfill measures a backfill of at least MODELDAO_BENCH_EVENTS events (default
// 200,000; mostly delegation changes and votes) over JSON-RPC into a fresh redis-server.
// The chain node runs in a child process (this test binary, see TestMain), so that the
// figures are the indexer's own: events per second, and the peak RSS of this process
// (VmHWM) before and after the backfill.
//
//	MODELDAO_BENCH_EVENTS=200000 go test ./indexer -run '^$' -bench Backfill -benchtime 1x
func BenchmarkBackfill(b *testing.B) {
	target := 200_000
	if v, err := strconv.Atoi(os.Getenv("MODELDAO_BENCH_EVENTS")); err == nil && v > 0 {
		target = v
	}
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
	ix, err := indexer.New(indexer.Config{Chain: dial(b, ready.URL), Store: st, Deployment: ready.Deployment, Log: quiet, MaxRangeBlocks: 200, ReorgDepth: 8})
	if err != nil {
		b.Fatal(err)
	}
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
	rssAfter := vmHWM()
	b.ReportMetric(float64(p.Events)/el.Seconds(), "events/s")
	b.ReportMetric(float64(p.Events), "events")
	b.ReportMetric(float64(rssAfter)/1024, "peak-RSS-MiB")
	fmt.Fprintf(os.Stderr, "backfill: %d events in %d blocks, %s, %.0f events/s, peak RSS %d MiB (before: %d MiB)\n",
		p.Events, p.Blocks, el.Round(time.Millisecond), float64(p.Events)/el.Seconds(), rssAfter/1024, rssBefore/1024)
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
