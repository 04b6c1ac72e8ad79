package contracts_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
)

// Accounts of the test chains. devchain.Deploy gives the first nHolders 1000 tokens each,
// delegated to themselves (3000 in all: the 4 % quorum is 120 tokens).
const (
	deployer  = 0 // deploys, owns the token (may mint), proposes
	holderB   = 1
	holderC   = 2
	publisher = 3 // submits model versions
	auditor   = 4 // registered as an auditor by the registry fixture
	outsider  = 5 // no tokens and no role (a removed auditor in the registry fixture)
	newcomer  = 6 // gets tokens minted by the tests
	nAccounts = 7
	nHolders  = 3
)

// env is one simulated chain with a deployed DAO.
type env struct {
	ctx   context.Context
	chain *devchain.Chain
	dao   *devchain.DAO
	seq   int // numbers proposal descriptions: a proposal's id is the hash of its calls and description
}

// newEnv deploys the DAO with contracts.Deploy, mints 1000 tokens to each of the first
// nHolders accounts and has each delegate to itself (what devchain.Deploy does, made safe
// against blocks sealed with part of the pool: see deployBackend).
func newEnv(t *testing.T) *env {
	t.Helper()
	chain, err := devchain.New(devchain.Options{Accounts: nAccounts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chain.Close() })
	ctx := t.Context()
	cfg := contracts.DefaultConfig()
	for i := range nHolders {
		cfg.Mint = append(cfg.Mint, contracts.Allocation{To: chain.Accounts[i].Address, Amount: devchain.Tokens(1000)})
	}
	b := &deployBackend{Client: chain.Client}
	dep, err := contracts.Deploy(ctx, b, chain.Opts(deployer), cfg, func() { b.mine(ctx, chain) })
	if err != nil {
		t.Fatal(err)
	}
	bound, err := contracts.Bind(*dep, chain.Client)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ctx: ctx, chain: chain, dao: &devchain.DAO{DAO: bound, Chain: chain, Config: cfg}}
	delegations := e.batch()
	for i := range nHolders {
		delegations.add(t)(bound.Token.Delegate(delegations.opts(t, i), e.addr(i)))
	}
	delegations.mine(t)
	return e
}

// deployBackend is the backend of contracts.Deploy in the tests. It remembers the
// transactions sent, so that the mine callback commits until every one is in a block: under
// load the simulated backend may seal a block with only part of the pool (block building
// stops after the miner's recommit interval), and Deploy, which mines once and then waits
// for the receipts, would wait forever.
type deployBackend struct {
	simulated.Client
	sent []common.Hash
}

func (b *deployBackend) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	err := b.Client.SendTransaction(ctx, tx)
	if err == nil {
		b.sent = append(b.sent, tx.Hash())
	}
	return err
}

// mine commits blocks until every transaction sent through b is mined (at most a few).
func (b *deployBackend) mine(ctx context.Context, chain *devchain.Chain) {
	for range 5 {
		chain.Commit()
		var missing []common.Hash
		for _, h := range b.sent {
			if _, err := b.Client.TransactionReceipt(ctx, h); err != nil {
				missing = append(missing, h)
			}
		}
		if b.sent = missing; len(missing) == 0 {
			return
		}
	}
}

func (e *env) addr(i int) common.Address { return e.chain.Accounts[i].Address }

func (e *env) opts(i int) *bind.TransactOpts {
	o := e.chain.Opts(i)
	o.Context = e.ctx
	return o
}

// tokenOpts are opts with a fixed gas limit, for token transactions that write vote
// checkpoints. A gas estimate runs against the head block, the transaction in the next
// one: when the account's last checkpoint is from the head block, the estimate prices an
// in-place update where the transaction pushes a new checkpoint, and runs out of gas.
func (e *env) tokenOpts(i int) *bind.TransactOpts {
	o := e.opts(i)
	o.GasLimit = 500_000
	return o
}

func (e *env) callOpts() *bind.CallOpts { return &bind.CallOpts{Context: e.ctx} }

func (e *env) governor() common.Address { return e.dao.Deployment.Governor }
func (e *env) timelock() common.Address { return e.dao.Deployment.Timelock }
func (e *env) registry() common.Address { return e.dao.Deployment.Registry }

// mined returns a function that mines the transaction of a binding call and fails the test
// unless it succeeded: e.mined(t)(e.dao.Token.Delegate(opts, to)).
func (e *env) mined(t *testing.T) func(*types.Transaction, error) *types.Receipt {
	return func(tx *types.Transaction, err error) *types.Receipt {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return e.mineOK(t, tx)[0]
	}
}

// include mines until every transaction is in a block (usually the first one: a
// transaction the pool has not promoted yet when a block is sealed goes into the next) and
// returns their receipts, successful or not.
func (e *env) include(t *testing.T, txs ...*types.Transaction) []*types.Receipt {
	t.Helper()
	receipts := make([]*types.Receipt, len(txs))
	for blocks := 1; ; blocks++ {
		e.chain.Commit()
		missing := 0
		for i, tx := range txs {
			if receipts[i] != nil {
				continue
			}
			r, err := e.chain.Client.TransactionReceipt(e.ctx, tx.Hash())
			if err != nil {
				missing++
				continue
			}
			receipts[i] = r
		}
		if missing == 0 {
			return receipts
		}
		if blocks == 5 {
			t.Fatalf("%d of %d transactions not mined after %d blocks", missing, len(txs), blocks)
		}
	}
}

