package indexer

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
)

// The token's logs read directly must decode as go-ethereum's bindings decode them, for
// logs of the canonical shape and for odd ones (topics missing or extra, addresses with
// dirty upper bytes, data short, long or empty).
func TestTokenDecodersMatchBindings(t *testing.T) {
	dep := contracts.Deployment{Token: common.HexToAddress("0x1000000000000000000000000000000000000001")}
	d := &Decoder{dep: dep}
	tok, _ := bindings.NewTokenFilterer(dep.Token, nil)
	ref := map[string]func(types.Log, modeldao.At) (modeldao.Event, error){
		"Transfer": func(l types.Log, at modeldao.At) (modeldao.Event, error) {
			e, err := tok.ParseTransfer(l)
			if err != nil {
				return nil, err
			}
			return &modeldao.Transfer{At: at, From: e.From, To: e.To, Value: e.Value}, nil
		},
		"DelegateChanged": func(l types.Log, at modeldao.At) (modeldao.Event, error) {
			e, err := tok.ParseDelegateChanged(l)
			if err != nil {
				return nil, err
			}
			return &modeldao.DelegateChanged{At: at, Delegator: e.Delegator, From: e.FromDelegate, To: e.ToDelegate}, nil
		},
		"DelegateVotesChanged": func(l types.Log, at modeldao.At) (modeldao.Event, error) {
			e, err := tok.ParseDelegateVotesChanged(l)
			if err != nil {
				return nil, err
			}
			return &modeldao.DelegateVotesChanged{At: at, Delegate: e.Delegate, Previous: e.PreviousVotes, Current: e.NewVotes}, nil
		},
	}
	rng := rand.New(rand.NewPCG(11, 5))
	word := func(dirty bool) common.Hash {
		var h common.Hash
		for i := range h {
			h[i] = byte(rng.UintN(256))
		}
		if !dirty {
			clear(h[:12])
		}
		if rng.UintN(4) == 0 {
			clear(h[:]) // the zero address, a zero amount
		}
		return h
	}
	at := modeldao.At{Provenance: modeldao.Provenance{BlockNumber: 7, LogIndex: 3}}
	fast, direct := 0, 0
	for _, e := range d.tokenDecoders() {
		want := ref[e.event]
		ev := contracts.TokenABI.Events[e.event]
		for i := 0; i < 3000; i++ {
			topics := []common.Hash{ev.ID}
			n := len(ev.Inputs) - len(ev.Inputs.NonIndexed())
			if rng.UintN(8) == 0 {
				n = int(rng.UintN(5)) // too few or too many topics
			}
			for range n {
				topics = append(topics, word(rng.UintN(8) == 0))
			}
			data := make([]byte, 0, 96)
			words := len(ev.Inputs.NonIndexed())
			if rng.UintN(8) == 0 {
				words = int(rng.UintN(4))
			}
			for range words {
				w := word(true)
				data = append(data, w[:]...)
			}
			if rng.UintN(10) == 0 && len(data) > 0 {
				data = data[:rng.UintN(uint(len(data)))] // short
			}
			l := types.Log{Address: dep.Token, Topics: topics, Data: data}
			got, err := e.decode(l, at)
			wantEv, wantErr := want(l, at)
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("%s %+v: error %v, the bindings' %v", e.event, l, err, wantErr)
			}
			if err == nil && !reflect.DeepEqual(got, wantEv) {
				t.Fatalf("%s %+v: %+v, the bindings %+v", e.event, l, got, wantEv)
			}
			if _, ok := topicAddresses(l, n); ok && n == len(ev.Inputs)-len(ev.Inputs.NonIndexed()) && len(data) == 32*len(ev.Inputs.NonIndexed()) {
				fast++
			} else {
				direct++
			}
		}
	}
	if fast < 3000 || direct < 1000 {
		t.Fatalf("%d logs of the canonical shape, %d others: the cases do not cover both", fast, direct)
	}
}
