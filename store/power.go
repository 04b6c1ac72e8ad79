package store

import (
	"encoding/json"
	"math/big"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// Voting power at any block: the write side. Each DelegateVotesChanged adds one record to
// its delegate's history (Keys.PowerHistory), moves the running total of all voting power
// (Keys.PowerTotal, and Keys.PowerNow for the current value) and, the first time the delegate gets power, adds it to the accounts
// that ever had some (Keys.Powered). All three are sorted sets written in the batch's
// commit through zadd, so the generic undo log rolls them back on a reorg.

// powerBatch is what a batch keeps between the power changes it applies.
type powerBatch struct {
	// causes maps the log index of each DelegateVotesChanged of block causeOf to its cause,
	// computed once per block from the events of each transaction.
	causeOf common.Hash
	causes  map[uint]modeldao.PowerCause
}

// powerTotalMember is the member of Keys.PowerTotal for the total after the change at p:
// block and log index in fixed width (unique, and ordered like the score), then the total
// in decimal.
func powerTotalMember(p modeldao.Provenance, total *big.Int) string {
	b := make([]byte, 0, 20+1+6+1+40)
	b = appendPadded(b, p.BlockNumber, 20)
	b = append(b, ':')
	b = appendPadded(b, uint64(p.LogIndex), 6)
	b = append(b, ':')
	return string(total.Append(b, 10))
}

// appendPadded appends x in decimal with leading zeros to at least width digits, as
// fmt's %0<width>d does (written for every power change; fmt showed in the profiles).
func appendPadded(b []byte, x uint64, width int) []byte {
	var digits [20]byte
	d := strconv.AppendUint(digits[:0], x, 10)
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

// parsePowerTotal returns the total of a Keys.PowerTotal member.
func parsePowerTotal(m string) (*big.Int, error) {
	i := strings.LastIndexByte(m, ':')
	v, ok := new(big.Int).SetString(m[i+1:], 10)
	if i < 0 || !ok {
		return nil, modeldao.Errorf(modeldao.EINTERNAL, "voting power total %q is corrupt: run `modeldao reindex`", m)
	}
	return v, nil
}

// powerCause returns the cause of the DelegateVotesChanged at e: the last DelegateChanged
// or Transfer before it in its transaction.
func (b *Batch) powerCause(e *modeldao.DelegateVotesChanged) modeldao.PowerCause {
	pb := &b.power
	if pb.causes == nil || pb.causeOf != b.block.Hash {
		pb.causeOf, pb.causes = b.block.Hash, map[uint]modeldao.PowerCause{}
		last := map[common.Hash]modeldao.PowerCause{}
		for _, ev := range b.block.Events {
			switch x := ev.(type) {
			case *modeldao.DelegateChanged:
				last[x.TxHash] = modeldao.CauseDelegation
			case *modeldao.Transfer:
				last[x.TxHash] = modeldao.TransferCause(x.From, x.To)
			case *modeldao.DelegateVotesChanged:
				if c, ok := last[x.TxHash]; ok {
					pb.causes[x.LogIndex] = c
				}
			}
		}
	}
	if c, ok := pb.causes[e.LogIndex]; ok {
		return c
	}
	return modeldao.CauseOther
}

// powerChanged records the DelegateVotesChanged e in the voting power history.
func (b *Batch) powerChanged(e *modeldao.DelegateVotesChanged) error {
	k := b.s.keys
	at := e.Provenance
	c := modeldao.PowerChange{Delegate: e.Delegate, Previous: add(e.Previous, nil), New: add(e.Current, nil), Cause: b.powerCause(e), Provenance: at}
	buf, ok := appendPowerChange(nil, &c)
	if !ok {
		var err error
		if buf, err = json.Marshal(c); err != nil {
			return modeldao.WrapError(modeldao.EINTERNAL, err, "encode a voting power change")
		}
	}
	hist := k.PowerHistory(e.Delegate)
	// The member holds its block hash and log index: it cannot be there already (a reorg's
	// rollback removed the one of a replaced block), which spares the undo log a read.
	b.zaddNew(hist, string(buf), Ordinal(at))
	if c.Previous.Sign() == 0 && c.New.Sign() > 0 {
		b.zadd(k.Powered(), Addr(e.Delegate), 0)
	}
	// The running total is a string key read in the batch's prefetch (prefetchBlocks), so
	// that it costs no round trip of its own.
	total, _, err := load[big.Int](b, k.PowerNow(), "", true)
	if err != nil {
		return err
	}
	total.Add(total, sub(c.New, c.Previous))
	b.touch(k.PowerNow(), "")
	m := powerTotalMember(at, total)
	b.zaddNew(k.PowerTotal(), m, Ordinal(at)) // block and log index: new
	return nil
}
