package indexer

import (
	"fmt"
	"math/big"
	"reflect"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
)

// decodeFunc turns one log into a domain event.
type decodeFunc func(l types.Log, at modeldao.At) (modeldao.Event, error)

// The decoder table: each contract family's file (decode_governance.go, decode_token.go,
// decode_timelock.go, decode_registry.go) lists which of its logs become which domain event,
// and how; the store's projector table (store/projector.go) says what each domain event
// does to the projection. TestEveryDecodedEventIsProjected checks that the two agree.

// decoderEntry is one row of the table.
type decoderEntry struct {
	contract common.Address
	abi      *abi.ABI
	event    string       // the event's name in abi
	out      reflect.Type // the domain event type it decodes into
	decode   decodeFunc
}

// decodes declares that logs of event (of the contract at contract, whose ABI is a) decode
// into domain events of type E with f.
func decodes[E modeldao.Event](contract common.Address, a *abi.ABI, event string, f func(l types.Log, at modeldao.At) (E, error)) decoderEntry {
	if _, ok := a.Events[event]; !ok {
		panic("indexer: no event " + event + " in the ABI") // programming error in the table
	}
	return decoderEntry{contract: contract, abi: a, event: event, out: reflect.TypeFor[E](), decode: func(l types.Log, at modeldao.At) (modeldao.Event, error) {
		e, err := f(l, at)
		if err != nil {
			return nil, err // not e: a nil *E in an interface is not a nil Event
		}
		return e, nil
	}}
}

type logKey struct {
	addr  common.Address
	topic common.Hash
}

// Decoder decodes the logs of one deployment into domain events. Logs of events that the
// projection does not use (role grants, ownership, EIP-712 domain…) are recognised and
// dropped; a log that should decode but does not is a MalformedLogError.
type Decoder struct {
	dep   contracts.Deployment
	funcs map[logKey]decodeFunc
	known map[logKey]bool
	out   []reflect.Type // the domain event types of the table, for the tests
}

// MalformedLogError reports a log from a DAO contract that did not decode.
type MalformedLogError struct {
	Log types.Log
	Err error
}

func (e *MalformedLogError) Error() string {
	return fmt.Sprintf("malformed log %d of tx %s in block %d: %v", e.Log.Index, e.Log.TxHash, e.Log.BlockNumber, e.Err)
}

// NewDecoder builds the decoder of a deployment.
func NewDecoder(dep contracts.Deployment) *Decoder {
	d := &Decoder{dep: dep, funcs: map[logKey]decodeFunc{}, known: map[logKey]bool{}}
	for addr, a := range map[common.Address]*abi.ABI{dep.Governor: contracts.GovernorABI, dep.Token: contracts.TokenABI, dep.Timelock: contracts.TimelockABI, dep.Registry: contracts.RegistryABI} {
		for _, ev := range a.Events {
			d.known[logKey{addr, ev.ID}] = true
		}
	}

	for _, family := range [][]decoderEntry{d.governanceDecoders(), d.tokenDecoders(), d.timelockDecoders(), d.registryDecoders()} {
		for _, e := range family {
			k := logKey{e.contract, e.abi.Events[e.event].ID}
			if _, dup := d.funcs[k]; dup {
				panic("indexer: two decoders of " + e.event) // programming error in the table
			}
			d.funcs[k] = e.decode
			d.out = append(d.out, e.out)
		}
	}
	return d
}

// Addresses are the contracts whose logs the indexer reads.
func (d *Decoder) Addresses() []common.Address {
	return []common.Address{d.dep.Token, d.dep.Governor, d.dep.Timelock, d.dep.Registry}
}

// Decode returns the event of l, nil for a log the projection does not use, or a
// *MalformedLogError.
func (d *Decoder) Decode(l types.Log, ts uint64) (modeldao.Event, error) {
	if len(l.Topics) == 0 {
		return nil, &MalformedLogError{Log: l, Err: fmt.Errorf("log without topics")}
	}
	k := logKey{l.Address, l.Topics[0]}
	f, ok := d.funcs[k]
	if !ok {
		if d.known[k] {
			return nil, nil
		}
		return nil, &MalformedLogError{Log: l, Err: fmt.Errorf("unknown event topic %s from %s", l.Topics[0], l.Address)}
	}
	at := modeldao.At{Provenance: modeldao.Provenance{BlockNumber: l.BlockNumber, BlockHash: l.BlockHash, Timestamp: ts, TxHash: l.TxHash, LogIndex: l.Index}}
	ev, err := f(l, at)
	if err != nil {
		return nil, &MalformedLogError{Log: l, Err: err}
	}
	return ev, nil
}

func u64s(x ...*big.Int) (uint64, error) {
	l, err := u64list(x...)
	if err != nil {
		return 0, err
	}
	return l[0], nil
}

func u64list(xs ...*big.Int) ([]uint64, error) {
	out := make([]uint64, len(xs))
	for i, x := range xs {
		if x == nil || !x.IsUint64() {
			return nil, fmt.Errorf("value %v does not fit 64 bits", x)
		}
		out[i] = x.Uint64()
	}
	return out, nil
}

// actions decodes the calls of a proposal; calls to the registry get their method and
// arguments, and the version they concern.
func (d *Decoder) actions(targets []common.Address, values []*big.Int, calldatas [][]byte) []modeldao.Action {
	out := make([]modeldao.Action, len(targets))
	for i := range targets {
		a := modeldao.Action{Target: targets[i], Value: values[i], Calldata: calldatas[i]}
		if targets[i] == d.dep.Registry && len(calldatas[i]) >= 4 {
			if m, err := contracts.RegistryABI.MethodById(calldatas[i][:4]); err == nil {
				args := map[string]any{}
				if err := m.Inputs.UnpackIntoMap(args, calldatas[i][4:]); err == nil {
					a.Method = m.Name
					a.Args = map[string]modeldao.Text{}
					for k, v := range args {
						a.Args[k] = modeldao.Text(argText(v))
					}
					if id, ok := args["versionId"].(*big.Int); ok && id.IsUint64() {
						a.VersionID = id.Uint64()
					}
				}
			}
		}
		out[i] = a
	}
	return out
}

// argText renders a decoded argument canonically.
func argText(v any) string {
	switch x := v.(type) {
	case *big.Int:
		return x.String()
	case common.Address:
		return x.Hex()
	case string:
		return x
	case bool:
		return fmt.Sprint(x)
	}
	return strings.TrimSpace(fmt.Sprintf("%+v", v))
}

var opArgs = abi.Arguments{
	{Type: mustType("address[]")}, {Type: mustType("uint256[]")}, {Type: mustType("bytes[]")}, {Type: mustType("bytes32")}, {Type: mustType("bytes32")},
}

func mustType(t string) abi.Type {
	ty, err := abi.NewType(t, "", nil)
	if err != nil {
		panic(err)
	}
	return ty
}

// timelockOpID is the id of the timelock operation that GovernorTimelockControl queues for
// a proposal: hashOperationBatch(targets, values, calldatas, 0, salt) with
// salt = bytes20(governor) ^ keccak256(description).
func timelockOpID(governor common.Address, targets []common.Address, values []*big.Int, calldatas [][]byte, description string) common.Hash {
	salt := crypto.Keccak256Hash([]byte(description))
	for i := 0; i < common.AddressLength; i++ {
		salt[i] ^= governor[i]
	}
	enc, err := opArgs.Pack(targets, values, calldatas, common.Hash{}, salt)
	if err != nil {
		return common.Hash{}
	}
	return crypto.Keccak256Hash(enc)
}
