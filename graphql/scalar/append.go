package scalar

// Appenders: the same JSON as the Marshal functions of this package, appended to a byte
// slice. The direct object writers of the executor (graphql/generated/direct.go, made by
// graphql/internal/execrewrite) use them to write a field's value into the answer without
// a graphql.Marshaler per field (a closure and a string each: most of the allocation of a
// computed page). Each returns ok false where its Marshal function returns graphql.Null.

import (
	"encoding/hex"
	"math/big"
	"math/bits"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// AppendBigInt appends x as a quoted decimal string, without the string big.Int.String
// allocates. Amounts below 10^19 × 2^64 (1.8 × 10^20 tokens of 18 decimals: every real
// balance, weight and supply) are formatted with one 128-by-64-bit division instead of
// big's general conversion (8 % of the CPU of a proposal's 100 votes with their voters).
func AppendBigInt(b []byte, x *big.Int) ([]byte, bool) {
	if x == nil {
		return b, false
	}
	b = append(b, '"')
	if w := x.Bits(); bits.UintSize == 64 && x.Sign() >= 0 && len(w) <= 2 {
		var hi, lo uint64
		if len(w) > 0 {
			lo = uint64(w[0])
		}
		if len(w) > 1 {
			hi = uint64(w[1])
		}
		if hi < tenTo19 { // the quotient fits in 64 bits
			q, r := bits.Div64(hi, lo, tenTo19)
			if q == 0 {
				b = strconv.AppendUint(b, r, 10)
			} else {
				b = strconv.AppendUint(b, q, 10)
				n := len(b)
				b = strconv.AppendUint(b, r, 10)
				if d := n + 19 - len(b); d > 0 { // r with its leading zeros: 19 digits
					b = append(b, zeros[:d]...)
					copy(b[n+d:], b[n:len(b)-d])
					copy(b[n:n+d], zeros[:d])
				}
			}
			return append(b, '"'), true
		}
	}
	b = x.Append(b, 10)
	return append(b, '"'), true
}

const tenTo19 = 10_000_000_000_000_000_000

const zeros = "0000000000000000000"

// AppendUint64BigInt appends x as a quoted decimal string (MarshalUint64BigInt).
func AppendUint64BigInt(b []byte, x uint64) ([]byte, bool) { return appendQuotedUint(b, x), true }

// AppendUint64ID appends a numeric id as a quoted decimal string (MarshalUint64ID).
func AppendUint64ID(b []byte, id uint64) ([]byte, bool) { return appendQuotedUint(b, id), true }

func appendQuotedUint(b []byte, x uint64) []byte {
	b = append(b, '"')
	b = strconv.AppendUint(b, x, 10)
	return append(b, '"')
}

// AppendAddress appends a quoted EIP-55 checksummed address (MarshalAddress).
func AppendAddress(b []byte, a common.Address) ([]byte, bool) {
	return append(b, checksummed(a).quoted...), true
}

// AppendBytes32 appends 32 bytes as quoted 0x-prefixed hex (MarshalBytes32).
func AppendBytes32(b []byte, h common.Hash) ([]byte, bool) { return appendQuotedHex(b, h[:]), true }

// AppendHashID appends a 32-byte id as quoted 0x-prefixed hex (MarshalHashID).
func AppendHashID(b []byte, h common.Hash) ([]byte, bool) { return appendQuotedHex(b, h[:]), true }

// AppendBytes appends bytes as quoted 0x-prefixed hex; nil is not a value (MarshalBytes).
func AppendBytes(b []byte, v []byte) ([]byte, bool) {
	if v == nil {
		return b, false
	}
	return appendQuotedHex(b, v), true
}

// AppendTextBytes appends a chain string's exact bytes as quoted 0x-prefixed hex
// (MarshalTextBytes).
func AppendTextBytes(b []byte, t modeldao.Text) ([]byte, bool) {
	b = append(b, `"0x`...)
	n := len(b)
	b = append(b, make([]byte, hex.EncodedLen(len(t)))...)
	for i := 0; i < len(t); i++ {
		b[n+2*i], b[n+2*i+1] = hexDigits[t[i]>>4], hexDigits[t[i]&0x0f]
	}
	return append(b, '"'), true
}

const hexDigits = "0123456789abcdef"

func appendQuotedHex(b []byte, v []byte) []byte {
	b = append(b, `"0x`...)
	b = hex.AppendEncode(b, v)
	return append(b, '"')
}

// AppendFixed appends a Fixed6 as a quoted decimal string (MarshalFixed).
func AppendFixed(b []byte, x modeldao.Fixed6) ([]byte, bool) {
	b = append(b, '"')
	b = x.Append(b)
	return append(b, '"'), true
}

// AppendDateTime appends a time as quoted RFC 3339 in UTC; the zero time is not a value
// (MarshalDateTime).
func AppendDateTime(b []byte, t time.Time) ([]byte, bool) {
	if t.IsZero() {
		return b, false
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}

// AppendUnixDateTime appends Unix seconds as a quoted RFC 3339 time (MarshalUnixDateTime).
func AppendUnixDateTime(b []byte, sec uint64) ([]byte, bool) {
	b = append(b, '"')
	b = time.Unix(int64(sec), 0).UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"'), true
}

// AppendMetricKind appends a metric kind's quoted name (MarshalMetricKind).
// Names are upper-case identifiers, quoted as they are: strconv.AppendQuote's rune by rune
// escaping was 6 % of a page of 50 model versions with their metrics.
func AppendMetricKind(b []byte, k modeldao.MetricKind) ([]byte, bool) {
	s := k.String()
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return strconv.AppendQuote(b, s), true
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// AppendChainText appends a chain string's display form as a JSON string
// (MarshalChainText).
func AppendChainText(b []byte, t modeldao.Text) ([]byte, bool) {
	if t.Valid() {
		return AppendJSONString(b, string(t)), true
	}
	return AppendJSONString(b, t.String()), true
}

// AppendJSONString appends s quoted as gqlgen's graphql.MarshalString writes it: control
// characters, backslash and double quote escaped, every other byte as is.
//
// Eight bytes are tested at a time (ids, cursors and titles rarely need escaping: the byte
// by byte loop was 4 % of a page of 100 votes).
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		for i+8 <= len(s) && !escape8(s[i:i+8]) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c >= 0x20 && c != '\\' && c != '"' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '\t':
			b = append(b, `\t`...)
		case '\r':
			b = append(b, `\r`...)
		case '\n':
			b = append(b, `\n`...)
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		default:
			b = append(b, '\\', 'u', '0', '0', upperHex[c>>4], upperHex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const upperHex = "0123456789ABCDEF"

// escape8 reports whether one of the 8 bytes of w may need escaping: a control character,
// '"' or '\\' (bit tricks on the bytes as one word; a false positive only sends the word
// to the byte by byte loop).
func escape8(w string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
	ctl := (x - ones*0x20) &^ x
	q := x ^ (ones * '"')
	quote := (q - ones) &^ q
	bs := x ^ (ones * '\\')
	backslash := (bs - ones) &^ bs
	return (ctl|quote|backslash)&highs != 0
}
