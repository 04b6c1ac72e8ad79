package store

import (
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// The projection: how each event changes the records and indexes listed in Keys.

const (
	hProposal   = "proposal"
	hVote       = "vote"
	hAccount    = "account"
	hModel      = "model"
	hVersion    = "version"
	hAudit      = "audit"
	hPolicy     = "policy"
	hAuditor    = "auditor"
	hTimelockOp = "timelockop"
	hPin        = "pin"
)

// pinJob is one entry of the pin queue, enqueued in the commit that records an approval or
// a revocation. It is a hint: the pinner re-reads the version before acting.
type pinJob struct {
	Op        string // pin or unpin
	VersionID uint64
	CID       string
	SHA256    common.Hash
	Block     uint64
}

func (j pinJob) fields() map[string]any {
	return map[string]any{
		"op": j.Op, "version": strconv.FormatUint(j.VersionID, 10), "cid": j.CID,
		"sha256": j.SHA256.Hex(), "block": strconv.FormatUint(j.Block, 10),
	}
}

func decimal(x uint64) string { return strconv.FormatUint(x, 10) }

func add(x, y *big.Int) *big.Int {
	r := new(big.Int)
	if x != nil {
		r.Set(x)
	}
	if y != nil {
		r.Add(r, y)
	}
	return r
}

// totalVotes is for + against + abstain, the amount that orders proposals by votes.
func totalVotes(t modeldao.Tally) *big.Int { return add(add(t.For, t.Against), t.Abstain) }

func sub(x, y *big.Int) *big.Int { return add(x, new(big.Int).Neg(y)) }

// history is a list of (block, value) pairs, for the total supply and the quorum numerator.
type history [][2]string

func (h *history) set(block uint64, v string) {
	b := decimal(block)
	if n := len(*h); n > 0 && (*h)[n-1][0] == b {
		(*h)[n-1][1] = v
		return
	}
	*h = append(*h, [2]string{b, v})
}

// at returns the value in force at the end of block n ("0" before the first entry).
func (h history) at(n uint64) string {
	v := "0"
	for _, e := range h {
		b, _ := strconv.ParseUint(e[0], 10, 64)
		if b > n {
			break
		}
		v = e[1]
	}
	return v
}

func (b *Batch) initDAO(p modeldao.DAOParams) error {
	d, _, err := load[modeldao.DAOParams](b, b.s.keys.DAO(), "", true)
	if err != nil {
		return err
	}
	*d = p
	if d.TotalSupply == nil {
		d.TotalSupply = new(big.Int)
	}
	if d.ProposalThreshold == nil {
		d.ProposalThreshold = new(big.Int)
	}
	b.touch(b.s.keys.DAO(), "")
	return nil
}

// prefetchBlocks loads, in one round trip, every record the events of the batch read.
func (b *Batch) prefetchBlocks(blocks []modeldao.Block) error {
	k := b.s.keys
	var refs []fieldRef
	h := func(name, field string) { refs = append(refs, fieldRef{k.Key(name), field}) }
	acct := func(a common.Address) {
		if a != (common.Address{}) {
			h(hAccount, Addr(a))
		}
	}
	for _, blk := range blocks {
		for _, ev := range blk.Events {
			switch e := ev.(type) {
			case *modeldao.VoteCast:
				h(hProposal, e.ProposalID.String())
				acct(e.Voter)
			case *modeldao.ProposalQueuedEvent:
				h(hProposal, e.ProposalID.String())
			case *modeldao.ProposalExecutedEvent:
				h(hProposal, e.ProposalID.String())
			case *modeldao.ProposalCanceledEvent:
				h(hProposal, e.ProposalID.String())
			case *modeldao.Transfer:
				acct(e.From)
				acct(e.To)
			case *modeldao.DelegateChanged:
				acct(e.Delegator)
				acct(e.From)
				acct(e.To)
			case *modeldao.DelegateVotesChanged:
				acct(e.Delegate)
			case *modeldao.CallExecuted:
				h(hTimelockOp, e.OperationID.Hex())
			case *modeldao.OperationCancelled:
				h(hTimelockOp, e.OperationID.Hex())
			case *modeldao.VersionApprovedEvent:
				h(hVersion, decimal(e.VersionID))
			case *modeldao.VersionRejectedEvent:
				h(hVersion, decimal(e.VersionID))
			case *modeldao.VersionRevokedEvent:
				h(hVersion, decimal(e.VersionID))
			case *modeldao.VersionSubmittedEvent:
				h(hModel, e.ModelID.Hex())
			case *modeldao.AuditSubmitted:
				h(hAuditor, Addr(e.Audit.Auditor))
			case *modeldao.AuditorAdded:
				h(hAuditor, Addr(e.Auditor))
			case *modeldao.AuditorRemoved:
				h(hAuditor, Addr(e.Auditor))
			case *modeldao.PolicyRetired:
				h(hPolicy, decimal(e.PolicyID))
			}
		}
	}
	return b.prefetch(refs, []string{k.DAO(), k.Supply(), k.QuorumNum()})
}

func (b *Batch) applyBlock(blk modeldao.Block) error {
	for _, ev := range blk.Events {
		if err := b.apply(ev); err != nil {
			return err
		}
	}
	return nil
}

func (b *Batch) apply(ev modeldao.Event) error {
	k := b.s.keys
	at := ev.Prov()
	switch e := ev.(type) {
	case *modeldao.ProposalCreated:
		return b.proposalCreated(e)
	case *modeldao.VoteCast:
		return b.voteCast(e)
	case *modeldao.ProposalQueuedEvent:
		return b.updateProposal(e.ProposalID, at, func(p *modeldao.Proposal) {
			p.Queued, p.Eta = true, e.Eta
			p.Timeline = append(p.Timeline, modeldao.ProposalChange{Kind: "QUEUED", Provenance: at})
		})
	case *modeldao.ProposalExecutedEvent:
		return b.updateProposal(e.ProposalID, at, func(p *modeldao.Proposal) {
			p.Executed = true
			b.linkProposal(p, at)
			p.RecordEnd("EXECUTED", at, true)
		})
	case *modeldao.ProposalCanceledEvent:
		return b.updateProposal(e.ProposalID, at, func(p *modeldao.Proposal) {
			p.Canceled = true
			p.RecordEnd("CANCELED", at, true)
		})
	case *modeldao.CallExecuted:
		return b.timelockOp(e.OperationID, func(p *modeldao.Proposal) {
			p.OpDone = true
			b.linkProposal(p, at)
			// Only a queued proposal's state follows its operation (GovernorTimelockControl).
			if p.Queued {
				p.RecordEnd("EXECUTED", at, false)
			}
		})
	case *modeldao.OperationCancelled:
		return b.timelockOp(e.OperationID, func(p *modeldao.Proposal) {
			p.OpCanceled = true
			if p.Queued {
				p.RecordEnd("CANCELED", at, false)
			}
		})
	case *modeldao.GovernorSettingChanged:
		return b.setting(e)
	case *modeldao.MinDelayChanged:
		d, _, err := load[modeldao.DAOParams](b, k.DAO(), "", true)
		if err != nil {
			return err
		}
		d.TimelockDelay = e.Delay
		b.touch(k.DAO(), "")
	case *modeldao.Transfer:
		return b.transfer(e)
	case *modeldao.DelegateChanged:
		return b.delegateChanged(e)
	case *modeldao.DelegateVotesChanged:
		a, err := b.account(e.Delegate, at)
		if err != nil {
			return err
		}
		was := *a
		a.VotingPower = new(big.Int).Set(e.Current)
		b.touch(k.Key(hAccount), Addr(e.Delegate))
		b.indexDelegate(e.Delegate, &was, a)
	case *modeldao.ModelRegistered:
		m, _, err := load[modeldao.Model](b, k.Key(hModel), e.ModelID.Hex(), false)
		if err != nil {
			return err
		}
		*m = modeldao.Model{ID: e.ModelID, Name: modeldao.Text(e.Name), Owner: e.Owner, Provenance: at}
		b.touch(k.Key(hModel), e.ModelID.Hex())
		b.zadd(k.Key("models"), e.ModelID.Hex(), Ordinal(at))
	case *modeldao.VersionSubmittedEvent:
		return b.versionSubmitted(e)
	case *modeldao.VersionApprovedEvent:
		return b.versionStatus(e.VersionID, modeldao.StatusChange{Status: modeldao.VersionApproved, PolicyID: e.PolicyID, AuditID: e.AuditID, Provenance: at})
	case *modeldao.VersionRejectedEvent:
		return b.versionStatus(e.VersionID, modeldao.StatusChange{Status: modeldao.VersionRejected, Reason: modeldao.Text(e.Reason), Provenance: at})
	case *modeldao.VersionRevokedEvent:
		return b.versionStatus(e.VersionID, modeldao.StatusChange{Status: modeldao.VersionRevoked, Reason: modeldao.Text(e.Reason), Provenance: at})
	case *modeldao.AuditorAdded:
		a, existed, err := load[modeldao.Auditor](b, k.Key(hAuditor), Addr(e.Auditor), false)
		if err != nil {
			return err
		}
		a.Address, a.Name, a.Active, a.Added, a.Removed = e.Auditor, modeldao.Text(e.Name), true, at, nil
		b.touch(k.Key(hAuditor), Addr(e.Auditor))
		if !existed {
			b.zadd(k.Key("auditors"), Addr(e.Auditor), Ordinal(at))
		}
	case *modeldao.AuditorRemoved:
		a, _, err := load[modeldao.Auditor](b, k.Key(hAuditor), Addr(e.Auditor), false)
		if err != nil {
			return err
		}
		a.Address, a.Active = e.Auditor, false
		r := at
		a.Removed = &r
		b.touch(k.Key(hAuditor), Addr(e.Auditor))
	case *modeldao.PolicyAdopted:
		id := decimal(e.Policy.ID)
		p, _, err := load[modeldao.Policy](b, k.Key(hPolicy), id, false)
		if err != nil {
			return err
		}
		*p = e.Policy
		p.Active, p.Adopted = true, at
		b.touch(k.Key(hPolicy), id)
		b.zadd(k.Key("policies"), id, float64(e.Policy.ID))
	case *modeldao.PolicyRetired:
		id := decimal(e.PolicyID)
		p, _, err := load[modeldao.Policy](b, k.Key(hPolicy), id, false)
		if err != nil {
			return err
		}
		r := at
		p.Active, p.Retired = false, &r
		b.touch(k.Key(hPolicy), id)
	case *modeldao.AuditSubmitted:
		return b.auditSubmitted(e)
	default:
		b.s.log.Warn("store: event type without projection", "type", fmt.Sprintf("%T", ev), "block", at.BlockNumber)
	}
	return nil
}

func typeName(v any) string {
	return strconv.Quote(func() string { b, _ := json.Marshal(v); return string(b) }())
}

func (b *Batch) account(a common.Address, at modeldao.Provenance) (*modeldao.Account, error) {
	acc, existed, err := load[modeldao.Account](b, b.s.keys.Key(hAccount), Addr(a), false)
	if err != nil {
		return nil, err
	}
	if !existed && acc.Balance == nil {
		acc.Address, acc.Balance, acc.VotingPower, acc.FirstSeen = a, new(big.Int), new(big.Int), at
	}
	return acc, nil
}

func (b *Batch) proposalCreated(e *modeldao.ProposalCreated) error {
	k := b.s.keys
	id := e.ProposalID.String()
	p, _, err := load[modeldao.Proposal](b, k.Key(hProposal), id, false)
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
			b.zadd(k.Key("proposals", "version", decimal(a.VersionID)), id, Ordinal(e.Provenance))
		}
	}
	b.touch(k.Key(hProposal), id)
	ord := Ordinal(e.Provenance)
	b.zadd(k.Key("proposals"), id, ord)
	b.zadd(k.Key("proposals", "deadline"), id, float64(e.VoteEnd))
	b.zadd(k.Key("proposals", "votes"), AmountMember(nil, TotalDigits, id), 0)
	b.zadd(k.Key("proposals", "state", p.State.String()), id, ord)
	b.zadd(k.Key("proposals", "proposer", Addr(e.Proposer)), id, ord)
	b.zadd(k.Key("proposals", "open"), id, float64(e.VoteEnd))
	b.openAdded = append(b.openAdded, id)
	b.write(undoOp{K: opHSet, Key: k.Key(hTimelockOp), F: e.TimelockOpID.Hex(), V: id})
	return nil
}

