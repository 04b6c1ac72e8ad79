package store

import (
	"context"
	"math/big"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// chainOf builds consecutive blocks of events for Apply, with provenances in chain order.
type chainOf struct {
	blocks []modeldao.Block
	log    uint
}

func (c *chainOf) block() modeldao.Block {
	n := uint64(len(c.blocks) + 1)
	b := modeldao.Block{Number: n, Hash: common.BigToHash(new(big.Int).SetUint64(1000 + n)), Timestamp: 1_700_000_000 + n}
	if n > 1 {
		b.ParentHash = c.blocks[n-2].Hash
	}
	c.blocks = append(c.blocks, b)
	return b
}

func (c *chainOf) at(n uint64) modeldao.At {
	c.log++
	return modeldao.At{Provenance: modeldao.Provenance{BlockNumber: n, BlockHash: common.BigToHash(new(big.Int).SetUint64(1000 + n)), Timestamp: 1_700_000_000 + n, LogIndex: c.log}}
}

// apply commits evs as the next block; undo says whether the block is inside the undo window.
func (c *chainOf) apply(t *testing.T, s *Store, undo bool, evs func(at func() modeldao.At) []modeldao.Event) Checkpoint {
	t.Helper()
	n := uint64(len(c.blocks) + 1)
	b := c.block()
	b.Events = evs(func() modeldao.At { return c.at(n) })
	c.blocks[len(c.blocks)-1] = b
	a := ApplyArgs{Blocks: []modeldao.Block{b}, UndoFrom: 1 << 62, KeepUndo: 100}
	if undo {
		a.UndoFrom = 0
	}
	if n == 1 {
		a.Init = &modeldao.DAOParams{ChainID: 1337, VotingDelay: 1, VotingPeriod: 100, QuorumNumerator: 4}
	} else {
		a.From = &Checkpoint{Number: n - 1, Hash: c.blocks[n-2].Hash}
	}
	res, err := s.Apply(context.Background(), a)
	if err != nil {
		t.Fatalf("apply block %d: %v", n, err)
	}
	return res.Checkpoint
}

func wei(s string) *big.Int {
	x, ok := new(big.Int).SetString(s, 0)
	if !ok {
		panic(s)
	}
	return x
}

func pow2(n uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), n) }

func plus(x *big.Int, y int64) *big.Int { return new(big.Int).Add(x, big.NewInt(y)) }

func acct(i int) common.Address { return common.BigToAddress(big.NewInt(int64(0x1000 + i))) }

// ranked is an item of an expected ordering: its value, then its id as the tie-break.
type ranked struct {
	value *big.Int
	id    string
}

// exactOrder sorts items by value, ties by id (bytewise), ascending; reversed when desc.
func exactOrder(items []ranked, desc bool) []string {
	s := slices.Clone(items)
	slices.SortFunc(s, func(a, b ranked) int {
		if c := a.value.Cmp(b.value); c != 0 {
			return c
		}
		if a.id < b.id {
			return -1
		}
		if a.id > b.id {
			return 1
		}
		return 0
	})
	if desc {
		slices.Reverse(s)
	}
	ids := make([]string, len(s))
	for i, r := range s {
		ids[i] = r.id
	}
	return ids
}

// readWhole reads a whole list page by page with cursors, forward (first/after) or backward
// (last/before), and returns the ids in list order.
func readWhole[T any](t *testing.T, n int, backward bool, read func(PageArgs) (*Page[*T], error), id func(*T) string) []string {
	t.Helper()
	var out []string
	var args PageArgs
	for range 100 {
		if backward {
			args.Last = &n
		} else {
			args.First = &n
		}
		p, err := read(args)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(p.Items))
		for i, it := range p.Items {
			ids[i] = id(it)
		}
		if backward {
			out = append(ids, out...)
			if !p.HasPreviousPage {
				return out
			}
			args = PageArgs{Before: p.StartCursor()}
		} else {
			out = append(out, ids...)
			if !p.HasNextPage {
				return out
			}
			args = PageArgs{After: p.EndCursor()}
		}
	}
	t.Fatal("paging does not end")
	return nil
}

// checkOrder reads a list whole, forward page by page and backward page by page, in both
// directions, and compares each with the exact ordering of want.
func checkOrder[T any](t *testing.T, what string, want []ranked, read func(desc bool, a PageArgs) (*Page[*T], error), id func(*T) string) {
	t.Helper()
	for _, desc := range []bool{false, true} {
		exp := exactOrder(want, desc)
		all := 1000
		p, err := read(desc, PageArgs{First: &all})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if p.TotalCount != len(exp) {
			t.Errorf("%s desc=%v: totalCount %d, want %d", what, desc, p.TotalCount, len(exp))
		}
		var got []string
		for _, it := range p.Items {
			got = append(got, id(it))
		}
		if !slices.Equal(got, exp) {
			t.Errorf("%s desc=%v:\n got %v\nwant %v", what, desc, got, exp)
			continue
		}
		for _, n := range []int{1, 2, 3} {
			for _, back := range []bool{false, true} {
				got := readWhole(t, n, back, func(a PageArgs) (*Page[*T], error) { return read(desc, a) }, id)
				if !slices.Equal(got, exp) {
					t.Fatalf("%s desc=%v paged by %d backward=%v:\n got %v\nwant %v", what, desc, n, back, got, exp)
				}
			}
		}
	}
}

