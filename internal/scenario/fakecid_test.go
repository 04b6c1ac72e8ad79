package scenario

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/modeldao/modeldao"
)

func TestFakeCIDIsACIDOfItsSeed(t *testing.T) {
	s := FakeCID("weights 1")
	if err := modeldao.ValidateCID("cid", s); err != nil || len(s) != 59 {
		t.Fatalf("FakeCID = %q (%d bytes): %v", s, len(s), err)
	}
	c, err := cid.Decode(s)
	if err != nil {
		t.Fatalf("%q does not decode: %v", s, err)
	}
	if c.Version() != 1 || c.Type() != cid.Raw || c.Hash().HexString()[4:] != sha256Hex("weights 1") {
		t.Errorf("%q: version %d, codec %x, multihash %s", s, c.Version(), c.Type(), c.Hash().HexString())
	}
	if FakeCID("weights 2") == s {
		t.Error("two seeds give one CID")
	}
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
