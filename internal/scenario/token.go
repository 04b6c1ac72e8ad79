package scenario

import (
	"context"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao/devchain"
)

// delegate has a holder delegate to one of the first accounts (itself included).
func (s *Scenario) delegate(ctx context.Context, holder int) {
	to := s.addrs[s.pick(Holders+2)]
	_, _ = s.DAO.Mined(ctx)(s.DAO.Token.Delegate(s.opts(holder), to))
}

// redelegate has an account that already delegates somewhere (holders, and whoever received
// tokens and delegated) move its votes to another delegate.
func (s *Scenario) redelegate(ctx context.Context) {
	call := &bind.CallOpts{Context: ctx}
	start := s.pick(Accounts)
	for k := range Accounts {
		i := (start + k) % Accounts
		cur, err := s.DAO.Token.Delegates(call, s.addrs[i])
		if err != nil || cur == (common.Address{}) {
			continue
		}
		to := s.addrs[s.other(i)]
		if to == cur {
			to = s.addrs[i] // back to itself
		}
		_, _ = s.DAO.Mined(ctx)(s.DAO.Token.Delegate(s.opts(i), to))
		return
	}
}

// transfer sends a few tokens from a holder to anyone.
func (s *Scenario) transfer(ctx context.Context) {
	from := s.pick(Holders)
	to := s.addrs[s.pick(Accounts)]
	_, _ = s.DAO.Mined(ctx)(s.DAO.Token.Transfer(s.opts(from), to, devchain.Tokens(int64(1+s.pick(50)))))
}

// mint has the deployer (the token's owner) mint to anyone.
func (s *Scenario) mint(ctx context.Context) {
	_, _ = s.DAO.Mined(ctx)(s.DAO.Token.Mint(s.opts(0), s.addrs[s.pick(Accounts)], devchain.Tokens(int64(100+s.pick(500)))))
}
