package store

import (
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// Addr is the address in lower-case hex with 0x (no checksum); Addrs is Addr of each.
func TestAddrAndAddrs(t *testing.T) {
	as := []common.Address{{}, common.HexToAddress("0xAbCdEf0123456789aBcDeF0123456789AbCdEf01"), {19: 0xff}}
	got := Addrs(as)
	if len(got) != len(as) {
		t.Fatalf("Addrs gave %d strings for %d addresses", len(got), len(as))
	}
	for i, a := range as {
		want := strings.ToLower(a.Hex())
		if Addr(a) != want || got[i] != want {
			t.Fatalf("address %d: Addr %s, Addrs %s, want %s", i, Addr(a), got[i], want)
		}
	}
	if len(Addrs(nil)) != 0 {
		t.Fatal("Addrs(nil) is not empty")
	}
}