// Orderings by uint256 amounts are exact: values a wei apart, and values at and above 2^128
// (which a float64 cannot tell apart), sort by value, ties by id; cursors page them both ways;
// a rolled-back block restores the orderings.
func TestAmountOrderingsAreExact(t *testing.T) {
	s := newReadStore(t)
	ctx := context.Background()
	seven := wei("7000000000000000000")
	// Values are given to accounts in decreasing address order, so that an ordering that
	// cannot tell the values apart (and falls back to the address) comes out reversed.
	powers := []*big.Int{big.NewInt(1), seven, plus(seven, 1), plus(seven, 2), plus(seven, 3), plus(seven, 3),
		pow2(128), plus(pow2(128), 1), pow2(200), plus(pow2(255), 5), new(big.Int).Sub(pow2(256), big.NewInt(1))}
	var c chainOf
	power := map[string]*big.Int{}
	c.apply(t, s, false, func(at func() modeldao.At) []modeldao.Event {
		var evs []modeldao.Event
		for i, p := range powers {
			a := acct(len(powers) - i)
			evs = append(evs,
				&modeldao.DelegateChanged{At: at(), Delegator: a, To: a},
				&modeldao.DelegateVotesChanged{At: at(), Delegate: a, Previous: new(big.Int), Current: p})
			power[Addr(a)] = p
		}
		// Three proposals whose totals differ by a wei (the first one the largest), and one
		// proposal whose votes are a wei apart and beyond 2^128.
		for i := 1; i <= 4; i++ {
			evs = append(evs, &modeldao.ProposalCreated{At: at(), ProposalID: big.NewInt(int64(i)), Proposer: acct(1),
				Description: "# P", VoteStart: 0, VoteEnd: 1000})
		}
		for i, w := range []*big.Int{plus(seven, 3), plus(seven, 2), plus(seven, 1)} {
			evs = append(evs, &modeldao.VoteCast{At: at(), ProposalID: big.NewInt(int64(i + 1)), Voter: acct(1), Support: modeldao.SupportFor, Weight: w})
		}
		for i, w := range powers {
			evs = append(evs, &modeldao.VoteCast{At: at(), ProposalID: big.NewInt(4), Voter: acct(len(powers) - i), Support: modeldao.VoteSupport(i % 3), Weight: w})
		}
		return evs
	})
	total := new(big.Int)
	for _, p := range powers {
		total.Add(total, p)
	}
	totals := map[string]*big.Int{"1": plus(seven, 3), "2": plus(seven, 2), "3": plus(seven, 1), "4": total}

	check := func(stage string) {
		t.Helper()
		var delegates, votes, props []ranked
		for a, p := range power {
			delegates = append(delegates, ranked{p, a})
			votes = append(votes, ranked{p, a})
		}
		for id, v := range totals {
			props = append(props, ranked{v, id})
		}
		checkOrder(t, stage+": delegates by voting power", delegates, func(desc bool, a PageArgs) (*Page[*modeldao.Account], error) {
			return s.Delegates(ctx, DelegatesByVotingPower, desc, a)
		}, func(a *modeldao.Account) string { return Addr(a.Address) })
		checkOrder(t, stage+": proposals by votes", props, func(desc bool, a PageArgs) (*Page[*modeldao.Proposal], error) {
			return s.Proposals(ctx, ProposalQuery{OrderBy: ProposalsByVotes, Desc: desc, Page: a})
		}, func(p *modeldao.Proposal) string { return p.ID })
		// Filtered (paged in Go, not in Redis): by state, and by state and proposer.
		state := modeldao.ProposalActive
		checkOrder(t, stage+": proposals by votes, filtered", props, func(desc bool, a PageArgs) (*Page[*modeldao.Proposal], error) {
			return s.Proposals(ctx, ProposalQuery{OrderBy: ProposalsByVotes, State: &state, Desc: desc, Page: a})
		}, func(p *modeldao.Proposal) string { return p.ID })
		proposer := acct(1)
		checkOrder(t, stage+": proposals by votes, two filters", props, func(desc bool, a PageArgs) (*Page[*modeldao.Proposal], error) {
			return s.Proposals(ctx, ProposalQuery{OrderBy: ProposalsByVotes, State: &state, Proposer: &proposer, Desc: desc, Page: a})
		}, func(p *modeldao.Proposal) string { return p.ID })
		checkOrder(t, stage+": votes by weight", votes, func(desc bool, a PageArgs) (*Page[*modeldao.Vote], error) {
			return s.Votes(ctx, VoteQuery{ProposalID: "4", OrderBy: VotesByWeight, Desc: desc, Page: a})
		}, func(v *modeldao.Vote) string { return Addr(v.Voter) })
		checkOrder(t, stage+": a proposal's votes by weight", votes, func(desc bool, a PageArgs) (*Page[*modeldao.Vote], error) {
			ps, err := s.VotesOfProposals(ctx, []string{"4", "1"}, VotesByWeight, desc, a)
			if err != nil {
				return nil, err
			}
			return ps[0], nil
		}, func(v *modeldao.Vote) string { return Addr(v.Voter) })
	}
	check("after the first block")

	// A block inside the undo window moves powers a wei and a vote's total; rolling it back
	// restores the orderings.
	before := map[string]*big.Int{}
	for a, p := range power {
		before[a] = p
	}
	// (An empty block first, so that the changing block's parent is inside the window.)
	c.apply(t, s, true, func(func() modeldao.At) []modeldao.Event { return nil })
	cp := c.apply(t, s, true, func(at func() modeldao.At) []modeldao.Event {
		var evs []modeldao.Event
		for i := range 3 {
			a := acct(i + 1)
			np := plus(power[Addr(a)], int64(2*i-1))
			evs = append(evs, &modeldao.DelegateVotesChanged{At: at(), Delegate: a, Previous: power[Addr(a)], Current: np})
			power[Addr(a)] = np
		}
		evs = append(evs, &modeldao.VoteCast{At: at(), ProposalID: big.NewInt(3), Voter: acct(2), Support: modeldao.SupportAgainst, Weight: big.NewInt(3)})
		totals["3"] = plus(totals["3"], 3)
		return evs
	})
	check("after a block in the undo window")
	if _, err := s.Rollback(ctx, cp, nil); err != nil {
		t.Fatal(err)
	}
	power = before
	totals["3"] = plus(seven, 1)
	check("after its rollback")
}

