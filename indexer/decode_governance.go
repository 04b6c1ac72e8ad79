package indexer

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
)

// The Governor's logs: proposals, votes, settings.
func (d *Decoder) governanceDecoders() []decoderEntry {
	dep := d.dep
	gov, _ := bindings.NewGovernorFilterer(dep.Governor, nil)
	return []decoderEntry{
		decodes(dep.Governor, contracts.GovernorABI, "ProposalCreated", func(l types.Log, at modeldao.At) (*modeldao.ProposalCreated, error) {
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
		}),
		decodes(dep.Governor, contracts.GovernorABI, "ProposalQueued", func(l types.Log, at modeldao.At) (*modeldao.ProposalQueuedEvent, error) {
			e, err := gov.ParseProposalQueued(l)
			if err != nil {
				return nil, err
			}
			eta, err := u64s(e.EtaSeconds)
			return &modeldao.ProposalQueuedEvent{At: at, ProposalID: e.ProposalId, Eta: eta}, err
		}),
		decodes(dep.Governor, contracts.GovernorABI, "ProposalExecuted", func(l types.Log, at modeldao.At) (*modeldao.ProposalExecutedEvent, error) {
			e, err := gov.ParseProposalExecuted(l)
			if err != nil {
				return nil, err
			}
			return &modeldao.ProposalExecutedEvent{At: at, ProposalID: e.ProposalId}, nil
		}),
		decodes(dep.Governor, contracts.GovernorABI, "ProposalCanceled", func(l types.Log, at modeldao.At) (*modeldao.ProposalCanceledEvent, error) {
			e, err := gov.ParseProposalCanceled(l)
			if err != nil {
				return nil, err
			}
			return &modeldao.ProposalCanceledEvent{At: at, ProposalID: e.ProposalId}, nil
		}),
		decodes(dep.Governor, contracts.GovernorABI, "VoteCast", func(l types.Log, at modeldao.At) (*modeldao.VoteCast, error) {
			e, err := gov.ParseVoteCast(l)
			if err != nil {
				return nil, err
			}
			return voteCast(at, e.Voter, e.ProposalId, e.Support, e.Weight, e.Reason, nil)
		}),
		decodes(dep.Governor, contracts.GovernorABI, "VoteCastWithParams", func(l types.Log, at modeldao.At) (*modeldao.VoteCast, error) {
			e, err := gov.ParseVoteCastWithParams(l)
			if err != nil {
				return nil, err
			}
			params := e.Params
			if params == nil {
				params = []byte{}
			}
			return voteCast(at, e.Voter, e.ProposalId, e.Support, e.Weight, e.Reason, params)
		}),
		decodes(dep.Governor, contracts.GovernorABI, "VotingDelaySet", decodeSetting("votingDelay", func(l types.Log) (*big.Int, error) {
			e, err := gov.ParseVotingDelaySet(l)
			if err != nil {
				return nil, err
			}
			return e.NewVotingDelay, nil
		})),
		decodes(dep.Governor, contracts.GovernorABI, "VotingPeriodSet", decodeSetting("votingPeriod", func(l types.Log) (*big.Int, error) {
			e, err := gov.ParseVotingPeriodSet(l)
			if err != nil {
				return nil, err
			}
			return e.NewVotingPeriod, nil
		})),
		decodes(dep.Governor, contracts.GovernorABI, "ProposalThresholdSet", decodeSetting("proposalThreshold", func(l types.Log) (*big.Int, error) {
			e, err := gov.ParseProposalThresholdSet(l)
			if err != nil {
				return nil, err
			}
			return e.NewProposalThreshold, nil
		})),
		decodes(dep.Governor, contracts.GovernorABI, "QuorumNumeratorUpdated", decodeSetting("quorumNumerator", func(l types.Log) (*big.Int, error) {
			e, err := gov.ParseQuorumNumeratorUpdated(l)
			if err != nil {
				return nil, err
			}
			return e.NewQuorumNumerator, nil
		})),
	}
}

// decodeSetting decodes one of the governor's setting events into a GovernorSettingChanged
// of the given setting.
func decodeSetting(name string, parse func(types.Log) (*big.Int, error)) func(types.Log, modeldao.At) (*modeldao.GovernorSettingChanged, error) {
	return func(l types.Log, at modeldao.At) (*modeldao.GovernorSettingChanged, error) {
		v, err := parse(l)
		if err != nil {
			return nil, err
		}
		return &modeldao.GovernorSettingChanged{At: at, Setting: name, Value: v}, nil
	}
}

func voteCast(at modeldao.At, voter common.Address, id *big.Int, support uint8, weight *big.Int, reason string, params []byte) (*modeldao.VoteCast, error) {
	if support > uint8(modeldao.SupportAbstain) {
		return nil, fmt.Errorf("vote support %d is not against, for or abstain", support)
	}
	return &modeldao.VoteCast{At: at, Voter: voter, ProposalID: id, Support: modeldao.VoteSupport(support), Weight: weight, Reason: reason, Params: params}, nil
}
