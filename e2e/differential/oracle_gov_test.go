package differential

import (
	"math/big"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
)

// oProposal is a proposal as the governor and the timelock see it.
type oProposal struct {
	id                     *big.Int
	ev                     *bindings.GovernorProposalCreated
	created                prov
	state                  uint8
	snapshot, deadline     uint64
	proposer               common.Address
	against, forV, abstain *big.Int
	quorum                 *big.Int // nil until the block is past the snapshot
	eta                    uint64
	opID                   common.Hash
	versions               []uint64 // versions its registry calls concern, in call order
	timeline               []oEvent
	votes                  []*oVote
	hasVoted               map[common.Address]bool
}

func (p *oProposal) total() *big.Int {
	return new(big.Int).Add(new(big.Int).Add(p.against, p.forV), p.abstain)
}

// oEvent is a step of a proposal's timeline: the transaction that made it and every log
// of that transaction that records it (the governor's and the timelock's); the API may
// name any one of them.
type oEvent struct {
	kind string
	tx   common.Hash
	logs []prov
}

// oVote is a VoteCast or VoteCastWithParams log.
type oVote struct {
	proposal *oProposal
	voter    common.Address
	support  uint8
	weight   *big.Int
	reason   string
	params   []byte
	prov     prov
	// pastVotes is token.getPastVotes(voter, snapshot) at the compared block.
	pastVotes *big.Int
}

var supportNames = []string{"AGAINST", "FOR", "ABSTAIN"}

var stateNames = []string{"PENDING", "ACTIVE", "CANCELED", "DEFEATED", "SUCCEEDED", "QUEUED", "EXPIRED", "EXECUTED"}

func (o *oracle) readProposals(t *testing.T) {
	gov, tl := o.dao.Governor, o.dao.Timelock
	it := must[*bindings.GovernorProposalCreatedIterator](t)(gov.FilterProposalCreated(o.filt))
	for it.Next() {
		e := it.Event
		p := &oProposal{id: e.ProposalId, ev: e, created: o.prov(t, e.Raw), hasVoted: map[common.Address]bool{}}
		p.state = must[uint8](t)(gov.State(o.call, p.id))
		p.snapshot = must[*big.Int](t)(gov.ProposalSnapshot(o.call, p.id)).Uint64()
		p.deadline = must[*big.Int](t)(gov.ProposalDeadline(o.call, p.id)).Uint64()
		if p.snapshot != e.VoteStart.Uint64() || p.deadline != e.VoteEnd.Uint64() {
			t.Fatalf("chain: proposal %s: views say %d..%d, its event %s..%s", p.id, p.snapshot, p.deadline, e.VoteStart, e.VoteEnd)
		}
		p.proposer = must[common.Address](t)(gov.ProposalProposer(o.call, p.id))
		pv := must[struct{ AgainstVotes, ForVotes, AbstainVotes *big.Int }](t)(gov.ProposalVotes(o.call, p.id))
		p.against, p.forV, p.abstain = pv.AgainstVotes, pv.ForVotes, pv.AbstainVotes
		if p.snapshot < o.at {
			p.quorum = must[*big.Int](t)(gov.Quorum(o.call, new(big.Int).SetUint64(p.snapshot)))
		}
		p.eta = must[*big.Int](t)(gov.ProposalEta(o.call, p.id)).Uint64()
		cp := contracts.Proposal{Targets: e.Targets, Values: e.Values, Calldatas: e.Calldatas, Description: e.Description}
		p.opID = must[[32]byte](t)(tl.HashOperationBatch(o.call, e.Targets, e.Values, e.Calldatas, [32]byte{}, timelockSalt(o.dep.Governor, cp)))
		for i, data := range e.Calldatas {
			if v, ok := concernedVersion(e.Targets[i], data, o.dep.Registry); ok && !slices.Contains(p.versions, v) {
				p.versions = append(p.versions, v)
			}
		}
		p.timeline = []oEvent{{kind: "CREATED", tx: p.created.tx, logs: []prov{p.created}}}
		id := p.id.String()
		o.proposals = append(o.proposals, p)
		o.byID[id] = p
		o.opToProp[p.opID] = p
	}
	iterDone(t, it.Error())
	o.readTimelines(t)
}

// concernedVersion decodes a registry call that approves, rejects or revokes a version,
// with the registry's ABI.
func concernedVersion(target common.Address, data []byte, registry common.Address) (uint64, bool) {
	if target != registry || len(data) < 4 {
		return 0, false
	}
	m, err := contracts.RegistryABI.MethodById(data[:4])
	if err != nil {
		return 0, false
	}
	switch m.Name {
	case "approveVersion", "rejectVersion", "revokeVersion":
		args, err := m.Inputs.Unpack(data[4:])
		if err != nil || len(args) == 0 {
			return 0, false
		}
		return args[0].(*big.Int).Uint64(), true
	}
	return 0, false
}

