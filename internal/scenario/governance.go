package scenario

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
)

// propose sends a proposal of random registry calls from a holder.
func (s *Scenario) propose(ctx context.Context, holder int) error {
	calls := s.randomCalls()
	if len(calls) == 0 {
		return nil
	}
	s.n++
	p, err := s.DAO.RegistryProposal(s.str(Description, fmt.Sprintf("# Proposal %d\nRandom registry change number %d.", s.n, s.n)), calls...)
	if err != nil {
		return err
	}
	if _, err := s.DAO.Mined(ctx)(s.DAO.DAO.Propose(s.opts(holder), p)); err == nil {
		s.Proposals = append(s.Proposals, p)
	}
	return nil
}

// toVoteOn picks a recent proposal, an active one when there is one (a vote on another is
// refused, so not sent).
func (s *Scenario) toVoteOn(ctx context.Context) (contracts.Proposal, bool) {
	if p, _, ok := s.find(ctx, modeldao.ProposalActive); ok {
		return p, true
	}
	n := len(s.Proposals)
	if n == 0 {
		return contracts.Proposal{}, false
	}
	return s.Proposals[n-1-s.pick(min(n, 4))], true
}

// support picks a vote's support, mostly for.
func (s *Scenario) support() uint8 {
	support := uint8(s.pick(3))
	if s.pick(3) == 0 {
		support = uint8(modeldao.SupportFor)
	}
	return support
}

func (s *Scenario) reason() string {
	reasons := []string{"", "", "Looks good to me", "Audit is convincing", "Bias too high on one feature", "🙂 unicode reason"}
	return s.str(Reason, reasons[s.pick(len(reasons))])
}

// voteWithReason casts castVoteWithReason.
func (s *Scenario) voteWithReason(ctx context.Context, voter int) {
	p, ok := s.toVoteOn(ctx)
	if !ok {
		return
	}
	_, _ = s.DAO.Mined(ctx)(s.DAO.Governor.CastVoteWithReason(s.opts(voter), p.ID(), s.support(), s.reason()))
}

// voteWithParams casts castVoteWithReasonAndParams with non-empty params, which the
// governor reports as VoteCastWithParams (simple counting ignores the params).
func (s *Scenario) voteWithParams(ctx context.Context, voter int) {
	p, ok := s.toVoteOn(ctx)
	if !ok {
		return
	}
	params := make([]byte, 1+s.pick(40))
	for i := range params {
		params[i] = byte(s.pick(256))
	}
	_, _ = s.DAO.Mined(ctx)(s.DAO.Governor.CastVoteWithReasonAndParams(s.opts(voter), p.ID(), s.support(), s.reason(), params))
}

// voteBySig has a holder sign an EIP-712 ballot, as a wallet's eth_signTypedData_v4 does,
// and another account relay it with castVoteBySig: the vote is the signer's, the
// transaction the relayer's.
func (s *Scenario) voteBySig(ctx context.Context, voter int) error {
	p, ok := s.toVoteOn(ctx)
	if !ok {
		return nil
	}
	support := s.support()
	relayer := s.other(voter)
	call := &bind.CallOpts{Context: ctx}
	nonce, err := s.DAO.Governor.Nonces(call, s.addrs[voter])
	if err != nil {
		return fmt.Errorf("scenario: ballot nonce: %w", err)
	}
	name, err := s.DAO.Governor.Name(call)
	if err != nil {
		return fmt.Errorf("scenario: governor name: %w", err)
	}
	version, err := s.DAO.Governor.Version(call)
	if err != nil {
		return fmt.Errorf("scenario: governor version: %w", err)
	}
	td := apitypes.TypedData{
		Types: apitypes.Types{
			"EIP712Domain": {{Name: "name", Type: "string"}, {Name: "version", Type: "string"}, {Name: "chainId", Type: "uint256"},
				{Name: "verifyingContract", Type: "address"}},
			"Ballot": {{Name: "proposalId", Type: "uint256"}, {Name: "support", Type: "uint8"}, {Name: "voter", Type: "address"},
				{Name: "nonce", Type: "uint256"}},
		},
		PrimaryType: "Ballot",
		Domain: apitypes.TypedDataDomain{Name: name, Version: version, ChainId: (*math.HexOrDecimal256)(s.chainID),
			VerifyingContract: s.DAO.Deployment.Governor.Hex()},
		Message: apitypes.TypedDataMessage{"proposalId": p.ID(), "support": big.NewInt(int64(support)),
			"voter": s.addrs[voter].Hex(), "nonce": nonce},
	}
	digest, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		return fmt.Errorf("scenario: ballot digest: %w", err)
	}
	sig, err := crypto.Sign(digest, s.keys[voter])
	if err != nil {
		return fmt.Errorf("scenario: sign ballot: %w", err)
	}
	sig[64] += 27 // OpenZeppelin's ECDSA wants v as 27 or 28
	_, _ = s.DAO.Mined(ctx)(s.DAO.Governor.CastVoteBySig(s.opts(relayer), p.ID(), support, s.addrs[voter], sig))
	return nil
}

