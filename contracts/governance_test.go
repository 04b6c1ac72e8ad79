package contracts_test

import (
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
	"github.com/modeldao/modeldao/devchain"
)

// The whole lifecycle of a model version through governance.
func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	tok, gov, reg := e.dao.Token, e.dao.Governor, e.dao.Registry

	// Mint: minted tokens carry no votes until delegated.
	e.mined(t)(tok.Mint(e.tokenOpts(deployer), e.addr(newcomer), devchain.Tokens(500)))
	wantTokens(t, "newcomer's balance", value[*big.Int](t)(tok.BalanceOf(e.callOpts(), e.addr(newcomer))), 500)
	wantTokens(t, "newcomer's votes before delegating", e.votes(t, newcomer), 0)
	e.mined(t)(tok.Delegate(e.tokenOpts(newcomer), e.addr(newcomer)))
	wantTokens(t, "newcomer's votes after delegating", e.votes(t, newcomer), 500)

	// A publisher submits a version.
	s := submission(modelName, "1.0.0")
	v1, r := e.submit(t, publisher, s)
	if v1 != 1 {
		t.Fatalf("first version id = %d, want 1", v1)
	}
	modelID := crypto.Keccak256Hash([]byte(modelName))
	registered := event(t, r, reg.ParseModelRegistered)
	if registered.ModelId != modelID || registered.Name != modelName || registered.Owner != e.addr(publisher) {
		t.Fatalf("ModelRegistered = %+v", registered)
	}
	submitted := event(t, r, reg.ParseVersionSubmitted)
	if submitted.VersionId.Uint64() != v1 || submitted.ModelId != modelID || submitted.Publisher != e.addr(publisher) ||
		submitted.ModelName != s.ModelName || submitted.VersionLabel != s.Label || submitted.WeightsCID != s.WeightsCID ||
		submitted.WeightsSha256 != s.WeightsSHA256 || submitted.ModelCardCID != s.ModelCardCID || submitted.License != s.License ||
		strings.Join(submitted.Tags, ",") != strings.Join(s.Tags, ",") {
		t.Fatalf("VersionSubmitted = %+v, want the submission %+v", submitted, s)
	}
	e.wantStatus(t, v1, modeldao.VersionSubmitted)
	if owner := value[common.Address](t)(reg.ModelOwner(e.callOpts(), modelID)); owner != e.addr(publisher) {
		t.Fatalf("modelOwner = %s, want the publisher", owner)
	}
	key := crypto.Keccak256Hash(abiEncode(t, []string{"bytes32", "string"}, modelID, s.Label))
	if id := value[*big.Int](t)(reg.VersionIdOf(e.callOpts(), key)); id.Uint64() != v1 {
		t.Fatalf("versionIdOf(keccak(abi.encode(modelId, label))) = %s, want %d", id, v1)
	}

	// Governance registers an auditor and adopts a policy, in one proposal.
	policy := fairLending()
	_, r = e.pass(t, contracts.AddAuditor(e.addr(auditor), "Fair Audits Ltd"), contracts.AdoptPolicy(policy))
	if ev := event(t, r, reg.ParseAuditorAdded); ev.Auditor != e.addr(auditor) || ev.Name != "Fair Audits Ltd" {
		t.Fatalf("AuditorAdded = %+v", ev)
	}
	adopted := event(t, r, reg.ParsePolicyAdopted)
	if adopted.PolicyId.Uint64() != 1 || adopted.Name != string(policy.Name) || adopted.Version != string(policy.Version) ||
		adopted.DocumentCID != string(policy.DocumentCID) || !adopted.AuditRequired || fmt.Sprint(adopted.Bounds) != fmt.Sprint(chainBounds(policy.Bounds)) {
		t.Fatalf("PolicyAdopted = %+v", adopted)
	}
	if !value[bool](t)(reg.IsAuditor(e.callOpts(), e.addr(auditor))) {
		t.Fatal("the auditor is not registered")
	}
	if got := value[bindings.ModelRegistryPolicy](t)(reg.GetPolicy(e.callOpts(), big.NewInt(1))); !got.Active || !got.AuditRequired ||
		got.Name != string(policy.Name) || fmt.Sprint(got.Bounds) != fmt.Sprint(chainBounds(policy.Bounds)) {
		t.Fatalf("getPolicy(1) = %+v", got)
	}

	// The auditor posts a passing audit.
	metrics := passingMetrics()
	a1, r := e.audit(t, auditor, v1, 1, metrics, true)
	audited := event(t, r, reg.ParseAuditSubmitted)
	if audited.AuditId.Uint64() != a1 || audited.VersionId.Uint64() != v1 || audited.PolicyId.Uint64() != 1 ||
		audited.Auditor != e.addr(auditor) || audited.ReportCID != cidReport || audited.ReportSha256 == ([32]byte{}) ||
		!audited.Passed || fmt.Sprint(audited.Metrics) != fmt.Sprint(chainMetrics(metrics)) {
		t.Fatalf("AuditSubmitted = %+v", audited)
	}
	if got := value[bindings.ModelRegistryAudit](t)(reg.GetAudit(e.callOpts(), big.NewInt(int64(a1)))); got.VersionId != v1 || got.PolicyId != 1 ||
		!got.Passed || fmt.Sprint(got.Metrics) != fmt.Sprint(chainMetrics(metrics)) {
		t.Fatalf("getAudit = %+v", got)
	}

	// The approval, step by step.
	p := e.proposal(t, contracts.ApproveVersion(v1, 1, a1))
	r = e.mined(t)(e.dao.DAO.Propose(e.opts(deployer), p))
	created := event(t, r, gov.ParseProposalCreated)
	snapshot, deadline := r.BlockNumber.Uint64()+e.dao.Config.VotingDelay, r.BlockNumber.Uint64()+e.dao.Config.VotingDelay+uint64(e.dao.Config.VotingPeriod)
	if created.ProposalId.Cmp(p.ID()) != 0 || created.Proposer != e.addr(deployer) || created.VoteStart.Uint64() != snapshot ||
		created.VoteEnd.Uint64() != deadline || created.Description != p.Description {
		t.Fatalf("ProposalCreated = %+v, want id %s, snapshot %d, deadline %d", created, p.ID(), snapshot, deadline)
	}
	e.wantState(t, p, modeldao.ProposalPending)
	castVote := func(voter int, support uint8) error {
		return e.call(e.addr(voter), e.governor(), pack(t, contracts.GovernorABI, "castVote", p.ID(), support))
	}
	expectRevert(t, castVote(holderB, 1), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalPending))
	e.chain.Mine(1) // the head is the snapshot: still pending
	e.wantState(t, p, modeldao.ProposalPending)
	e.chain.Mine(1)
	e.wantState(t, p, modeldao.ProposalActive)

	ballots := []struct {
		voter   int
		support modeldao.VoteSupport
		reason  string
		weight  int64
	}{
		{deployer, modeldao.SupportFor, "The audit meets the fair-lending bounds.", 1000},
		{holderB, modeldao.SupportAgainst, "The disparate impact ratio is too close to the limit.", 1000},
		{holderC, modeldao.SupportAbstain, "Conflict of interest: I trained this model.", 1000},
		{newcomer, modeldao.SupportFor, "", 500},
	}
	for _, b := range ballots {
		r := e.mined(t)(gov.CastVoteWithReason(e.opts(b.voter), p.ID(), uint8(b.support), b.reason))
		ev := event(t, r, gov.ParseVoteCast)
		if ev.Voter != e.addr(b.voter) || ev.ProposalId.Cmp(p.ID()) != 0 || ev.Support != uint8(b.support) ||
			ev.Weight.Cmp(devchain.Tokens(b.weight)) != 0 || ev.Reason != b.reason {
			t.Fatalf("VoteCast = %+v, want %+v", ev, b)
		}
	}
	if !value[bool](t)(gov.HasVoted(e.callOpts(), p.ID(), e.addr(holderB))) || value[bool](t)(gov.HasVoted(e.callOpts(), p.ID(), e.addr(outsider))) {
		t.Fatal("hasVoted is wrong")
	}
	expectRevert(t, castVote(holderB, 1), "GovernorAlreadyCastVote", e.addr(holderB))
	expectRevert(t, castVote(outsider, 3), "GovernorInvalidVoteType")
	tally := value[struct{ AgainstVotes, ForVotes, AbstainVotes *big.Int }](t)(gov.ProposalVotes(e.callOpts(), p.ID()))
	wantTokens(t, "for votes", tally.ForVotes, 1500)
	wantTokens(t, "against votes", tally.AgainstVotes, 1000)
	wantTokens(t, "abstain votes", tally.AbstainVotes, 1000)
	e.wantState(t, p, modeldao.ProposalActive)
	queueCall := pack(t, contracts.GovernorABI, "queue", p.Targets, p.Values, p.Calldatas, p.DescriptionHash())
	expectRevert(t, e.call(e.addr(deployer), e.governor(), queueCall), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalActive))

	e.dao.EndVoting()
	e.wantState(t, p, modeldao.ProposalSucceeded)
	expectRevert(t, castVote(outsider, 1), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalSucceeded))
	// A succeeded proposal cannot skip the timelock.
	expectRevert(t, e.executeCall(t, p), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalSucceeded))

	// Anyone may queue a succeeded proposal.
	r = e.mined(t)(e.dao.Queue(e.opts(outsider), p))
	queued := event(t, r, gov.ParseProposalQueued)
	block := value[*types.Header](t)(e.chain.Client.HeaderByNumber(e.ctx, r.BlockNumber))
	if queued.EtaSeconds.Uint64() != block.Time+e.dao.Config.TimelockDelay {
		t.Fatalf("eta = %s, want block time %d + %d", queued.EtaSeconds, block.Time, e.dao.Config.TimelockDelay)
	}
	e.wantState(t, p, modeldao.ProposalQueued)
	expectRevert(t, e.executeCall(t, p), "TimelockUnexpectedOperationState")
	e.waitTimelock(t)
	e.wantState(t, p, modeldao.ProposalQueued)

	// Anyone may execute it once the delay has passed.
	r = e.mined(t)(e.dao.Execute(e.opts(outsider), p))
	e.wantState(t, p, modeldao.ProposalExecuted)
	if ev := event(t, r, reg.ParseVersionApproved); ev.VersionId.Uint64() != v1 || ev.PolicyId.Uint64() != 1 || ev.AuditId.Uint64() != a1 {
		t.Fatalf("VersionApproved = %+v", ev)
	}
	e.wantStatus(t, v1, modeldao.VersionApproved)
	if got := e.version(t, v1); got.PolicyId != 1 || got.AuditId != a1 || got.Publisher != e.addr(publisher) ||
		got.ModelId != modelID || got.WeightsCID != s.WeightsCID || got.WeightsSha256 != s.WeightsSHA256 {
		t.Fatalf("getVersion = %+v", got)
	}
	expectRevert(t, e.executeCall(t, p), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalExecuted))

	// A rejection.
	v2, _ := e.submit(t, publisher, submission(modelName, "1.1.0"))
	const rejectReason = "The weights file does not match the model card."
	_, r = e.pass(t, contracts.RejectVersion(v2, rejectReason))
	if ev := event(t, r, reg.ParseVersionRejected); ev.VersionId.Uint64() != v2 || ev.Reason != rejectReason {
		t.Fatalf("VersionRejected = %+v", ev)
	}
	e.wantStatus(t, v2, modeldao.VersionRejected)

	// A revocation of the approved version.
	const revokeReason = "Bias found in production."
	_, r = e.pass(t, contracts.RevokeVersion(v1, revokeReason))
	if ev := event(t, r, reg.ParseVersionRevoked); ev.VersionId.Uint64() != v1 || ev.Reason != revokeReason {
		t.Fatalf("VersionRevoked = %+v", ev)
	}
	e.wantStatus(t, v1, modeldao.VersionRevoked)
	if got := e.version(t, v1); got.PolicyId != 1 || got.AuditId != a1 {
		t.Fatalf("a revoked version keeps its approval's policy and audit: %+v", got)
	}
}

