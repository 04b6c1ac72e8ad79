package contracts_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
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

// The whole lifecycle of a model version through governance.
func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	tok, gov, reg := e.dao.Token, e.dao.Governor, e.dao.Registry

	// Mint: minted tokens carry no votes until delegated.
	e.mined(t)(tok.Mint(e.tokenOpts(deployer), e.addr(newcomer), devchain.Tokens(500)))
	wantTokens(t, "newcomer's balance", value[*big.Int](t)(tok.BalanceOf(e.callOpts(), e.addr(newcomer))), 500)
	wantTokens(t, "newcomer's votes before delegating", e.votes(t, newcomer), 0)
	e.mined(t)(tok.Delegate(e.tokenOpts(newcomer), e.addr(newcomer)))
	wantTokens(t, "newcomer's votes after delegating", e.votes(t, newcomer), 500)

	// A publisher submits a version.
	s := submission(modelName, "1.0.0")
	v1, r := e.submit(t, publisher, s)
	if v1 != 1 {
		t.Fatalf("first version id = %d, want 1", v1)
	}
	modelID := crypto.Keccak256Hash([]byte(modelName))
	registered := event(t, r, reg.ParseModelRegistered)
	if registered.ModelId != modelID || registered.Name != modelName || registered.Owner != e.addr(publisher) {
		t.Fatalf("ModelRegistered = %+v", registered)
	}
	submitted := event(t, r, reg.ParseVersionSubmitted)
	if submitted.VersionId.Uint64() != v1 || submitted.ModelId != modelID || submitted.Publisher != e.addr(publisher) ||
		submitted.ModelName != s.ModelName || submitted.VersionLabel != s.Label || submitted.WeightsCID != s.WeightsCID ||
		submitted.WeightsSha256 != s.WeightsSHA256 || submitted.ModelCardCID != s.ModelCardCID || submitted.License != s.License ||
		strings.Join(submitted.Tags, ",") != strings.Join(s.Tags, ",") {
		t.Fatalf("VersionSubmitted = %+v, want the submission %+v", submitted, s)
	}
	e.wantStatus(t, v1, modeldao.VersionSubmitted)
	if owner := value[common.Address](t)(reg.ModelOwner(e.callOpts(), modelID)); owner != e.addr(publisher) {
		t.Fatalf("modelOwner = %s, want the publisher", owner)
	}
	key := crypto.Keccak256Hash(abiEncode(t, []string{"bytes32", "string"}, modelID, s.Label))
	if id := value[*big.Int](t)(reg.VersionIdOf(e.callOpts(), key)); id.Uint64() != v1 {
		t.Fatalf("versionIdOf(keccak(abi.encode(modelId, label))) = %s, want %d", id, v1)
	}

	// Governance registers an auditor and adopts a policy, in one proposal.
	policy := fairLending()
	_, r = e.pass(t, contracts.AddAuditor(e.addr(auditor), "Fair Audits Ltd"), contracts.AdoptPolicy(policy))
	if ev := event(t, r, reg.ParseAuditorAdded); ev.Auditor != e.addr(auditor) || ev.Name != "Fair Audits Ltd" {
		t.Fatalf("AuditorAdded = %+v", ev)
	}
	adopted := event(t, r, reg.ParsePolicyAdopted)
	if adopted.PolicyId.Uint64() != 1 || adopted.Name != string(policy.Name) || adopted.Version != string(policy.Version) ||
		adopted.DocumentCID != string(policy.DocumentCID) || !adopted.AuditRequired || fmt.Sprint(adopted.Bounds) != fmt.Sprint(chainBounds(policy.Bounds)) {
		t.Fatalf("PolicyAdopted = %+v", adopted)
	}
	if !value[bool](t)(reg.IsAuditor(e.callOpts(), e.addr(auditor))) {
		t.Fatal("the auditor is not registered")
	}
	if got := value[bindings.ModelRegistryPolicy](t)(reg.GetPolicy(e.callOpts(), big.NewInt(1))); !got.Active || !got.AuditRequired ||
		got.Name != string(policy.Name) || fmt.Sprint(got.Bounds) != fmt.Sprint(chainBounds(policy.Bounds)) {
		t.Fatalf("getPolicy(1) = %+v", got)
	}

	// The auditor posts a passing audit.
	metrics := passingMetrics()
	a1, r := e.audit(t, auditor, v1, 1, metrics, true)
	audited := event(t, r, reg.ParseAuditSubmitted)
	if audited.AuditId.Uint64() != a1 || audited.VersionId.Uint64() != v1 || audited.PolicyId.Uint64() != 1 ||
		audited.Auditor != e.addr(auditor) || audited.ReportCID != cidReport || audited.ReportSha256 == ([32]byte{}) ||
		!audited.Passed || fmt.Sprint(audited.Metrics) != fmt.Sprint(chainMetrics(metrics)) {
		t.Fatalf("AuditSubmitted = %+v", audited)
	}
	if got := value[bindings.ModelRegistryAudit](t)(reg.GetAudit(e.callOpts(), big.NewInt(int64(a1)))); got.VersionId != v1 || got.PolicyId != 1 ||
		!got.Passed || fmt.Sprint(got.Metrics) != fmt.Sprint(chainMetrics(metrics)) {
		t.Fatalf("getAudit = %+v", got)
	}

	// The approval, step by step.
	p := e.proposal(t, contracts.ApproveVersion(v1, 1, a1))
	r = e.mined(t)(e.dao.DAO.Propose(e.opts(deployer), p))
	created := event(t, r, gov.ParseProposalCreated)
	snapshot, deadline := r.BlockNumber.Uint64()+e.dao.Config.VotingDelay, r.BlockNumber.Uint64()+e.dao.Config.VotingDelay+uint64(e.dao.Config.VotingPeriod)
	if created.ProposalId.Cmp(p.ID()) != 0 || created.Proposer != e.addr(deployer) || created.VoteStart.Uint64() != snapshot ||
		created.VoteEnd.Uint64() != deadline || created.Description != p.Description {
		t.Fatalf("ProposalCreated = %+v, want id %s, snapshot %d, deadline %d", created, p.ID(), snapshot, deadline)
	}
	e.wantState(t, p, modeldao.ProposalPending)
	castVote := func(voter int, support uint8) error {
		return e.call(e.addr(voter), e.governor(), pack(t, contracts.GovernorABI, "castVote", p.ID(), support))
	}
	expectRevert(t, castVote(holderB, 1), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalPending))
	e.chain.Mine(1) // the head is the snapshot: still pending
	e.wantState(t, p, modeldao.ProposalPending)
	e.chain.Mine(1)
	e.wantState(t, p, modeldao.ProposalActive)

	ballots := []struct {
		voter   int
		support modeldao.VoteSupport
		reason  string
		weight  int64
	}{
		{deployer, modeldao.SupportFor, "The audit meets the fair-lending bounds.", 1000},
		{holderB, modeldao.SupportAgainst, "The disparate impact ratio is too close to the limit.", 1000},
		{holderC, modeldao.SupportAbstain, "Conflict of interest: I trained this model.", 1000},
		{newcomer, modeldao.SupportFor, "", 500},
	}
	for _, b := range ballots {
		r := e.mined(t)(gov.CastVoteWithReason(e.opts(b.voter), p.ID(), uint8(b.support), b.reason))
		ev := event(t, r, gov.ParseVoteCast)
		if ev.Voter != e.addr(b.voter) || ev.ProposalId.Cmp(p.ID()) != 0 || ev.Support != uint8(b.support) ||
			ev.Weight.Cmp(devchain.Tokens(b.weight)) != 0 || ev.Reason != b.reason {
			t.Fatalf("VoteCast = %+v, want %+v", ev, b)
		}
	}
	if !value[bool](t)(gov.HasVoted(e.callOpts(), p.ID(), e.addr(holderB))) || value[bool](t)(gov.HasVoted(e.callOpts(), p.ID(), e.addr(outsider))) {
		t.Fatal("hasVoted is wrong")
	}
	expectRevert(t, castVote(holderB, 1), "GovernorAlreadyCastVote", e.addr(holderB))
	expectRevert(t, castVote(outsider, 3), "GovernorInvalidVoteType")
	tally := value[struct{ AgainstVotes, ForVotes, AbstainVotes *big.Int }](t)(gov.ProposalVotes(e.callOpts(), p.ID()))
	wantTokens(t, "for votes", tally.ForVotes, 1500)
	wantTokens(t, "against votes", tally.AgainstVotes, 1000)
	wantTokens(t, "abstain votes", tally.AbstainVotes, 1000)
	e.wantState(t, p, modeldao.ProposalActive)
	queueCall := pack(t, contracts.GovernorABI, "queue", p.Targets, p.Values, p.Calldatas, p.DescriptionHash())
	expectRevert(t, e.call(e.addr(deployer), e.governor(), queueCall), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalActive))

	e.dao.EndVoting()
	e.wantState(t, p, modeldao.ProposalSucceeded)
	expectRevert(t, castVote(outsider, 1), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalSucceeded))
	// A succeeded proposal cannot skip the timelock.
	expectRevert(t, e.executeCall(t, p), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalSucceeded))

	// Anyone may queue a succeeded proposal.
	r = e.mined(t)(e.dao.Queue(e.opts(outsider), p))
	queued := event(t, r, gov.ParseProposalQueued)
	block := value[*types.Header](t)(e.chain.Client.HeaderByNumber(e.ctx, r.BlockNumber))
	if queued.EtaSeconds.Uint64() != block.Time+e.dao.Config.TimelockDelay {
		t.Fatalf("eta = %s, want block time %d + %d", queued.EtaSeconds, block.Time, e.dao.Config.TimelockDelay)
	}
	e.wantState(t, p, modeldao.ProposalQueued)
	expectRevert(t, e.executeCall(t, p), "TimelockUnexpectedOperationState")
	e.waitTimelock(t)
	e.wantState(t, p, modeldao.ProposalQueued)

	// Anyone may execute it once the delay has passed.
	r = e.mined(t)(e.dao.Execute(e.opts(outsider), p))
	e.wantState(t, p, modeldao.ProposalExecuted)
	if ev := event(t, r, reg.ParseVersionApproved); ev.VersionId.Uint64() != v1 || ev.PolicyId.Uint64() != 1 || ev.AuditId.Uint64() != a1 {
		t.Fatalf("VersionApproved = %+v", ev)
	}
	e.wantStatus(t, v1, modeldao.VersionApproved)
	if got := e.version(t, v1); got.PolicyId != 1 || got.AuditId != a1 || got.Publisher != e.addr(publisher) ||
		got.ModelId != modelID || got.WeightsCID != s.WeightsCID || got.WeightsSha256 != s.WeightsSHA256 {
		t.Fatalf("getVersion = %+v", got)
	}
	expectRevert(t, e.executeCall(t, p), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalExecuted))

	// A rejection.
	v2, _ := e.submit(t, publisher, submission(modelName, "1.1.0"))
	const rejectReason = "The weights file does not match the model card."
	_, r = e.pass(t, contracts.RejectVersion(v2, rejectReason))
	if ev := event(t, r, reg.ParseVersionRejected); ev.VersionId.Uint64() != v2 || ev.Reason != rejectReason {
		t.Fatalf("VersionRejected = %+v", ev)
	}
	e.wantStatus(t, v2, modeldao.VersionRejected)

	// A revocation of the approved version.
	const revokeReason = "Bias found in production."
	_, r = e.pass(t, contracts.RevokeVersion(v1, revokeReason))
	if ev := event(t, r, reg.ParseVersionRevoked); ev.VersionId.Uint64() != v1 || ev.Reason != revokeReason {
		t.Fatalf("VersionRevoked = %+v", ev)
	}
	e.wantStatus(t, v1, modeldao.VersionRevoked)
	if got := e.version(t, v1); got.PolicyId != 1 || got.AuditId != a1 {
		t.Fatalf("a revoked version keeps its approval's policy and audit: %+v", got)
	}
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

