package indexer_test

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/internal/scenario"
	"github.com/modeldao/modeldao/store"
)

// TestVotingPowerAtMatchesTheToken: over a random history, then after reorgs that add and
// remove transfers and delegations, the index's voting power of every account at sampled
// blocks equals the token's getPastVotes, the total supply equals getPastTotalSupply, and
// each proposal's eligible voters and total power at its snapshot equal what the token
// answers for every account.
func TestVotingPowerAtMatchesTheToken(t *testing.T) {
	s := newScenario(t, 31, 140)
	_, rdb := newRedis(t)
	st := newStore(s, rdb)
	ix := newIndexer(t, dial(t, s.Chain.URL()), s, st, func(c *indexer.Config) { c.ReorgDepth = 32 })
	catchUp(t, ix)
	rng := rand.New(rand.NewPCG(31, 7))
	checkPower(t, s, rdb, st, rng, "random history")

	daoActivity(t, s, 2)
	catchUp(t, ix)
	forkBelow(t, s, 6, func() { daoActivity(t, s, 3) })
	catchUp(t, ix)
	catchUp(t, ix)
	checkPower(t, s, rdb, st, rng, "after a reorg that brings transfers and delegations")

	daoActivity(t, s, 3)
	catchUp(t, ix)
	forkBelow(t, s, 8, nil)
	catchUp(t, ix)
	catchUp(t, ix)
	checkPower(t, s, rdb, st, rng, "after a reorg that drops them")
	sameAsFreshIndex(t, s, st, "after the reorgs")
}

