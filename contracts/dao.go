package contracts

import (
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts/bindings"
)

// ABIs of the contracts, parsed once.
var (
	TokenABI    = mustABI(bindings.TokenMetaData)
	GovernorABI = mustABI(bindings.GovernorMetaData)
	TimelockABI = mustABI(bindings.TimelockMetaData)
	RegistryABI = mustABI(bindings.RegistryMetaData)
)

func mustABI(m *bind.MetaData) *abi.ABI {
	a, err := m.GetAbi()
	if err != nil {
		panic(err) // the ABIs are generated from compiler output; a parse failure is a build defect
	}
	return a
}

// DAO is a deployment with its contracts bound to a backend.
type DAO struct {
	Deployment Deployment
	Token      *bindings.Token
	Governor   *bindings.Governor
	Timelock   *bindings.Timelock
	Registry   *bindings.Registry
}

// Bind binds the contracts of d to b.
func Bind(d Deployment, b bind.ContractBackend) (*DAO, error) {
	dao := &DAO{Deployment: d}
	var err error
	if dao.Token, err = bindings.NewToken(d.Token, b); err != nil {
		return nil, err
	}
	if dao.Governor, err = bindings.NewGovernor(d.Governor, b); err != nil {
		return nil, err
	}
	if dao.Timelock, err = bindings.NewTimelock(d.Timelock, b); err != nil {
		return nil, err
	}
	if dao.Registry, err = bindings.NewRegistry(d.Registry, b); err != nil {
		return nil, err
	}
	return dao, nil
}

// Proposal is what Governor.propose takes: calls and a description. Its id is determined by
// them (Governor.hashProposal), so it is known before the proposal is sent.
type Proposal struct {
	Targets     []common.Address
	Values      []*big.Int
	Calldatas   [][]byte
	Description string
}

// DescriptionHash is keccak256 of the description, as queue and execute take it.
func (p Proposal) DescriptionHash() common.Hash { return crypto.Keccak256Hash([]byte(p.Description)) }

var proposalIDArgs = abi.Arguments{
	{Type: mustType("address[]")}, {Type: mustType("uint256[]")}, {Type: mustType("bytes[]")}, {Type: mustType("bytes32")},
}

func mustType(t string) abi.Type {
	ty, err := abi.NewType(t, "", nil)
	if err != nil {
		panic(err)
	}
	return ty
}

// ID is Governor.hashProposal(targets, values, calldatas, descriptionHash).
func (p Proposal) ID() *big.Int {
	enc, err := proposalIDArgs.Pack(p.Targets, p.Values, p.Calldatas, p.DescriptionHash())
	if err != nil {
		panic(err) // only fails on mismatched types, which Proposal's fields rule out
	}
	return new(big.Int).SetBytes(crypto.Keccak256(enc))
}

// RegistryCall is one call to the registry by governance.
type RegistryCall struct {
	Method string
	Args   []any
}

// ApproveVersion approves a version under a policy, relying on an audit (0 for none).
func ApproveVersion(versionID, policyID, auditID uint64) RegistryCall {
	return RegistryCall{"approveVersion", []any{u256(versionID), u256(policyID), u256(auditID)}}
}

// RejectVersion rejects a submitted version.
func RejectVersion(versionID uint64, reason string) RegistryCall {
	return RegistryCall{"rejectVersion", []any{u256(versionID), reason}}
}

// RevokeVersion revokes an approved version.
func RevokeVersion(versionID uint64, reason string) RegistryCall {
	return RegistryCall{"revokeVersion", []any{u256(versionID), reason}}
}

// AddAuditor registers an auditor.
func AddAuditor(auditor common.Address, name string) RegistryCall {
	return RegistryCall{"addAuditor", []any{auditor, name}}
}

// RemoveAuditor deregisters an auditor.
func RemoveAuditor(auditor common.Address) RegistryCall {
	return RegistryCall{"removeAuditor", []any{auditor}}
}

// AdoptPolicy adopts an alignment policy.
func AdoptPolicy(p modeldao.Policy) RegistryCall {
	return RegistryCall{"adoptPolicy", []any{string(p.Name), string(p.Version), string(p.DocumentCID), p.AuditRequired, BoundsArg(p.Bounds)}}
}

// RetirePolicy retires a policy.
func RetirePolicy(policyID uint64) RegistryCall {
	return RegistryCall{"retirePolicy", []any{u256(policyID)}}
}

func u256(x uint64) *big.Int { return new(big.Int).SetUint64(x) }

// RegistryProposal makes a proposal of registry calls.
func (d *DAO) RegistryProposal(description string, calls ...RegistryCall) (Proposal, error) {
	p := Proposal{Description: description}
	for _, c := range calls {
		data, err := RegistryABI.Pack(c.Method, c.Args...)
		if err != nil {
			return Proposal{}, modeldao.WrapError(modeldao.EINVALID, err, "encode registry call %s", c.Method)
		}
		p.Targets = append(p.Targets, d.Deployment.Registry)
		p.Values = append(p.Values, new(big.Int))
		p.Calldatas = append(p.Calldatas, data)
	}
	return p, nil
}

// Propose sends the proposal.
func (d *DAO) Propose(opts *bind.TransactOpts, p Proposal) (*types.Transaction, error) {
	return d.Governor.Propose(opts, p.Targets, p.Values, p.Calldatas, p.Description)
}

// Queue queues a succeeded proposal in the timelock.
func (d *DAO) Queue(opts *bind.TransactOpts, p Proposal) (*types.Transaction, error) {
	return d.Governor.Queue(opts, p.Targets, p.Values, p.Calldatas, p.DescriptionHash())
}

// Execute executes a queued proposal whose timelock delay has passed.
func (d *DAO) Execute(opts *bind.TransactOpts, p Proposal) (*types.Transaction, error) {
	return d.Governor.Execute(opts, p.Targets, p.Values, p.Calldatas, p.DescriptionHash())
}

// Cancel cancels a pending proposal (only its proposer may).
func (d *DAO) Cancel(opts *bind.TransactOpts, p Proposal) (*types.Transaction, error) {
	return d.Governor.Cancel0(opts, p.Targets, p.Values, p.Calldatas, p.DescriptionHash())
}
