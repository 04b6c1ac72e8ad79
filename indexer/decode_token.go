package indexer

import (
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
)

// The token's logs: transfers, delegations, voting power.
func (d *Decoder) tokenDecoders() []decoderEntry {
	dep := d.dep
	tok, _ := bindings.NewTokenFilterer(dep.Token, nil)
	return []decoderEntry{
		decodes(dep.Token, contracts.TokenABI, "Transfer", func(l types.Log, at modeldao.At) (*modeldao.Transfer, error) {
			e, err := tok.ParseTransfer(l)
			if err != nil {
				return nil, err
			}
			return &modeldao.Transfer{At: at, From: e.From, To: e.To, Value: e.Value}, nil
		}),
		decodes(dep.Token, contracts.TokenABI, "DelegateChanged", func(l types.Log, at modeldao.At) (*modeldao.DelegateChanged, error) {
			e, err := tok.ParseDelegateChanged(l)
			if err != nil {
				return nil, err
			}
			return &modeldao.DelegateChanged{At: at, Delegator: e.Delegator, From: e.FromDelegate, To: e.ToDelegate}, nil
		}),
		decodes(dep.Token, contracts.TokenABI, "DelegateVotesChanged", func(l types.Log, at modeldao.At) (*modeldao.DelegateVotesChanged, error) {
			e, err := tok.ParseDelegateVotesChanged(l)
			if err != nil {
				return nil, err
			}
			return &modeldao.DelegateVotesChanged{At: at, Delegate: e.Delegate, Previous: e.PreviousVotes, Current: e.NewVotes}, nil
		}),
	}
}
