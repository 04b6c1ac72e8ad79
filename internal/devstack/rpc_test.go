package devstack

import (
	"encoding/json"
	"testing"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		body       string
		dev, other int
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"evm_mine"}`, 1, 0},
		{`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`, 0, 1},
		{`[{"method":"anvil_mine"},{"method":"eth_blockNumber"}]`, 1, 1},
		{`not json`, 0, 1},
	} {
		if d, o := classify([]byte(c.body)); d != c.dev || o != c.other {
			t.Errorf("%s: %d dev, %d other", c.body, d, o)
		}
	}
}

func TestQuantity(t *testing.T) {
	for raw, want := range map[string]uint64{`5`: 5, `"0x10"`: 16, `"12"`: 12, `61.0`: 61} {
		if got, err := quantity(json.RawMessage(raw), "x"); err != nil || got != want {
			t.Errorf("%s: %d, %v", raw, got, err)
		}
	}
	for _, raw := range []string{`"zz"`, `-1`, `{}`} {
		if _, err := quantity(json.RawMessage(raw), "x"); err == nil {
			t.Errorf("%s: no error", raw)
		}
	}
}
