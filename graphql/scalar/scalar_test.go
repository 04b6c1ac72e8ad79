package scalar

import (
	"bytes"
	"math/big"
	"strconv"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// The memoized checksum is EIP-55 (common.Address.Hex) for every address, also after the
// memo filled up and started afresh; CAIP10 is modeldao.AccountID.
func TestChecksumIsEIP55(t *testing.T) {
	for i := range maxChecksums + 100 {
		a := common.BigToAddress(new(big.Int).Lsh(big.NewInt(int64(i)+1), 80))
		if i%997 == 0 || i > maxChecksums-3 {
			if got := Checksum(a); got != a.Hex() {
				t.Fatalf("Checksum(%x) = %s, want %s", a, got, a.Hex())
			}
			if got, want := CAIP10(1337, a), modeldao.AccountID(1337, a); got != want {
				t.Fatalf("CAIP10 = %s, want %s", got, want)
			}
			var b bytes.Buffer
			MarshalAddress(a).MarshalGQL(&b)
			if b.String() != strconv.Quote(a.Hex()) {
				t.Fatalf("MarshalAddress wrote %s", b.String())
			}
		} else {
			Checksum(a)
		}
	}
	if n := checksumCount.Load(); n > maxChecksums {
		t.Errorf("the memo holds %d addresses, more than %d", n, maxChecksums)
	}
}
