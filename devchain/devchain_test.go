package devchain

import (
	"context"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/infra/anvil"
)

func TestDeployOverJSONRPC(t *testing.T) {
	c, err := New(Options{Accounts: 3, HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	d, err := c.Deploy(ctx, contracts.DefaultConfig(), 3)
	if err != nil {
		t.Fatal(err)
	}
	rpc, err := ethclient.Dial(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer rpc.Close()
	id, err := rpc.ChainID(ctx)
	if err != nil || id.Uint64() != ChainID {
		t.Fatalf("chain id over JSON-RPC = %v, %v; want %d", id, err, ChainID)
	}
	code, err := rpc.CodeAt(ctx, d.Deployment.Registry, nil)
	if err != nil || len(code) == 0 {
		t.Fatalf("registry code over JSON-RPC: %d bytes, %v", len(code), err)
	}
	if d.Deployment.Block == 0 {
		t.Fatal("deployment block not recorded")
	}
}

func TestDevAccountsAreDeterministic(t *testing.T) {
	a, b := DevAccounts(5), DevAccounts(5)
	seen := map[string]bool{}
	for i := range a {
		if a[i].Address != b[i].Address {
			t.Fatalf("account %d differs between calls", i)
		}
		if seen[a[i].Address.Hex()] {
			t.Fatalf("account %d repeats an earlier address", i)
		}
		seen[a[i].Address.Hex()] = true
	}
}

// On a node that mines each transaction as it arrives (anvil), the deployment still mines
// its batch of transactions together, in the block their gas was estimated for, and leaves
// the node mining as before.
func TestDeployOnAnvil(t *testing.T) {
	ctx := context.Background()
	node := anvil.StartT(t, anvil.Options{Quiet: true})
	d, err := DeployOn(ctx, node, contracts.DefaultConfig(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if on, err := node.Automine(ctx); err != nil || !on {
		t.Fatalf("automine %v, %v after the deployment", on, err)
	}
	mints, err := d.Token.FilterTransfer(&bind.FilterOpts{Start: d.Deployment.Block, Context: ctx}, []common.Address{{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[uint64]int{}
	for mints.Next() {
		blocks[mints.Event.Raw.BlockNumber]++
	}
	if len(blocks) != 1 {
		t.Fatalf("the deployment's mints are spread over blocks %v, not mined together", blocks)
	}
	for i := range 5 {
		votes, err := d.Token.GetVotes(nil, node.Address(i))
		if err != nil || votes.Cmp(Tokens(1000)) != 0 {
			t.Fatalf("holder %d has %v votes (%v), want 1000 tokens", i, votes, err)
		}
	}
}