// mineOK mines the transactions and fails unless every one succeeded.
func (e *env) mineOK(t *testing.T, txs ...*types.Transaction) []*types.Receipt {
	t.Helper()
	receipts := e.include(t, txs...)
	for i, r := range receipts {
		if r.Status != types.ReceiptStatusSuccessful {
			t.Fatalf("transaction %s reverted", txs[i].Hash())
		}
	}
	return receipts
}

// batch collects transactions to mine in one block. It numbers each account's nonces
// itself: the pool's pending nonce, which the bindings would ask for, lags behind a burst of
// sends.
type batch struct {
	e      *env
	nonces map[int]uint64
	txs    []*types.Transaction
}

func (e *env) batch() *batch { return &batch{e: e, nonces: map[int]uint64{}} }

// opts are the options of account i with its next nonce (the tests leave no transaction
// pending between blocks, so the first is the nonce at the head).
func (b *batch) opts(t *testing.T, i int) *bind.TransactOpts {
	t.Helper()
	n, ok := b.nonces[i]
	if !ok {
		n = value[uint64](t)(b.e.chain.Client.NonceAt(b.e.ctx, b.e.addr(i), nil))
	}
	b.nonces[i] = n + 1
	o := b.e.opts(i)
	o.Nonce = new(big.Int).SetUint64(n)
	return o
}

// add returns a function that adds the transaction of a binding call to the batch:
// b.add(t)(gov.CastVote(b.opts(t, voter), id, support)).
func (b *batch) add(t *testing.T) func(*types.Transaction, error) {
	return func(tx *types.Transaction, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		b.txs = append(b.txs, tx)
	}
}

// mine mines the batch and fails unless every transaction succeeded.
func (b *batch) mine(t *testing.T) {
	t.Helper()
	b.e.mineOK(t, b.txs...)
}