// Every ordering of delegates lists the same accounts, the delegates: accounts that someone
// (themselves included) delegates to, with or without voting power. DAO's delegate count is
// their number. A delegate whose last delegator leaves drops out of every ordering, and a
// rollback brings it back.
func TestDelegatesAreOneSetInEveryOrder(t *testing.T) {
	s := newReadStore(t)
	ctx := context.Background()
	A, B, C, D := acct(1), acct(2), acct(3), acct(4)
	W1, W2, W3 := acct(11), acct(12), acct(13)
	var c chainOf
	c.apply(t, s, true, func(at func() modeldao.At) []modeldao.Event {
		return []modeldao.Event{
			&modeldao.DelegateChanged{At: at(), Delegator: A, To: A}, // no tokens: no votes change
			&modeldao.DelegateChanged{At: at(), Delegator: W1, To: B},
			&modeldao.DelegateChanged{At: at(), Delegator: W2, To: C},
			&modeldao.DelegateVotesChanged{At: at(), Delegate: C, Previous: big.NewInt(0), Current: big.NewInt(5)},
			&modeldao.DelegateChanged{At: at(), Delegator: W3, To: D},
			&modeldao.DelegateVotesChanged{At: at(), Delegate: D, Previous: big.NewInt(0), Current: big.NewInt(10)},
		}
	})
	check := func(stage string, want ...common.Address) {
		t.Helper()
		exp := make([]string, len(want))
		for i, a := range want {
			exp[i] = Addr(a)
		}
		slices.Sort(exp)
		all := 100
		for _, order := range []DelegateOrder{DelegatesByVotingPower, DelegatesByDelegators} {
			for _, desc := range []bool{false, true} {
				p, err := s.Delegates(ctx, order, desc, PageArgs{First: &all})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, a := range p.Items {
					got = append(got, Addr(a.Address))
				}
				slices.Sort(got)
				if !slices.Equal(got, exp) || p.TotalCount != len(exp) {
					t.Errorf("%s: order %d desc=%v lists %v (totalCount %d), want %v", stage, order, desc, got, p.TotalCount, exp)
				}
			}
		}
		d, err := s.DAO(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d.DelegateCount != len(exp) {
			t.Errorf("%s: DAO delegate count %d, want %d", stage, d.DelegateCount, len(exp))
		}
	}
	check("first block", A, B, C, D)
	// W3 moves its delegation (and its 10 votes) from D to C, as the token emits it.
	cp := c.apply(t, s, true, func(at func() modeldao.At) []modeldao.Event {
		return []modeldao.Event{
			&modeldao.DelegateChanged{At: at(), Delegator: W3, From: D, To: C},
			&modeldao.DelegateVotesChanged{At: at(), Delegate: D, Previous: big.NewInt(10), Current: big.NewInt(0)},
			&modeldao.DelegateVotesChanged{At: at(), Delegate: C, Previous: big.NewInt(5), Current: big.NewInt(15)},
		}
	})
	check("after D lost its delegator", A, B, C)
	p, err := s.Delegates(ctx, DelegatesByVotingPower, true, PageArgs{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Items[0].Address != C || p.Items[0].VotingPower.Int64() != 15 || p.Items[0].DelegatorCount != 2 {
		t.Errorf("the strongest delegate is %+v, want C with 15 votes and 2 delegators", p.Items[0])
	}
	if _, err := s.Rollback(ctx, cp, nil); err != nil {
		t.Fatal(err)
	}
	check("after the rollback", A, B, C, D)
}
