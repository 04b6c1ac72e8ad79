package store

import (
	"encoding/json"
	"math/big"

	"github.com/modeldao/modeldao"
)

// The Governor's events: proposals, their queueing, execution and cancellation, votes, and
// the governor's settings.
func governanceProjectors() []projectorEntry {
	return []projectorEntry{
		project(nil, (*Batch).proposalCreated),
		project(func(r *reads, e *modeldao.VoteCast) {
			r.proposal(e.ProposalID)
			r.account(e.Voter)
		}, (*Batch).voteCast),
		project(func(r *reads, e *modeldao.ProposalQueuedEvent) { r.proposal(e.ProposalID) },
			func(b *Batch, e *modeldao.ProposalQueuedEvent) error {
				return b.updateProposal(e.ProposalID, e.Provenance, func(p *modeldao.Proposal) {
					p.Queued, p.Eta = true, e.Eta
					p.Timeline = append(p.Timeline, modeldao.ProposalChange{Kind: "QUEUED", Provenance: e.Provenance})
				})
			}),
		project(func(r *reads, e *modeldao.ProposalExecutedEvent) { r.proposal(e.ProposalID) },
			func(b *Batch, e *modeldao.ProposalExecutedEvent) error {
				return b.updateProposal(e.ProposalID, e.Provenance, func(p *modeldao.Proposal) {
					p.Executed = true
					b.linkProposal(p, e.Provenance)
					p.RecordEnd("EXECUTED", e.Provenance, true)
				})
			}),
		project(func(r *reads, e *modeldao.ProposalCanceledEvent) { r.proposal(e.ProposalID) },
			func(b *Batch, e *modeldao.ProposalCanceledEvent) error {
				return b.updateProposal(e.ProposalID, e.Provenance, func(p *modeldao.Proposal) {
					p.Canceled = true
					p.RecordEnd("CANCELED", e.Provenance, true)
				})
			}),
		project(nil, (*Batch).setting),
	}
}

func (b *Batch) proposalCreated(e *modeldao.ProposalCreated) error {
	k := b.s.keys
	id := e.ProposalID.String()
	p, _, err := load[modeldao.Proposal](b, k.ProposalRecords(), id, false)
	if err != nil {
		return err
	}
	*p = modeldao.Proposal{
		ID: id, Proposer: e.Proposer, Actions: e.Actions, Description: modeldao.Text(e.Description),
		Title: modeldao.Text(modeldao.ProposalTitle(e.Description)), Snapshot: e.VoteStart, Deadline: e.VoteEnd,
		Tally:        modeldao.Tally{For: new(big.Int), Against: new(big.Int), Abstain: new(big.Int)},
		State:        modeldao.ProposalPending,
		TimelockOpID: e.TimelockOpID, Created: e.Provenance,
		Timeline: []modeldao.ProposalChange{{Kind: "CREATED", Provenance: e.Provenance}},
	}
	seen := map[uint64]bool{}
	for _, a := range e.Actions {
		if a.VersionID != 0 && !seen[a.VersionID] {
			seen[a.VersionID] = true
			p.VersionIDs = append(p.VersionIDs, a.VersionID)
			b.zadd(k.ProposalsOfVersion(a.VersionID), id, Ordinal(e.Provenance))
		}
	}
	b.touch(k.ProposalRecords(), id)
	ord := Ordinal(e.Provenance)
	b.zadd(k.Proposals(), id, ord)
	b.zadd(k.ProposalsByDeadline(), id, float64(e.VoteEnd))
	b.zadd(k.ProposalsByVotes(), AmountMember(nil, TotalDigits, id), 0)
	b.zadd(k.ProposalsInState(p.State), id, ord)
	b.zadd(k.ProposalsOfProposer(e.Proposer), id, ord)
	b.zadd(k.OpenProposals(), id, float64(e.VoteEnd))
	b.openAdded = append(b.openAdded, id)
	b.write(undoOp{K: opHSet, Key: k.TimelockOps(), F: HashID(e.TimelockOpID), V: id})
	return nil
}

// proposal loads a proposal; a missing one (an event about a proposal created before the
// start block) is reported and the event skipped.
func (b *Batch) proposal(id *big.Int, at modeldao.Provenance) (*modeldao.Proposal, error) {
	p, existed, err := load[modeldao.Proposal](b, b.s.keys.ProposalRecords(), id.String(), false)
	if err != nil || !existed && p.ID == "" {
		if err == nil {
			b.s.log.Warn("store: event for a proposal the index does not know (created before the start block?); skipped",
				"proposal", id.String(), "block", at.BlockNumber, "tx", at.TxHash)
		}
		return nil, err
	}
	return p, nil
}