func TestProposalDefeated(t *testing.T) {
	e := newEnv(t)
	// The newcomer's 50 tokens are under the quorum: 4 % of 3050 is 122.
	e.mintAndDelegate(t, newcomer, 50)
	against := e.proposal(t, contracts.AddAuditor(e.addr(outsider), "against wins"))
	tie := e.proposal(t, contracts.AddAuditor(e.addr(outsider), "a tie"))
	noQuorum := e.proposal(t, contracts.AddAuditor(e.addr(outsider), "under quorum"))
	noVotes := e.proposal(t, contracts.AddAuditor(e.addr(outsider), "no votes"))
	abstainQuorum := e.proposal(t, contracts.AddAuditor(e.addr(outsider), "abstain makes the quorum"))
	all := []contracts.Proposal{against, tie, noQuorum, noVotes, abstainQuorum}
	b := e.batch()
	for _, p := range all {
		b.add(t)(e.dao.DAO.Propose(b.opts(t, deployer), p))
	}
	b.mine(t)
	e.chain.Mine(int(e.dao.Config.VotingDelay) + 1)
	b = e.batch()
	for _, v := range []struct {
		p       contracts.Proposal
		voter   int
		support modeldao.VoteSupport
	}{
		{against, deployer, modeldao.SupportFor}, {against, holderB, modeldao.SupportAgainst}, {against, holderC, modeldao.SupportAgainst},
		{tie, deployer, modeldao.SupportFor}, {tie, holderB, modeldao.SupportAgainst},
		{noQuorum, newcomer, modeldao.SupportFor},
		{abstainQuorum, newcomer, modeldao.SupportFor}, {abstainQuorum, holderC, modeldao.SupportAbstain},
	} {
		b.add(t)(e.dao.Governor.CastVote(b.opts(t, v.voter), v.p.ID(), uint8(v.support)))
	}
	b.mine(t)
	snapshot := value[*big.Int](t)(e.dao.Governor.ProposalSnapshot(e.callOpts(), noQuorum.ID()))
	wantTokens(t, "quorum", value[*big.Int](t)(e.dao.Governor.Quorum(e.callOpts(), snapshot)), 122)
	for _, p := range all {
		e.wantState(t, p, modeldao.ProposalActive)
	}
	e.dao.EndVoting()

	for name, p := range map[string]contracts.Proposal{"against wins": against, "tie": tie, "under quorum": noQuorum, "no votes": noVotes} {
		t.Run(name, func(t *testing.T) {
			e.wantState(t, p, modeldao.ProposalDefeated)
			queue := pack(t, contracts.GovernorABI, "queue", p.Targets, p.Values, p.Calldatas, p.DescriptionHash())
			expectRevert(t, e.call(e.addr(deployer), e.governor(), queue), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalDefeated))
			expectRevert(t, e.executeCall(t, p), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalDefeated))
		})
	}
	t.Run("abstain votes count toward the quorum", func(t *testing.T) {
		e.wantState(t, abstainQuorum, modeldao.ProposalSucceeded)
	})
}

