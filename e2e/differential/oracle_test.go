package differential

import (
	"context"
	"math/big"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
)

// prov is where a fact comes from, read from a log the bindings decoded.
type prov struct {
	block uint64
	hash  common.Hash
	time  uint64
	tx    common.Hash
	index uint
}

// before orders provenances by block and log index.
func (p prov) key() []*big.Int {
	return []*big.Int{new(big.Int).SetUint64(p.block), new(big.Int).SetUint64(uint64(p.index))}
}

// oracle is what the contracts say at one block: their views called at that block and
// their events up to it, decoded by the generated bindings.
type oracle struct {
	at    uint64
	call  *bind.CallOpts
	filt  *bind.FilterOpts
	dao   *contracts.DAO
	dep   contracts.Deployment
	rpc   *ethclient.Client
	times map[uint64]uint64

	proposals []*oProposal // in order of creation
	byID      map[string]*oProposal
	opToProp  map[common.Hash]*oProposal
	votes     []*oVote // in chain order
	accounts  map[common.Address]*oAccount
	addrs     []common.Address // every account the chain mentions, sorted

	versions []*oVersion // index i is version i+1
	models   []*oModel   // in order of registration
	audits   []*oAudit   // index i is audit i+1
	policies []*oPolicy  // index i is policy i+1
	auditors []*oAuditor // in order of first registration
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("chain: %v", err)
		}
		return v
	}
}

func iterDone(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("chain: reading logs: %v", err)
	}
}

// newOracle reads the chain at block at through the JSON-RPC client.
func newOracle(ctx context.Context, t *testing.T, rpc *ethclient.Client, dep contracts.Deployment, known []common.Address, at uint64) *oracle {
	t.Helper()
	dao := must[*contracts.DAO](t)(contracts.Bind(dep, rpc))
	end := at
	o := &oracle{
		at: at, call: &bind.CallOpts{Context: ctx, BlockNumber: new(big.Int).SetUint64(at)},
		filt: &bind.FilterOpts{Context: ctx, Start: dep.Block, End: &end},
		dao:  dao, dep: dep, rpc: rpc, times: map[uint64]uint64{},
		byID: map[string]*oProposal{}, opToProp: map[common.Hash]*oProposal{}, accounts: map[common.Address]*oAccount{},
	}
	for _, a := range known {
		o.account(a)
	}
	o.readProposals(t)
	o.readVotes(t)
	o.readAccounts(t)
	o.readHasVoted(t)
	o.readRegistry(t)
	return o
}

// prov returns the provenance of a log, with its block's timestamp from the header.
func (o *oracle) prov(t *testing.T, l types.Log) prov {
	t.Helper()
	ts, ok := o.times[l.BlockNumber]
	if !ok {
		h := must[*types.Header](t)(o.rpc.HeaderByNumber(o.call.Context, new(big.Int).SetUint64(l.BlockNumber)))
		if h.Hash() != l.BlockHash {
			t.Fatalf("log of block %d names hash %s, header has %s", l.BlockNumber, l.BlockHash, h.Hash())
		}
		ts = h.Time
		o.times[l.BlockNumber] = ts
	}
	return prov{block: l.BlockNumber, hash: l.BlockHash, time: ts, tx: l.TxHash, index: l.Index}
}

func (o *oracle) account(a common.Address) *oAccount {
	if a == (common.Address{}) {
		return nil
	}
	acc := o.accounts[a]
	if acc == nil {
		acc = &oAccount{addr: a}
		o.accounts[a] = acc
	}
	return acc
}

// oAccount is an account as the token sees it.
type oAccount struct {
	addr           common.Address
	balance, votes *big.Int
	delegate       common.Address
	delegators     []common.Address
	delegations    []oDelegation // oldest first
	votesCast      []*oVote      // oldest first
	checkpoints    uint32
}

type oDelegation struct {
	delegator, from, to common.Address
	prov                prov
}

func (o *oracle) readAccounts(t *testing.T) {
	tok := o.dao.Token
	tr := must[*bindings.TokenTransferIterator](t)(tok.FilterTransfer(o.filt, nil, nil))
	for tr.Next() {
		o.account(tr.Event.From)
		o.account(tr.Event.To)
	}
	iterDone(t, tr.Error())
	dc := must[*bindings.TokenDelegateChangedIterator](t)(tok.FilterDelegateChanged(o.filt, nil, nil, nil))
	for dc.Next() {
		e := dc.Event
		d := oDelegation{delegator: e.Delegator, from: e.FromDelegate, to: e.ToDelegate, prov: o.prov(t, e.Raw)}
		o.account(e.Delegator).delegations = append(o.account(e.Delegator).delegations, d)
		o.account(e.FromDelegate)
		o.account(e.ToDelegate)
	}
	iterDone(t, dc.Error())
	for _, v := range o.votes {
		o.account(v.voter).votesCast = append(o.account(v.voter).votesCast, v)
	}
	for _, p := range o.proposals {
		o.account(p.proposer)
	}
	for a, acc := range o.accounts {
		o.addrs = append(o.addrs, a)
		acc.balance = must[*big.Int](t)(tok.BalanceOf(o.call, a))
		acc.votes = must[*big.Int](t)(tok.GetVotes(o.call, a))
		acc.delegate = must[common.Address](t)(tok.Delegates(o.call, a))
		acc.checkpoints = must[uint32](t)(tok.NumCheckpoints(o.call, a))
	}
	slices.SortFunc(o.addrs, func(a, b common.Address) int { return a.Cmp(b) })
	for _, a := range o.addrs {
		if d := o.accounts[a].delegate; d != (common.Address{}) {
			o.account(d).delegators = append(o.account(d).delegators, a)
		}
	}
	// Cross-check of the chain with itself: the votes an account holds are the balances
	// of its delegators, and it has checkpoints once it ever held votes.
	for _, a := range o.addrs {
		acc, sum := o.accounts[a], new(big.Int)
		for _, d := range acc.delegators {
			sum.Add(sum, o.accounts[d].balance)
		}
		if sum.Cmp(acc.votes) != 0 {
			t.Fatalf("chain: getVotes(%s) = %s but its delegators hold %s", a, acc.votes, sum)
		}
		if acc.votes.Sign() > 0 && acc.checkpoints == 0 {
			t.Fatalf("chain: %s has votes and no checkpoint", a)
		}
	}
}

// lastDelegation is the provenance of the delegator's latest change of delegate.
func (o *oracle) lastDelegation(a common.Address) prov {
	ds := o.accounts[a].delegations
	return ds[len(ds)-1].prov
}
