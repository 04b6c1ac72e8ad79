// Package contracts deploys and drives the ModelDAO contracts: the governance token, the
// timelock, the Governor and the model registry. The Solidity sources live in src/, the
// compiled artifacts in artifacts/, the generated Go bindings in bindings/ (`make contracts`
// rebuilds the last two).
package contracts

import (
	"context"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modeldao/modeldao"
)

// Backend is what deployment and the DAO helpers need of a chain: ethclient.Client (any
// JSON-RPC node) and the simulated backend's client both satisfy it.
type Backend interface {
	bind.ContractBackend
	bind.DeployBackend
	// A resumed deployment asks whether the node still holds a transaction and whether the
	// deployer's nonce was used; the CLI reads the deployer's balance.
	ethereum.TransactionReader
	ethereum.ChainStateReader
	ChainID(ctx context.Context) (*big.Int, error)
	BlockNumber(ctx context.Context) (uint64, error)
}

// Config sets the governance parameters of a deployment.
type Config struct {
	TokenName         string
	TokenSymbol       string
	VotingDelay       uint64   // blocks between proposal and the start of voting (the snapshot)
	VotingPeriod      uint32   // blocks of voting
	ProposalThreshold *big.Int // votes needed to propose, in token units
	QuorumPercent     uint64   // of the total supply at the snapshot
	TimelockDelay     uint64   // seconds between queue and execute
	// Mint gives tokens to accounts in the deployment itself (the deployer keeps the right to
	// mint; hand it to the timelock with Token.TransferOwnership for a real DAO).
	Mint []Allocation
	// Cancellers also get the timelock's CANCELLER_ROLE, next to the governor: a guardian
	// that can stop a queued operation (the governor then reports the proposal Canceled).
	Cancellers []common.Address
	// TokenOwner is who may mint after the deployment: TokenOwnerDeployer (the default, for
	// tests and dev chains), TokenOwnerTimelock (the DAO mints by proposal) or
	// TokenOwnerNone (ownership renounced: the supply is fixed).
	TokenOwner TokenOwner `json:",omitempty"`
}

// TokenOwner says who owns the token once deployed.
type TokenOwner string

// Token owners.
const (
	TokenOwnerDeployer TokenOwner = "deployer"
	TokenOwnerTimelock TokenOwner = "timelock"
	TokenOwnerNone     TokenOwner = "renounce"
)

// Allocation is an initial token balance.
type Allocation struct {
	To     common.Address
	Amount *big.Int
}

// DefaultConfig is a configuration for local chains and tests: short delays, 4 % quorum.
func DefaultConfig() Config {
	return Config{
		TokenName:         "ModelDAO",
		TokenSymbol:       "MDAO",
		VotingDelay:       1,
		VotingPeriod:      20,
		ProposalThreshold: new(big.Int),
		QuorumPercent:     4,
		TimelockDelay:     60,
	}
}

// Deployment is where the contracts of one DAO live (the root package's type).
type Deployment = modeldao.Deployment

// LoadDeployment reads a deployment file as Deployment.WriteFile writes it.
func LoadDeployment(path string) (Deployment, error) { return modeldao.LoadDeployment(path) }

// Deploy deploys token, timelock, governor and registry from auth's account and wires them:
// the governor is the timelock's only proposer and a canceller (with cfg.Cancellers), anyone
// may execute a ready operation, the deployer renounces the timelock admin role, and the
// timelock is the registry's governance. It runs the Plan of the deployer's next nonce
// without a progress file; mine is called after sending (pass the simulated backend's
// Commit, or nil for a chain that mines by itself).
func Deploy(ctx context.Context, b Backend, auth *bind.TransactOpts, cfg Config, mine func()) (*Deployment, error) {
	plan, err := NewPlan(ctx, b, auth.From, cfg, nil)
	if err != nil {
		return nil, err
	}
	// One batch per phase, as before plans existed: tests and the dev stack count blocks.
	res, err := plan.Execute(ctx, b, auth, ExecOptions{Mine: mine, Batch: len(plan.Steps)})
	if err != nil {
		return nil, err
	}
	return &res.Deployment, nil
}

// WithGasMargin returns b with gas estimates raised by half plus 60000 gas (GasLimit).
// Estimates run against the latest block, transactions in the next one: ERC20Votes then
// writes new checkpoints where the estimate updated the latest ones in place, and a
// delegation measured at 186k gas by eth_estimateGas was seen to use 294k; a deployment's
// mints in one block revert the same way without it. Unused gas is not charged.
func WithGasMargin(b Backend) Backend {
	if _, ok := b.(margin); ok {
		return b
	}
	return margin{b}
}

// GasLimit is the limit WithGasMargin sets for an estimate.
func GasLimit(estimate uint64) uint64 { return estimate + estimate/2 + 60_000 }

type margin struct{ Backend }

func (m margin) EstimateGas(ctx context.Context, msg ethereum.CallMsg) (uint64, error) {
	g, err := m.Backend.EstimateGas(ctx, msg)
	if err != nil {
		return 0, err
	}
	return GasLimit(g), nil
}

func roleID(name string) [32]byte {
	return crypto.Keccak256Hash([]byte(name))
}