func TestProposalCancel(t *testing.T) {
	e := newEnv(t)
	p := e.proposal(t, contracts.AddAuditor(e.addr(outsider), "cancelled"))
	e.mined(t)(e.dao.DAO.Propose(e.opts(deployer), p))
	e.wantState(t, p, modeldao.ProposalPending)
	cancel := pack(t, contracts.GovernorABI, "cancel0", p.Targets, p.Values, p.Calldatas, p.DescriptionHash())
	expectRevert(t, e.call(e.addr(holderB), e.governor(), cancel), "GovernorUnableToCancel", p.ID(), e.addr(holderB))

	r := e.mined(t)(e.dao.Cancel(e.opts(deployer), p))
	if ev := event(t, r, e.dao.Governor.ParseProposalCanceled); ev.ProposalId.Cmp(p.ID()) != 0 {
		t.Fatalf("ProposalCanceled = %+v", ev)
	}
	e.wantState(t, p, modeldao.ProposalCanceled)
	e.chain.Mine(int(e.dao.Config.VotingDelay) + 1)
	e.wantState(t, p, modeldao.ProposalCanceled)
	castVote := pack(t, contracts.GovernorABI, "castVote", p.ID(), uint8(modeldao.SupportFor))
	expectRevert(t, e.call(e.addr(deployer), e.governor(), castVote), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalCanceled))
	// The same calls and description make the same id: a cancelled proposal cannot come back.
	propose := pack(t, contracts.GovernorABI, "propose", p.Targets, p.Values, p.Calldatas, p.Description)
	expectRevert(t, e.call(e.addr(deployer), e.governor(), propose), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalCanceled))

	// Once voting has started, not even the proposer can cancel.
	active := e.proposal(t, contracts.AddAuditor(e.addr(outsider), "too late to cancel"))
	e.mined(t)(e.dao.DAO.Propose(e.opts(deployer), active))
	e.chain.Mine(int(e.dao.Config.VotingDelay) + 1)
	e.wantState(t, active, modeldao.ProposalActive)
	cancel = pack(t, contracts.GovernorABI, "cancel0", active.Targets, active.Values, active.Calldatas, active.DescriptionHash())
	expectRevert(t, e.call(e.addr(deployer), e.governor(), cancel), "GovernorUnableToCancel", active.ID(), e.addr(deployer))
}

