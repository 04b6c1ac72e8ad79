package indexer

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
)

// decodeFunc turns one log into a domain event.
type decodeFunc func(l types.Log, at modeldao.At) (modeldao.Event, error)

type logKey struct {
	addr  common.Address
	topic common.Hash
}

// Decoder decodes the logs of one deployment into domain events. Logs of events that the
// projection does not use (role grants, ownership, EIP-712 domain…) are recognised and
// dropped; a log that should decode but does not is a MalformedLogError.
type Decoder struct {
	dep   contracts.Deployment
	funcs map[logKey]decodeFunc
	known map[logKey]bool
}

// MalformedLogError reports a log from a DAO contract that did not decode.
type MalformedLogError struct {
	Log types.Log
	Err error
}

func (e *MalformedLogError) Error() string {
	return fmt.Sprintf("malformed log %d of tx %s in block %d: %v", e.Log.Index, e.Log.TxHash, e.Log.BlockNumber, e.Err)
}

// NewDecoder builds the decoder of a deployment.
func NewDecoder(dep contracts.Deployment) *Decoder {
	d := &Decoder{dep: dep, funcs: map[logKey]decodeFunc{}, known: map[logKey]bool{}}
	gov, _ := bindings.NewGovernorFilterer(dep.Governor, nil)
	tok, _ := bindings.NewTokenFilterer(dep.Token, nil)
	tl, _ := bindings.NewTimelockFilterer(dep.Timelock, nil)
	reg, _ := bindings.NewRegistryFilterer(dep.Registry, nil)
	on := func(addr common.Address, a *abi.ABI, event string, f decodeFunc) {
		d.funcs[logKey{addr, a.Events[event].ID}] = f
	}
	for addr, a := range map[common.Address]*abi.ABI{dep.Governor: contracts.GovernorABI, dep.Token: contracts.TokenABI, dep.Timelock: contracts.TimelockABI, dep.Registry: contracts.RegistryABI} {
		for _, ev := range a.Events {
			d.known[logKey{addr, ev.ID}] = true
		}
	}

	// Governor.
	on(dep.Governor, contracts.GovernorABI, "ProposalCreated", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := gov.ParseProposalCreated(l)
		if err != nil {
			return nil, err
		}
		if len(e.Targets) != len(e.Values) || len(e.Targets) != len(e.Calldatas) {
			return nil, fmt.Errorf("proposal %s has %d targets, %d values, %d calldatas", e.ProposalId, len(e.Targets), len(e.Values), len(e.Calldatas))
		}
		se, err := u64list(e.VoteStart, e.VoteEnd)
		if err != nil {
			return nil, err
		}
		return &modeldao.ProposalCreated{
			At: at, ProposalID: e.ProposalId, Proposer: e.Proposer, Description: e.Description,
			VoteStart: se[0], VoteEnd: se[1],
			Actions:      d.actions(e.Targets, e.Values, e.Calldatas),
			TimelockOpID: timelockOpID(dep.Governor, e.Targets, e.Values, e.Calldatas, e.Description),
		}, nil
	})
	on(dep.Governor, contracts.GovernorABI, "ProposalQueued", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := gov.ParseProposalQueued(l)
		if err != nil {
			return nil, err
		}
		eta, err := u64s(e.EtaSeconds)
		return &modeldao.ProposalQueuedEvent{At: at, ProposalID: e.ProposalId, Eta: eta}, err
	})
	on(dep.Governor, contracts.GovernorABI, "ProposalExecuted", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := gov.ParseProposalExecuted(l)
		if err != nil {
			return nil, err
		}
		return &modeldao.ProposalExecutedEvent{At: at, ProposalID: e.ProposalId}, nil
	})
	on(dep.Governor, contracts.GovernorABI, "ProposalCanceled", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := gov.ParseProposalCanceled(l)
		if err != nil {
			return nil, err
		}
		return &modeldao.ProposalCanceledEvent{At: at, ProposalID: e.ProposalId}, nil
	})
	on(dep.Governor, contracts.GovernorABI, "VoteCast", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := gov.ParseVoteCast(l)
		if err != nil {
			return nil, err
		}
		return voteCast(at, e.Voter, e.ProposalId, e.Support, e.Weight, e.Reason, nil)
	})
	on(dep.Governor, contracts.GovernorABI, "VoteCastWithParams", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := gov.ParseVoteCastWithParams(l)
		if err != nil {
			return nil, err
		}
		params := e.Params
		if params == nil {
			params = []byte{}
		}
		return voteCast(at, e.Voter, e.ProposalId, e.Support, e.Weight, e.Reason, params)
	})
	setting := func(name string, parse func(types.Log) (*big.Int, error)) decodeFunc {
		return func(l types.Log, at modeldao.At) (modeldao.Event, error) {
			v, err := parse(l)
			if err != nil {
				return nil, err
			}
			return &modeldao.GovernorSettingChanged{At: at, Setting: name, Value: v}, nil
		}
	}
	on(dep.Governor, contracts.GovernorABI, "VotingDelaySet", setting("votingDelay", func(l types.Log) (*big.Int, error) {
		e, err := gov.ParseVotingDelaySet(l)
		if err != nil {
			return nil, err
		}
		return e.NewVotingDelay, nil
	}))
	on(dep.Governor, contracts.GovernorABI, "VotingPeriodSet", setting("votingPeriod", func(l types.Log) (*big.Int, error) {
		e, err := gov.ParseVotingPeriodSet(l)
		if err != nil {
			return nil, err
		}
		return e.NewVotingPeriod, nil
	}))
	on(dep.Governor, contracts.GovernorABI, "ProposalThresholdSet", setting("proposalThreshold", func(l types.Log) (*big.Int, error) {
		e, err := gov.ParseProposalThresholdSet(l)
		if err != nil {
			return nil, err
		}
		return e.NewProposalThreshold, nil
	}))
	on(dep.Governor, contracts.GovernorABI, "QuorumNumeratorUpdated", setting("quorumNumerator", func(l types.Log) (*big.Int, error) {
		e, err := gov.ParseQuorumNumeratorUpdated(l)
		if err != nil {
			return nil, err
		}
		return e.NewQuorumNumerator, nil
	}))

	// Token.
	on(dep.Token, contracts.TokenABI, "Transfer", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := tok.ParseTransfer(l)
		if err != nil {
			return nil, err
		}
		return &modeldao.Transfer{At: at, From: e.From, To: e.To, Value: e.Value}, nil
	})
	on(dep.Token, contracts.TokenABI, "DelegateChanged", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := tok.ParseDelegateChanged(l)
		if err != nil {
			return nil, err
		}
		return &modeldao.DelegateChanged{At: at, Delegator: e.Delegator, From: e.FromDelegate, To: e.ToDelegate}, nil
	})
	on(dep.Token, contracts.TokenABI, "DelegateVotesChanged", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := tok.ParseDelegateVotesChanged(l)
		if err != nil {
			return nil, err
		}
		return &modeldao.DelegateVotesChanged{At: at, Delegate: e.Delegate, Previous: e.PreviousVotes, Current: e.NewVotes}, nil
	})

	// Timelock.
	on(dep.Timelock, contracts.TimelockABI, "CallExecuted", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := tl.ParseCallExecuted(l)
		if err != nil {
			return nil, err
		}
		return &modeldao.CallExecuted{At: at, OperationID: e.Id}, nil
	})
	on(dep.Timelock, contracts.TimelockABI, "Cancelled", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := tl.ParseCancelled(l)
		if err != nil {
			return nil, err
		}
		return &modeldao.OperationCancelled{At: at, OperationID: e.Id}, nil
	})
	on(dep.Timelock, contracts.TimelockABI, "MinDelayChange", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := tl.ParseMinDelayChange(l)
		if err != nil {
			return nil, err
		}
		delay, err := u64s(e.NewDuration)
		return &modeldao.MinDelayChanged{At: at, Delay: delay}, err
	})

	// Registry.
	on(dep.Registry, contracts.RegistryABI, "ModelRegistered", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := reg.ParseModelRegistered(l)
		if err != nil {
			return nil, err
		}
		return &modeldao.ModelRegistered{At: at, ModelID: e.ModelId, Name: e.Name, Owner: e.Owner}, nil
	})
	on(dep.Registry, contracts.RegistryABI, "VersionSubmitted", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := reg.ParseVersionSubmitted(l)
		if err != nil {
			return nil, err
		}
		id, err := u64s(e.VersionId)
		return &modeldao.VersionSubmittedEvent{At: at, VersionID: id, ModelID: e.ModelId, Publisher: e.Publisher,
			Submission: modeldao.VersionSubmission{ModelName: e.ModelName, Label: e.VersionLabel, WeightsCID: e.WeightsCID,
				WeightsSHA256: e.WeightsSha256, ModelCardCID: e.ModelCardCID, License: e.License, Tags: e.Tags}}, err
	})
	on(dep.Registry, contracts.RegistryABI, "VersionApproved", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := reg.ParseVersionApproved(l)
		if err != nil {
			return nil, err
		}
		ids, err := u64list(e.VersionId, e.PolicyId, e.AuditId)
		if err != nil {
			return nil, err
		}
		return &modeldao.VersionApprovedEvent{At: at, VersionID: ids[0], PolicyID: ids[1], AuditID: ids[2]}, nil
	})
	on(dep.Registry, contracts.RegistryABI, "VersionRejected", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := reg.ParseVersionRejected(l)
		if err != nil {
			return nil, err
		}
		id, err := u64s(e.VersionId)
		return &modeldao.VersionRejectedEvent{At: at, VersionID: id, Reason: e.Reason}, err
	})
	on(dep.Registry, contracts.RegistryABI, "VersionRevoked", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := reg.ParseVersionRevoked(l)
		if err != nil {
			return nil, err
		}
		id, err := u64s(e.VersionId)
		return &modeldao.VersionRevokedEvent{At: at, VersionID: id, Reason: e.Reason}, err
	})
	on(dep.Registry, contracts.RegistryABI, "AuditorAdded", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := reg.ParseAuditorAdded(l)
		if err != nil {
			return nil, err
		}
		return &modeldao.AuditorAdded{At: at, Auditor: e.Auditor, Name: e.Name}, nil
	})
	on(dep.Registry, contracts.RegistryABI, "AuditorRemoved", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := reg.ParseAuditorRemoved(l)
		if err != nil {
			return nil, err
		}
		return &modeldao.AuditorRemoved{At: at, Auditor: e.Auditor}, nil
	})
	on(dep.Registry, contracts.RegistryABI, "PolicyAdopted", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := reg.ParsePolicyAdopted(l)
		if err != nil {
			return nil, err
		}
		id, err := u64s(e.PolicyId)
		if err != nil {
			return nil, err
		}
		p := modeldao.Policy{ID: id, Name: modeldao.Text(e.Name), Version: modeldao.Text(e.Version), DocumentCID: modeldao.Text(e.DocumentCID), AuditRequired: e.AuditRequired, Bounds: []modeldao.MetricBound{}}
		for _, b := range e.Bounds {
			p.Bounds = append(p.Bounds, modeldao.MetricBound{Kind: modeldao.MetricKind(b.Kind), IsMinimum: b.IsMinimum, Limit: modeldao.Fixed6(b.Limit)})
		}
		return &modeldao.PolicyAdopted{At: at, Policy: p}, nil
	})
	on(dep.Registry, contracts.RegistryABI, "PolicyRetired", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := reg.ParsePolicyRetired(l)
		if err != nil {
			return nil, err
		}
		id, err := u64s(e.PolicyId)
		return &modeldao.PolicyRetired{At: at, PolicyID: id}, err
	})
	on(dep.Registry, contracts.RegistryABI, "AuditSubmitted", func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := reg.ParseAuditSubmitted(l)
		if err != nil {
			return nil, err
		}
		ids, err := u64list(e.AuditId, e.VersionId, e.PolicyId)
		if err != nil {
			return nil, err
		}
		a := modeldao.Audit{ID: ids[0], VersionID: ids[1], PolicyID: ids[2], Auditor: e.Auditor, ReportCID: modeldao.Text(e.ReportCID),
			ReportSHA256: e.ReportSha256, Passed: e.Passed, Metrics: []modeldao.Metric{}}
		for _, m := range e.Metrics {
			a.Metrics = append(a.Metrics, modeldao.Metric{Kind: modeldao.MetricKind(m.Kind), SensitiveFeature: modeldao.Text(m.SensitiveFeature),
				Value: modeldao.Fixed6(m.Value), Threshold: modeldao.Fixed6(m.Threshold), Passed: m.Passed})
		}
		return &modeldao.AuditSubmitted{At: at, Audit: a}, nil
	})
	return d
}

