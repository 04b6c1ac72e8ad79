package graphql_test

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/internal/scenario"
	"github.com/modeldao/modeldao/store"
)

// indexed returns the fixture's checkpoint block and call options at it.
func indexed(t *testing.T) (uint64, *bind.CallOpts) {
	t.Helper()
	cp, ok, err := fx.store.Checkpoint(bg)
	if err != nil || !ok {
		t.Fatalf("checkpoint: %v (%v)", err, ok)
	}
	return cp.Number, &bind.CallOpts{BlockNumber: new(big.Int).SetUint64(cp.Number)}
}

func fixtureAccounts() []common.Address {
	var out []common.Address
	for _, i := range []int{alice, bob, carol, dave, erin, frank, nobody} {
		out = append(out, fx.addr(i))
	}
	return out
}

// history pages through an account's power history, 2 by 2.
func history(t *testing.T, a common.Address) []client.PowerChange {
	t.Helper()
	var all []client.PowerChange
	args := client.PageArgs{First: 2}
	for {
		p := must[*client.Page[client.PowerChange]](t)(fx.client.VotingPowerHistory(bg, a, args))
		all = append(all, p.Items...)
		if !p.HasNextPage {
			return all
		}
		args = p.Next(2)
	}
}

// TestVotingPowerAt: Account.votingPowerAt equals getPastVotes at the blocks around every
// change of every account, and DAO.totalSupplyAt equals getPastTotalSupply; a block past the
// index is a BAD_USER_INPUT error that names the indexed block.
func TestVotingPowerAt(t *testing.T) {
	head, at := indexed(t)
	tok := fx.s.DAO.Token
	blocks := map[uint64]bool{0: true, head - 1: true}
	for _, a := range fixtureAccounts() {
		for _, c := range history(t, a) {
			n := c.Provenance.BlockNumber
			blocks[n-1], blocks[n] = true, true
		}
	}
	nonZero := 0
	for b := range blocks {
		if b >= head {
			continue // getPastVotes answers only for past blocks
		}
		for _, a := range fixtureAccounts() {
			want := must[*big.Int](t)(tok.GetPastVotes(at, a, new(big.Int).SetUint64(b)))
			got := must[*big.Int](t)(fx.client.VotingPowerAt(bg, a, b))
			eqBig(t, fmt.Sprintf("votingPowerAt(%s, %d)", a, b), got, want)
			if want.Sign() > 0 {
				nonZero++
			}
		}
		want := must[*big.Int](t)(tok.GetPastTotalSupply(at, new(big.Int).SetUint64(b)))
		eqBig(t, fmt.Sprintf("totalSupplyAt(%d)", b), must[*big.Int](t)(fx.client.TotalSupplyAt(bg, b)), want)
	}
	if nonZero == 0 {
		t.Fatal("no account had power at any compared block")
	}
	// At the indexed block itself: the power now.
	eqBig(t, "votingPowerAt(alice, indexed block)", must[*big.Int](t)(fx.client.VotingPowerAt(bg, fx.addr(alice), head)),
		must[*big.Int](t)(tok.GetVotes(at, fx.addr(alice))))

	msg := fmt.Sprintf("past the indexed block %d", head)
	_, err := fx.client.VotingPowerAt(bg, fx.addr(alice), head+1)
	wantCode(t, err, client.CodeBadUserInput, msg)
	_, err = fx.client.TotalSupplyAt(bg, head+1000)
	wantCode(t, err, client.CodeBadUserInput, msg)
	err = fx.client.Exec(bg, `{ account(address: "`+fx.addr(alice).Hex()+`") { votingPowerAt(block: -1) } }`, nil, &struct{}{})
	wantCode(t, err, client.CodeBadUserInput, "block is -1")
}

// TestVotingPowerHistory: alice's changes, newest first: the transfer to frank, then the
// delegations of erin and dave to her; each starts where the previous one ended and the
// last one is her power now.
func TestVotingPowerHistory(t *testing.T) {
	_, at := indexed(t)
	h := history(t, fx.addr(alice))
	if len(h) < 3 {
		t.Fatalf("alice's history has %d changes, want at least 3: %+v", len(h), h)
	}
	if h[0].Cause != "TRANSFER" || new(big.Int).Sub(h[0].Previous, h[0].New).Cmp(tokens(100)) != 0 {
		t.Errorf("newest change %+v: want the TRANSFER of 100 tokens to frank", h[0])
	}
	if h[1].Cause != "DELEGATION" || h[2].Cause != "DELEGATION" || h[1].New.Cmp(h[1].Previous) <= 0 {
		t.Errorf("changes before it: %s %s, want erin's and dave's DELEGATION to alice", h[1].Cause, h[2].Cause)
	}
	eqBig(t, "alice's last change", h[0].New, must[*big.Int](t)(fx.s.DAO.Token.GetVotes(at, fx.addr(alice))))
	for i := 0; i+1 < len(h); i++ {
		if h[i].Previous.Cmp(h[i+1].New) != 0 || h[i].Account != fx.addr(alice) || h[i+1].Provenance.BlockNumber > h[i].Provenance.BlockNumber {
			t.Errorf("change %d %+v does not follow change %d %+v", i, h[i], i+1, h[i+1])
		}
	}
	if c := h[len(h)-1]; c.Cause != "MINT" && c.Cause != "DELEGATION" || c.Previous.Sign() != 0 {
		t.Errorf("oldest change %+v: want the first power, from 0", c)
	}
	// erin's delegation moved bob's power away: a DELEGATION on bob's side too.
	hb := history(t, fx.addr(bob))
	if hb[0].Cause != "DELEGATION" || hb[0].New.Cmp(hb[0].Previous) >= 0 {
		t.Errorf("bob's newest change %+v: want erin's delegation leaving him", hb[0])
	}
	// frank never delegated: no voting power, no history.
	if hf := history(t, fx.addr(frank)); len(hf) != 0 {
		t.Errorf("frank's history: %+v", hf)
	}
}