// proposal loads a proposal; a missing one (an event about a proposal created before the
// start block) is reported and the event skipped.
func (b *Batch) proposal(id *big.Int, at modeldao.Provenance) (*modeldao.Proposal, error) {
	p, existed, err := load[modeldao.Proposal](b, b.s.keys.Key(hProposal), id.String(), false)
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
	b.touch(b.s.keys.Key(hProposal), p.ID)
	return nil
}

func (b *Batch) timelockOp(op common.Hash, f func(*modeldao.Proposal)) error {
	v, err := b.get(fieldRef{b.s.keys.Key(hTimelockOp), op.Hex()}, false)
	if err != nil || !v.exists {
		return err // an operation scheduled outside the governor
	}
	id, ok := new(big.Int).SetString(v.s, 10)
	if !ok {
		return nil
	}
	if err := b.prefetch([]fieldRef{{b.s.keys.Key(hProposal), v.s}}, nil); err != nil {
		return err
	}
	p, err := b.proposal(id, modeldao.Provenance{})
	if p == nil || err != nil {
		return err
	}
	f(p)
	b.touch(b.s.keys.Key(hProposal), p.ID)
	return nil
}

// linkProposal records p as the cause of the status changes that its execution made: they
// are the changes of its versions in the same transaction.
func (b *Batch) linkProposal(p *modeldao.Proposal, at modeldao.Provenance) {
	for _, vid := range p.VersionIDs {
		v, existed, err := load[modeldao.ModelVersion](b, b.s.keys.Key(hVersion), decimal(vid), false)
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
			b.touch(b.s.keys.Key(hVersion), decimal(vid))
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
	b.touch(k.Key(hProposal), p.ID)
	vote := modeldao.Vote{ProposalID: p.ID, Voter: e.Voter, Support: e.Support, Weight: e.Weight, Reason: modeldao.Text(e.Reason), Params: e.Params, Provenance: e.Provenance}
	buf, _ := json.Marshal(vote)
	vid := VoteID(p.ID, e.Voter)
	b.write(undoOp{K: opHSet, Key: k.Key(hVote), F: vid, V: string(buf)})
	ord := Ordinal(e.Provenance)
	b.zadd(k.Key("votes"), vid, ord)
	b.zadd(k.Key("votes", "p", p.ID), Addr(e.Voter), ord)
	// A voter votes once on a proposal (the governor refuses a second vote), so the weight's
	// member is new; the total's old member is the one the tally before this vote gives.
	weights, totals := k.Key("votes", "p", p.ID, "weight"), k.Key("proposals", "votes")
	wm := AmountMember(e.Weight, AmountDigits, Addr(e.Voter))
	b.zknown(weights, wm, false)
	b.zadd(weights, wm, 0)
	b.zadd(k.Key("votes", "v", Addr(e.Voter)), p.ID, ord)
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
	b.touch(k.Key(hAccount), Addr(e.Voter))
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

func (b *Batch) transfer(e *modeldao.Transfer) error {
	k := b.s.keys
	zero := common.Address{}
	for _, side := range []struct {
		addr common.Address
		neg  bool
	}{{e.From, true}, {e.To, false}} {
		if side.addr == zero {
			continue
		}
		a, err := b.account(side.addr, e.Provenance)
		if err != nil {
			return err
		}
		if side.neg {
			a.Balance = sub(a.Balance, e.Value)
		} else {
			a.Balance = add(a.Balance, e.Value)
		}
		b.touch(k.Key(hAccount), Addr(side.addr))
	}
	if (e.From == zero) != (e.To == zero) {
		d, _, err := load[modeldao.DAOParams](b, k.DAO(), "", true)
		if err != nil {
			return err
		}
		if e.From == zero {
			d.TotalSupply = add(d.TotalSupply, e.Value)
		} else {
			d.TotalSupply = sub(d.TotalSupply, e.Value)
		}
		b.touch(k.DAO(), "")
		h, _, err := load[history](b, k.Supply(), "", true)
		if err != nil {
			return err
		}
		h.set(e.BlockNumber, d.TotalSupply.String())
		b.touch(k.Supply(), "")
	}
	return nil
}

func (b *Batch) delegateChanged(e *modeldao.DelegateChanged) error {
	k := b.s.keys
	zero := common.Address{}
	d, err := b.account(e.Delegator, e.Provenance)
	if err != nil {
		return err
	}
	d.Delegate = e.To
	b.touch(k.Key(hAccount), Addr(e.Delegator))
	ord := Ordinal(e.Provenance)
	if e.From != zero {
		from, err := b.account(e.From, e.Provenance)
		if err != nil {
			return err
		}
		was := *from
		from.DelegatorCount--
		b.touch(k.Key(hAccount), Addr(e.From))
		b.zrem(k.Key("delegators", Addr(e.From)), Addr(e.Delegator))
		b.indexDelegate(e.From, &was, from)
	}
	if e.To != zero {
		to, err := b.account(e.To, e.Provenance)
		if err != nil {
			return err
		}
		was := *to
		to.DelegatorCount++
		b.touch(k.Key(hAccount), Addr(e.To))
		b.zadd(k.Key("delegators", Addr(e.To)), Addr(e.Delegator), ord)
		b.indexDelegate(e.To, &was, to)
	}
	buf, _ := json.Marshal(modeldao.Delegation{Delegator: e.Delegator, From: e.From, To: e.To, Provenance: e.Provenance})
	b.zadd(k.Key("delegations", Addr(e.Delegator)), string(buf), ord)
	return nil
}

// indexDelegate moves account a from its old place (was, the record before the change) to
// its new one in the two orderings of delegates. Both hold exactly the accounts that are
// delegates (Account.IsDelegate), so every ordering lists the same accounts.
func (b *Batch) indexDelegate(a common.Address, was, now *modeldao.Account) {
	k := b.s.keys
	power, count := k.Key("accounts", "power"), k.Key("accounts", "delegators")
	id := Addr(a)
	oldM, newM := AmountMember(was.VotingPower, AmountDigits, id), AmountMember(now.VotingPower, AmountDigits, id)
	in, wasIn := now.IsDelegate(), was.IsDelegate()
	b.zknown(power, oldM, wasIn)
	if oldM != newM {
		b.zknown(power, newM, false)
	}
	if wasIn && (!in || oldM != newM) {
		b.zrem(power, oldM)
	}
	if in && (!wasIn || oldM != newM) {
		b.zadd(power, newM, 0)
	}
	switch {
	case in && (!wasIn || was.DelegatorCount != now.DelegatorCount):
		b.zadd(count, id, float64(now.DelegatorCount))
	case !in && wasIn:
		b.zrem(count, id)
	}
}

func (b *Batch) versionSubmitted(e *modeldao.VersionSubmittedEvent) error {
	k := b.s.keys
	id := decimal(e.VersionID)
	v, _, err := load[modeldao.ModelVersion](b, k.Key(hVersion), id, false)
	if err != nil {
		return err
	}
	s := e.Submission
	tags := modeldao.Texts(s.Tags)
	if tags == nil {
		tags = []modeldao.Text{}
	}
	*v = modeldao.ModelVersion{
		ID: e.VersionID, ModelID: e.ModelID, ModelName: modeldao.Text(s.ModelName), Label: modeldao.Text(s.Label), Publisher: e.Publisher,
		WeightsCID: modeldao.Text(s.WeightsCID), WeightsSHA256: s.WeightsSHA256, ModelCardCID: modeldao.Text(s.ModelCardCID), License: modeldao.Text(s.License),
		Tags: tags, Status: modeldao.VersionSubmitted, Submitted: e.Provenance,
		History: []modeldao.StatusChange{{Status: modeldao.VersionSubmitted, Provenance: e.Provenance}},
	}
	b.touch(k.Key(hVersion), id)
	score := float64(e.VersionID)
	b.zadd(k.Key("versions"), id, score)
	b.zadd(k.Key("versions", "status", v.Status.String()), id, score)
	b.zadd(k.Key("versions", "publisher", Addr(e.Publisher)), id, score)
	b.zadd(k.Key("versions", "model", e.ModelID.Hex()), id, score)
	b.zadd(k.Key("versions", "license", s.License), id, score)
	for _, t := range tags {
		b.zadd(k.Key("versions", "tag", string(t)), id, score)
	}
	m, existed, err := load[modeldao.Model](b, k.Key(hModel), e.ModelID.Hex(), false)
	if err != nil {
		return err
	}
	if existed || m.Name != "" {
		m.VersionCount++
		b.touch(k.Key(hModel), e.ModelID.Hex())
	}
	return nil
}

func (b *Batch) versionStatus(versionID uint64, c modeldao.StatusChange) error {
	k := b.s.keys
	id := decimal(versionID)
	v, existed, err := load[modeldao.ModelVersion](b, k.Key(hVersion), id, false)
	if err != nil {
		return err
	}
	if !existed && v.ID == 0 {
		b.s.log.Warn("store: status change of an unknown model version; skipped", "version", versionID, "block", c.Provenance.BlockNumber)
		return nil
	}
	b.zrem(k.Key("versions", "status", v.Status.String()), id)
	v.Status = c.Status
	b.zadd(k.Key("versions", "status", v.Status.String()), id, float64(versionID))
	v.History = append(v.History, c)
	switch c.Status {
	case modeldao.VersionApproved:
		v.PolicyID, v.AuditID = c.PolicyID, c.AuditID
		b.zadd(k.Key("versions", "policy", decimal(c.PolicyID)), id, float64(versionID))
		pin := modeldao.Pin{VersionID: versionID, CID: v.WeightsCID, Status: modeldao.PinQueued}
		buf, _ := json.Marshal(pin)
		b.write(undoOp{K: opHSet, Key: k.Pin(), F: id, V: string(buf)})
		b.pinJobs = append(b.pinJobs, pinJob{Op: "pin", VersionID: versionID, CID: string(v.WeightsCID), SHA256: v.WeightsSHA256, Block: c.Provenance.BlockNumber})
	case modeldao.VersionRevoked:
		b.pinJobs = append(b.pinJobs, pinJob{Op: "unpin", VersionID: versionID, CID: string(v.WeightsCID), SHA256: v.WeightsSHA256, Block: c.Provenance.BlockNumber})
	}
	b.touch(k.Key(hVersion), id)
	return nil
}

func (b *Batch) auditSubmitted(e *modeldao.AuditSubmitted) error {
	k := b.s.keys
	a := e.Audit
	a.Provenance = e.Provenance
	if a.Metrics == nil {
		a.Metrics = []modeldao.Metric{}
	}
	id := decimal(a.ID)
	buf, _ := json.Marshal(a)
	b.write(undoOp{K: opHSet, Key: k.Key(hAudit), F: id, V: string(buf)})
	score := float64(a.ID)
	b.zadd(k.Key("audits"), id, score)
	b.zadd(k.Key("audits", "version", decimal(a.VersionID)), id, score)
	b.zadd(k.Key("audits", "auditor", Addr(a.Auditor)), id, score)
	b.zadd(k.Key("audits", "policy", decimal(a.PolicyID)), id, score)
	au, existed, err := load[modeldao.Auditor](b, k.Key(hAuditor), Addr(a.Auditor), false)
	if err != nil {
		return err
	}
	if existed || au.Name != "" {
		au.AuditCount++
		b.touch(k.Key(hAuditor), Addr(a.Auditor))
	}
	return nil
}

// refreshProposals recomputes, at the new indexed head, the state of every proposal whose
// state may still change, exactly as Governor.state() would answer at that block; fills in
// the quorum once the head has passed the snapshot; and drops final proposals from the
// open set.
func (b *Batch) refreshProposals(head uint64) error {
	k := b.s.keys
	openKey := k.Key("proposals", "open")
	ids, err := b.conn.ZRange(b.ctx, openKey, 0, -1).Result()
	if err != nil {
		return redisDown(err, "read open proposals")
	}
	ids = append(ids, b.openAdded...)
	sort.Strings(ids)
	refs := make([]fieldRef, 0, len(ids))
	for _, id := range ids {
		refs = append(refs, fieldRef{k.Key(hProposal), id})
	}
	if err := b.prefetch(refs, nil); err != nil {
		return err
	}
	var supply, quorumNum *history
	done := map[string]bool{}
	for _, id := range ids {
		if done[id] {
			continue
		}
		done[id] = true
		p, existed, err := load[modeldao.Proposal](b, k.Key(hProposal), id, false)
		if err != nil {
			return err
		}
		if !existed && p.ID == "" {
			continue
		}
		changed := false
		if p.Quorum == nil && head > p.Snapshot {
			if supply == nil {
				if supply, _, err = load[history](b, k.Supply(), "", true); err != nil {
					return err
				}
				if quorumNum, _, err = load[history](b, k.QuorumNum(), "", true); err != nil {
					return err
				}
			}
			s, _ := new(big.Int).SetString(supply.at(p.Snapshot), 10)
			n, _ := new(big.Int).SetString(quorumNum.at(p.Snapshot), 10)
			p.Quorum = modeldao.Quorum(s, n)
			changed = true
		}
		if st := p.Params().StateAt(head); st != p.State {
			b.noteState(p, st)
			b.zrem(k.Key("proposals", "state", p.State.String()), id)
			b.zadd(k.Key("proposals", "state", st.String()), id, Ordinal(p.Created))
			p.State = st
			changed = true
		}
		if changed {
			b.touch(k.Key(hProposal), id)
		}
		// A proposal leaves the open set once its state is final and its quorum known
		// (a proposal cancelled before its snapshot still gets the quorum the governor
		// would answer for it), so the result does not depend on batch boundaries.
		switch p.State {
		case modeldao.ProposalExecuted, modeldao.ProposalCanceled, modeldao.ProposalDefeated:
			if p.Quorum != nil {
				b.zrem(openKey, id)
			}
		}
	}
	return nil
}
