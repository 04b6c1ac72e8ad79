package store

import (
	"encoding/json"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// The hand-written encoders write what encoding/json writes, for every value.
func TestRecordEncodersMatchEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	addr := func() (a common.Address) {
		if rng.UintN(4) > 0 {
			for i := range a {
				a[i] = byte(rng.UintN(256))
			}
		}
		return a
	}
	hash := func() (h common.Hash) {
		for i := range h {
			h[i] = byte(rng.UintN(256))
		}
		return h
	}
	num := func() *big.Int {
		switch rng.UintN(5) {
		case 0:
			return nil
		case 1:
			return new(big.Int)
		case 2:
			return new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(int64(rng.Uint32())), uint(rng.UintN(200))))
		}
		return new(big.Int).Lsh(new(big.Int).SetUint64(rng.Uint64()), uint(rng.UintN(200)))
	}
	prov := func() modeldao.Provenance {
		return modeldao.Provenance{BlockNumber: rng.Uint64() >> rng.UintN(64), BlockHash: hash(), Timestamp: rng.Uint64() >> rng.UintN(64), TxHash: hash(), LogIndex: uint(rng.UintN(1 << 20))}
	}
	causes := []modeldao.PowerCause{modeldao.CauseDelegation, modeldao.CauseTransfer, modeldao.CauseMint, modeldao.CauseBurn, modeldao.CauseOther, "", "a<b", "é", "x\"y"}
	same := func(what string, v any, got []byte) {
		t.Helper()
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("%s: wrote %s, encoding/json %s", what, got, want)
		}
	}
	for range 2000 {
		a := &modeldao.Account{Address: addr(), Balance: num(), Delegate: addr(), VotingPower: num(), DelegatorCount: int(rng.Int32()) - 1<<30, VoteCount: int(rng.UintN(1000)), FirstSeen: prov()}
		same("account", a, appendAccount(nil, a))
		d := &modeldao.Delegation{Delegator: addr(), From: addr(), To: addr(), Provenance: prov()}
		same("delegation", d, appendDelegation(nil, d))
		v := &modeldao.Vote{ProposalID: []string{"1", "123456789012345678901234567890", "", "a\"b", "<x>", "\xff"}[rng.UintN(6)], Voter: addr(), Support: modeldao.VoteSupport(rng.UintN(4)), Weight: num(), Provenance: prov()}
		switch rng.UintN(6) {
		case 0:
			v.Reason = modeldao.Text(causes[rng.UintN(uint(len(causes)))])
		case 1:
			v.Reason = modeldao.Text("a plain reason, with <html> & \"quotes\" and \\ \n \x00 é \xff"[rng.UintN(20):])
		case 2:
			v.Params = []byte{1, 2, 3}
		}
		if got, ok := appendVote(nil, v); ok {
			same("vote", v, got)
		} else if len(v.Params) == 0 && plainString(v.ProposalID) {
			t.Fatalf("vote %+v left to encoding/json", v)
		}
		c := &modeldao.PowerChange{Delegate: addr(), Previous: num(), New: num(), Cause: causes[rng.UintN(uint(len(causes)))], Provenance: prov()}
		if got, ok := appendPowerChange(nil, c); ok {
			same("power change", c, got)
		} else if plainString(string(c.Cause)) {
			t.Fatalf("power change with cause %q left to encoding/json", c.Cause)
		}
	}
}
