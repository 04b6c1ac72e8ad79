package cli

import (
	"context"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/infra/anvil"
	"github.com/modeldao/modeldao/infra/redisserver"
)

// rpcChain is a dev chain serving JSON-RPC whose miner seals a block whenever the pool
// holds transactions (as `modeldao dev` does) and an empty one every 200 ms (so that
// confirmations come); the test can pause it.
type rpcChain struct {
	*devchain.Chain
	paused atomic.Bool
}

func startRPCChain(t *testing.T) *rpcChain {
	t.Helper()
	c, err := devchain.New(devchain.Options{HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rpc.Dial(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	ch := &rpcChain{Chain: c}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if ch.paused.Load() {
				continue
			}
			var st struct {
				Pending hexutil.Uint `json:"pending"`
			}
			if err := rc.CallContext(ctx, &st, "txpool_status"); err != nil {
				continue
			}
			if st.Pending > 0 || time.Since(last) > 200*time.Millisecond {
				c.Commit()
				last = time.Now()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		rc.Close()
		c.Close()
	})
	return ch
}

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDeploy deploys on a dev chain over JSON-RPC: the errors an operator meets, a dry run
// that sends nothing, a deployment interrupted (the chain stops mining) and resumed, and
// `modeldao index` over the result.
func TestDeploy(t *testing.T) {
	ctx := context.Background()
	chain := startRPCChain(t)
	eth, err := ethclient.Dial(chain.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer eth.Close()
	acct := func(i int) common.Address { return chain.Accounts[i].Address }
	dist := writeFile(t, "dist.csv", fmt.Sprintf("address,amount\n# core team\n%s,1000\n\n%s, 250.5\n%s,0.000000000000000001\n", acct(1).Hex(), acct(2).Hex(), acct(3).Hex()))
	dir := t.TempDir()
	out := filepath.Join(dir, "deployment.json")
	e := env{"ETH_RPC_URL": chain.URL()}
	deployArgs := []string{"deploy", "--dev-account", "1", "--distribution", dist, "--out", out, "--voting-delay", "2", "--voting-period", "30",
		"--proposal-threshold", "1.5", "--quorum", "10", "--timelock-delay", "90s", "--canceller", acct(4).Hex(), "--batch", "2"}

	t.Run("errors", func(t *testing.T) {
		for _, c := range []struct {
			csv, want string
		}{
			{"address,amount\n" + acct(1).Hex() + ",1\n0x12,5\n", "line 3: \"0x12\" is not an address"},
			{acct(1).Hex() + ",1\n" + acct(2).Hex() + ",2\n" + acct(1).Hex() + ",3\n", "line 3: " + acct(1).Hex() + " is listed already on line 1"},
			{acct(1).Hex() + ",1.5x\n", "line 1: amount \"1.5x\" is not a number of tokens"},
			{acct(1).Hex() + ",0.0000000000000000001\n", "more than 18 decimals"},
			{acct(1).Hex() + ",1,2\n", "line 1: want address,amount, got 3 fields"},
			{acct(1).Hex() + ",0\n", "line 1: the amount is zero"},
		} {
			fails(t, e, ExitUsage, c.want, "deploy", "--dev-account", "1", "--distribution", writeFile(t, "bad.csv", c.csv), "--out", filepath.Join(t.TempDir(), "d.json"))
		}
		fails(t, e, ExitUsage, "line 1: amount \"1.5\" is not a whole number of base units", "deploy", "--dev-account", "1", "--units", "base",
			"--distribution", writeFile(t, "b.csv", acct(1).Hex()+",1.5\n"))
		fails(t, e, ExitFailure, "serves chain 1337, not 5 (--chain-id)", append(deployArgs, "--chain-id", "5")...)
		// A key with no ETH: the message says how much is needed.
		k, _ := crypto.GenerateKey()
		fails(t, e.with(EnvPrivateKey, fmt.Sprintf("%x", crypto.FromECDSA(k))), ExitFailure, "fund the account (send it at least",
			"deploy", "--distribution", dist, "--out", filepath.Join(t.TempDir(), "d.json"))
		// No node, and a node that refuses every request.
		fails(t, env{"ETH_RPC_URL": fmt.Sprintf("http://127.0.0.1:%d", freePort(t))}, ExitUnavailable, "no Ethereum node answers", deployArgs...)
		refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "forbidden: bad API key", http.StatusForbidden)
		}))
		defer refusing.Close()
		fails(t, env{"ETH_RPC_URL": refusing.URL}, ExitUnavailable, "403 Forbidden", deployArgs...)
		if _, err := os.Stat(out); err == nil {
			t.Fatal("a failed deployment wrote the deployment file")
		}
	})

	var plan deployResult
	t.Run("dry run", func(t *testing.T) {
		nonce, _ := eth.NonceAt(ctx, acct(1), nil)
		balance, _ := eth.BalanceAt(ctx, acct(1), nil)
		r := ok(t, e, &plan, append(deployArgs, "--dry-run", "--json")...)
		if !plan.DryRun || plan.Nonce != nonce || plan.Token != crypto.CreateAddress(acct(1), nonce) || plan.Registry != crypto.CreateAddress(acct(1), nonce+3) {
			t.Errorf("dry run plan: %+v", plan)
		}
		// 4 contracts, 3 grants, 3 mints, the admin renounce, the token hand-over.
		if len(plan.Steps) != 12 || plan.Gas < 5_000_000 || plan.Cost == "0" || plan.Balance != balance.String() {
			t.Errorf("dry run: %d steps, %d gas, cost %s, balance %s\n%s", len(plan.Steps), plan.Gas, plan.Cost, plan.Balance, r.stdout)
		}
		text := ok(t, e, nil, append(deployArgs, "--dry-run")...)
		for _, want := range []string{"Dry run: nothing was sent", plan.Governor.Hex(), "mint 250500000000000000000 to " + acct(2).Hex(), "hand the token's ownership to the timelock", "Estimate:"} {
			if !strings.Contains(text.stdout, want) {
				t.Errorf("dry run text lacks %q:\n%s", want, text.stdout)
			}
		}
		after, _ := eth.NonceAt(ctx, acct(1), nil)
		pending, _ := eth.PendingNonceAt(ctx, acct(1))
		balanceAfter, _ := eth.BalanceAt(ctx, acct(1), nil)
		if after != nonce || pending != nonce || balanceAfter.Cmp(balance) != 0 {
			t.Errorf("the dry run sent something: nonce %d→%d (pending %d), balance %s→%s", nonce, after, pending, balance, balanceAfter)
		}
		for _, f := range []string{out, filepath.Join(dir, "deployment.progress.json")} {
			if _, err := os.Stat(f); err == nil {
				t.Errorf("the dry run wrote %s", f)
			}
		}
	})

	var d deployResult
	t.Run("interrupted and resumed", func(t *testing.T) {
		// The chain stops mining: token and timelock are sent, the governor waits for them.
		chain.paused.Store(true)
		fails(t, e, ExitUnavailable, "was not mined in time", append(deployArgs, "--timeout", "1s")...)
		prog, err := contracts.LoadProgress(filepath.Join(dir, "deployment.progress.json"))
		if err != nil || prog == nil || len(prog.Sent) != 2 || prog.Done {
			t.Fatalf("progress file: %+v %v", prog, err)
		}
		chain.paused.Store(false)
		r := ok(t, e, &d, append(deployArgs, "--confirmations", "3", "--json")...)
		if d.Resumed != 2 || d.Token != plan.Token || d.Governor != plan.Governor || d.Timelock != plan.Timelock || d.Registry != plan.Registry {
			t.Errorf("resumed deployment %+v, planned %+v\n%s", d, plan, r.stderr)
		}
		if n, _ := eth.NonceAt(ctx, acct(1), nil); n != plan.Nonce+uint64(len(plan.Steps)) {
			t.Errorf("deployer nonce %d, want %d: something was sent twice", n, plan.Nonce+uint64(len(plan.Steps)))
		}
		dep, err := contracts.LoadDeployment(out)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := eth.TransactionReceipt(ctx, prog.Sent[0].Hash)
		if err != nil || dep.Block != rec.BlockNumber.Uint64() || dep.BlockHash != rec.BlockHash || dep.ChainID != devchain.ChainID || dep.Token != plan.Token {
			t.Errorf("deployment file %+v, token receipt %+v %v", dep, rec, err)
		}
		if head, _ := eth.BlockNumber(ctx); head < d.Block+2 {
			t.Errorf("written at head %d, before 3 confirmations of block ≥ %d", head, d.Block)
		}
		cfg := contracts.Config{TokenName: "ModelDAO", TokenSymbol: "MDAO", VotingDelay: 2, VotingPeriod: 30, ProposalThreshold: new(big.Int).Mul(big.NewInt(15), big.NewInt(1e17)),
			QuorumPercent: 10, TimelockDelay: 90, TokenOwner: contracts.TokenOwnerTimelock, Cancellers: []common.Address{acct(4)},
			Mint: []contracts.Allocation{{To: acct(1), Amount: devTokens(1000)}, {To: acct(2), Amount: new(big.Int).Mul(big.NewInt(2505), big.NewInt(1e17))}, {To: acct(3), Amount: big.NewInt(1)}}}
		if err := contracts.Check(ctx, eth, dep, acct(1), cfg); err != nil {
			t.Error(err)
		}
		// Again: the finished deployment is checked and its file rewritten; nothing is sent.
		ok(t, e, nil, deployArgs...)
		if n, _ := eth.NonceAt(ctx, acct(1), nil); n != plan.Nonce+uint64(len(plan.Steps)) {
			t.Errorf("the rerun sent transactions: nonce %d", n)
		}
		// The file of a finished deployment is not overwritten by a new one.
		fails(t, e, ExitFailure, "exists already", append(deployArgs, "--progress", filepath.Join(dir, "other.progress.json"))...)
	})

	t.Run("index", func(t *testing.T) {
		rs := redisserver.StartT(t)
		var p struct {
			FromBlock, ToBlock, Events int
			CaughtUp                   bool
		}
		ok(t, e.with("REDIS_URL", rs.URL(), "DEPLOYMENT_FILE", out), &p, "index", "--once", "--json")
		// Three mints and the timelock's role changes at least.
		if !p.CaughtUp || p.Events < 3 || uint64(p.ToBlock) < d.Block {
			t.Errorf("index --once over the deployed DAO: %+v", p)
		}
	})
}

