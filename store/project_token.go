package store

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// The token's events: balances and the total supply, delegations, voting power.
func tokenProjectors() []projectorEntry {
	return []projectorEntry{
		project(func(r *reads, e *modeldao.Transfer) {
			r.account(e.From)
			r.account(e.To)
		}, (*Batch).transfer),
		project(func(r *reads, e *modeldao.DelegateChanged) {
			r.account(e.Delegator)
			r.account(e.From)
			r.account(e.To)
		}, (*Batch).delegateChanged),
		project(func(r *reads, e *modeldao.DelegateVotesChanged) { r.account(e.Delegate) },
			(*Batch).delegateVotesChanged),
	}
}

// account loads an account, a new one with zero amounts when the index has none yet.
func (b *Batch) account(a common.Address, at modeldao.Provenance) (*modeldao.Account, error) {
	acc, existed, err := load[modeldao.Account](b, b.s.keys.AccountRecords(), Addr(a), false)
	if err != nil {
		return nil, err
	}
	if !existed && acc.Balance == nil {
		acc.Address, acc.Balance, acc.VotingPower, acc.FirstSeen = a, new(big.Int), new(big.Int), at
	}
	return acc, nil
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
		b.touch(k.AccountRecords(), Addr(side.addr))
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
	b.touch(k.AccountRecords(), Addr(e.Delegator))
	ord := Ordinal(e.Provenance)
	if e.From != zero {
		from, err := b.account(e.From, e.Provenance)
		if err != nil {
			return err
		}
		was := *from
		from.DelegatorCount--
		b.touch(k.AccountRecords(), Addr(e.From))
		b.zrem(k.Delegators(e.From), Addr(e.Delegator))
		b.indexDelegate(e.From, &was, from)
	}
	if e.To != zero {
		to, err := b.account(e.To, e.Provenance)
		if err != nil {
			return err
		}
		was := *to
		to.DelegatorCount++
		b.touch(k.AccountRecords(), Addr(e.To))
		b.zadd(k.Delegators(e.To), Addr(e.Delegator), ord)
		b.indexDelegate(e.To, &was, to)
	}
	buf := appendDelegation(nil, &modeldao.Delegation{Delegator: e.Delegator, From: e.From, To: e.To, Provenance: e.Provenance})
	b.zaddNew(k.Delegations(e.Delegator), string(buf), ord) // the member holds its provenance: new
	return nil
}

func (b *Batch) delegateVotesChanged(e *modeldao.DelegateVotesChanged) error {
	a, err := b.account(e.Delegate, e.Provenance)
	if err != nil {
		return err
	}
	was := *a
	a.VotingPower = new(big.Int).Set(e.Current)
	b.touch(b.s.keys.AccountRecords(), Addr(e.Delegate))
	b.indexDelegate(e.Delegate, &was, a)
	return b.powerChanged(e)
}

// indexDelegate moves account a from its old place (was, the record before the change) to
// its new one in the two orderings of delegates. Both hold exactly the accounts that are
// delegates (Account.IsDelegate), so every ordering lists the same accounts.
func (b *Batch) indexDelegate(a common.Address, was, now *modeldao.Account) {
	k := b.s.keys
	power, count := k.DelegatesByPower(), k.DelegatesByDelegators()
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