func (e *env) head(t *testing.T) uint64 {
	t.Helper()
	n, err := e.chain.Client.BlockNumber(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func pack(t *testing.T, a *abi.ABI, method string, args ...any) []byte {
	t.Helper()
	data, err := a.Pack(method, args...)
	if err != nil {
		t.Fatalf("pack %s: %v", method, err)
	}
	return data
}

// call is an eth_call at the head from any address, contracts included: it runs exactly
// what a transaction would, without mining it.
func (e *env) call(from, to common.Address, data []byte) error {
	_, err := e.chain.Client.CallContract(e.ctx, ethereum.CallMsg{From: from, To: &to, Data: data}, nil)
	return err
}

// callRegistry eth_calls a registry method from `from`.
func (e *env) callRegistry(t *testing.T, from common.Address, c contracts.RegistryCall) error {
	t.Helper()
	return e.call(from, e.registry(), pack(t, contracts.RegistryABI, c.Method, c.Args...))
}

// errorABIs are the contracts whose custom errors a revert may carry.
var errorABIs = []*abi.ABI{contracts.RegistryABI, contracts.GovernorABI, contracts.TimelockABI, contracts.TokenABI}

// expectRevert fails the test unless err is the revert of a call (an eth_call, or the gas
// estimate of a transaction) with the custom error `name` of one of the DAO's contracts and,
// when want is given, leading arguments that print as want does (fmt %v: numbers of any
// integer type compare by value, addresses by their hex).
func expectRevert(t *testing.T, err error, name string, want ...any) {
	t.Helper()
	if err == nil {
		t.Fatalf("call succeeded; want revert %s", name)
	}
	var de rpc.DataError
	if !errors.As(err, &de) {
		t.Fatalf("error %q carries no revert data; want revert %s", err, name)
	}
	hexData, _ := de.ErrorData().(string)
	data, decodeErr := hexutil.Decode(hexData)
	if decodeErr != nil || len(data) < 4 {
		t.Fatalf("error %q carries revert data %q, not a custom error; want %s", err, hexData, name)
	}
	for _, a := range errorABIs {
		for _, ce := range a.Errors {
			if !bytes.Equal(ce.ID[:4], data[:4]) {
				continue
			}
			args, unpackErr := ce.Inputs.Unpack(data[4:])
			if unpackErr != nil {
				t.Fatalf("revert %s: unpack arguments: %v", ce.Name, unpackErr)
			}
			if ce.Name != name {
				t.Fatalf("reverted with %s%v; want %s%v", ce.Name, args, name, want)
			}
			if len(want) > len(args) {
				t.Fatalf("revert %s has %d arguments; the test expects %d", name, len(args), len(want))
			}
			for i, w := range want {
				if fmt.Sprint(args[i]) != fmt.Sprint(w) {
					t.Fatalf("reverted with %s%v; want %s%v", ce.Name, args, name, want)
				}
			}
			return
		}
	}
	t.Fatalf("reverted with unknown data %#x (%v); want %s", data, err, name)
}

// proposal makes a registry proposal with a description unique to the test.
func (e *env) proposal(t *testing.T, calls ...contracts.RegistryCall) contracts.Proposal {
	t.Helper()
	e.seq++
	p, err := e.dao.RegistryProposal(fmt.Sprintf("# %s, proposal %d\n\nMade by the contracts tests.", t.Name(), e.seq), calls...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// pass takes registry calls through governance in one proposal (the deployer proposes
// and votes for) and returns the proposal and the receipt of its execution.
func (e *env) pass(t *testing.T, calls ...contracts.RegistryCall) (contracts.Proposal, *types.Receipt) {
	t.Helper()
	p := e.proposal(t, calls...)
	e.queueAll(t, p)
	e.waitTimelock(t)
	return p, e.mined(t)(e.dao.Execute(e.opts(deployer), p))
}

// queueAll takes proposals through one round of governance together: proposed in one
// block, voted for by the deployer, queued. Passing the timelock delay (waitTimelock) and
// executing are left to the test.
func (e *env) queueAll(t *testing.T, ps ...contracts.Proposal) {
	t.Helper()
	b := e.batch()
	for _, p := range ps {
		b.add(t)(e.dao.DAO.Propose(b.opts(t, deployer), p))
	}
	b.mine(t)
	e.chain.Mine(int(e.dao.Config.VotingDelay) + 1)
	b = e.batch()
	for _, p := range ps {
		b.add(t)(e.dao.Governor.CastVote(b.opts(t, deployer), p.ID(), uint8(modeldao.SupportFor)))
	}
	b.mine(t)
	e.dao.EndVoting()
	b = e.batch()
	for _, p := range ps {
		b.add(t)(e.dao.Queue(b.opts(t, deployer), p))
	}
	b.mine(t)
}

// waitTimelock mines a block past the timelock delay.
func (e *env) waitTimelock(t *testing.T) {
	t.Helper()
	if err := e.chain.AdvanceTime(time.Duration(e.dao.Config.TimelockDelay+1) * time.Second); err != nil {
		t.Fatal(err)
	}
}

// executeCall eth_calls Governor.execute of p: the revert of a registry call inside it
// comes back as it is (Governor, TimelockController and Address bubble it up).
func (e *env) executeCall(t *testing.T, p contracts.Proposal) error {
	t.Helper()
	return e.call(e.addr(outsider), e.governor(),
		pack(t, contracts.GovernorABI, "execute", p.Targets, p.Values, p.Calldatas, p.DescriptionHash()))
}

func (e *env) state(t *testing.T, p contracts.Proposal) modeldao.ProposalState {
	t.Helper()
	s, err := e.dao.Governor.State(e.callOpts(), p.ID())
	if err != nil {
		t.Fatal(err)
	}
	return modeldao.ProposalState(s)
}

func (e *env) wantState(t *testing.T, p contracts.Proposal, want modeldao.ProposalState) {
	t.Helper()
	if got := e.state(t, p); got != want {
		t.Fatalf("proposal state at block %d = %v, want %v", e.head(t), got, want)
	}
}

// event returns the first log of r that parse accepts (a binding's Parse<Event>).
func event[T any](t *testing.T, r *types.Receipt, parse func(types.Log) (*T, error)) *T {
	t.Helper()
	for _, l := range r.Logs {
		if ev, err := parse(*l); err == nil {
			return ev
		}
	}
	t.Fatalf("transaction %s emitted no %T", r.TxHash, new(T))
	return nil
}

// value fails the test on err and returns v: value(t)(e.dao.Token.GetVotes(opts, a)).
func value[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// wantTokens fails unless got is n whole tokens.
func wantTokens(t *testing.T, what string, got *big.Int, n int64) {
	t.Helper()
	if want := devchain.Tokens(n); got.Cmp(want) != 0 {
		t.Fatalf("%s = %s, want %s (%d tokens)", what, got, want, n)
	}
}

func (e *env) votes(t *testing.T, i int) *big.Int {
	t.Helper()
	return value[*big.Int](t)(e.dao.Token.GetVotes(e.callOpts(), e.addr(i)))
}

// mintAndDelegate mints n tokens to account i, which then delegates to itself.
func (e *env) mintAndDelegate(t *testing.T, i int, n int64) {
	t.Helper()
	e.mined(t)(e.dao.Token.Mint(e.tokenOpts(deployer), e.addr(i), devchain.Tokens(n)))
	e.mined(t)(e.dao.Token.Delegate(e.tokenOpts(i), e.addr(i)))
}

// abiEncode is Solidity's abi.encode of values of the given types.
func abiEncode(t *testing.T, types []string, values ...any) []byte {
	t.Helper()
	var args abi.Arguments
	for _, name := range types {
		ty, err := abi.NewType(name, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, abi.Argument{Type: ty})
	}
	enc, err := args.Pack(values...)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}
