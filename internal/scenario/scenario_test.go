package scenario_test

import (
	"context"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/infra/anvil"
	"github.com/modeldao/modeldao/internal/scenario"
)

// census counts what a scenario's history holds, from the chain's logs and transactions.
func census(t *testing.T, s *scenario.Scenario) map[string]int {
	t.Helper()
	ctx := context.Background()
	d := s.DAO
	eth := s.Node.Eth()
	opts := &bind.FilterOpts{Start: d.Deployment.Block, Context: ctx}
	sender := func(h common.Hash) (common.Address, *common.Address) {
		tx, _, err := eth.(interface {
			TransactionByHash(context.Context, common.Hash) (*types.Transaction, bool, error)
		}).TransactionByHash(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		from, err := types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx)
		if err != nil {
			t.Fatal(err)
		}
		return from, tx.To()
	}
	c := map[string]int{}
	votes, err := d.Governor.FilterVoteCast(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	for votes.Next() {
		c["vote"]++
		if from, _ := sender(votes.Event.Raw.TxHash); from != votes.Event.Voter {
			c["vote by signature, relayed"]++
		}
	}
	withParams, err := d.Governor.FilterVoteCastWithParams(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	for withParams.Next() {
		if len(withParams.Event.Params) > 0 {
			c["vote with params"]++
		}
	}
	delegations, err := d.Token.FilterDelegateChanged(opts, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for delegations.Next() {
		if delegations.Event.FromDelegate != (common.Address{}) {
			c["re-delegation"]++
		}
	}
	transfers, err := d.Token.FilterTransfer(opts, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for transfers.Next() {
		if transfers.Event.From == (common.Address{}) {
			c["mint"]++
		} else {
			c["transfer"]++
		}
	}
	executed, err := d.Timelock.FilterCallExecuted(opts, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for executed.Next() {
		if _, to := sender(executed.Event.Raw.TxHash); *to == d.Deployment.Timelock {
			c["executeBatch on the timelock"]++
		} else {
			c["execute by the governor"]++
		}
	}
	cancelled, err := d.Timelock.FilterCancelled(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	for cancelled.Next() {
		if from, _ := sender(cancelled.Event.Raw.TxHash); from == s.Address(scenario.Guardian) {
			c["cancel on the timelock by the guardian"]++
		}
	}
	for _, p := range s.Proposals {
		st, err := d.Governor.State(nil, p.ID())
		if err != nil {
			t.Fatal(err)
		}
		c["proposal "+modeldao.ProposalState(st).String()]++
	}
	return c
}

func checkCensus(t *testing.T, s *scenario.Scenario) {
	t.Helper()
	c := census(t, s)
	t.Logf("history: %v", c)
	for _, k := range []string{"vote", "vote by signature, relayed", "vote with params", "re-delegation", "transfer", "mint",
		"executeBatch on the timelock", "execute by the governor", "cancel on the timelock by the guardian"} {
		if c[k] == 0 {
			t.Errorf("the random history holds no %s", k)
		}
	}
}

func TestRandomOnDevchain(t *testing.T) {
	ctx := context.Background()
	s, err := scenario.New(ctx, 11, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Random(ctx, 500); err != nil {
		t.Fatal(err)
	}
	checkCensus(t, s)
}

func TestRandomOnAnvil(t *testing.T) {
	ctx := context.Background()
	node := anvil.StartT(t)
	s, err := scenario.NewWith(ctx, scenario.Options{Seed: 11, Node: node})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	setup, err := node.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Random(ctx, 500); err != nil {
		t.Fatal(err)
	}
	checkCensus(t, s)

	// Rolled back to the set-up, the scenario forgets what the chain no longer holds.
	head, err := node.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Rollback(ctx, int(head.Number.Uint64()-setup.Number.Uint64())); err != nil {
		t.Fatal(err)
	}
	if len(s.Proposals) == 0 || s.Versions == 0 {
		t.Fatalf("the history made %d proposals and %d versions", len(s.Proposals), s.Versions)
	}
	if err := s.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	if len(s.Proposals) != 0 || s.Versions != 0 || len(s.Audits) != 0 {
		t.Fatalf("after a rollback to the set-up: %d proposals, %d versions, %d audits remembered", len(s.Proposals), s.Versions, len(s.Audits))
	}
	// And goes on from there.
	if err := s.Random(ctx, 50); err != nil {
		t.Fatal(err)
	}
}
