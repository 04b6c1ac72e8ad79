package devstack

import (
	"context"
	"fmt"
	"math/big"
	"net/http"

	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/relay"
)

// relayerFunds is what the dev stack gives the relayer's account from dev account 0.
var relayerFunds = new(big.Int).Mul(big.NewInt(1000), big.NewInt(1e18))

// startRelayer funds an account of its own for the gasless relayer (the next deterministic
// dev key, which no one else sends from, so its nonces never race the CLI's) and returns the
// relayer's handler, served beside the API (as API Gateway serves both in AWS).
func (s *Stack) startRelayer(ctx context.Context) (http.Handler, error) {
	acct := devchain.DevAccounts(len(s.Chain.Accounts) + 1)[len(s.Chain.Accounts)]
	from := s.Chain.Accounts[0]
	s.miner.hold.Lock()
	err := func() error {
		nonce, err := s.Chain.Client.PendingNonceAt(ctx, from.Address)
		if err != nil {
			return err
		}
		head, err := s.Chain.Client.HeaderByNumber(ctx, nil)
		if err != nil {
			return err
		}
		tip := big.NewInt(1e9)
		chainID := big.NewInt(devchain.ChainID)
		tx, err := types.SignNewTx(from.Key, types.LatestSignerForChainID(chainID), &types.DynamicFeeTx{ChainID: chainID, Nonce: nonce,
			GasTipCap: tip, GasFeeCap: new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2))), Gas: 21_000, To: &acct.Address, Value: relayerFunds})
		if err != nil {
			return err
		}
		if err := s.Chain.Client.SendTransaction(ctx, tx); err != nil {
			return err
		}
		_, err = s.Chain.Receipt(ctx, tx)
		return err
	}()
	s.miner.hold.Unlock()
	if err != nil {
		return nil, fmt.Errorf("fund the relayer's account: %w", err)
	}
	r, err := relay.New(relay.Config{Chain: s.Chain.Client, Store: s.Store, Deployment: s.DAO.Deployment, Key: acct.Key, Log: s.log})
	if err != nil {
		return nil, err
	}
	s.Info.RelayerAddress = acct.Address.Hex()
	return r.Handler(relay.HandlerOptions{AllowedOrigins: []string{"*"}}), nil
}