// Addresses are the contracts whose logs the indexer reads.
func (d *Decoder) Addresses() []common.Address {
	return []common.Address{d.dep.Token, d.dep.Governor, d.dep.Timelock, d.dep.Registry}
}

// Decode returns the event of l, nil for a log the projection does not use, or a
// *MalformedLogError.
func (d *Decoder) Decode(l types.Log, ts uint64) (modeldao.Event, error) {
	if len(l.Topics) == 0 {
		return nil, &MalformedLogError{Log: l, Err: fmt.Errorf("log without topics")}
	}
	k := logKey{l.Address, l.Topics[0]}
	f, ok := d.funcs[k]
	if !ok {
		if d.known[k] {
			return nil, nil
		}
		return nil, &MalformedLogError{Log: l, Err: fmt.Errorf("unknown event topic %s from %s", l.Topics[0], l.Address)}
	}
	at := modeldao.At{Provenance: modeldao.Provenance{BlockNumber: l.BlockNumber, BlockHash: l.BlockHash, Timestamp: ts, TxHash: l.TxHash, LogIndex: l.Index}}
	ev, err := f(l, at)
	if err != nil {
		return nil, &MalformedLogError{Log: l, Err: err}
	}
	return ev, nil
}

func voteCast(at modeldao.At, voter common.Address, id *big.Int, support uint8, weight *big.Int, reason string, params []byte) (modeldao.Event, error) {
	if support > uint8(modeldao.SupportAbstain) {
		return nil, fmt.Errorf("vote support %d is not against, for or abstain", support)
	}
	return &modeldao.VoteCast{At: at, Voter: voter, ProposalID: id, Support: modeldao.VoteSupport(support), Weight: weight, Reason: reason, Params: params}, nil
}

