// Package scalar holds the GraphQL marshalers of the API's custom scalars, bound to the
// domain's Go types in gqlgen.yml: BigInt, Address, Bytes32, Bytes, Fixed, DateTime,
// MetricKind, and IDs that are numbers or hashes in Go.
//
// An input that does not parse fails with a modeldao EINVALID error whose message says what
// was expected; the API reports it as BAD_USER_INPUT.
package scalar

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

func quoted(s string) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(s)) })
}

// inputString accepts a string, or a JSON number for the numeric scalars (variables decoded
// with UseNumber).
func inputString(v any, what string) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	}
	return "", modeldao.Errorf(modeldao.EINVALID, "%s must be a string, not %T", what, v)
}

// MarshalBigInt writes x as a decimal string.
func MarshalBigInt(x *big.Int) graphql.Marshaler {
	if x == nil {
		return graphql.Null
	}
	return quoted(x.String())
}

// UnmarshalBigInt reads a decimal string (or a JSON integer).
func UnmarshalBigInt(v any) (*big.Int, error) {
	s, err := inputString(v, "BigInt")
	if err != nil {
		return nil, err
	}
	x, ok := new(big.Int).SetString(strings.TrimSpace(s), 10)
	if !ok || len(s) > 100 {
		return nil, modeldao.Errorf(modeldao.EINVALID, "BigInt %q is not a decimal integer", s)
	}
	return x, nil
}

// MarshalUint64BigInt writes a uint64 as a BigInt (a decimal string).
func MarshalUint64BigInt(x uint64) graphql.Marshaler { return quoted(strconv.FormatUint(x, 10)) }

// UnmarshalUint64BigInt reads a BigInt that fits in 64 bits.
func UnmarshalUint64BigInt(v any) (uint64, error) {
	s, err := inputString(v, "BigInt")
	if err != nil {
		return 0, err
	}
	x, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, modeldao.Errorf(modeldao.EINVALID, "%q is not an unsigned 64-bit integer", s)
	}
	return x, nil
}

// MarshalAddress writes an address EIP-55 checksummed.
func MarshalAddress(a common.Address) graphql.Marshaler { return checksummed(a) }

// The EIP-55 checksummed form of an address costs a keccak256; a page of 50 proposals
// with their voters writes the same few hundred addresses thousands of times. So the form
// of each address, quoted for JSON, is computed once and kept (a DAO has thousands of
// addresses, not millions; past maxChecksums the memo starts afresh rather than grow).
// A map under a read lock rather than a sync.Map: sync.Map.Load boxes the 20-byte key into
// an interface, an allocation per address written (2 % of a page of 50 delegates).
var (
	checksumsMu   sync.RWMutex
	checksums     = map[common.Address]*jsonString{}
	checksumCount atomic.Int64 // len(checksums), read without the lock by tests
)

const maxChecksums = 1 << 16

// jsonString is a JSON value written as is; a pointer, so that it is a Marshaler without
// an allocation.
type jsonString struct{ quoted, plain string }

func (j *jsonString) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, j.quoted) }

func checksummed(a common.Address) *jsonString {
	checksumsMu.RLock()
	j, ok := checksums[a]
	checksumsMu.RUnlock()
	if ok {
		return j
	}
	h := a.Hex()
	j = &jsonString{quoted: strconv.Quote(h), plain: h}
	checksumsMu.Lock()
	defer checksumsMu.Unlock()
	if len(checksums) >= maxChecksums {
		checksums = map[common.Address]*jsonString{}
	}
	checksums[a] = j
	checksumCount.Store(int64(len(checksums)))
	return j
}

// Checksum is a.Hex() (EIP-55), computed once per address.
func Checksum(a common.Address) string { return checksummed(a).plain }

// UnmarshalAddress reads 0x and 40 hex digits, in any case.
func UnmarshalAddress(v any) (common.Address, error) {
	s, ok := v.(string)
	if !ok || !common.IsHexAddress(s) || !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return common.Address{}, modeldao.Errorf(modeldao.EINVALID, "Address %v is not 0x followed by 40 hex digits", v)
	}
	return common.HexToAddress(s), nil
}

// MarshalBytes32 writes 32 bytes as 0x-prefixed hex.
func MarshalBytes32(h common.Hash) graphql.Marshaler { return quoted(h.Hex()) }

// UnmarshalBytes32 reads 0x and 64 hex digits.
func UnmarshalBytes32(v any) (common.Hash, error) {
	s, ok := v.(string)
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if !ok || !strings.HasPrefix(s, "0x") || err != nil || len(b) != 32 {
		return common.Hash{}, modeldao.Errorf(modeldao.EINVALID, "Bytes32 %v is not 0x followed by 64 hex digits", v)
	}
	return common.BytesToHash(b), nil
}

// MarshalBytes writes bytes as 0x-prefixed hex; nil is null.
func MarshalBytes(b []byte) graphql.Marshaler {
	if b == nil {
		return graphql.Null
	}
	return quoted("0x" + hex.EncodeToString(b))
}

// UnmarshalBytes reads 0x-prefixed hex.
func UnmarshalBytes(v any) ([]byte, error) {
	s, ok := v.(string)
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if !ok || !strings.HasPrefix(s, "0x") || err != nil {
		return nil, modeldao.Errorf(modeldao.EINVALID, "Bytes %v is not 0x followed by an even number of hex digits", v)
	}
	return b, nil
}

// MarshalFixed writes a Fixed6 as a decimal string ("0.1").
func MarshalFixed(x modeldao.Fixed6) graphql.Marshaler { return quoted(x.String()) }

