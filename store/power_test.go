package store

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// Each change's cause comes from the events before it in its transaction, as ERC20Votes
// emits them; the power at a block is the last change at or before its end, two changes in
// one block included; the total and the eligible voters follow; a rollback restores all of
// it, and a block past the checkpoint is refused with the indexed block named.
func TestPowerHistoryCausesAndRollback(t *testing.T) {
	s := newReadStore(t)
	ctx := context.Background()
	A, B, X, Y, W := acct(1), acct(2), acct(3), acct(4), acct(5)
	zero := common.Address{}
	var c chainOf
	in := func(at modeldao.At, tx int64) modeldao.At { at.TxHash = common.BigToHash(big.NewInt(tx)); return at }
	dvc := func(at modeldao.At, a common.Address, from, to int64) *modeldao.DelegateVotesChanged {
		return &modeldao.DelegateVotesChanged{At: at, Delegate: a, Previous: big.NewInt(from), Current: big.NewInt(to)}
	}
	// Block 1: mint 100 to A's delegation; W moves 40 from A to B; a transfer from X to Y
	// moves 5 from A to B; a burn takes 10 from B; a change with no cause before it.
	c.apply(t, s, true, func(at func() modeldao.At) []modeldao.Event {
		return []modeldao.Event{
			&modeldao.Transfer{At: in(at(), 1), From: zero, To: X, Value: big.NewInt(100)},
			dvc(in(at(), 1), A, 0, 100),
			&modeldao.DelegateChanged{At: in(at(), 2), Delegator: W, From: A, To: B},
			dvc(in(at(), 2), A, 100, 60),
			dvc(in(at(), 2), B, 0, 40),
			&modeldao.Transfer{At: in(at(), 3), From: X, To: Y, Value: big.NewInt(5)},
			dvc(in(at(), 3), A, 60, 55),
			dvc(in(at(), 3), B, 40, 45),
			&modeldao.Transfer{At: in(at(), 4), From: Y, To: zero, Value: big.NewInt(10)},
			dvc(in(at(), 4), B, 45, 35),
			dvc(in(at(), 5), Y, 0, 7),
		}
	})
	afterBlock1, err := s.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Block 2: A loses all its power.
	log1 := c.log
	cp := c.apply(t, s, true, func(at func() modeldao.At) []modeldao.Event {
		return []modeldao.Event{
			&modeldao.DelegateChanged{At: in(at(), 6), Delegator: X, From: A, To: B},
			dvc(in(at(), 6), A, 55, 0),
			dvc(in(at(), 6), B, 35, 90),
		}
	})
	causes := func(a common.Address) []modeldao.PowerCause {
		t.Helper()
		all := MaxPageSize
		ps, err := s.PowerHistoryOf(ctx, []common.Address{a}, false, PageArgs{First: &all})
		if err != nil {
			t.Fatal(err)
		}
		var out []modeldao.PowerCause
		for _, c := range ps[0].Items {
			out = append(out, c.Cause)
		}
		return out
	}
	want := []modeldao.PowerCause{modeldao.CauseMint, modeldao.CauseDelegation, modeldao.CauseTransfer, modeldao.CauseDelegation}
	if got := causes(A); !slices.Equal(got, want) {
		t.Errorf("causes of A's changes: %v, want %v", got, want)
	}
	want = []modeldao.PowerCause{modeldao.CauseDelegation, modeldao.CauseTransfer, modeldao.CauseBurn, modeldao.CauseDelegation}
	if got := causes(B); !slices.Equal(got, want) {
		t.Errorf("causes of B's changes: %v, want %v", got, want)
	}
	if got := causes(Y); !slices.Equal(got, []modeldao.PowerCause{modeldao.CauseOther}) {
		t.Errorf("cause of Y's change: %v, want OTHER", got)
	}

	check := func(stage string, block uint64, power map[common.Address]int64) {
		t.Helper()
		var qs []PowerAt
		var eligible []common.Address
		total := int64(0)
		for _, a := range []common.Address{A, B, X, Y, W} {
			qs = append(qs, PowerAt{Address: a, Block: block})
			if power[a] > 0 {
				eligible = append(eligible, a)
				total += power[a]
			}
		}
		got, err := s.VotingPowerAt(ctx, qs)
		if err != nil {
			t.Fatal(err)
		}
		for i, q := range qs {
			if got[i].Int64() != power[q.Address] {
				t.Errorf("%s: power of %s at %d: %v, want %d", stage, q.Address, block, got[i], power[q.Address])
			}
		}
		tv, err := s.TotalVotesAt(ctx, []uint64{block})
		if err != nil || tv[0].Int64() != total {
			t.Errorf("%s: total at %d: %v (%v), want %d", stage, block, tv, err, total)
		}
		var listed []common.Address
		one := 1
		args := PageArgs{First: &one}
		for {
			p, err := s.EligibleVoters(ctx, block, args)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range p.Items {
				if v.Power.Int64() != power[v.Address] {
					t.Errorf("%s: eligible %s with %v, want %d", stage, v.Address, v.Power, power[v.Address])
				}
				listed = append(listed, v.Address)
				args.After = p.Cursors[i]
			}
			if !p.HasNextPage {
				break
			}
		}
		slices.SortFunc(eligible, func(a, b common.Address) int { return slices.Compare(a[:], b[:]) })
		if !slices.Equal(listed, eligible) {
			t.Errorf("%s: eligible voters at %d: %v, want %v", stage, block, listed, eligible)
		}
	}
	check("block 0", 0, map[common.Address]int64{})
	check("block 1", 1, map[common.Address]int64{A: 55, B: 35, Y: 7})
	check("block 2", 2, map[common.Address]int64{B: 90, Y: 7})
	if _, err := s.VotingPowerAt(ctx, []PowerAt{{Address: A, Block: 3}}); modeldao.ErrorCode(err) != modeldao.EINVALID {
		t.Errorf("power at block 3 past the checkpoint 2: %v, want EINVALID", err)
	}
	if _, err := s.EligibleVoters(ctx, 3, PageArgs{}); modeldao.ErrorCode(err) != modeldao.EINVALID {
		t.Errorf("eligible voters at block 3 past the checkpoint 2: %v, want EINVALID", err)
	}

	before, err := s.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rollback(ctx, cp, nil); err != nil {
		t.Fatal(err)
	}
	if d, err := s.Digest(ctx); err != nil || d != afterBlock1 {
		t.Errorf("digest after the rollback %s (%v), want the one after block 1 %s", d, err, afterBlock1)
	}
	check("block 1 after the rollback", 1, map[common.Address]int64{A: 55, B: 35, Y: 7})
	if got := causes(A); len(got) != 3 {
		t.Errorf("A's history after the rollback: %v, want its 3 changes of block 1", got)
	}
	// Applying block 2 again gives the same state as before the rollback.
	c.blocks, c.log = c.blocks[:1], log1
	c.apply(t, s, true, func(at func() modeldao.At) []modeldao.Event {
		return []modeldao.Event{
			&modeldao.DelegateChanged{At: in(at(), 6), Delegator: X, From: A, To: B},
			dvc(in(at(), 6), A, 55, 0),
			dvc(in(at(), 6), B, 35, 90),
		}
	})
	if after, err := s.Digest(ctx); err != nil || after != before {
		t.Errorf("digest after rollback and re-apply %s (%v), want %s", after, err, before)
	}
	check("block 2 again", 2, map[common.Address]int64{B: 90, Y: 7})
}

// powerTotalMember writes what its format, %020d:%06d:%s, writes.
func TestPowerTotalMemberMatchesItsFormat(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 4))
	for range 5000 {
		p := modeldao.Provenance{BlockNumber: rng.Uint64() >> rng.UintN(65), LogIndex: uint(rng.Uint64() >> rng.UintN(65))}
		total := new(big.Int).Lsh(new(big.Int).SetUint64(rng.Uint64()>>rng.UintN(65)), rng.UintN(100))
		want := fmt.Sprintf("%020d:%06d:%s", p.BlockNumber, p.LogIndex, total.String())
		if got := powerTotalMember(p, total); got != want {
			t.Fatalf("%+v %s: %q, want %q", p, total, got, want)
		}
	}
}