func u64s(x ...*big.Int) (uint64, error) {
	l, err := u64list(x...)
	if err != nil {
		return 0, err
	}
	return l[0], nil
}

func u64list(xs ...*big.Int) ([]uint64, error) {
	out := make([]uint64, len(xs))
	for i, x := range xs {
		if x == nil || !x.IsUint64() {
			return nil, fmt.Errorf("value %v does not fit 64 bits", x)
		}
		out[i] = x.Uint64()
	}
	return out, nil
}

// actions decodes the calls of a proposal; calls to the registry get their method and
// arguments, and the version they concern.
func (d *Decoder) actions(targets []common.Address, values []*big.Int, calldatas [][]byte) []modeldao.Action {
	out := make([]modeldao.Action, len(targets))
	for i := range targets {
		a := modeldao.Action{Target: targets[i], Value: values[i], Calldata: calldatas[i]}
		if targets[i] == d.dep.Registry && len(calldatas[i]) >= 4 {
			if m, err := contracts.RegistryABI.MethodById(calldatas[i][:4]); err == nil {
				args := map[string]any{}
				if err := m.Inputs.UnpackIntoMap(args, calldatas[i][4:]); err == nil {
					a.Method = m.Name
					a.Args = map[string]modeldao.Text{}
					for k, v := range args {
						a.Args[k] = modeldao.Text(argText(v))
					}
					if id, ok := args["versionId"].(*big.Int); ok && id.IsUint64() {
						a.VersionID = id.Uint64()
					}
				}
			}
		}
		out[i] = a
	}
	return out
}