// timelockOp returns the id and salt of the timelock operation of a proposal:
// GovernorTimelockControl schedules a batch with no predecessor and the salt
// bytes20(governor) ^ descriptionHash.
func timelockOp(t *testing.T, governor common.Address, p contracts.Proposal) (id, salt [32]byte) {
	t.Helper()
	salt = p.DescriptionHash()
	for i := range governor {
		salt[i] ^= governor[i]
	}
	enc := abiEncode(t, []string{"address[]", "uint256[]", "bytes[]", "bytes32", "bytes32"}, p.Targets, p.Values, p.Calldatas, [32]byte{}, salt)
	return crypto.Keccak256Hash(enc), salt
}

func TestTimelock(t *testing.T) {
	e := newEnv(t)
	tl := e.dao.Timelock
	role := func(name string) [32]byte { return crypto.Keccak256Hash([]byte(name)) }
	admin, proposer, canceller, executor := [32]byte{}, role("PROPOSER_ROLE"), role("CANCELLER_ROLE"), role("EXECUTOR_ROLE")

	t.Run("roles", func(t *testing.T) {
		for _, c := range []struct {
			name    string
			role    [32]byte
			account common.Address
			want    bool
		}{
			{"governor proposes", proposer, e.governor(), true},
			{"governor cancels", canceller, e.governor(), true},
			{"anyone executes", executor, common.Address{}, true},
			{"timelock administers itself", admin, e.timelock(), true},
			{"deployer is no admin", admin, e.addr(deployer), false},
			{"deployer does not propose", proposer, e.addr(deployer), false},
			{"deployer does not cancel", canceller, e.addr(deployer), false},
			{"governor is no admin", admin, e.governor(), false},
		} {
			if got := value[bool](t)(tl.HasRole(e.callOpts(), c.role, c.account)); got != c.want {
				t.Errorf("%s: hasRole = %v, want %v", c.name, got, c.want)
			}
		}
		if got := value[*big.Int](t)(tl.GetMinDelay(e.callOpts())); got.Uint64() != e.dao.Config.TimelockDelay {
			t.Errorf("min delay = %s", got)
		}
		if got := value[common.Address](t)(e.dao.Registry.Governance(e.callOpts())); got != e.timelock() {
			t.Errorf("registry governance = %s, want the timelock %s", got, e.timelock())
		}
		if got := value[common.Address](t)(e.dao.Governor.Timelock(e.callOpts())); got != e.timelock() {
			t.Errorf("governor timelock = %s", got)
		}
	})

	p := e.proposal(t, contracts.AddAuditor(e.addr(auditor), "executed by anyone"))
	id, salt := timelockOp(t, e.governor(), p)
	delay := new(big.Int).SetUint64(e.dao.Config.TimelockDelay)
	schedule := pack(t, contracts.TimelockABI, "scheduleBatch", p.Targets, p.Values, p.Calldatas, [32]byte{}, salt, delay)
	single := pack(t, contracts.TimelockABI, "schedule", p.Targets[0], p.Values[0], p.Calldatas[0], [32]byte{}, salt, delay)

	t.Run("no one but the governor schedules", func(t *testing.T) {
		if err := e.call(e.governor(), e.timelock(), schedule); err != nil {
			t.Fatalf("scheduleBatch from the governor: %v", err)
		}
		for _, who := range []int{deployer, holderB, outsider} {
			expectRevert(t, e.call(e.addr(who), e.timelock(), schedule), "AccessControlUnauthorizedAccount", e.addr(who), proposer)
			expectRevert(t, e.call(e.addr(who), e.timelock(), single), "AccessControlUnauthorizedAccount", e.addr(who), proposer)
		}
		expectRevert(t, e.call(e.registry(), e.timelock(), schedule), "AccessControlUnauthorizedAccount", e.registry(), proposer)
	})
	t.Run("the deployer renounced the admin role", func(t *testing.T) {
		grant := pack(t, contracts.TimelockABI, "grantRole", proposer, e.addr(deployer))
		expectRevert(t, e.call(e.addr(deployer), e.timelock(), grant), "AccessControlUnauthorizedAccount", e.addr(deployer), admin)
		updateDelay := pack(t, contracts.TimelockABI, "updateDelay", big.NewInt(0))
		expectRevert(t, e.call(e.addr(deployer), e.timelock(), updateDelay), "TimelockUnauthorizedCaller", e.addr(deployer))
	})

	e.queueAll(t, p)
	if got := value[[32]byte](t)(tl.HashOperationBatch(e.callOpts(), p.Targets, p.Values, p.Calldatas, [32]byte{}, salt)); got != id {
		t.Fatalf("hashOperationBatch = %x, want %x", got, id)
	}
	if !value[bool](t)(tl.IsOperationPending(e.callOpts(), id)) {
		t.Fatal("the queued proposal has no pending timelock operation")
	}
	execute := pack(t, contracts.TimelockABI, "executeBatch", p.Targets, p.Values, p.Calldatas, [32]byte{}, salt)

	t.Run("no one but the governor cancels", func(t *testing.T) {
		cancel := pack(t, contracts.TimelockABI, "cancel", id)
		for _, who := range []int{deployer, outsider} {
			expectRevert(t, e.call(e.addr(who), e.timelock(), cancel), "AccessControlUnauthorizedAccount", e.addr(who), canceller)
		}
	})
	t.Run("nothing executes before the delay", func(t *testing.T) {
		expectRevert(t, e.call(e.addr(outsider), e.timelock(), execute), "TimelockUnexpectedOperationState", id)
	})
	t.Run("anyone executes a ready operation", func(t *testing.T) {
		e.waitTimelock(t)
		if !value[bool](t)(tl.IsOperationReady(e.callOpts(), id)) {
			t.Fatal("operation not ready after the delay")
		}
		e.mined(t)(tl.ExecuteBatch(e.opts(outsider), p.Targets, p.Values, p.Calldatas, [32]byte{}, salt))
		if !value[bool](t)(e.dao.Registry.IsAuditor(e.callOpts(), e.addr(auditor))) {
			t.Fatal("the operation executed by an outsider did not register the auditor")
		}
		// The governor sees its operation done: the proposal is executed.
		e.wantState(t, p, modeldao.ProposalExecuted)
		expectRevert(t, e.executeCall(t, p), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalExecuted))
	})
}