// TestAnvilVotingPowerAfterReorgs: the same comparison on anvil, whose reorgs drop, move,
// change and add token transactions (anvilRun.reorg), with an indexer following the head.
func TestAnvilVotingPowerAfterReorgs(t *testing.T) {
	ctx := context.Background()
	r := newAnvilRun(t, 41)
	if err := r.s.Random(ctx, 40); err != nil {
		t.Fatal(err)
	}
	f := startFollower(t, "power", r.node.URL(), r.s, nil)
	rng := rand.New(rand.NewPCG(41, 9))
	for round := range 4 {
		if err := r.s.Random(ctx, 8+rng.IntN(8)); err != nil {
			t.Fatal(err)
		}
		if err := f.caughtUp(ctx, r.node, catchUpTimeout); err != nil {
			t.Fatal(err)
		}
		if err := r.reorg(ctx, 1+rng.IntN(12), true); err != nil {
			t.Fatal(err)
		}
		if err := r.s.Resync(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r.mine(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if err := f.caughtUp(ctx, r.node, catchUpTimeout); err != nil {
			t.Fatalf("%v\nhistory:\n  %s", err, r.history())
		}
		t.Logf("round %d: %s", round, r.history())
		checkPower(t, r.s, f.rdb, f.st, rng, fmt.Sprintf("round %d", round))
	}
	checkFollowers(t, r, f)
}

// powerAccounts lists every account the index knows and every account of the scenario.
func powerAccounts(t *testing.T, s *scenario.Scenario, rdb redis.UniversalClient, st *store.Store) []common.Address {
	t.Helper()
	keys, err := rdb.HKeys(context.Background(), st.Keys().Key("account")).Result()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[common.Address]bool{}
	var out []common.Address
	for _, k := range keys {
		a := common.HexToAddress(k)
		seen[a] = true
		out = append(out, a)
	}
	for i := range scenario.Accounts {
		if a := s.Address(i); !seen[a] {
			out = append(out, a)
		}
	}
	return out
}

func checkPower(t *testing.T, s *scenario.Scenario, rdb redis.UniversalClient, st *store.Store, rng *rand.Rand, what string) {
	t.Helper()
	ctx := context.Background()
	tok := s.DAO.Token
	head, err := s.Node.Eth().HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	cp := mustCheckpoint(t, st)
	if cp.Number != head.Number.Uint64() {
		t.Fatalf("%s: checkpoint %d, head %d", what, cp.Number, head.Number)
	}
	accts := powerAccounts(t, s, rdb, st)

	// Blocks: random ones, and those around every change of power (where an off-by-one in
	// "the end of the block" would show).
	blocks := map[uint64]bool{}
	for range 25 {
		blocks[rng.Uint64N(cp.Number)] = true
	}
	pages, err := st.PowerHistoryOf(ctx, accts, false, store.PageArgs{First: ptr(store.MaxPageSize)})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pages {
		prev := new(big.Int)
		for _, c := range p.Items {
			n := c.Provenance.BlockNumber
			for _, b := range []uint64{n - 1, n, n + 1} {
				if b < cp.Number && rng.IntN(3) == 0 {
					blocks[b] = true
				}
			}
			if c.Delegate != accts[i] || c.Previous.Cmp(prev) != 0 {
				t.Errorf("%s: history of %s: change %+v does not follow the previous value %v", what, accts[i], c, prev)
			}
			checkCause(t, s, c, what)
			prev = c.New
		}
		now, err := tok.GetVotes(&bind.CallOpts{BlockNumber: head.Number}, accts[i])
		if err != nil {
			t.Fatal(err)
		}
		if prev.Cmp(now) != 0 {
			t.Errorf("%s: history of %s ends at %v, token says %v", what, accts[i], prev, now)
		}
	}
	sorted := make([]uint64, 0, len(blocks))
	for b := range blocks {
		sorted = append(sorted, b)
	}
	slices.Sort(sorted)
	var qs []store.PowerAt
	for _, b := range sorted {
		for _, a := range accts {
			qs = append(qs, store.PowerAt{Address: a, Block: b})
		}
	}
	got, err := st.VotingPowerAt(ctx, qs)
	if err != nil {
		t.Fatal(err)
	}
	at := &bind.CallOpts{BlockNumber: head.Number}
	compared := 0
	for i, q := range qs {
		want, err := tok.GetPastVotes(at, q.Address, new(big.Int).SetUint64(q.Block))
		if err != nil {
			t.Fatal(err)
		}
		if got[i].Cmp(want) != 0 {
			t.Errorf("%s: votingPowerAt(%s, %d) = %v, getPastVotes says %v", what, q.Address, q.Block, got[i], want)
		}
		if want.Sign() > 0 {
			compared++
		}
	}
	if compared == 0 {
		t.Fatalf("%s: no account had power at any sampled block: the test compares nothing", what)
	}
	for _, b := range sorted {
		want, err := tok.GetPastTotalSupply(at, new(big.Int).SetUint64(b))
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.TotalSupplyAt(ctx, b)
		if err != nil || got.Cmp(want) != 0 {
			t.Errorf("%s: totalSupplyAt(%d) = %v (%v), getPastTotalSupply says %v", what, b, got, err, want)
		}
	}
	// Beyond the checkpoint: a clear error that names the indexed block.
	if _, err := st.VotingPowerAt(ctx, []store.PowerAt{{Address: accts[0], Block: cp.Number + 1}}); modeldao.ErrorCode(err) != modeldao.EINVALID {
		t.Errorf("%s: votingPowerAt past the checkpoint: %v, want EINVALID", what, err)
	} else if want := fmt.Sprintf("indexed block %d", cp.Number); !strings.Contains(err.Error(), want) {
		t.Errorf("%s: error %q does not name the %s", what, err, want)
	}
	checkEligible(t, s, st, accts, at, cp, what)
}

// checkEligible compares each proposal's eligible voters and total power at its snapshot
// with getPastVotes of every account, paging by 3.
func checkEligible(t *testing.T, s *scenario.Scenario, st *store.Store, accts []common.Address, at *bind.CallOpts, cp store.Checkpoint, what string) {
	t.Helper()
	ctx := context.Background()
	checked := 0
	for _, p := range s.Proposals {
		snap, err := s.DAO.Governor.ProposalSnapshot(at, p.ID())
		if err != nil {
			t.Fatal(err)
		}
		if snap.Sign() == 0 || snap.Uint64() >= cp.Number {
			continue // dropped by a reorg, or not past yet
		}
		want := map[common.Address]string{}
		total := new(big.Int)
		for _, a := range accts {
			v, err := s.DAO.Token.GetPastVotes(at, a, snap)
			if err != nil {
				t.Fatal(err)
			}
			if v.Sign() > 0 {
				want[a] = v.String()
				total.Add(total, v)
			}
		}
		got := map[common.Address]string{}
		args := store.PageArgs{First: ptr(3)}
		for pages := 0; ; pages++ {
			page, err := st.EligibleVoters(ctx, snap.Uint64(), args)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range page.Items {
				got[v.Address] = v.Power.String()
			}
			if !page.HasNextPage || pages > 100 {
				break
			}
			args.After = page.EndCursor()
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: eligible voters at %v: %v, getPastVotes says %v", what, snap, got, want)
		}
		tv, err := st.TotalVotesAt(ctx, []uint64{snap.Uint64()})
		if err != nil || tv[0].Cmp(total) != 0 {
			t.Errorf("%s: total voting power at %v: %v (%v), getPastVotes of every account sums to %v", what, snap, tv, err, total)
		}
		checked++
	}
	if checked == 0 {
		t.Errorf("%s: no proposal's snapshot is indexed: eligible voters are not compared", what)
	}
}

// checkCause checks a change's cause against its transaction's logs on chain: a delegation
// has a DelegateChanged, a mint a Transfer from zero, a burn one to zero.
func checkCause(t *testing.T, s *scenario.Scenario, c *modeldao.PowerChange, what string) {
	t.Helper()
	rc, err := s.Node.Eth().TransactionReceipt(context.Background(), c.Provenance.TxHash)
	if err != nil {
		t.Fatal(err)
	}
	var sawDelegate, sawMint, sawBurn, sawTransfer bool
	for _, l := range rc.Logs {
		if l.Index >= c.Provenance.LogIndex || l.Address != s.DAO.Deployment.Token {
			continue
		}
		if d, err := s.DAO.Token.ParseDelegateChanged(*l); err == nil && d != nil {
			sawDelegate = true
		}
		if tr, err := s.DAO.Token.ParseTransfer(*l); err == nil && tr != nil {
			switch {
			case tr.From == (common.Address{}):
				sawMint = true
			case tr.To == (common.Address{}):
				sawBurn = true
			default:
				sawTransfer = true
			}
		}
	}
	ok := map[modeldao.PowerCause]bool{
		modeldao.CauseDelegation: sawDelegate, modeldao.CauseMint: sawMint,
		modeldao.CauseBurn: sawBurn, modeldao.CauseTransfer: sawTransfer,
	}[c.Cause]
	if !ok {
		t.Errorf("%s: change at %d/%d has cause %s, not among its transaction's earlier logs", what, c.Provenance.BlockNumber, c.Provenance.LogIndex, c.Cause)
	}
}

func ptr[T any](v T) *T { return &v }