// state returns a proposal's state as the governor sees it now.
func (s *Scenario) state(ctx context.Context, p contracts.Proposal) (modeldao.ProposalState, error) {
	st, err := s.DAO.Governor.State(&bind.CallOpts{Context: ctx}, p.ID())
	return modeldao.ProposalState(st), err
}

// passDelay mines a block past the timelock's delay.
func (s *Scenario) passDelay(ctx context.Context) error {
	return s.Node.IncreaseTime(ctx, time.Duration(s.DAO.Config.TimelockDelay+1)*time.Second)
}

// queueOrExecute queues a succeeded recent proposal, or executes a queued one through the
// governor once the delay passed.
func (s *Scenario) queueOrExecute(ctx context.Context, holder int) error {
	p, st, ok := s.find(ctx, modeldao.ProposalSucceeded, modeldao.ProposalQueued)
	if !ok {
		return nil
	}
	switch st {
	case modeldao.ProposalSucceeded:
		_, _ = s.DAO.Mined(ctx)(s.DAO.Queue(s.opts(holder), p))
	case modeldao.ProposalQueued:
		if s.passDelay(ctx) != nil {
			return nil // the chain would not move time now (go-ethereum's simulated backend refuses with transactions pending after a fork)
		}
		_, _ = s.DAO.Mined(ctx)(s.DAO.Execute(s.opts(holder), p))
	}
	return nil
}

// find picks a proposal in one of the given states among the last few (those that can
// still get there: a proposal lives voting delay + period blocks, and then the timelock's).
func (s *Scenario) find(ctx context.Context, states ...modeldao.ProposalState) (contracts.Proposal, modeldao.ProposalState, bool) {
	n := min(len(s.Proposals), 8)
	if n == 0 {
		return contracts.Proposal{}, 0, false
	}
	start := s.pick(n)
	for k := range n {
		p := s.Proposals[len(s.Proposals)-1-(start+k)%n]
		st, err := s.state(ctx, p)
		if err == nil && slices.Contains(states, st) {
			return p, st, true
		}
	}
	return contracts.Proposal{}, 0, false
}

// queued finds a queued proposal among the last few.
func (s *Scenario) queued(ctx context.Context) (contracts.Proposal, bool) {
	p, _, ok := s.find(ctx, modeldao.ProposalQueued)
	return p, ok
}

// operation returns the timelock operation the governor scheduled for a proposal: a batch
// with no predecessor and the salt bytes20(governor) ^ descriptionHash.
func (s *Scenario) operation(p contracts.Proposal) (id, salt [32]byte) {
	salt = p.DescriptionHash()
	gov := s.DAO.Deployment.Governor
	for i := range gov {
		salt[i] ^= gov[i]
	}
	id, err := s.DAO.Timelock.HashOperationBatch(nil, p.Targets, p.Values, p.Calldatas, [32]byte{}, salt)
	if err != nil {
		// A pure function of its arguments: a failure is the node's, and the cancel that
		// follows is simply refused.
		return [32]byte{}, salt
	}
	return id, salt
}

// executeOnTimelock has any account (not the governor) execute a queued proposal's
// operation on the timelock directly once the delay passed: the governor then reports
// Executed although it emitted no ProposalExecuted; only the timelock's CallExecuted tells.
// Many queued calls revert by the time they are due (a version approved meanwhile, an
// auditor already added): each queued proposal is tried until one executes.
func (s *Scenario) executeOnTimelock(ctx context.Context) error {
	var queued []contracts.Proposal
	for i := len(s.Proposals) - 1; i >= max(0, len(s.Proposals)-8); i-- {
		if st, err := s.state(ctx, s.Proposals[i]); err == nil && st == modeldao.ProposalQueued {
			queued = append(queued, s.Proposals[i])
		}
	}
	if len(queued) == 0 {
		return nil
	}
	if s.passDelay(ctx) != nil {
		return nil // as in queueOrExecute
	}
	executor := s.pick(Accounts)
	for _, p := range queued {
		_, salt := s.operation(p)
		if _, err := s.DAO.Mined(ctx)(s.DAO.Timelock.ExecuteBatch(s.opts(executor), p.Targets, p.Values, p.Calldatas, [32]byte{}, salt)); err == nil {
			return nil
		}
	}
	return nil
}

// cancelOnTimelock has the guardian cancel a queued proposal's operation on the timelock:
// the governor then reports Canceled although it emitted no ProposalCanceled.
func (s *Scenario) cancelOnTimelock(ctx context.Context) error {
	p, ok := s.queued(ctx)
	if !ok {
		return nil
	}
	id, _ := s.operation(p)
	_, _ = s.DAO.Mined(ctx)(s.DAO.Timelock.Cancel(s.opts(Guardian), id))
	return nil
}

// cancelPending cancels the latest proposal while it is pending (its proposer only; try
// them all).
func (s *Scenario) cancelPending(ctx context.Context) {
	if len(s.Proposals) == 0 {
		return
	}
	p := s.Proposals[len(s.Proposals)-1]
	for i := range Holders {
		if _, err := s.DAO.Mined(ctx)(s.DAO.Cancel(s.opts(i), p)); err == nil {
			break
		}
	}
}
