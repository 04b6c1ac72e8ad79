package devstack_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/internal/devstack"
)

// TestDevStackRelay starts the dev stack (no demo data) and votes without gas through the
// relayer it serves beside the API: the vote is mined by the stack's miner and counted.
func TestDevStackRelay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	s, err := devstack.Start(ctx, devstack.Options{RPCAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Empty: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasSuffix(s.Info.RelayURL, "/relay") || !common.IsHexAddress(s.Info.RelayerAddress) {
		t.Fatalf("relay URL %q, relayer %q", s.Info.RelayURL, s.Info.RelayerAddress)
	}
	bal, err := s.Chain.Client.BalanceAt(ctx, common.HexToAddress(s.Info.RelayerAddress), nil)
	if err != nil || bal.Sign() == 0 {
		t.Fatalf("the relayer's account holds %v (%v)", bal, err)
	}
	p, err := s.DAO.RegistryProposal("# Relayed in make dev", contracts.AddAuditor(s.Chain.Accounts[7].Address, "Dev Audits"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DAO.Propose(ctx, 0, p); err != nil {
		t.Fatal(err)
	}
	r := client.NewRelayer(strings.TrimSuffix(s.Info.RelayURL, "/relay"), nil)
	rec, err := r.Vote(ctx, s.Chain.Accounts[1].Key, p.ID(), modeldao.SupportFor, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec, err = r.Wait(ctx, rec.ID); err != nil || rec.Status != modeldao.RelayMined {
		t.Fatalf("relayed vote: %+v, %v", rec, err)
	}
	if voted, err := s.DAO.Governor.HasVoted(&bind.CallOpts{}, p.ID(), s.Chain.Accounts[1].Address); err != nil || !voted {
		t.Fatalf("hasVoted = %v, %v", voted, err)
	}
}