func TestToken(t *testing.T) {
	e := newEnv(t)
	tok := e.dao.Token
	call := e.callOpts()

	t.Run("only the owner mints", func(t *testing.T) {
		mint := pack(t, contracts.TokenABI, "mint", e.addr(holderB), devchain.Tokens(1))
		expectRevert(t, e.call(e.addr(holderB), e.dao.Deployment.Token, mint), "OwnableUnauthorizedAccount", e.addr(holderB))
		expectRevert(t, e.call(e.timelock(), e.dao.Deployment.Token, mint), "OwnableUnauthorizedAccount", e.timelock())
		e.mined(t)(tok.Mint(e.tokenOpts(deployer), e.addr(newcomer), devchain.Tokens(500)))
		wantTokens(t, "total supply", value[*big.Int](t)(tok.TotalSupply(call)), 3500)
	})

	// Starting point: deployer, B and C 1000 each, self-delegated; the newcomer 500, not delegated.
	t.Run("voting power follows delegation and transfers", func(t *testing.T) {
		before := e.head(t)
		wantTokens(t, "newcomer's votes", e.votes(t, newcomer), 0)
		e.mined(t)(tok.Delegate(e.tokenOpts(newcomer), e.addr(newcomer)))
		wantTokens(t, "newcomer's votes after self-delegation", e.votes(t, newcomer), 500)
		e.mined(t)(tok.Transfer(e.tokenOpts(holderB), e.addr(holderC), devchain.Tokens(300)))
		wantTokens(t, "B's votes after sending 300 to C", e.votes(t, holderB), 700)
		wantTokens(t, "C's votes after receiving 300", e.votes(t, holderC), 1300)
		e.mined(t)(tok.Transfer(e.tokenOpts(holderB), e.addr(outsider), devchain.Tokens(200)))
		wantTokens(t, "B's votes after sending 200 to an undelegated account", e.votes(t, holderB), 500)
		wantTokens(t, "undelegated receiver's votes", e.votes(t, outsider), 0)
		e.mined(t)(tok.Delegate(e.tokenOpts(outsider), e.addr(holderC)))
		wantTokens(t, "C's votes after the outsider delegates to C", e.votes(t, holderC), 1500)
		e.mined(t)(tok.Delegate(e.tokenOpts(newcomer), e.addr(holderB)))
		wantTokens(t, "newcomer's votes after delegating away", e.votes(t, newcomer), 0)
		wantTokens(t, "B's votes with the newcomer's", e.votes(t, holderB), 1000)
		if got := value[common.Address](t)(tok.Delegates(call, e.addr(newcomer))); got != e.addr(holderB) {
			t.Fatalf("delegates(newcomer) = %s", got)
		}
		// Checkpoints keep the past: what a proposal's snapshot counts.
		past := new(big.Int).SetUint64(before)
		wantTokens(t, "C's past votes", value[*big.Int](t)(tok.GetPastVotes(call, e.addr(holderC), past)), 1000)
		wantTokens(t, "B's past votes via the governor", value[*big.Int](t)(e.dao.Governor.GetVotes(call, e.addr(holderB), past)), 1000)
		wantTokens(t, "past total supply", value[*big.Int](t)(tok.GetPastTotalSupply(call, past)), 3500)
	})

	t.Run("delegateBySig", func(t *testing.T) {
		// The newcomer (500 tokens, delegated to B) signs a delegation to C; the outsider relays it.
		nonce := value[*big.Int](t)(tok.Nonces(call, e.addr(newcomer)))
		expiry := big.NewInt(time.Now().Add(time.Hour).Unix())
		delegation := []apitypes.Type{{Name: "delegatee", Type: "address"}, {Name: "nonce", Type: "uint256"}, {Name: "expiry", Type: "uint256"}}
		sign := func(expiry *big.Int) (uint8, [32]byte, [32]byte) {
			return e.signTyped(t, newcomer, "Delegation", delegation, apitypes.TypedDataMessage{
				"delegatee": e.addr(holderC).Hex(), "nonce": nonce, "expiry": expiry,
			})
		}
		v, r, s := sign(expiry)
		e.mined(t)(tok.DelegateBySig(e.tokenOpts(outsider), e.addr(holderC), nonce, expiry, v, r, s))
		if got := value[common.Address](t)(tok.Delegates(call, e.addr(newcomer))); got != e.addr(holderC) {
			t.Fatalf("delegates(newcomer) = %s, want C", got)
		}
		wantTokens(t, "B's votes", e.votes(t, holderB), 500)
		wantTokens(t, "C's votes", e.votes(t, holderC), 2000)
		replay := pack(t, contracts.TokenABI, "delegateBySig", e.addr(holderC), nonce, expiry, v, r, s)
		expectRevert(t, e.call(e.addr(outsider), e.dao.Deployment.Token, replay), "InvalidAccountNonce", e.addr(newcomer), nonce.Int64()+1)
		past := big.NewInt(time.Now().Add(-time.Hour).Unix())
		v, r, s = sign(past)
		expired := pack(t, contracts.TokenABI, "delegateBySig", e.addr(holderC), nonce, past, v, r, s)
		expectRevert(t, e.call(e.addr(outsider), e.dao.Deployment.Token, expired), "VotesExpiredSignature", past)
	})

	t.Run("permit", func(t *testing.T) {
		// B (500 tokens) lets the outsider spend 100 by a signature the outsider submits.
		nonce := value[*big.Int](t)(tok.Nonces(call, e.addr(holderB)))
		amount, deadline := devchain.Tokens(100), big.NewInt(time.Now().Add(time.Hour).Unix())
		permit := []apitypes.Type{{Name: "owner", Type: "address"}, {Name: "spender", Type: "address"}, {Name: "value", Type: "uint256"},
			{Name: "nonce", Type: "uint256"}, {Name: "deadline", Type: "uint256"}}
		sign := func(signer int, deadline *big.Int) (uint8, [32]byte, [32]byte) {
			return e.signTyped(t, signer, "Permit", permit, apitypes.TypedDataMessage{
				"owner": e.addr(holderB).Hex(), "spender": e.addr(outsider).Hex(), "value": amount, "nonce": nonce, "deadline": deadline,
			})
		}
		permitCall := func(deadline *big.Int, v uint8, r, s [32]byte) []byte {
			return pack(t, contracts.TokenABI, "permit", e.addr(holderB), e.addr(outsider), amount, deadline, v, r, s)
		}
		v, r, s := sign(holderC, deadline)
		expectRevert(t, e.call(e.addr(outsider), e.dao.Deployment.Token, permitCall(deadline, v, r, s)), "ERC2612InvalidSigner", e.addr(holderC), e.addr(holderB))
		past := big.NewInt(time.Now().Add(-time.Hour).Unix())
		v, r, s = sign(holderB, past)
		expectRevert(t, e.call(e.addr(outsider), e.dao.Deployment.Token, permitCall(past, v, r, s)), "ERC2612ExpiredSignature", past)

		v, r, s = sign(holderB, deadline)
		e.mined(t)(tok.Permit(e.opts(outsider), e.addr(holderB), e.addr(outsider), amount, deadline, v, r, s))
		if got := value[*big.Int](t)(tok.Allowance(call, e.addr(holderB), e.addr(outsider))); got.Cmp(amount) != 0 {
			t.Fatalf("allowance = %s, want %s", got, amount)
		}
		expectRevert(t, e.call(e.addr(outsider), e.dao.Deployment.Token, permitCall(deadline, v, r, s)), "ERC2612InvalidSigner")
		e.mined(t)(tok.TransferFrom(e.tokenOpts(outsider), e.addr(holderB), e.addr(outsider), amount))
		wantTokens(t, "B's votes after the permitted transfer", e.votes(t, holderB), 400)
		wantTokens(t, "C's votes (the outsider delegates to C)", e.votes(t, holderC), 2100)
	})
}

