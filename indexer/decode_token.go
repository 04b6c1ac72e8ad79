package indexer

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
)

// The token's logs: transfers, delegations, voting power. They are most of a chain's logs
// (a delegation is a DelegateChanged and two DelegateVotesChanged), and their layout is
// fixed (indexed addresses, uint256 words), so a log of the canonical shape is read
// directly; go-ethereum's bindings, which reach the same values through reflection (a
// sizeable share of the indexer's CPU per event), read any other (and report its error).
func (d *Decoder) tokenDecoders() []decoderEntry {
	dep := d.dep
	tok, _ := bindings.NewTokenFilterer(dep.Token, nil)
	return []decoderEntry{
		decodes(dep.Token, contracts.TokenABI, "Transfer", func(l types.Log, at modeldao.At) (*modeldao.Transfer, error) {
			if a, ok := topicAddresses(l, 2); ok && len(l.Data) == 32 {
				return &modeldao.Transfer{At: at, From: a[0], To: a[1], Value: new(big.Int).SetBytes(l.Data)}, nil
			}
			e, err := tok.ParseTransfer(l)
			if err != nil {
				return nil, err
			}
			return &modeldao.Transfer{At: at, From: e.From, To: e.To, Value: e.Value}, nil
		}),
		decodes(dep.Token, contracts.TokenABI, "DelegateChanged", func(l types.Log, at modeldao.At) (*modeldao.DelegateChanged, error) {
			if a, ok := topicAddresses(l, 3); ok && len(l.Data) == 0 {
				return &modeldao.DelegateChanged{At: at, Delegator: a[0], From: a[1], To: a[2]}, nil
			}
			e, err := tok.ParseDelegateChanged(l)
			if err != nil {
				return nil, err
			}
			return &modeldao.DelegateChanged{At: at, Delegator: e.Delegator, From: e.FromDelegate, To: e.ToDelegate}, nil
		}),
		decodes(dep.Token, contracts.TokenABI, "DelegateVotesChanged", func(l types.Log, at modeldao.At) (*modeldao.DelegateVotesChanged, error) {
			if a, ok := topicAddresses(l, 1); ok && len(l.Data) == 64 {
				return &modeldao.DelegateVotesChanged{At: at, Delegate: a[0], Previous: new(big.Int).SetBytes(l.Data[:32]), Current: new(big.Int).SetBytes(l.Data[32:])}, nil
			}
			e, err := tok.ParseDelegateVotesChanged(l)
			if err != nil {
				return nil, err
			}
			return &modeldao.DelegateVotesChanged{At: at, Delegate: e.Delegate, Previous: e.PreviousVotes, Current: e.NewVotes}, nil
		}),
	}
}

// topicAddresses returns the n indexed addresses of l (topics 1..n) when l has exactly
// those topics, each an address as the ABI encodes it (12 zero bytes, then the address).
func topicAddresses(l types.Log, n int) ([3]common.Address, bool) {
	var out [3]common.Address
	if len(l.Topics) != n+1 || n > len(out) {
		return out, false
	}
	for i, t := range l.Topics[1:] {
		for _, c := range t[:common.HashLength-common.AddressLength] {
			if c != 0 {
				return out, false
			}
		}
		copy(out[i][:], t[common.HashLength-common.AddressLength:])
	}
	return out, true
}
