// Package scenario drives a DAO through random but reproducible histories: proposals in
// every state, votes of every kind (with reasons, with params, by signature through a
// relayer), delegations and re-delegations, transfers and mints between votes, executions by
// the governor and by anyone on the timelock, cancels by proposers and by the timelock's
// guardian, and every registry action. It runs on any devchain.Node: go-ethereum's
// simulated backend (devchain) or anvil (infra/anvil). Tests of the indexer, the API and the
// pinner build their index from it, and compare it with the chain (the oracle).
//
// Files by concern: scenario.go (set-up and the random step), governance.go (proposals,
// votes, queue, execute, cancel), token.go (delegations, transfers, mints), registry.go
// (versions, audits, registry calls), strings.go (every string put on chain).
package scenario

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"math/rand/v2"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
)

// Roles of the dev accounts in a scenario.
const (
	Holders    = 5 // accounts 0..4 hold tokens and vote
	Publisher1 = 5
	Publisher2 = 6
	Auditor    = 7
	Extra1     = 8
	Extra2     = 9
	Accounts   = 10
	// Guardian may cancel queued operations on the timelock (CANCELLER_ROLE, granted at
	// deployment). It acts only in Random.
	Guardian = Extra2
)

// Options configure a scenario.
type Options struct {
	// Seed makes the random history reproducible.
	Seed uint64
	// Node is the chain to deploy on, with at least Accounts funded accounts; nil starts a
	// devchain, which Close stops.
	Node devchain.Node
	// RPC serves the devchain's JSON-RPC on loopback (only when Node is nil).
	RPC bool
	// HostileStrings puts hostile strings (invalid UTF-8, multi-byte UTF-8, NULs; see
	// HostileStrings) in every free string the history sends.
	HostileStrings bool
}

// Scenario is a DAO under test with what happened to it so far.
type Scenario struct {
	Node devchain.Node
	// Chain is the devchain the scenario started (nil when it runs on a given Node).
	Chain *devchain.Chain
	DAO   *devchain.DAO
	rng   *rand.Rand
	addrs []common.Address
	keys  []*ecdsa.PrivateKey
	// chainID signs EIP-712 ballots.
	chainID *big.Int

	Proposals []contracts.Proposal
	Versions  uint64            // versions submitted so far (ids 1..Versions)
	Audits    map[uint64]uint64 // version → passing audit id under policy 1
	Policy    uint64
	n         int // counter for unique names and descriptions
	// hostile, with Options.HostileStrings, makes the strings str returns (see strings.go).
	hostile   *Strings
	hostileOf map[[2]string]string
	tags      int
}

// New deploys a DAO on a fresh devchain (with JSON-RPC on loopback when rpc is true) and
// registers an auditor and an audit-requiring policy through governance.
func New(ctx context.Context, seed uint64, rpc bool) (*Scenario, error) {
	return NewWith(ctx, Options{Seed: seed, RPC: rpc})
}

// NewWith deploys a DAO as New does, on opts.Node or a fresh devchain.
func NewWith(ctx context.Context, opts Options) (_ *Scenario, err error) {
	s := &Scenario{Node: opts.Node, rng: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)), Audits: map[uint64]uint64{}}
	if opts.HostileStrings {
		s.hostile = HostileStrings(opts.Seed)
	}
	if s.Node == nil {
		c := devchain.Options{Accounts: Accounts}
		if opts.RPC {
			c.HTTPAddr = "127.0.0.1:0"
		}
		if s.Chain, err = devchain.New(c); err != nil {
			return nil, err
		}
		s.Node = s.Chain
		defer func() {
			if err != nil {
				s.Chain.Close()
			}
		}()
	}
	s.keys = s.Node.Keys()
	if len(s.keys) < Accounts {
		return nil, fmt.Errorf("scenario: the node has %d funded accounts, %d are needed", len(s.keys), Accounts)
	}
	for _, k := range s.keys {
		s.addrs = append(s.addrs, crypto.PubkeyToAddress(k.PublicKey))
	}
	if s.chainID, err = s.Node.Eth().ChainID(ctx); err != nil {
		return nil, fmt.Errorf("scenario: chain id: %w", err)
	}
	cfg := contracts.DefaultConfig()
	cfg.Cancellers = []common.Address{s.addrs[Guardian]}
	if s.DAO, err = devchain.DeployOn(ctx, s.Node, cfg, Holders); err != nil {
		return nil, err
	}
	policy := modeldao.Policy{Name: modeldao.Text(s.str(Name, "fairness-baseline")), Version: modeldao.Text(s.str(Name, "1.0")), DocumentCID: modeldao.Text(s.str(CID, FakeCID("policy"))), AuditRequired: true,
		Bounds: []modeldao.MetricBound{{Kind: modeldao.DemographicParityDifference, Limit: 100000}, {Kind: modeldao.DisparateImpactRatio, IsMinimum: true, Limit: 800000}}}
	if _, err := s.DAO.Pass(ctx, s.str(Description, "# Set up auditing\nRegister the first auditor and the baseline policy."), []int{0, 1, 2},
		contracts.AddAuditor(s.addrs[Auditor], s.str(Name, "Fair Audits Ltd")), contracts.AdoptPolicy(policy)); err != nil {
		return nil, fmt.Errorf("set up auditing: %w", err)
	}
	s.Policy = 1
	return s, nil
}

