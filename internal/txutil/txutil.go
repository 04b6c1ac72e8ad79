// Package txutil holds what the CLI and the dev stack need to send transactions well: gas
// estimates with a margin, waiting for receipts without bind.WaitMined's one-second ticks,
// and revert data decoded into the contracts' custom errors.
package txutil

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao/contracts"
)

// WithGasMargin returns b with gas estimates raised by half plus 60000 gas (see
// contracts.WithGasMargin, where it lives so that deployments use it too).
func WithGasMargin(b contracts.Backend) contracts.Backend { return contracts.WithGasMargin(b) }

// WaitMined polls for the receipt of tx until it is there or ctx ends.
func WaitMined(ctx context.Context, b contracts.ReceiptReader, tx common.Hash) (*types.Receipt, error) {
	return contracts.WaitReceipt(ctx, b, tx)
}

var abis = []*abi.ABI{contracts.GovernorABI, contracts.RegistryABI, contracts.TokenABI, contracts.TimelockABI}

// dataError is go-ethereum's rpc.DataError.
type dataError interface {
	error
	ErrorData() any
}

// RevertData returns the revert data carried by an RPC error, if any.
func RevertData(err error) ([]byte, bool) {
	var de dataError
	if !errors.As(err, &de) {
		return nil, false
	}
	s, ok := de.ErrorData().(string)
	if !ok {
		return nil, false
	}
	b, err2 := hexutil.Decode(s)
	if err2 != nil {
		return nil, false
	}
	return b, true
}

// Revert is a decoded revert: the custom error's name and arguments, or a reason string.
type Revert struct {
	Name string         // e.g. GovernorUnexpectedProposalState; "Error" for require(…, reason)
	Args map[string]any // by argument name
	Text string         // Name(arg, …) or the reason
}

// DecodeRevert decodes revert data against the DAO contracts' ABIs.
func DecodeRevert(data []byte) (Revert, bool) {
	if len(data) < 4 {
		return Revert{}, false
	}
	if reason, err := abi.UnpackRevert(data); err == nil {
		return Revert{Name: "Error", Text: reason}, true
	}
	for _, a := range abis {
		for name, e := range a.Errors {
			if !bytesEqual(e.ID[:4], data[:4]) {
				continue
			}
			vals, err := e.Inputs.Unpack(data[4:])
			if err != nil {
				continue
			}
			r := Revert{Name: name, Args: map[string]any{}}
			parts := make([]string, len(vals))
			for i, v := range vals {
				r.Args[e.Inputs[i].Name] = v
				parts[i] = format(v)
			}
			r.Text = fmt.Sprintf("%s(%s)", name, strings.Join(parts, ", "))
			return r, true
		}
	}
	return Revert{}, false
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

func format(v any) string {
	switch x := v.(type) {
	case [32]byte:
		return common.Hash(x).Hex()
	case []byte:
		return hexutil.Encode(x)
	case *big.Int:
		return x.String()
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprint(v)
}