// readTimelines adds the queueing, execution and cancellation of each proposal, from the
// governor's events and from the timelock's events on the proposal's operation, so that
// an operation executed on the timelock directly counts too.
func (o *oracle) readTimelines(t *testing.T) {
	gov, tl := o.dao.Governor, o.dao.Timelock
	add := func(p *oProposal, kind string, pr prov) {
		for i := range p.timeline {
			if e := &p.timeline[i]; e.kind == kind && e.tx == pr.tx {
				e.logs = append(e.logs, pr)
				return
			}
		}
		p.timeline = append(p.timeline, oEvent{kind: kind, tx: pr.tx, logs: []prov{pr}})
	}
	byID := func(id *big.Int) *oProposal {
		p := o.byID[id.String()]
		if p == nil {
			t.Fatalf("chain: an event names proposal %s that was never created", id)
		}
		return p
	}
	byOp := func(id [32]byte) *oProposal { return o.opToProp[id] } // nil: not a proposal's operation

	q := must[*bindings.GovernorProposalQueuedIterator](t)(gov.FilterProposalQueued(o.filt))
	for q.Next() {
		add(byID(q.Event.ProposalId), "QUEUED", o.prov(t, q.Event.Raw))
	}
	iterDone(t, q.Error())
	x := must[*bindings.GovernorProposalExecutedIterator](t)(gov.FilterProposalExecuted(o.filt))
	for x.Next() {
		add(byID(x.Event.ProposalId), "EXECUTED", o.prov(t, x.Event.Raw))
	}
	iterDone(t, x.Error())
	c := must[*bindings.GovernorProposalCanceledIterator](t)(gov.FilterProposalCanceled(o.filt))
	for c.Next() {
		add(byID(c.Event.ProposalId), "CANCELED", o.prov(t, c.Event.Raw))
	}
	iterDone(t, c.Error())
	ts := must[*bindings.TimelockCallScheduledIterator](t)(tl.FilterCallScheduled(o.filt, nil, nil))
	for ts.Next() {
		if p := byOp(ts.Event.Id); p != nil {
			add(p, "QUEUED", o.prov(t, ts.Event.Raw))
		}
	}
	iterDone(t, ts.Error())
	te := must[*bindings.TimelockCallExecutedIterator](t)(tl.FilterCallExecuted(o.filt, nil, nil))
	for te.Next() {
		if p := byOp(te.Event.Id); p != nil {
			add(p, "EXECUTED", o.prov(t, te.Event.Raw))
		}
	}
	iterDone(t, te.Error())
	tc := must[*bindings.TimelockCancelledIterator](t)(tl.FilterCancelled(o.filt, nil))
	for tc.Next() {
		if p := byOp(tc.Event.Id); p != nil {
			add(p, "CANCELED", o.prov(t, tc.Event.Raw))
		}
	}
	iterDone(t, tc.Error())
	for _, p := range o.proposals {
		for i := range p.timeline {
			slices.SortFunc(p.timeline[i].logs, func(a, b prov) int { return cmpKeys(a.key(), b.key()) })
		}
		slices.SortFunc(p.timeline, func(a, b oEvent) int { return cmpKeys(a.logs[0].key(), b.logs[0].key()) })
	}
}

func (o *oracle) readVotes(t *testing.T) {
	gov, tok := o.dao.Governor, o.dao.Token
	vc := must[*bindings.GovernorVoteCastIterator](t)(gov.FilterVoteCast(o.filt, nil))
	for vc.Next() {
		e := vc.Event
		o.votes = append(o.votes, &oVote{proposal: o.byID[e.ProposalId.String()], voter: e.Voter, support: e.Support, weight: e.Weight, reason: e.Reason, prov: o.prov(t, e.Raw)})
	}
	iterDone(t, vc.Error())
	vp := must[*bindings.GovernorVoteCastWithParamsIterator](t)(gov.FilterVoteCastWithParams(o.filt, nil))
	for vp.Next() {
		e := vp.Event
		o.votes = append(o.votes, &oVote{proposal: o.byID[e.ProposalId.String()], voter: e.Voter, support: e.Support, weight: e.Weight, reason: e.Reason, params: e.Params, prov: o.prov(t, e.Raw)})
	}
	iterDone(t, vp.Error())
	slices.SortFunc(o.votes, func(a, b *oVote) int { return cmpKeys(a.prov.key(), b.prov.key()) })
	for _, v := range o.votes {
		if v.proposal == nil {
			t.Fatalf("chain: a vote at block %d names a proposal never created", v.prov.block)
		}
		v.pastVotes = must[*big.Int](t)(tok.GetPastVotes(o.call, v.voter, new(big.Int).SetUint64(v.proposal.snapshot)))
		v.proposal.votes = append(v.proposal.votes, v)
	}
}

// readHasVoted asks the governor, for every proposal and every account, whether it voted.
func (o *oracle) readHasVoted(t *testing.T) {
	for _, p := range o.proposals {
		for _, a := range o.addrs {
			p.hasVoted[a] = must[bool](t)(o.dao.Governor.HasVoted(o.call, p.id, a))
		}
	}
}

// cmpKeys compares two keys of uint256 parts, lexicographically.
func cmpKeys(a, b []*big.Int) int {
	for i := range min(len(a), len(b)) {
		if c := a[i].Cmp(b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}
