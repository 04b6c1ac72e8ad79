package devchain

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
)

// Node is what the DAO helpers (and internal/scenario) need of a chain: a client, funded
// accounts, mining and time. This package's Chain and infra/anvil's Node satisfy it, so the
// same histories run on go-ethereum's simulated backend and on anvil.
type Node interface {
	// Eth is the client that contract bindings and contracts.Deploy use.
	Eth() contracts.Backend
	// Keys are the funded accounts' keys; Opts(i) signs with Keys()[i].
	Keys() []*ecdsa.PrivateKey
	Opts(i int) *bind.TransactOpts
	// Receipt returns a sent transaction's receipt once mined (mining a block when the node
	// does not mine by itself), failing unless it succeeded or when no block includes it.
	Receipt(ctx context.Context, tx *types.Transaction) (*types.Receipt, error)
	// MineBlocks mines n blocks.
	MineBlocks(ctx context.Context, n int) error
	// IncreaseTime mines pending transactions, then a block whose timestamp is d later.
	IncreaseTime(ctx context.Context, d time.Duration) error
}

var _ Node = (*Chain)(nil)

// DAO is a deployed DAO on a Node, with helpers that drive proposals through their whole
// lifecycle by mining blocks and moving time as a real chain would.
type DAO struct {
	*contracts.DAO
	Chain  Node
	Config contracts.Config
}

// Deploy deploys the contracts from account 0 with cfg and mints each of the first
// `holders` accounts 1000 tokens, each delegating to itself.
func (c *Chain) Deploy(ctx context.Context, cfg contracts.Config, holders int) (*DAO, error) {
	return DeployOn(ctx, c, cfg, holders)
}

// DeployOn deploys on any node as Chain.Deploy does.
func DeployOn(ctx context.Context, n Node, cfg contracts.Config, holders int) (*DAO, error) {
	keys := n.Keys()
	if holders > len(keys) {
		return nil, fmt.Errorf("deploy: %d holders but the node has %d accounts", holders, len(keys))
	}
	for i := range holders {
		cfg.Mint = append(cfg.Mint, contracts.Allocation{To: crypto.PubkeyToAddress(keys[i].PublicKey), Amount: Tokens(1000)})
	}
	var mineErr error
	mine := func() {
		if err := n.MineBlocks(ctx, 1); err != nil && mineErr == nil {
			mineErr = err
		}
	}
	dep, err := deployOnDemand(ctx, n, func() (*contracts.Deployment, error) {
		return contracts.Deploy(ctx, n.Eth(), n.Opts(0), cfg, mine)
	})
	if err != nil {
		if mineErr != nil {
			return nil, fmt.Errorf("%w (mining: %v)", err, mineErr)
		}
		return nil, err
	}
	bound, err := contracts.Bind(*dep, n.Eth())
	if err != nil {
		return nil, err
	}
	d := &DAO{DAO: bound, Chain: n, Config: cfg}
	for i := range holders {
		if _, err := d.Mined(ctx)(d.Token.Delegate(n.Opts(i), crypto.PubkeyToAddress(keys[i].PublicKey))); err != nil {
			return nil, fmt.Errorf("self-delegate account %d: %w", i, err)
		}
	}
	return d, nil
}

// autominer is a node that can mine every transaction as it arrives (anvil).
type autominer interface {
	Automine(ctx context.Context) (bool, error)
	SetAutomine(ctx context.Context, on bool) error
}

// deployOnDemand runs deploy with an automining node switched to mining on demand.
// contracts.Deploy sends several transactions before it mines: an automining node mines them
// one per block, each after its gas was estimated against a pending block that still held
// the ones before it, so a mint estimated as updating that block's supply checkpoint runs in
// the next block, writes a new checkpoint and runs out of gas (seen on a loaded machine).
// Mined on demand, they share the block they were estimated in.
func deployOnDemand(ctx context.Context, n Node, deploy func() (*contracts.Deployment, error)) (*contracts.Deployment, error) {
	m, ok := n.(autominer)
	if !ok {
		return deploy()
	}
	on, err := m.Automine(ctx)
	if err != nil || !on {
		return deploy()
	}
	if err := m.SetAutomine(ctx, false); err != nil {
		return nil, err
	}
	dep, err := deploy()
	if rerr := m.SetAutomine(ctx, true); err == nil && rerr != nil {
		return nil, rerr
	}
	return dep, err
}

// Tokens returns n whole tokens in base units (18 decimals).
func Tokens(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }

// Mined returns a function that mines the transaction of a binding call and fails unless
// it succeeded: d.Mined(ctx)(d.Token.Delegate(opts, to)).
func (d *DAO) Mined(ctx context.Context) func(*types.Transaction, error) (*types.Receipt, error) {
	return func(tx *types.Transaction, err error) (*types.Receipt, error) {
		if err != nil {
			return nil, err
		}
		return d.Chain.Receipt(ctx, tx)
	}
}

// Propose sends p from account `proposer` and mines until voting is open.
func (d *DAO) Propose(ctx context.Context, proposer int, p contracts.Proposal) error {
	if _, err := d.Mined(ctx)(d.DAO.Propose(d.Chain.Opts(proposer), p)); err != nil {
		return fmt.Errorf("propose: %w", err)
	}
	return d.Chain.MineBlocks(ctx, int(d.Config.VotingDelay)+1)
}

// Vote casts a vote with a reason from account `voter`.
func (d *DAO) Vote(ctx context.Context, voter int, p contracts.Proposal, support modeldao.VoteSupport, reason string) error {
	_, err := d.Mined(ctx)(d.Governor.CastVoteWithReason(d.Chain.Opts(voter), p.ID(), uint8(support), reason))
	if err != nil {
		return fmt.Errorf("vote of account %d: %w", voter, err)
	}
	return nil
}

// EndVoting mines until the voting period is over. (No context: mining on a local chain
// is quick, and tests call it as a statement.)
func (d *DAO) EndVoting() error {
	return d.Chain.MineBlocks(context.Background(), int(d.Config.VotingPeriod)+1)
}

// QueueAndExecute queues a succeeded proposal, moves time past the timelock delay and
// executes it.
func (d *DAO) QueueAndExecute(ctx context.Context, p contracts.Proposal) (*types.Receipt, error) {
	if _, err := d.Mined(ctx)(d.Queue(d.Chain.Opts(0), p)); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	if err := d.Chain.IncreaseTime(ctx, time.Duration(d.Config.TimelockDelay+1)*time.Second); err != nil {
		return nil, err
	}
	r, err := d.Mined(ctx)(d.Execute(d.Chain.Opts(0), p))
	if err != nil {
		return nil, fmt.Errorf("execute: %w", err)
	}
	return r, nil
}

// Pass takes registry calls through governance: propose from account 0, every account in
// voters votes for, then queue and execute.
func (d *DAO) Pass(ctx context.Context, description string, voters []int, calls ...contracts.RegistryCall) (contracts.Proposal, error) {
	p, err := d.RegistryProposal(description, calls...)
	if err != nil {
		return p, err
	}
	if err := d.Propose(ctx, 0, p); err != nil {
		return p, err
	}
	for _, v := range voters {
		if err := d.Vote(ctx, v, p, modeldao.SupportFor, ""); err != nil {
			return p, err
		}
	}
	if err := d.EndVoting(); err != nil {
		return p, err
	}
	_, err = d.QueueAndExecute(ctx, p)
	return p, err
}
