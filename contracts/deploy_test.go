package contracts_test

import (
	"context"
	"errors"
	"math/big"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
)

// dropSend is a backend whose SendTransaction fails, as a connection that breaks, from
// the failAt-th call on (1-based): the node never sees those transactions.
type dropSend struct {
	contracts.Backend
	calls, failAt int32
}

func (d *dropSend) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	if atomic.AddInt32(&d.calls, 1) >= d.failAt {
		return errors.New("dial tcp 127.0.0.1:8545: connect: connection refused")
	}
	return d.Backend.SendTransaction(ctx, tx)
}

func deployConfig(chain *devchain.Chain) contracts.Config {
	cfg := contracts.DefaultConfig()
	cfg.TokenOwner = contracts.TokenOwnerTimelock
	cfg.Cancellers = []common.Address{chain.Accounts[3].Address}
	for i := range 11 {
		cfg.Mint = append(cfg.Mint, contracts.Allocation{To: chain.Accounts[i%9+1].Address, Amount: big.NewInt(int64(1000 + i))})
	}
	return cfg
}

// TestPlanResume interrupts a deployment (the node stops taking transactions after six)
// and resumes it from its progress file: the recorded but unsent transaction is sent
// with the same hash, nothing is deployed twice, the contracts are where the plan said,
// and Check finds what was promised.
func TestPlanResume(t *testing.T) {
	ctx := context.Background()
	chain, err := devchain.New(devchain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer chain.Close()
	cfg := deployConfig(chain)
	from := chain.Accounts[0].Address
	plan, err := contracts.NewPlan(ctx, chain.Client, from, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 4 contracts, 3 role grants, 11 mints, the admin renounce, the token hand-over.
	if len(plan.Steps) != 20 {
		t.Fatalf("plan has %d steps", len(plan.Steps))
	}
	gas, err := plan.Estimate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	progress := filepath.Join(t.TempDir(), "deploy.progress.json")
	opt := contracts.ExecOptions{Mine: func() { chain.Commit() }, ProgressFile: progress, Batch: 4}
	_, err = plan.Execute(ctx, &dropSend{Backend: chain.Client, failAt: 7}, chain.Opts(0), opt)
	if modeldao.ErrorCode(err) != modeldao.EUNAVAILABLE || !strings.Contains(err.Error(), "run again to resume") {
		t.Fatalf("interrupted deployment: %v", err)
	}
	prog, err := contracts.LoadProgress(progress)
	if err != nil || prog == nil || len(prog.Sent) != 7 || prog.Done {
		t.Fatalf("progress after the interruption: %+v, %v", prog, err)
	}
	// Token and timelock, then a batch of four up to the batch limit were sent and mined;
	// the seventh was recorded but never reached the node.
	if n, _ := chain.Client.NonceAt(ctx, from, nil); n != plan.Nonce+6 {
		t.Errorf("deployer nonce after the interruption: %d, want %d", n, plan.Nonce+6)
	}

	// Another plan from the same file, with other settings, is refused.
	other := cfg
	other.QuorumPercent = 5
	if _, err := contracts.NewPlan(ctx, chain.Client, from, other, prog); modeldao.ErrorCode(err) != modeldao.ECONFLICT {
		t.Fatalf("resume with other settings: %v", err)
	}
	again, err := contracts.NewPlan(ctx, chain.Client, from, cfg, prog)
	if err != nil {
		t.Fatal(err)
	}
	if again.Token != plan.Token || again.Governor != plan.Governor || again.Registry != plan.Registry || again.Timelock != plan.Timelock {
		t.Fatalf("resumed plan has other addresses: %+v vs %+v", again, plan)
	}
	var lines []string
	opt.Log = func(format string, args ...any) { lines = append(lines, format) }
	res, err := again.Execute(ctx, chain.Client, chain.Opts(0), opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed != 7 {
		t.Errorf("resumed %d steps, want 7", res.Resumed)
	}
	if n, _ := chain.Client.NonceAt(ctx, from, nil); n != plan.Nonce+uint64(len(plan.Steps)) {
		t.Errorf("deployer nonce %d after the deployment, want %d: a transaction was sent twice or lost", n, plan.Nonce+uint64(len(plan.Steps)))
	}
	if !strings.Contains(strings.Join(lines, "\n"), "sent %s again") {
		t.Errorf("the recorded, unsent transaction was not sent again: %q", lines)
	}
	d := res.Deployment
	if d.Token != plan.Token || d.Governor != plan.Governor || d.Timelock != plan.Timelock || d.Registry != plan.Registry {
		t.Errorf("deployed at %+v, planned %+v", d, plan)
	}
	if d.Block != res.Receipts[0].BlockNumber.Uint64() || d.BlockHash != res.Receipts[0].BlockHash {
		t.Errorf("deployment block %d %s, first receipt %d %s", d.Block, d.BlockHash, res.Receipts[0].BlockNumber, res.Receipts[0].BlockHash)
	}
	if err := contracts.Check(ctx, chain.Client, d, from, cfg); err != nil {
		t.Fatal(err)
	}
	// Check can fail: it compares with the settings it is given.
	if err := contracts.Check(ctx, chain.Client, d, from, other); err == nil || !strings.Contains(err.Error(), "the quorum (percent) is 4, want 5") {
		t.Errorf("Check with another quorum: %v", err)
	}
	var used, est uint64
	for i, r := range res.Receipts {
		used += r.GasUsed
		est += gas[i]
	}
	// The estimate mines in other blocks than the resumed run (checkpoints of ERC20Votes
	// cost more in a new block): within 5 %.
	if diff := int64(used) - int64(est); diff*20 > int64(used) || diff*20 < -int64(used) {
		t.Errorf("estimated %d gas, used %d", est, used)
	}
	if prog, _ := contracts.LoadProgress(progress); prog == nil || !prog.Done || len(prog.Sent) != len(plan.Steps) {
		t.Errorf("progress after the deployment: %+v", prog)
	}
	// Running the finished plan again sends nothing.
	res2, err := again.Execute(ctx, chain.Client, chain.Opts(0), opt)
	if err != nil || res2.Deployment != d {
		t.Fatalf("rerun of a finished deployment: %+v, %v", res2, err)
	}
	if n, _ := chain.Client.NonceAt(ctx, from, nil); n != plan.Nonce+uint64(len(plan.Steps)) {
		t.Errorf("the rerun sent transactions: nonce %d", n)
	}
}

// TestPlanResumeNonceTaken: when another transaction took a recorded nonce, resuming
// stops with a conflict instead of guessing.
func TestPlanResumeNonceTaken(t *testing.T) {
	ctx := context.Background()
	chain, err := devchain.New(devchain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer chain.Close()
	cfg := deployConfig(chain)
	from := chain.Accounts[0].Address
	plan, err := contracts.NewPlan(ctx, chain.Client, from, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	progress := filepath.Join(t.TempDir(), "deploy.progress.json")
	opt := contracts.ExecOptions{Mine: func() { chain.Commit() }, ProgressFile: progress, Batch: 4}
	if _, err := plan.Execute(ctx, &dropSend{Backend: chain.Client, failAt: 3}, chain.Opts(0), opt); err == nil {
		t.Fatal("no error from the broken connection")
	}
	// Nonce plan.Nonce+2 (the governor's, recorded, never sent) goes to a plain transfer.
	o := chain.Opts(0)
	tx := types.NewTx(&types.LegacyTx{Nonce: plan.Nonce + 2, To: &chain.Accounts[1].Address, Value: big.NewInt(1), Gas: 21000, GasPrice: big.NewInt(1e10)})
	signed, err := o.Signer(from, tx)
	if err != nil {
		t.Fatal(err)
	}
	if err := chain.Client.SendTransaction(ctx, signed); err != nil {
		t.Fatal(err)
	}
	chain.Commit()
	prog, err := contracts.LoadProgress(progress)
	if err != nil {
		t.Fatal(err)
	}
	again, err := contracts.NewPlan(ctx, chain.Client, from, cfg, prog)
	if err != nil {
		t.Fatal(err)
	}
	_, err = again.Execute(ctx, chain.Client, chain.Opts(0), opt)
	if modeldao.ErrorCode(err) != modeldao.ECONFLICT || !strings.Contains(err.Error(), "was used by another transaction") {
		t.Fatalf("resume over a taken nonce: %v", err)
	}
}

// refusing is a node that answers every transaction with a JSON-RPC error.
type refusing struct{ contracts.Backend }

type rpcErr struct{}

func (rpcErr) Error() string  { return "insufficient funds for gas * price + value" }
func (rpcErr) ErrorCode() int { return -32000 }

func (refusing) SendTransaction(context.Context, *types.Transaction) error { return rpcErr{} }

// TestPlanRefused: a transaction the node refuses is not kept in the progress file (the
// node holds no such transaction), so the next run signs it afresh.
func TestPlanRefused(t *testing.T) {
	ctx := context.Background()
	chain, err := devchain.New(devchain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer chain.Close()
	cfg := contracts.DefaultConfig()
	plan, err := contracts.NewPlan(ctx, chain.Client, chain.Accounts[0].Address, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	progress := filepath.Join(t.TempDir(), "p.json")
	opt := contracts.ExecOptions{Mine: func() { chain.Commit() }, ProgressFile: progress}
	_, err = plan.Execute(ctx, refusing{chain.Client}, chain.Opts(0), opt)
	if modeldao.ErrorCode(err) != modeldao.EINVALID || !strings.Contains(err.Error(), "the node refused the transaction to deploy the token") {
		t.Fatalf("refused: %v", err)
	}
	prog, err := contracts.LoadProgress(progress)
	if err != nil || prog == nil || len(prog.Sent) != 0 {
		t.Fatalf("progress after a refusal: %+v %v", prog, err)
	}
	res, err := plan.Execute(ctx, chain.Client, chain.Opts(0), opt)
	if err != nil || res.Resumed != 0 || res.Deployment.Token != plan.Token {
		t.Fatalf("after the refusal: %+v %v", res, err)
	}
}
