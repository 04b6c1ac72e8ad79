package indexer_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/modeldao/modeldao/indexer"
)

// The indexer's own eth_getLogs decoder must give what go-ethereum's gives, for a real
// node's answer and for every odd answer a node might send.
func TestDecodeLogsMatchesGoEthereum(t *testing.T) {
	s := newScenario(t, 11, 60)
	c, err := rpc.Dial(s.Chain.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var raw json.RawMessage
	if err := c.CallContext(context.Background(), &raw, "eth_getLogs", map[string]any{"fromBlock": "0x0", "toBlock": "latest"}); err != nil {
		t.Fatal(err)
	}
	want := compareDecoders(t, "node answer", raw)
	if len(want) < 50 {
		t.Fatalf("the scenario has only %d logs", len(want))
	}
	if _, ok := indexer.FastLogs(raw); !ok {
		t.Fatal("a plain node answer did not take the fast path")
	}

	one, _ := json.Marshal(want[0])
	obj := string(one)
	cases := map[string]string{
		"null":              `null`,
		"empty":             ` [ ] `,
		"empty data":        strings.Replace(obj, `"data":"`+hexutil.Encode(want[0].Data)+`"`, `"data":"0x"`, 1),
		"odd data":          strings.Replace(obj, `"data":"0x`, `"data":"0x1`, 1),
		"no topics":         strings.Replace(obj, `"topics":`, `"topicz":`, 1),
		"null topics":       strings.Replace(obj, `"topics":[`, `"topics":null,"x":[`, 1),
		"upper-case key":    strings.Replace(obj, `"blockNumber"`, `"BlockNumber"`, 1),
		"escaped string":    strings.Replace(obj, `"address":"0x`, `"address":"\u0030x`, 1),
		"leading zero":      strings.Replace(obj, `"logIndex":"0x`, `"logIndex":"0x0`, 1),
		"short hash":        strings.Replace(obj, `"blockHash":"0x`, `"blockHash":"0x0`, 1),
		"unknown fields":    strings.Replace(obj, `{`, `{"a":1.5e3,"b":"x","c":true,"d":null,`, 1),
		"structured field":  strings.Replace(obj, `{`, `{"a":{"b":[1]},`, 1),
		"removed true":      strings.Replace(obj, `"removed":false`, `"removed":true`, 1),
		"trailing garbage":  `[` + obj + `]x`,
		"two logs":          `[` + obj + " ,\n\t" + obj + `]`,
		"not an array":      obj,
		"upper-case hex":    strings.Replace(obj, `"address":"0x`, `"address":"0X`, 1),
		"no blockTimestamp": strings.Replace(obj, `"blockTimestamp"`, `"blockTimestamq"`, 1),
	}
	for name, in := range cases {
		if !strings.HasPrefix(strings.TrimSpace(in), "[") && in != "null" && name != "not an array" {
			in = "[" + in + "]"
		}
		compareDecoders(t, name, []byte(in))
	}
}

// compareDecoders checks that the indexer's decoder and encoding/json agree on in.
func compareDecoders(t *testing.T, name string, in []byte) []types.Log {
	t.Helper()
	var want []types.Log
	wantErr := json.Unmarshal(in, &want)
	got, err := indexer.DecodeLogs(in)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("%s: error %v, go-ethereum's %v", name, err, wantErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: decoded %+v, go-ethereum %+v", name, got, want)
	}
	return want
}
