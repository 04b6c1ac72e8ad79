package contracts

import (
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modeldao/modeldao"
)

// The timelock can be driven without the governor: anyone may execute a ready operation,
// and a holder of CANCELLER_ROLE may cancel one. These helpers do that for a queued
// proposal, as a keeper bot or a security council would.

// TimelockSalt is the salt GovernorTimelockControl gives a proposal's operation:
// bytes20(governor) ^ descriptionHash.
func (p Proposal) TimelockSalt(governor common.Address) common.Hash {
	salt := p.DescriptionHash()
	for i := range governor {
		salt[i] ^= governor[i]
	}
	return salt
}

// TimelockOperation is the id of the proposal's timelock operation: hashOperationBatch of
// its calls with no predecessor and TimelockSalt.
func (p Proposal) TimelockOperation(governor common.Address) common.Hash {
	enc, err := opArgs.Pack(p.Targets, p.Values, p.Calldatas, common.Hash{}, p.TimelockSalt(governor))
	if err != nil {
		panic(err) // only fails on mismatched types, which Proposal's fields rule out
	}
	return crypto.Keccak256Hash(enc)
}

var opArgs = abi.Arguments{
	{Type: mustType("address[]")}, {Type: mustType("uint256[]")}, {Type: mustType("bytes[]")}, {Type: mustType("bytes32")}, {Type: mustType("bytes32")},
}

// ExecuteOnTimelock executes a queued proposal's operation by calling the timelock directly
// (executeBatch), which anyone may do once the delay has passed.
func (d *DAO) ExecuteOnTimelock(opts *bind.TransactOpts, p Proposal) (*types.Transaction, error) {
	return d.Timelock.ExecuteBatch(opts, p.Targets, p.Values, p.Calldatas, common.Hash{}, p.TimelockSalt(d.Deployment.Governor))
}

// CancelOnTimelock cancels a queued proposal's operation on the timelock; opts' account
// needs CANCELLER_ROLE.
func (d *DAO) CancelOnTimelock(opts *bind.TransactOpts, p Proposal) (*types.Transaction, error) {
	return d.Timelock.Cancel(opts, p.TimelockOperation(d.Deployment.Governor))
}

// TimelockRole is the id of one of TimelockController's roles (PROPOSER_ROLE,
// CANCELLER_ROLE, EXECUTOR_ROLE).
func TimelockRole(name string) common.Hash { return roleID(name) }

// WithTimelockCall returns p with one more call, from the timelock to itself: the timelock
// administers itself, so role grants and delay changes go through governance this way.
func (d *DAO) WithTimelockCall(p Proposal, method string, args ...any) (Proposal, error) {
	data, err := TimelockABI.Pack(method, args...)
	if err != nil {
		return Proposal{}, modeldao.WrapError(modeldao.EINVALID, err, "encode timelock call %s", method)
	}
	p.Targets = append(p.Targets[:len(p.Targets):len(p.Targets)], d.Deployment.Timelock)
	p.Values = append(p.Values[:len(p.Values):len(p.Values)], new(big.Int))
	p.Calldatas = append(p.Calldatas[:len(p.Calldatas):len(p.Calldatas)], data)
	return p, nil
}
