package scalar

import (
	"bytes"
	"math"
	"math/big"
	"math/rand"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// Each appender writes the bytes its Marshal function writes, and is not ok exactly where
// the Marshal function gives null; the appended bytes follow a prefix already in the slice.
func TestAppendersWriteWhatMarshalersWrite(t *testing.T) {
	type pair struct {
		name    string
		marshal graphql.Marshaler
		app     func([]byte) ([]byte, bool)
	}
	var cases []pair
	rng := rand.New(rand.NewSource(9))
	bigs := []*big.Int{nil, new(big.Int), big.NewInt(-7), new(big.Int).Lsh(big.NewInt(1), 255), new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(3), 200))}
	for _, e := range []string{"18446744073709551615", "18446744073709551616", "10000000000000000000", "9999999999999999999",
		"1000000000000000000000", "184467440737095516159999999999999999999", "184467440737095516160000000000000000000",
		"100000000000000000000000000000000000001", "340282366920938463463374607431768211455", "340282366920938463463374607431768211456"} {
		x, _ := new(big.Int).SetString(e, 10)
		bigs = append(bigs, x)
	}
	for i := range 2000 { // random widths around the 64- and 128-bit boundaries
		x := new(big.Int).Rand(rng, new(big.Int).Lsh(big.NewInt(1), uint(1+i%140)))
		bigs = append(bigs, x)
	}
	for _, x := range bigs {
		cases = append(cases, pair{"BigInt " + x.String(), MarshalBigInt(x), func(b []byte) ([]byte, bool) { return AppendBigInt(b, x) }})
	}
	for _, u := range []uint64{0, 1, 42, math.MaxUint64} {
		cases = append(cases,
			pair{"Uint64BigInt", MarshalUint64BigInt(u), func(b []byte) ([]byte, bool) { return AppendUint64BigInt(b, u) }},
			pair{"Uint64ID", MarshalUint64ID(u), func(b []byte) ([]byte, bool) { return AppendUint64ID(b, u) }})
	}
	for _, u := range []uint64{0, 1700000000, 4102444800} {
		cases = append(cases, pair{"UnixDateTime", MarshalUnixDateTime(u), func(b []byte) ([]byte, bool) { return AppendUnixDateTime(b, u) }})
	}
	for _, tm := range []time.Time{{}, time.Unix(1700000000, 123456789), time.Date(2025, 1, 31, 12, 0, 0, 0, time.FixedZone("x", 3600))} {
		cases = append(cases, pair{"DateTime", MarshalDateTime(tm), func(b []byte) ([]byte, bool) { return AppendDateTime(b, tm) }})
	}
	addr := common.HexToAddress("0x52908400098527886e0f7030069857d2e4169ee7")
	hash := common.HexToHash("0x00ff10a0")
	cases = append(cases,
		pair{"Address", MarshalAddress(addr), func(b []byte) ([]byte, bool) { return AppendAddress(b, addr) }},
		pair{"Bytes32", MarshalBytes32(hash), func(b []byte) ([]byte, bool) { return AppendBytes32(b, hash) }},
		pair{"HashID", MarshalHashID(hash), func(b []byte) ([]byte, bool) { return AppendHashID(b, hash) }})
	for _, v := range [][]byte{nil, {}, {0, 1, 0xab, 0xff}} {
		cases = append(cases, pair{"Bytes", MarshalBytes(v), func(b []byte) ([]byte, bool) { return AppendBytes(b, v) }})
	}
	for _, x := range []modeldao.Fixed6{0, 1, -1, 100000, -2500000, 123456789, math.MaxInt64, math.MinInt64, 1_000_001} {
		cases = append(cases, pair{"Fixed " + x.String(), MarshalFixed(x), func(b []byte) ([]byte, bool) { return AppendFixed(b, x) }})
	}
	for _, k := range []modeldao.MetricKind{0, modeldao.DemographicParityDifference, modeldao.DisparateImpactRatio, 200} {
		cases = append(cases, pair{"MetricKind", MarshalMetricKind(k), func(b []byte) ([]byte, bool) { return AppendMetricKind(b, k) }})
	}
	for _, s := range []string{"", "plain", "acme/sentiment", "q\"uo\\te", "tab\tnl\ncr\r\x00\x1f\x7f", "é ✓ 😀", "bad \xff\xfe utf8 \xc3", "<>&\u2028"} {
		tx := modeldao.Text(s)
		cases = append(cases,
			pair{"ChainText " + s, MarshalChainText(tx), func(b []byte) ([]byte, bool) { return AppendChainText(b, tx) }},
			pair{"TextBytes " + s, MarshalTextBytes(tx), func(b []byte) ([]byte, bool) { return AppendTextBytes(b, tx) }},
			pair{"String " + s, graphql.MarshalString(s), func(b []byte) ([]byte, bool) { return AppendJSONString(b, s), true }})
	}
	for _, c := range cases {
		var want bytes.Buffer
		c.marshal.MarshalGQL(&want)
		got, ok := c.app([]byte("prefix:"))
		if ok != (c.marshal != graphql.Null) {
			t.Errorf("%s: appender ok = %v, marshaler gives %q", c.name, ok, want.String())
			continue
		}
		if !ok {
			if string(got) != "prefix:" {
				t.Errorf("%s: appender not ok but wrote %q", c.name, got)
			}
			continue
		}
		if string(got) != "prefix:"+want.String() {
			t.Errorf("%s: appended %q, marshaler writes %q", c.name, got, "prefix:"+want.String())
		}
	}
}

// Strings longer than a word, with a byte to escape at every offset, are written as
// graphql.MarshalString writes them.
func TestAppendJSONStringWords(t *testing.T) {
	base := "0123456789abcdefghijklmnopqrstuvwxyz\x7f\x80\xff é✓"
	for _, special := range []string{"\"", "\\", "\x00", "\x01", "\x1f", "\t", "\n", "\r", " ", "\x7f", "\xff"} {
		for i := 0; i <= len(base); i++ {
			s := base[:i] + special + base[i:]
			var buf bytes.Buffer
			graphql.MarshalString(s).MarshalGQL(&buf)
			if got := AppendJSONString(nil, s); string(got) != buf.String() {
				t.Fatalf("AppendJSONString(%q) = %s, want %s", s, got, buf.String())
			}
		}
	}
}