// TestProposalVotingPower: at P7's snapshot, votingPowerOf and eligibleVoters agree with
// getPastVotes, votes show on the voters who cast them, and notYetVotedPower is the power
// at the snapshot minus the votes cast.
func TestProposalVotingPower(t *testing.T) {
	_, at := indexed(t)
	d := must[*client.ProposalDetail](t)(fx.client.Proposal(bg, P(7), "", client.PageArgs{}))
	snap := new(big.Int).SetUint64(d.Snapshot)
	want := map[common.Address]*big.Int{}
	total := new(big.Int)
	for _, a := range fixtureAccounts() {
		v := must[*big.Int](t)(fx.s.DAO.Token.GetPastVotes(at, a, snap))
		eqBig(t, fmt.Sprintf("votingPowerOf(%s)", a), must[*big.Int](t)(fx.client.VotingPowerOf(bg, P(7), a)), v)
		if v.Sign() > 0 {
			want[a] = v
			total.Add(total, v)
		}
	}
	got := map[common.Address]client.EligibleVoter{}
	var notYet *big.Int
	args := client.PageArgs{First: 2}
	pages := 0
	for {
		p := must[*client.EligibleVoters](t)(fx.client.EligibleVoters(bg, P(7), args))
		pages++
		notYet = p.NotYetVotedPower
		for _, v := range p.Items {
			got[v.Address] = v
		}
		if !p.HasNextPage {
			break
		}
		args = p.Next(2)
	}
	if len(got) != len(want) || pages < 2 {
		t.Fatalf("eligible voters %v in %d pages, want %v", got, pages, want)
	}
	for a, w := range want {
		eqBig(t, "eligible power of "+a.Hex(), got[a].VotingPower, w)
	}
	if v := got[fx.addr(alice)].Vote; v == nil || v.Support != "FOR" || v.Weight.Cmp(want[fx.addr(alice)]) != 0 {
		t.Errorf("alice's vote on P7: %+v, want FOR with her power at the snapshot", v)
	}
	if v := got[fx.addr(bob)].Vote; v != nil {
		t.Errorf("bob did not vote on P7, got %+v", v)
	}
	cast := new(big.Int).Add(new(big.Int).Add(d.Tally.For, d.Tally.Against), d.Tally.Abstain)
	eqBig(t, "notYetVotedPower", notYet, new(big.Int).Sub(total, cast))

	_, err := fx.client.EligibleVoters(bg, P(7), client.PageArgs{First: 2, After: "bm90LWEtY3Vyc29y"})
	wantCode(t, err, client.CodeBadUserInput, "cursor")
	if _, err := fx.store.EligibleVoters(bg, d.Snapshot, store.PageArgs{Last: new(int)}); err == nil {
		t.Error("eligible voters with last: no error")
	}
}

// TestPendingProposalPower: before the index passes a proposal's snapshot, votingPowerOf and
// eligibleVoters are BAD_USER_INPUT errors that name the snapshot and the indexed block,
// and notYetVotedPower is null.
func TestPendingProposalPower(t *testing.T) {
	ctx := bg
	s, err := scenario.New(ctx, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.DAO.RegistryProposal("# Reject beta/vision v9\nPending.", contracts.RejectVersion(9, "pending"))
	if err != nil {
		t.Fatal(err)
	}
	// Sent and mined, without mining on to the snapshot (DAO.Propose would).
	if _, err := s.DAO.Mined(ctx)(s.DAO.DAO.Propose(s.Chain.Opts(alice), p)); err != nil {
		t.Fatal(err)
	}
	e, err := newEnv(ctx, s, graphql.Options{ChainID: devchain.ChainID})
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	defer e.close()
	head, ok, err := e.store.Checkpoint(ctx)
	if err != nil || !ok {
		t.Fatal(err)
	}
	msg := fmt.Sprintf("is past the indexed block %d", head.Number)
	_, err = e.client.VotingPowerOf(ctx, p.ID().String(), s.Address(alice))
	wantCode(t, err, client.CodeBadUserInput, msg)
	_, err = e.client.EligibleVoters(ctx, p.ID().String(), client.PageArgs{First: 5})
	wantCode(t, err, client.CodeBadUserInput, msg)
	var out struct {
		Proposal struct {
			NotYetVotedPower *string `json:"notYetVotedPower"`
		} `json:"proposal"`
	}
	if err := e.client.Exec(ctx, `{ proposal(id: "`+p.ID().String()+`") { notYetVotedPower } }`, nil, &out); err != nil || out.Proposal.NotYetVotedPower != nil {
		t.Errorf("notYetVotedPower of a pending proposal: %v (%v), want null", out.Proposal.NotYetVotedPower, err)
	}
}
