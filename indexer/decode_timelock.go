package indexer

import (
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
)

// The timelock's logs: operations executed or cancelled, and its delay.
func (d *Decoder) timelockDecoders() []decoderEntry {
	dep := d.dep
	tl, _ := bindings.NewTimelockFilterer(dep.Timelock, nil)
	return []decoderEntry{
		decodes(dep.Timelock, contracts.TimelockABI, "CallExecuted", func(l types.Log, at modeldao.At) (*modeldao.CallExecuted, error) {
			e, err := tl.ParseCallExecuted(l)
			if err != nil {
				return nil, err
			}
			return &modeldao.CallExecuted{At: at, OperationID: e.Id}, nil
		}),
		decodes(dep.Timelock, contracts.TimelockABI, "Cancelled", func(l types.Log, at modeldao.At) (*modeldao.OperationCancelled, error) {
			e, err := tl.ParseCancelled(l)
			if err != nil {
				return nil, err
			}
			return &modeldao.OperationCancelled{At: at, OperationID: e.Id}, nil
		}),
		decodes(dep.Timelock, contracts.TimelockABI, "MinDelayChange", func(l types.Log, at modeldao.At) (*modeldao.MinDelayChanged, error) {
			e, err := tl.ParseMinDelayChange(l)
			if err != nil {
				return nil, err
			}
			delay, err := u64s(e.NewDuration)
			return &modeldao.MinDelayChanged{At: at, Delay: delay}, err
		}),
	}
}