func TestProposalDefeated(t *testing.T) {
	e := newEnv(t)
	// The newcomer's 50 tokens are under the quorum: 4 % of 3050 is 122.
	e.mintAndDelegate(t, newcomer, 50)
	against := e.proposal(t, contracts.AddAuditor(e.addr(outsider), "against wins"))
	tie := e.proposal(t, contracts.AddAuditor(e.addr(outsider), "a tie"))
	noQuorum := e.proposal(t, contracts.AddAuditor(e.addr(outsider), "under quorum"))
	noVotes := e.proposal(t, contracts.AddAuditor(e.addr(outsider), "no votes"))
	abstainQuorum := e.proposal(t, contracts.AddAuditor(e.addr(outsider), "abstain makes the quorum"))
	all := []contracts.Proposal{against, tie, noQuorum, noVotes, abstainQuorum}
	b := e.batch()
	for _, p := range all {
		b.add(t)(e.dao.DAO.Propose(b.opts(t, deployer), p))
	}
	b.mine(t)
	e.chain.Mine(int(e.dao.Config.VotingDelay) + 1)
	b = e.batch()
	for _, v := range []struct {
		p       contracts.Proposal
		voter   int
		support modeldao.VoteSupport
	}{
		{against, deployer, modeldao.SupportFor}, {against, holderB, modeldao.SupportAgainst}, {against, holderC, modeldao.SupportAgainst},
		{tie, deployer, modeldao.SupportFor}, {tie, holderB, modeldao.SupportAgainst},
		{noQuorum, newcomer, modeldao.SupportFor},
		{abstainQuorum, newcomer, modeldao.SupportFor}, {abstainQuorum, holderC, modeldao.SupportAbstain},
	} {
		b.add(t)(e.dao.Governor.CastVote(b.opts(t, v.voter), v.p.ID(), uint8(v.support)))
	}
	b.mine(t)
	snapshot := value[*big.Int](t)(e.dao.Governor.ProposalSnapshot(e.callOpts(), noQuorum.ID()))
	wantTokens(t, "quorum", value[*big.Int](t)(e.dao.Governor.Quorum(e.callOpts(), snapshot)), 122)
	for _, p := range all {
		e.wantState(t, p, modeldao.ProposalActive)
	}
	e.dao.EndVoting()

	for name, p := range map[string]contracts.Proposal{"against wins": against, "tie": tie, "under quorum": noQuorum, "no votes": noVotes} {
		t.Run(name, func(t *testing.T) {
			e.wantState(t, p, modeldao.ProposalDefeated)
			queue := pack(t, contracts.GovernorABI, "queue", p.Targets, p.Values, p.Calldatas, p.DescriptionHash())
			expectRevert(t, e.call(e.addr(deployer), e.governor(), queue), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalDefeated))
			expectRevert(t, e.executeCall(t, p), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalDefeated))
		})
	}
	t.Run("abstain votes count toward the quorum", func(t *testing.T) {
		e.wantState(t, abstainQuorum, modeldao.ProposalSucceeded)
	})
}