// Close stops the devchain the scenario started, if any.
func (s *Scenario) Close() {
	if s.Chain != nil {
		s.Chain.Close()
	}
}

// Address returns the address of account i.
func (s *Scenario) Address(i int) common.Address { return s.addrs[i] }

func (s *Scenario) opts(i int) *bind.TransactOpts { return s.Node.Opts(i) }

func u256(x uint64) *big.Int { return new(big.Int).SetUint64(x) }

// Random performs n random actions. Actions that the chain refuses at that moment (a vote
// on a proposal that is not active, an execution whose call now reverts) are simply not
// sent: the scenario is whatever the chain accepted.
func (s *Scenario) Random(ctx context.Context, n int) error {
	for range n {
		if err := s.step(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (s *Scenario) pick(n int) int { return s.rng.IntN(n) }

// other picks an account other than i.
func (s *Scenario) other(i int) int { return (i + 1 + s.pick(Accounts-1)) % Accounts }

func (s *Scenario) step(ctx context.Context) error {
	holder := s.pick(Holders)
	switch r := s.pick(100); {
	case r < 7:
		s.randomVersion(ctx)
	case r < 11:
		if s.Versions > 0 {
			_, _ = s.Audit(ctx, 1+uint64(s.pick(int(s.Versions))), s.pick(4) != 0)
		}
	case r < 24:
		return s.propose(ctx, holder)
	case r < 44:
		s.voteWithReason(ctx, holder)
	case r < 49:
		return s.voteBySig(ctx, holder)
	case r < 52:
		s.voteWithParams(ctx, holder)
	case r < 56:
		s.delegate(ctx, holder)
	case r < 59:
		s.redelegate(ctx)
	case r < 64:
		s.transfer(ctx)
	case r < 67:
		s.mint(ctx)
	case r < 76:
		return s.queueOrExecute(ctx, holder)
	case r < 81:
		return s.executeOnTimelock(ctx)
	case r < 83:
		return s.cancelOnTimelock(ctx)
	case r < 86:
		s.cancelPending(ctx)
	default: // let blocks pass
		return s.Node.MineBlocks(ctx, 1+s.pick(8))
	}
	return nil
}

// Resync brings what the scenario remembers back in line with the chain after a reorg or
// rollback dropped some of its transactions: proposals the governor no longer knows are
// forgotten, and the version and audit counts are read again.
func (s *Scenario) Resync(ctx context.Context) error {
	d := s.DAO
	kept := s.Proposals[:0]
	for _, p := range s.Proposals {
		snap, err := d.Governor.ProposalSnapshot(&bind.CallOpts{Context: ctx}, p.ID())
		if err != nil {
			return fmt.Errorf("scenario: resync: %w", err)
		}
		if snap.Sign() != 0 {
			kept = append(kept, p)
		}
	}
	s.Proposals = kept
	n, err := d.Registry.VersionCount(&bind.CallOpts{Context: ctx})
	if err != nil {
		return fmt.Errorf("scenario: resync: %w", err)
	}
	s.Versions = n.Uint64()
	audits, err := d.Registry.AuditCount(&bind.CallOpts{Context: ctx})
	if err != nil {
		return fmt.Errorf("scenario: resync: %w", err)
	}
	for v, a := range s.Audits {
		if v > s.Versions || a > audits.Uint64() {
			delete(s.Audits, v)
		}
	}
	return nil
}