// signTyped signs EIP-712 data of the token's domain, as a wallet's eth_signTypedData_v4 does.
func (e *env) signTyped(t *testing.T, signer int, primary string, fields []apitypes.Type, msg apitypes.TypedDataMessage) (v uint8, r, s [32]byte) {
	t.Helper()
	td := apitypes.TypedData{
		Types: apitypes.Types{
			"EIP712Domain": {{Name: "name", Type: "string"}, {Name: "version", Type: "string"}, {Name: "chainId", Type: "uint256"},
				{Name: "verifyingContract", Type: "address"}},
			primary: fields,
		},
		PrimaryType: primary,
		Domain: apitypes.TypedDataDomain{Name: e.dao.Config.TokenName, Version: "1", ChainId: math.NewHexOrDecimal256(devchain.ChainID),
			VerifyingContract: e.dao.Deployment.Token.Hex()},
		Message: msg,
	}
	domain, err := td.HashStruct("EIP712Domain", td.Domain.Map())
	if err != nil {
		t.Fatal(err)
	}
	if onChain := value[[32]byte](t)(e.dao.Token.DOMAINSEPARATOR(e.callOpts())); !bytes.Equal(domain, onChain[:]) {
		t.Fatalf("EIP-712 domain separator %x differs from the token's %x", domain, onChain)
	}
	digest, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := crypto.Sign(digest, e.chain.Accounts[signer].Key)
	if err != nil {
		t.Fatal(err)
	}
	copy(r[:], sig[:32])
	copy(s[:], sig[32:64])
	return sig[64] + 27, r, s
}