func TestProposalCancel(t *testing.T) {
	e := newEnv(t)
	p := e.proposal(t, contracts.AddAuditor(e.addr(outsider), "cancelled"))
	e.mined(t)(e.dao.DAO.Propose(e.opts(deployer), p))
	e.wantState(t, p, modeldao.ProposalPending)
	cancel := pack(t, contracts.GovernorABI, "cancel0", p.Targets, p.Values, p.Calldatas, p.DescriptionHash())
	expectRevert(t, e.call(e.addr(holderB), e.governor(), cancel), "GovernorUnableToCancel", p.ID(), e.addr(holderB))

	r := e.mined(t)(e.dao.Cancel(e.opts(deployer), p))
	if ev := event(t, r, e.dao.Governor.ParseProposalCanceled); ev.ProposalId.Cmp(p.ID()) != 0 {
		t.Fatalf("ProposalCanceled = %+v", ev)
	}
	e.wantState(t, p, modeldao.ProposalCanceled)
	e.chain.Mine(int(e.dao.Config.VotingDelay) + 1)
	e.wantState(t, p, modeldao.ProposalCanceled)
	castVote := pack(t, contracts.GovernorABI, "castVote", p.ID(), uint8(modeldao.SupportFor))
	expectRevert(t, e.call(e.addr(deployer), e.governor(), castVote), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalCanceled))
	// The same calls and description make the same id: a cancelled proposal cannot come back.
	propose := pack(t, contracts.GovernorABI, "propose", p.Targets, p.Values, p.Calldatas, p.Description)
	expectRevert(t, e.call(e.addr(deployer), e.governor(), propose), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalCanceled))

	// Once voting has started, not even the proposer can cancel.
	active := e.proposal(t, contracts.AddAuditor(e.addr(outsider), "too late to cancel"))
	e.mined(t)(e.dao.DAO.Propose(e.opts(deployer), active))
	e.chain.Mine(int(e.dao.Config.VotingDelay) + 1)
	e.wantState(t, active, modeldao.ProposalActive)
	cancel = pack(t, contracts.GovernorABI, "cancel0", active.Targets, active.Values, active.Calldatas, active.DescriptionHash())
	expectRevert(t, e.call(e.addr(deployer), e.governor(), cancel), "GovernorUnableToCancel", active.ID(), e.addr(deployer))
}
