package contracts_test

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
)

// indexParams builds the ProposalParams of every proposal from the chain's logs alone, as
// the indexer does (the quorum excepted, read with Governor.quorum once the snapshot is
// past).
func (e *env) indexParams(t *testing.T, head uint64) map[string]*modeldao.ProposalParams {
	t.Helper()
	opts := &bind.FilterOpts{Start: e.dao.Deployment.Block, End: &head, Context: e.ctx}
	gov := e.dao.Governor
	params := map[string]*modeldao.ProposalParams{}
	byOp := map[[32]byte]*modeldao.ProposalParams{}
	get := func(id *big.Int) *modeldao.ProposalParams {
		p, ok := params[id.String()]
		if !ok {
			t.Fatalf("event of unknown proposal %s", id)
		}
		return p
	}
	created := value[*bindings.GovernorProposalCreatedIterator](t)(gov.FilterProposalCreated(opts))
	for created.Next() {
		ev := created.Event
		p := &modeldao.ProposalParams{Snapshot: ev.VoteStart.Uint64(), Deadline: ev.VoteEnd.Uint64(),
			Tally: modeldao.Tally{For: new(big.Int), Against: new(big.Int), Abstain: new(big.Int)}}
		params[ev.ProposalId.String()] = p
		op, _ := timelockOp(t, e.governor(), contracts.Proposal{Targets: ev.Targets, Values: ev.Values, Calldatas: ev.Calldatas, Description: ev.Description})
		byOp[op] = p
		if p.Snapshot < head {
			p.Quorum = value[*big.Int](t)(gov.Quorum(e.callOpts(), ev.VoteStart))
		}
	}
	votes := value[*bindings.GovernorVoteCastIterator](t)(gov.FilterVoteCast(opts, nil))
	for votes.Next() {
		ev, tally := votes.Event, &get(votes.Event.ProposalId).Tally
		switch modeldao.VoteSupport(ev.Support) {
		case modeldao.SupportFor:
			tally.For.Add(tally.For, ev.Weight)
		case modeldao.SupportAgainst:
			tally.Against.Add(tally.Against, ev.Weight)
		case modeldao.SupportAbstain:
			tally.Abstain.Add(tally.Abstain, ev.Weight)
		}
	}
	queued := value[*bindings.GovernorProposalQueuedIterator](t)(gov.FilterProposalQueued(opts))
	for queued.Next() {
		get(queued.Event.ProposalId).Queued = true
	}
	executed := value[*bindings.GovernorProposalExecutedIterator](t)(gov.FilterProposalExecuted(opts))
	for executed.Next() {
		get(executed.Event.ProposalId).Executed = true
	}
	canceled := value[*bindings.GovernorProposalCanceledIterator](t)(gov.FilterProposalCanceled(opts))
	for canceled.Next() {
		get(canceled.Event.ProposalId).Canceled = true
	}
	done := value[*bindings.TimelockCallExecutedIterator](t)(e.dao.Timelock.FilterCallExecuted(opts, nil, nil))
	for done.Next() {
		if p := byOp[done.Event.Id]; p != nil {
			p.OpDone = true
		}
	}
	cancelled := value[*bindings.TimelockCancelledIterator](t)(e.dao.Timelock.FilterCancelled(opts, nil))
	for cancelled.Next() {
		if p := byOp[cancelled.Event.Id]; p != nil {
			p.OpCanceled = true
		}
	}
	return params
}

