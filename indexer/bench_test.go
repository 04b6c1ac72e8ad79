package indexer_test

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/store"
)

// BenchmarkBackfill builds a chain of at least MODELDAO_BENCH_EVENTS events (default
// 200,000; mostly delegation changes and votes) on the dev chain, then measures a backfill
// of it over JSON-RPC into a fresh redis-server: events per second, and the growth of the
// Go heap while indexing (the chain lives in the same process, so RSS would measure it too).
//
//	MODELDAO_BENCH_EVENTS=200000 go test ./indexer -run '^$' -bench Backfill -benchtime 1x
func BenchmarkBackfill(b *testing.B) {
	target := 200_000
	if v, err := strconv.Atoi(os.Getenv("MODELDAO_BENCH_EVENTS")); err == nil && v > 0 {
		target = v
	}
	ctx := context.Background()
	const accounts = 400
	chain, err := devchain.New(devchain.Options{Accounts: accounts, HTTPAddr: "127.0.0.1:0", BlockGasLimit: 4_000_000_000})
	if err != nil {
		b.Fatal(err)
	}
	defer chain.Close()
	cfg := contracts.DefaultConfig()
	cfg.VotingPeriod = 100_000
	dao, err := chain.Deploy(ctx, cfg, 0)
	if err != nil {
		b.Fatal(err)
	}
	events := generate(b, ctx, chain, dao, accounts, target)
	_, rdb := newRedis(b)
	st := store.New(rdb, store.NewKeys(dao.Deployment.ChainID, dao.Deployment.Governor), quiet)
	rpc := dial(b, chain.URL())
	ix, err := indexer.New(indexer.Config{Chain: rpc, Store: st, Deployment: dao.Deployment, Log: quiet, MaxRangeBlocks: 200, ReorgDepth: 8})
	if err != nil {
		b.Fatal(err)
	}
	var peak atomic.Uint64
	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	stop := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	b.ResetTimer()
	start := time.Now()
	p, err := ix.CatchUp(ctx)
	el := time.Since(start)
	b.StopTimer()
	close(stop)
	if err != nil {
		b.Fatal(err)
	}
	if p.Events < events {
		b.Fatalf("indexed %d events, the chain has %d (progress %+v)", p.Events, events, p)
	}
	b.ReportMetric(float64(p.Events)/el.Seconds(), "events/s")
	b.ReportMetric(float64(p.Events), "events")
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20), "heap-growth-MiB")
	fmt.Fprintf(os.Stderr, "backfill: %d events in %d blocks, %s, %.0f events/s, heap growth %.1f MiB\n",
		p.Events, p.Blocks, el.Round(time.Millisecond), float64(p.Events)/el.Seconds(), float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20))
}

// generate sends delegation changes and votes from every account, many per block, until
// the chain holds target events; it returns the number of events.
func generate(b *testing.B, ctx context.Context, chain *devchain.Chain, dao *devchain.DAO, accounts, target int) int {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	nonces := make([]uint64, accounts)
	opts := func(i int) *bind.TransactOpts {
		o := chain.Opts(i)
		o.Nonce = new(big.Int).SetUint64(nonces[i])
		o.GasLimit = 3_000_000 // no estimation round trip; storage writes cost more on the newest forks
		o.GasFeeCap, o.GasTipCap = big.NewInt(100e9), big.NewInt(1e9)
		nonces[i]++
		return o
	}
	send := func(tx *types.Transaction, err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	n0, _ := chain.Client.PendingNonceAt(ctx, chain.Accounts[0].Address)
	nonces[0] = n0
	for i := range accounts {
		send(dao.Token.Mint(opts(0), chain.Accounts[i].Address, devchain.Tokens(1000)))
		if i%200 == 199 {
			chain.Commit()
		}
	}
	chain.Commit()
	events := accounts // Transfer of each mint
	var proposal contracts.Proposal
	voted := map[int]bool{}
	newProposal := func() {
		p, err := dao.RegistryProposal(fmt.Sprintf("bench proposal %d", events), contracts.AddAuditor(chain.Accounts[rng.IntN(accounts)].Address, "a"))
		if err != nil {
			b.Fatal(err)
		}
		send(dao.DAO.Propose(opts(0), p))
		events++
		chain.Commit()
		chain.Mine(2)
		proposal, voted = p, map[int]bool{}
	}
	newProposal()
	for events < target {
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
	for _, i := range []int{0, 1, accounts - 1} {
		n, _ := chain.Client.NonceAt(ctx, chain.Accounts[i].Address, nil)
		if n != nonces[i] {
			b.Fatalf("account %d: %d transactions mined of %d sent", i, n, nonces[i])
		}
	}
	return events * 9 / 10 // delegations to the current delegate emit fewer events
}
