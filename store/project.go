package store

import (
	"math/big"
	"sort"
	"strconv"

	"github.com/modeldao/modeldao"
)

// The projection's shared parts: amounts, histories, the DAO record, and the refresh of
// proposal states at the end of every batch. How each event changes the records and
// indexes listed in Keys is the projector table (projector.go and the project_*.go files).

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

// refreshProposals recomputes, at the new indexed head, the state of every proposal whose
// state may still change, exactly as Governor.state() would answer at that block; fills in
// the quorum once the head has passed the snapshot; and drops final proposals from the
// open set.
func (b *Batch) refreshProposals(head uint64) error {
	k := b.s.keys
	openKey := k.OpenProposals()
	ids, err := b.conn.ZRange(b.ctx, openKey, 0, -1).Result()
	if err != nil {
		return redisDown(err, "read open proposals")
	}
	ids = append(ids, b.openAdded...)
	sort.Strings(ids)
	refs := make([]fieldRef, 0, len(ids))
	for _, id := range ids {
		refs = append(refs, fieldRef{k.ProposalRecords(), id})
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
		p, existed, err := load[modeldao.Proposal](b, k.ProposalRecords(), id, false)
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
			b.zrem(k.ProposalsInState(p.State), id)
			b.zadd(k.ProposalsInState(st), id, Ordinal(p.Created))
			p.State = st
			changed = true
		}
		if changed {
			b.touch(k.ProposalRecords(), id)
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