// StateAt, fed with what the indexer sees in the logs, must agree with Governor.state() for
// proposals in every state, at every block of their lives.
func TestStateAtMatchesGovernor(t *testing.T) {
	e := newEnv(t)
	e.mintAndDelegate(t, newcomer, 50) // under the quorum on its own
	names := []string{"executed", "executed via the timelock", "queued", "succeeded", "against wins", "tie", "under quorum",
		"abstain makes the quorum", "canceled", "no votes"}
	ps := map[string]contracts.Proposal{}
	b := e.batch()
	for _, name := range names {
		ps[name] = e.proposal(t, contracts.AddAuditor(common.BytesToAddress(crypto.Keccak256([]byte(name))), name))
		b.add(t)(e.dao.DAO.Propose(b.opts(t, deployer), ps[name]))
	}
	seen := map[modeldao.ProposalState]bool{}
	check := func(step string) {
		t.Helper()
		head := e.head(t)
		params := e.indexParams(t, head)
		for name, p := range ps {
			want := e.state(t, p)
			got := params[p.ID().String()].StateAt(head)
			if got != want {
				t.Fatalf("%s, block %d, proposal %q: StateAt = %v, Governor.state = %v (params %+v)", step, head, name, got, want, *params[p.ID().String()])
			}
			seen[want] = true
		}
	}
	b.mine(t)
	check("proposed")
	e.mined(t)(e.dao.Cancel(e.opts(deployer), ps["canceled"]))
	check("canceled")
	e.chain.Mine(1)
	check("voting started")

	b = e.batch()
	for _, v := range []struct {
		name    string
		voter   int
		support modeldao.VoteSupport
	}{
		{"executed", deployer, modeldao.SupportFor}, {"executed via the timelock", deployer, modeldao.SupportFor},
		{"queued", deployer, modeldao.SupportFor}, {"succeeded", holderB, modeldao.SupportFor},
		{"against wins", deployer, modeldao.SupportFor}, {"against wins", holderB, modeldao.SupportAgainst}, {"against wins", holderC, modeldao.SupportAgainst},
		{"tie", deployer, modeldao.SupportFor}, {"tie", holderB, modeldao.SupportAgainst},
		{"under quorum", newcomer, modeldao.SupportFor},
		{"abstain makes the quorum", newcomer, modeldao.SupportFor}, {"abstain makes the quorum", holderC, modeldao.SupportAbstain},
	} {
		b.add(t)(e.dao.Governor.CastVote(b.opts(t, v.voter), ps[v.name].ID(), uint8(v.support)))
	}
	b.mine(t)
	deadline := value[*big.Int](t)(e.dao.Governor.ProposalDeadline(e.callOpts(), ps["executed"].ID())).Uint64()
	for e.head(t) <= deadline+1 {
		check("voting")
		e.chain.Mine(1)
	}
	check("voting over")

	b = e.batch()
	for _, name := range []string{"executed", "executed via the timelock", "queued"} {
		b.add(t)(e.dao.Queue(b.opts(t, deployer), ps[name]))
	}
	b.mine(t)
	check("queued")
	e.waitTimelock(t)
	check("timelock delay over")
	e.mined(t)(e.dao.Execute(e.opts(outsider), ps["executed"]))
	check("executed by the governor")
	p := ps["executed via the timelock"]
	_, salt := timelockOp(t, e.governor(), p)
	e.mined(t)(e.dao.Timelock.ExecuteBatch(e.opts(outsider), p.Targets, p.Values, p.Calldatas, [32]byte{}, salt))
	check("executed through the timelock directly")

	late := e.proposal(t, contracts.AddAuditor(e.addr(outsider), "late"))
	ps["late"] = late
	e.mined(t)(e.dao.DAO.Propose(e.opts(deployer), late))
	for range e.dao.Config.VotingDelay + 2 {
		check("late proposal")
		e.chain.Mine(1)
	}
	check("late proposal active")

	for _, s := range []modeldao.ProposalState{modeldao.ProposalPending, modeldao.ProposalActive, modeldao.ProposalCanceled,
		modeldao.ProposalDefeated, modeldao.ProposalSucceeded, modeldao.ProposalQueued, modeldao.ProposalExecuted} {
		if !seen[s] {
			t.Errorf("no proposal was ever %v: the comparison misses that state", s)
		}
	}
}