// indexParams builds the ProposalParams of every proposal from the chain's logs alone, as
// the indexer does (the quorum excepted, read with Governor.quorum once the snapshot is
// past).
func (e *env) indexParams(t *testing.T, head uint64) map[string]*modeldao.ProposalParams {
	t.Helper()
	opts := &bind.FilterOpts{Start: e.dao.Deployment.Block, End: &head, Context: e.ctx}
	gov := e.dao.Governor
	params := map[string]*modeldao.ProposalParams{}
	byOp := map[[32]byte]*modeldao.ProposalParams{}
	get := func(id *big.Int) *modeldao.ProposalParams {
		p, ok := params[id.String()]
		if !ok {
			t.Fatalf("event of unknown proposal %s", id)
		}
		return p
	}
	created := value[*bindings.GovernorProposalCreatedIterator](t)(gov.FilterProposalCreated(opts))
	for created.Next() {
		ev := created.Event
		p := &modeldao.ProposalParams{Snapshot: ev.VoteStart.Uint64(), Deadline: ev.VoteEnd.Uint64(),
			Tally: modeldao.Tally{For: new(big.Int), Against: new(big.Int), Abstain: new(big.Int)}}
		params[ev.ProposalId.String()] = p
		op, _ := timelockOp(t, e.governor(), contracts.Proposal{Targets: ev.Targets, Values: ev.Values, Calldatas: ev.Calldatas, Description: ev.Description})
		byOp[op] = p
		if p.Snapshot < head {
			p.Quorum = value[*big.Int](t)(gov.Quorum(e.callOpts(), ev.VoteStart))
		}
	}
	votes := value[*bindings.GovernorVoteCastIterator](t)(gov.FilterVoteCast(opts, nil))
	for votes.Next() {
		ev, tally := votes.Event, &get(votes.Event.ProposalId).Tally
		switch modeldao.VoteSupport(ev.Support) {
		case modeldao.SupportFor:
			tally.For.Add(tally.For, ev.Weight)
		case modeldao.SupportAgainst:
			tally.Against.Add(tally.Against, ev.Weight)
		case modeldao.SupportAbstain:
			tally.Abstain.Add(tally.Abstain, ev.Weight)
		}
	}
	queued := value[*bindings.GovernorProposalQueuedIterator](t)(gov.FilterProposalQueued(opts))
	for queued.Next() {
		get(queued.Event.ProposalId).Queued = true
	}
	executed := value[*bindings.GovernorProposalExecutedIterator](t)(gov.FilterProposalExecuted(opts))
	for executed.Next() {
		get(executed.Event.ProposalId).Executed = true
	}
	canceled := value[*bindings.GovernorProposalCanceledIterator](t)(gov.FilterProposalCanceled(opts))
	for canceled.Next() {
		get(canceled.Event.ProposalId).Canceled = true
	}
	done := value[*bindings.TimelockCallExecutedIterator](t)(e.dao.Timelock.FilterCallExecuted(opts, nil, nil))
	for done.Next() {
		if p := byOp[done.Event.Id]; p != nil {
			p.OpDone = true
		}
	}
	cancelled := value[*bindings.TimelockCancelledIterator](t)(e.dao.Timelock.FilterCancelled(opts, nil))
	for cancelled.Next() {
		if p := byOp[cancelled.Event.Id]; p != nil {
			p.OpCanceled = true
		}
	}
	return params
}