// UnmarshalFixed reads a decimal with at most 6 fractional digits, as a string or a number.
func UnmarshalFixed(v any) (modeldao.Fixed6, error) {
	switch x := v.(type) {
	case string:
		return modeldao.ParseFixed6(x)
	case json.Number:
		return modeldao.ParseFixed6(x.String())
	case int:
		return modeldao.ParseFixed6(strconv.Itoa(x))
	case int64:
		return modeldao.ParseFixed6(strconv.FormatInt(x, 10))
	case float64:
		return modeldao.Fixed6FromFloat(x)
	}
	return 0, modeldao.Errorf(modeldao.EINVALID, "Fixed must be a decimal string such as \"0.1\", not %T", v)
}

// MarshalDateTime writes a time as RFC 3339 in UTC; the zero time is null.
func MarshalDateTime(t time.Time) graphql.Marshaler {
	if t.IsZero() {
		return graphql.Null
	}
	return quoted(t.UTC().Format(time.RFC3339Nano))
}

// UnmarshalDateTime reads RFC 3339 ("2025-01-31T12:00:00Z").
func UnmarshalDateTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, modeldao.Errorf(modeldao.EINVALID, "DateTime must be an RFC 3339 string such as \"2025-01-31T12:00:00Z\", not %T", v)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, modeldao.Errorf(modeldao.EINVALID, "DateTime %q is not RFC 3339, e.g. \"2025-01-31T12:00:00Z\"", s)
	}
	return t, nil
}

// MarshalUnixDateTime writes Unix seconds (block timestamps) as a DateTime.
func MarshalUnixDateTime(sec uint64) graphql.Marshaler {
	return quoted(time.Unix(int64(sec), 0).UTC().Format(time.RFC3339))
}

// UnmarshalUnixDateTime reads a DateTime into Unix seconds.
func UnmarshalUnixDateTime(v any) (uint64, error) {
	t, err := UnmarshalDateTime(v)
	if err != nil {
		return 0, err
	}
	if t.Unix() < 0 {
		return 0, modeldao.Errorf(modeldao.EINVALID, "DateTime %v is before 1970", v)
	}
	return uint64(t.Unix()), nil
}

// MarshalMetricKind writes a metric kind by name.
func MarshalMetricKind(k modeldao.MetricKind) graphql.Marshaler { return quoted(k.String()) }

// UnmarshalMetricKind reads a metric kind name, its snake_case form or METRIC_<n>.
func UnmarshalMetricKind(v any) (modeldao.MetricKind, error) {
	s, ok := v.(string)
	if !ok {
		return 0, modeldao.Errorf(modeldao.EINVALID, "MetricKind must be a string such as \"DEMOGRAPHIC_PARITY_DIFFERENCE\", not %T", v)
	}
	return modeldao.ParseMetricKind(s)
}

// MarshalUint64ID writes a numeric id as an ID (a decimal string).
func MarshalUint64ID(id uint64) graphql.Marshaler { return quoted(strconv.FormatUint(id, 10)) }

// UnmarshalUint64ID reads a decimal id.
func UnmarshalUint64ID(v any) (uint64, error) {
	s, err := inputString(v, "ID")
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, modeldao.Errorf(modeldao.EINVALID, "id %q is not a decimal number", s)
	}
	return id, nil
}

// MarshalHashID writes a 32-byte id as 0x-prefixed hex.
func MarshalHashID(h common.Hash) graphql.Marshaler { return quoted(h.Hex()) }

// UnmarshalHashID reads a 32-byte id.
func UnmarshalHashID(v any) (common.Hash, error) { return UnmarshalBytes32(v) }

// ParseUint64ID parses a decimal id given as an ID argument, naming the argument in the
// error.
func ParseUint64ID(arg, s string) (uint64, error) {
	id, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, modeldao.Errorf(modeldao.EINVALID, "%s %q is not a decimal id", arg, s)
	}
	return id, nil
}

// ParseProposalID checks that s is a decimal uint256, as Governor proposal ids are, and
// returns its canonical form.
func ParseProposalID(arg, s string) (string, error) {
	x, ok := new(big.Int).SetString(strings.TrimSpace(s), 10)
	if !ok || x.Sign() < 0 || x.BitLen() > 256 {
		return "", modeldao.Errorf(modeldao.EINVALID, "%s %q is not a proposal id: expected the decimal uint256 id", arg, s)
	}
	return x.String(), nil
}

// CAIP10 is the CAIP-10 id of an address on a chain: modeldao.AccountID, with the checksum
// computed once per address.
func CAIP10(chainID uint64, a common.Address) string {
	return "eip155:" + strconv.FormatUint(chainID, 10) + ":" + Checksum(a)
}

// MarshalChainText writes a string from the chain as a String: its display form, valid
// UTF-8 with U+FFFD for each byte that does not start a valid sequence.
func MarshalChainText(t modeldao.Text) graphql.Marshaler { return graphql.MarshalString(t.String()) }

// UnmarshalChainText reads a String as the bytes of its UTF-8 text.
func UnmarshalChainText(v any) (modeldao.Text, error) {
	s, err := graphql.UnmarshalString(v)
	return modeldao.Text(s), err
}

// MarshalTextBytes writes a string from the chain as Bytes: its exact bytes in 0x hex.
func MarshalTextBytes(t modeldao.Text) graphql.Marshaler {
	return quoted("0x" + hex.EncodeToString([]byte(t)))
}

// UnmarshalTextBytes reads Bytes as a string's exact bytes.
func UnmarshalTextBytes(v any) (modeldao.Text, error) {
	b, err := UnmarshalBytes(v)
	return modeldao.Text(b), err
}
