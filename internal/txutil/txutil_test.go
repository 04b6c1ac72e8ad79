package txutil

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao/contracts"
)

func TestDecodeRevert(t *testing.T) {
	e := contracts.RegistryABI.Errors["NotAuditor"]
	args, err := e.Inputs.Pack(common.HexToAddress("0x1111111111111111111111111111111111111111"))
	if err != nil {
		t.Fatal(err)
	}
	rv, ok := DecodeRevert(append(e.ID[:4:4], args...))
	if !ok || rv.Name != "NotAuditor" || rv.Text != "NotAuditor(0x1111111111111111111111111111111111111111)" {
		t.Errorf("%+v %v", rv, ok)
	}
	g := contracts.GovernorABI.Errors["GovernorUnexpectedProposalState"]
	args, err = g.Inputs.Pack(big.NewInt(7), uint8(3), [32]byte{})
	if err != nil {
		t.Fatal(err)
	}
	if rv, ok := DecodeRevert(append(g.ID[:4:4], args...)); !ok || rv.Args["current"] != uint8(3) {
		t.Errorf("%+v %v", rv, ok)
	}
	// require(…, "reason")
	reason, _ := abi.Arguments{{Type: mustString()}}.Pack("no")
	if rv, ok := DecodeRevert(append([]byte{0x08, 0xc3, 0x79, 0xa0}, reason...)); !ok || rv.Text != "no" {
		t.Errorf("%+v %v", rv, ok)
	}
	if _, ok := DecodeRevert([]byte{1, 2}); ok {
		t.Error("short data decoded")
	}
}

func mustString() abi.Type {
	ty, err := abi.NewType("string", "", nil)
	if err != nil {
		panic(err)
	}
	return ty
}