// StateAt, fed with what the indexer sees in the logs, must agree with Governor.state() for
// proposals in every state, at every block of their lives.
func TestStateAtMatchesGovernor(t *testing.T) {
	e := newEnv(t)
	e.mintAndDelegate(t, newcomer, 50) // under the quorum on its own
	names := []string{"executed", "executed via the timelock", "queued", "succeeded", "against wins", "tie", "under quorum",
		"abstain makes the quorum", "canceled", "no votes"}
	ps := map[string]contracts.Proposal{}
	b := e.batch()
	for _, name := range names {
		ps[name] = e.proposal(t, contracts.AddAuditor(common.BytesToAddress(crypto.Keccak256([]byte(name))), name))
		b.add(t)(e.dao.DAO.Propose(b.opts(t, deployer), ps[name]))
	}
	seen := map[modeldao.ProposalState]bool{}
	check := func(step string) {
		t.Helper()
		head := e.head(t)
		params := e.indexParams(t, head)
		for name, p := range ps {
			want := e.state(t, p)
			got := params[p.ID().String()].StateAt(head)
			if got != want {
				t.Fatalf("%s, block %d, proposal %q: StateAt = %v, Governor.state = %v (params %+v)", step, head, name, got, want, *params[p.ID().String()])
			}
			seen[want] = true
		}
	}
	b.mine(t)
	check("proposed")
	e.mined(t)(e.dao.Cancel(e.opts(deployer), ps["canceled"]))
	check("canceled")
	e.chain.Mine(1)
	check("voting started")

	b = e.batch()
	for _, v := range []struct {
		name    string
		voter   int
		support modeldao.VoteSupport
	}{
		{"executed", deployer, modeldao.SupportFor}, {"executed via the timelock", deployer, modeldao.SupportFor},
		{"queued", deployer, modeldao.SupportFor}, {"succeeded", holderB, modeldao.SupportFor},
		{"against wins", deployer, modeldao.SupportFor}, {"against wins", holderB, modeldao.SupportAgainst}, {"against wins", holderC, modeldao.SupportAgainst},
		{"tie", deployer, modeldao.SupportFor}, {"tie", holderB, modeldao.SupportAgainst},
		{"under quorum", newcomer, modeldao.SupportFor},
		{"abstain makes the quorum", newcomer, modeldao.SupportFor}, {"abstain makes the quorum", holderC, modeldao.SupportAbstain},
	} {
		b.add(t)(e.dao.Governor.CastVote(b.opts(t, v.voter), ps[v.name].ID(), uint8(v.support)))
	}
	b.mine(t)
	deadline := value[*big.Int](t)(e.dao.Governor.ProposalDeadline(e.callOpts(), ps["executed"].ID())).Uint64()
	for e.head(t) <= deadline+1 {
		check("voting")
		e.chain.Mine(1)
	}
	check("voting over")

	b = e.batch()
	for _, name := range []string{"executed", "executed via the timelock", "queued"} {
		b.add(t)(e.dao.Queue(b.opts(t, deployer), ps[name]))
	}
	b.mine(t)
	check("queued")
	e.waitTimelock(t)
	check("timelock delay over")
	e.mined(t)(e.dao.Execute(e.opts(outsider), ps["executed"]))
	check("executed by the governor")
	p := ps["executed via the timelock"]
	_, salt := timelockOp(t, e.governor(), p)
	e.mined(t)(e.dao.Timelock.ExecuteBatch(e.opts(outsider), p.Targets, p.Values, p.Calldatas, [32]byte{}, salt))
	check("executed through the timelock directly")

	late := e.proposal(t, contracts.AddAuditor(e.addr(outsider), "late"))
	ps["late"] = late
	e.mined(t)(e.dao.DAO.Propose(e.opts(deployer), late))
	for range e.dao.Config.VotingDelay + 2 {
		check("late proposal")
		e.chain.Mine(1)
	}
	check("late proposal active")

	for _, s := range []modeldao.ProposalState{modeldao.ProposalPending, modeldao.ProposalActive, modeldao.ProposalCanceled,
		modeldao.ProposalDefeated, modeldao.ProposalSucceeded, modeldao.ProposalQueued, modeldao.ProposalExecuted} {
		if !seen[s] {
			t.Errorf("no proposal was ever %v: the comparison misses that state", s)
		}
	}
}