// TestDeployAnvil deploys on anvil, interrupted while anvil does not mine and resumed
// after anvil forgot the transactions in its pool (they are sent again from the progress
// file), then governs with the result: delegate, propose a policy, vote, queue, execute,
// and propose to retire it (modeldao propose policy retire).
func TestDeployAnvil(t *testing.T) {
	ctx := context.Background()
	node := anvil.StartT(t, anvil.Options{Quiet: true, NoMining: true})
	key := node.Keys()[0]
	me := node.Address(0)
	dir := t.TempDir()
	out := filepath.Join(dir, "deployment.json")
	dist := writeFile(t, "dist.csv", me.Hex()+",1000000000000000000000\n")
	e := env{"ETH_RPC_URL": node.URL(), EnvPrivateKey: fmt.Sprintf("%x", crypto.FromECDSA(key)), "DEPLOYMENT_FILE": out}
	args := []string{"deploy", "--chain-id", "31337", "--distribution", dist, "--units", "base", "--voting-delay", "1", "--voting-period", "5",
		"--timelock-delay", "60s", "--token-owner", "renounce"}
	fails(t, e, ExitUnavailable, "run again to resume", append(args, "--timeout", "1s")...)
	if err := node.DropSender(ctx, me); err != nil {
		t.Fatal(err)
	}
	if err := node.SetAutomine(ctx, true); err != nil {
		t.Fatal(err)
	}
	var d deployResult
	r := ok(t, e, &d, append(args, "--json")...)
	if d.Token == (common.Address{}) || d.Resumed != 2 || strings.Count(r.stderr, "(the node did not have it)") != 2 {
		t.Fatalf("resumed deploy on anvil: %+v\n%s", d, r.stderr)
	}
	if n, _ := node.Client().NonceAt(ctx, me, nil); n != d.Nonce+uint64(len(d.Steps)) {
		t.Errorf("deployer nonce %d, want %d", n, d.Nonce+uint64(len(d.Steps)))
	}
	fails(t, e, ExitUsage, "not a policy id", "propose", "policy", "retire", "x")
	fails(t, e, ExitFailure, "there is no policy 1 (the registry has 0)", "propose", "policy", "retire", "1")

	ok(t, e, nil, "delegate", "self")
	cid := "bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	var adopt proposalResult
	ok(t, e, &adopt, "propose", "policy", "--name", "baseline", "--version", "1.0", "--document", cid, "--json")
	ok(t, e, nil, "mine", "--blocks", "2")
	ok(t, e, nil, "vote", adopt.ProposalID, "for")
	ok(t, e, nil, "mine", "--blocks", "6")
	ok(t, e, nil, "queue", adopt.ProposalID)
	ok(t, e, nil, "mine", "--time", "61s")
	ok(t, e, nil, "execute", adopt.ProposalID)

	var retire proposalResult
	ok(t, e, &retire, "propose", "policy", "retire", "1", "--json")
	if retire.Title != "Retire the policy baseline 1.0" || retire.VoteStart == 0 {
		t.Errorf("retire proposal: %+v", retire)
	}
	ok(t, e, nil, "mine", "--blocks", "2")
	ok(t, e, nil, "vote", retire.ProposalID, "for")
	ok(t, e, nil, "mine", "--blocks", "6")
	ok(t, e, nil, "queue", retire.ProposalID)
	ok(t, e, nil, "mine", "--time", "61s")
	ok(t, e, nil, "execute", retire.ProposalID)
	fails(t, e, ExitFailure, "policy 1 (baseline 1.0) is retired already", "propose", "policy", "retire", "1")

	rs := redisserver.StartT(t)
	var p struct {
		Events   int
		CaughtUp bool
	}
	ok(t, e.with("REDIS_URL", rs.URL()), &p, "index", "--once", "--json")
	if !p.CaughtUp || p.Events < 10 {
		t.Errorf("index --once on anvil: %+v", p)
	}
}
