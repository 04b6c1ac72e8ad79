package store

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// The timelock's events: the operations the governor queued, executed or cancelled there
// (a queued proposal's state follows its operation), and the delay.
func timelockProjectors() []projectorEntry {
	return []projectorEntry{
		project(func(r *reads, e *modeldao.CallExecuted) { r.timelockOp(e.OperationID) },
			func(b *Batch, e *modeldao.CallExecuted) error {
				return b.timelockOp(e.OperationID, func(p *modeldao.Proposal) {
					p.OpDone = true
					b.linkProposal(p, e.Provenance)
					// Only a queued proposal's state follows its operation (GovernorTimelockControl).
					if p.Queued {
						p.RecordEnd("EXECUTED", e.Provenance, false)
					}
				})
			}),
		project(func(r *reads, e *modeldao.OperationCancelled) { r.timelockOp(e.OperationID) },
			func(b *Batch, e *modeldao.OperationCancelled) error {
				return b.timelockOp(e.OperationID, func(p *modeldao.Proposal) {
					p.OpCanceled = true
					if p.Queued {
						p.RecordEnd("CANCELED", e.Provenance, false)
					}
				})
			}),
		project(nil, func(b *Batch, e *modeldao.MinDelayChanged) error {
			d, _, err := load[modeldao.DAOParams](b, b.s.keys.DAO(), "", true)
			if err != nil {
				return err
			}
			d.TimelockDelay = e.Delay
			b.touch(b.s.keys.DAO(), "")
			return nil
		}),
	}
}

// timelockOp applies f to the proposal that queued operation op, if the governor did.
func (b *Batch) timelockOp(op common.Hash, f func(*modeldao.Proposal)) error {
	v, err := b.get(fieldRef{b.s.keys.TimelockOps(), HashID(op)}, false)
	if err != nil || !v.exists {
		return err // an operation scheduled outside the governor
	}
	id, ok := new(big.Int).SetString(v.s, 10)
	if !ok {
		return nil
	}
	if err := b.prefetch([]fieldRef{{b.s.keys.ProposalRecords(), v.s}}, nil); err != nil {
		return err
	}
	p, err := b.proposal(id, modeldao.Provenance{})
	if p == nil || err != nil {
		return err
	}
	f(p)
	b.touch(b.s.keys.ProposalRecords(), p.ID)
	return nil
}