// argText renders a decoded argument canonically.
func argText(v any) string {
	switch x := v.(type) {
	case *big.Int:
		return x.String()
	case common.Address:
		return x.Hex()
	case string:
		return x
	case bool:
		return fmt.Sprint(x)
	}
	return strings.TrimSpace(fmt.Sprintf("%+v", v))
}

var opArgs = abi.Arguments{
	{Type: mustType("address[]")}, {Type: mustType("uint256[]")}, {Type: mustType("bytes[]")}, {Type: mustType("bytes32")}, {Type: mustType("bytes32")},
}

func mustType(t string) abi.Type {
	ty, err := abi.NewType(t, "", nil)
	if err != nil {
		panic(err)
	}
	return ty
}

// timelockOpID is the id of the timelock operation that GovernorTimelockControl queues for
// a proposal: hashOperationBatch(targets, values, calldatas, 0, salt) with
// salt = bytes20(governor) ^ keccak256(description).
func timelockOpID(governor common.Address, targets []common.Address, values []*big.Int, calldatas [][]byte, description string) common.Hash {
	salt := crypto.Keccak256Hash([]byte(description))
	for i := 0; i < common.AddressLength; i++ {
		salt[i] ^= governor[i]
	}
	enc, err := opArgs.Pack(targets, values, calldatas, common.Hash{}, salt)
	if err != nil {
		return common.Hash{}
	}
	return crypto.Keccak256Hash(enc)
}
