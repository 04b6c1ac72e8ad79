// Package contracts deploys and drives the ModelDAO contracts: the governance token, the
// timelock, the Governor and the model registry. The Solidity sources live in src/, the
// compiled artifacts in artifacts/, the generated Go bindings in bindings/ (`make contracts`
// rebuilds the last two).
package contracts

import (
	"context"
	"encoding/json"
	"math/big"
	"os"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts/bindings"
)

// Backend is what deployment and the DAO helpers need of a chain: ethclient.Client (any
// JSON-RPC node) and the simulated backend's client both satisfy it.
type Backend interface {
	bind.ContractBackend
	bind.DeployBackend
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
}

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

// Deployment is where the contracts of one DAO live.
type Deployment struct {
	ChainID   uint64         `json:"chainId"`
	Token     common.Address `json:"token"`
	Governor  common.Address `json:"governor"`
	Timelock  common.Address `json:"timelock"`
	Registry  common.Address `json:"registry"`
	Block     uint64         `json:"startBlock"` // the block of the first deployment transaction: index from here
	BlockHash common.Hash    `json:"startBlockHash"`
}

// Validate checks that every address is set.
func (d Deployment) Validate() error {
	for name, a := range map[string]common.Address{"token": d.Token, "governor": d.Governor, "timelock": d.Timelock, "registry": d.Registry} {
		if a == (common.Address{}) {
			return modeldao.Errorf(modeldao.EINVALID, "deployment has no %s address", name)
		}
	}
	if d.ChainID == 0 {
		return modeldao.Errorf(modeldao.EINVALID, "deployment has no chain id")
	}
	return nil
}

// LoadDeployment reads a deployment file as WriteFile writes it.
func LoadDeployment(path string) (Deployment, error) {
	var d Deployment
	b, err := os.ReadFile(path)
	if err != nil {
		return d, modeldao.WrapError(modeldao.EINVALID, err, "read deployment file %s", path)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, modeldao.WrapError(modeldao.EINVALID, err, "deployment file %s is not valid JSON", path)
	}
	return d, d.Validate()
}

// WriteFile writes the deployment as indented JSON.
func (d Deployment) WriteFile(path string) error {
	b, _ := json.MarshalIndent(d, "", "  ")
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Deploy deploys token, timelock, governor and registry from auth's account and wires them:
// the governor is the timelock's only proposer and a canceller (with cfg.Cancellers), anyone may execute a ready
// operation, the deployer renounces the timelock admin role, and the timelock is the
// registry's governance. All transactions are sent first and then awaited together; mine is
// called after sending (pass the simulated backend's Commit, or nil for a chain that mines by
// itself).
func Deploy(ctx context.Context, b Backend, auth *bind.TransactOpts, cfg Config, mine func()) (*Deployment, error) {
	chainID, err := b.ChainID(ctx)
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "read chain id")
	}
	opts := *auth
	opts.Context = ctx
	// Nonces are assigned here: the pending nonce of a node's pool may lag behind a
	// transaction just sent, and several are sent before any is mined.
	nonce, err := b.PendingNonceAt(ctx, auth.From)
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "read the deployer's nonce")
	}
	next := func() *bind.TransactOpts {
		o := opts
		o.Nonce = new(big.Int).SetUint64(nonce)
		nonce++
		return &o
	}
	var txs []*types.Transaction
	// track records a sent transaction, so that all of them are awaited together.
	track := func(what string) func(*types.Transaction, error) error {
		return func(tx *types.Transaction, err error) error {
			if err != nil {
				return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "send %s", what)
			}
			txs = append(txs, tx)
			return nil
		}
	}

	// flush mines what was sent and checks every receipt.
	var first *types.Receipt
	flush := func() error {
		if mine != nil {
			mine()
		}
		for i, tx := range txs {
			var r *types.Receipt
			if mine == nil {
				var err error
				if r, err = bind.WaitMined(ctx, b, tx); err != nil {
					return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "wait for deployment transaction %s", tx.Hash())
				}
			} else {
				// A chain mined on demand may seal only part of the pool in one block: mine
				// until the transaction is in, a bounded number of times.
				for attempt := 0; ; attempt++ {
					if r, _ = b.TransactionReceipt(ctx, tx.Hash()); r != nil {
						break
					}
					if attempt == 10 {
						return modeldao.Errorf(modeldao.EUNAVAILABLE, "deployment transaction %s was not mined after 10 blocks", tx.Hash())
					}
					mine()
				}
			}
			if r.Status != types.ReceiptStatusSuccessful {
				return modeldao.Errorf(modeldao.EINTERNAL, "deployment transaction %d (%s) reverted", i, tx.Hash())
			}
			if first == nil {
				first = r
			}
		}
		txs = txs[:0]
		return nil
	}

	tokenAddr, tx, token, err := bindings.DeployToken(next(), b, cfg.TokenName, cfg.TokenSymbol, auth.From)
	if err := track("token deployment")(tx, err); err != nil {
		return nil, err
	}
	timelockAddr, tx, timelock, err := bindings.DeployTimelock(next(), b, new(big.Int).SetUint64(cfg.TimelockDelay),
		nil, []common.Address{{}}, auth.From)
	if err := track("timelock deployment")(tx, err); err != nil {
		return nil, err
	}
	// The governor's constructor reads the token's clock, so the token must be mined first.
	if err := flush(); err != nil {
		return nil, err
	}
	threshold := cfg.ProposalThreshold
	if threshold == nil {
		threshold = new(big.Int)
	}
	governorAddr, tx, _, err := bindings.DeployGovernor(next(), b, tokenAddr, timelockAddr,
		new(big.Int).SetUint64(cfg.VotingDelay), cfg.VotingPeriod, threshold, new(big.Int).SetUint64(cfg.QuorumPercent))
	if err := track("governor deployment")(tx, err); err != nil {
		return nil, err
	}
	registryAddr, tx, _, err := bindings.DeployRegistry(next(), b, timelockAddr)
	if err := track("registry deployment")(tx, err); err != nil {
		return nil, err
	}
	// Role ids are constants of TimelockController; computing them locally saves calls
	// against contracts that are not mined yet.
	proposer, canceller := roleID("PROPOSER_ROLE"), roleID("CANCELLER_ROLE")
	if err := track("proposer role grant")(timelock.GrantRole(next(), proposer, governorAddr)); err != nil {
		return nil, err
	}
	if err := track("canceller role grant")(timelock.GrantRole(next(), canceller, governorAddr)); err != nil {
		return nil, err
	}
	for _, a := range cfg.Cancellers {
		if err := track("guardian canceller role grant")(timelock.GrantRole(next(), canceller, a)); err != nil {
			return nil, err
		}
	}
	for _, a := range cfg.Mint {
		if err := track("mint")(token.Mint(next(), a.To, a.Amount)); err != nil {
			return nil, err
		}
	}
	if err := track("admin renounce")(timelock.RenounceRole(next(), common.Hash{}, auth.From)); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return &Deployment{
		ChainID:   chainID.Uint64(),
		Token:     tokenAddr,
		Governor:  governorAddr,
		Timelock:  timelockAddr,
		Registry:  registryAddr,
		Block:     first.BlockNumber.Uint64(),
		BlockHash: first.BlockHash,
	}, nil
}

func roleID(name string) [32]byte {
	return crypto.Keccak256Hash([]byte(name))
}