func (b *Batch) updateProposal(id *big.Int, at modeldao.Provenance, f func(*modeldao.Proposal)) error {
	p, err := b.proposal(id, at)
	if p == nil || err != nil {
		return err
	}
	f(p)
	b.touch(b.s.keys.ProposalRecords(), p.ID)
	return nil
}

// linkProposal records p as the cause of the status changes that its execution made: they
// are the changes of its versions in the same transaction.
func (b *Batch) linkProposal(p *modeldao.Proposal, at modeldao.Provenance) {
	for _, vid := range p.VersionIDs {
		v, existed, err := load[modeldao.ModelVersion](b, b.s.keys.VersionRecords(), decimal(vid), false)
		if err != nil {
			b.fail(err)
			return
		}
		if !existed && v.ID == 0 {
			continue
		}
		changed := false
		for i := range v.History {
			h := &v.History[i]
			if h.Provenance.TxHash == at.TxHash && h.ProposalID == "" {
				h.ProposalID, changed = p.ID, true
			}
		}
		if changed {
			b.touch(b.s.keys.VersionRecords(), decimal(vid))
		}
	}
}

func (b *Batch) voteCast(e *modeldao.VoteCast) error {
	k := b.s.keys
	p, err := b.proposal(e.ProposalID, e.Provenance)
	if p == nil || err != nil {
		return err
	}
	oldTotal := AmountMember(totalVotes(p.Tally), TotalDigits, p.ID)
	switch e.Support {
	case modeldao.SupportFor:
		p.Tally.For = add(p.Tally.For, e.Weight)
	case modeldao.SupportAgainst:
		p.Tally.Against = add(p.Tally.Against, e.Weight)
	case modeldao.SupportAbstain:
		p.Tally.Abstain = add(p.Tally.Abstain, e.Weight)
	}
	p.Voters++
	b.touch(k.ProposalRecords(), p.ID)
	vote := modeldao.Vote{ProposalID: p.ID, Voter: e.Voter, Support: e.Support, Weight: e.Weight, Reason: modeldao.Text(e.Reason), Params: e.Params, Provenance: e.Provenance}
	buf, ok := appendVote(nil, &vote)
	if !ok {
		buf, _ = json.Marshal(vote)
	}
	vid := VoteID(p.ID, e.Voter)
	b.write(undoOp{K: opHSet, Key: k.VoteRecords(), F: vid, V: string(buf)})
	ord := Ordinal(e.Provenance)
	b.zadd(k.Votes(), vid, ord)
	b.zadd(k.VotesOnProposal(p.ID), Addr(e.Voter), ord)
	// A voter votes once on a proposal (the governor refuses a second vote), so the weight's
	// member is new; the total's old member is the one the tally before this vote gives.
	weights, totals := k.VotesOnProposalByWeight(p.ID), k.ProposalsByVotes()
	wm := AmountMember(e.Weight, AmountDigits, Addr(e.Voter))
	b.zknown(weights, wm, false)
	b.zadd(weights, wm, 0)
	b.zadd(k.VotesOfVoter(e.Voter), p.ID, ord)
	if newTotal := AmountMember(totalVotes(p.Tally), TotalDigits, p.ID); newTotal != oldTotal {
		b.zknown(totals, oldTotal, true)
		b.zknown(totals, newTotal, false)
		b.zrem(totals, oldTotal)
		b.zadd(totals, newTotal, 0)
	}
	a, err := b.account(e.Voter, e.Provenance)
	if err != nil {
		return err
	}
	a.VoteCount++
	b.touch(k.AccountRecords(), Addr(e.Voter))
	return nil
}

func (b *Batch) setting(e *modeldao.GovernorSettingChanged) error {
	k := b.s.keys
	d, _, err := load[modeldao.DAOParams](b, k.DAO(), "", true)
	if err != nil {
		return err
	}
	switch e.Setting {
	case "votingDelay":
		d.VotingDelay = e.Value.Uint64()
	case "votingPeriod":
		d.VotingPeriod = e.Value.Uint64()
	case "proposalThreshold":
		d.ProposalThreshold = new(big.Int).Set(e.Value)
	case "quorumNumerator":
		d.QuorumNumerator = e.Value.Uint64()
		h, _, err := load[history](b, k.QuorumNum(), "", true)
		if err != nil {
			return err
		}
		h.set(e.BlockNumber, e.Value.String())
		b.touch(k.QuorumNum(), "")
	}
	b.touch(k.DAO(), "")
	return nil
}
