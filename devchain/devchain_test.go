package devchain

import (
	"context"
	"testing"

	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/modeldao/modeldao/contracts"
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
