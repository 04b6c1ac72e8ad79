// Package benchchain builds the dense chain of ModelDAO's backfill benchmarks (400 accounts
// delegating and voting in every block) and serves it over JSON-RPC from a child process, so
// that a benchmark measures the indexer, not the node it reads from.
//
// A benchmark's TestMain calls ServeIfChild first; Start then runs the test binary itself as
// the node (with EnvNode set) and returns where it listens once the chain is built.
package benchchain

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

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
)

// EnvNode, set to a number of events, turns a test binary into the bench node (ServeIfChild).
const EnvNode = "MODELDAO_BENCH_NODE"

// accounts is how many accounts delegate and vote: the chain's density (events per block).
const accounts = 400

// Ready is what the node prints once its chain is built.
type Ready struct {
	URL        string               `json:"url"`
	Deployment contracts.Deployment `json:"deployment"`
	Events     int                  `json:"events"`
	// PID is the node process (set by Start), whose CPU time the benchmarks report beside
	// their own: the node shares the machine's cores with the indexer and Redis.
	PID int `json:"-"`
}

// ServeIfChild makes this process the bench node when EnvNode is set: it builds the chain,
// serves it, prints "READY <json>" and exits when its stdin closes. Call it first in TestMain.
func ServeIfChild() {
	n := os.Getenv(EnvNode)
	if n == "" {
		return
	}
	events, err := strconv.Atoi(n)
	if err == nil {
		err = serve(events)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench node:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func serve(target int) error {
	ctx := context.Background()
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
	events, err := generate(ctx, chain, dao, target)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(Ready{URL: chain.URL(), Deployment: dao.Deployment, Events: events})
	fmt.Printf("READY %s\n", b)
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the benchmark closes stdin
	return nil
}

// Start runs this test binary as the node of a chain of at least events events and waits
// until it serves it; the node stops when tb's cleanup runs.
func Start(tb testing.TB, events int) Ready {
	tb.Helper()
	node := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	node.Env = append(os.Environ(), EnvNode+"="+strconv.Itoa(events))
	node.Stderr = os.Stderr
	stdin, err := node.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := node.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := node.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { stdin.Close(); _ = node.Wait() })
	var ready Ready
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
			if err := json.Unmarshal([]byte(line), &ready); err != nil {
				tb.Fatal(err)
			}
			break
		}
	}
	if ready.URL == "" {
		tb.Fatalf("the bench node (%s=%d %s) did not start", EnvNode, events, os.Args[0])
	}
	ready.PID = node.Process.Pid
	return ready
}

// generate sends delegation changes and votes from every account, one each per block,
// until the chain holds about target events; it returns the number of events.
func generate(ctx context.Context, chain *devchain.Chain, dao *devchain.DAO, target int) (int, error) {
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
