package contracts_test

import (
	"bytes"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"

	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
)

func TestToken(t *testing.T) {
	e := newEnv(t)
	tok := e.dao.Token
	call := e.callOpts()

	t.Run("only the owner mints", func(t *testing.T) {
		mint := pack(t, contracts.TokenABI, "mint", e.addr(holderB), devchain.Tokens(1))
		expectRevert(t, e.call(e.addr(holderB), e.dao.Deployment.Token, mint), "OwnableUnauthorizedAccount", e.addr(holderB))
		expectRevert(t, e.call(e.timelock(), e.dao.Deployment.Token, mint), "OwnableUnauthorizedAccount", e.timelock())
		e.mined(t)(tok.Mint(e.tokenOpts(deployer), e.addr(newcomer), devchain.Tokens(500)))
		wantTokens(t, "total supply", value[*big.Int](t)(tok.TotalSupply(call)), 3500)
	})

	// Starting point: deployer, B and C 1000 each, self-delegated; the newcomer 500, not delegated.
	t.Run("voting power follows delegation and transfers", func(t *testing.T) {
		before := e.head(t)
		wantTokens(t, "newcomer's votes", e.votes(t, newcomer), 0)
		e.mined(t)(tok.Delegate(e.tokenOpts(newcomer), e.addr(newcomer)))
		wantTokens(t, "newcomer's votes after self-delegation", e.votes(t, newcomer), 500)
		e.mined(t)(tok.Transfer(e.tokenOpts(holderB), e.addr(holderC), devchain.Tokens(300)))
		wantTokens(t, "B's votes after sending 300 to C", e.votes(t, holderB), 700)
		wantTokens(t, "C's votes after receiving 300", e.votes(t, holderC), 1300)
		e.mined(t)(tok.Transfer(e.tokenOpts(holderB), e.addr(outsider), devchain.Tokens(200)))
		wantTokens(t, "B's votes after sending 200 to an undelegated account", e.votes(t, holderB), 500)
		wantTokens(t, "undelegated receiver's votes", e.votes(t, outsider), 0)
		e.mined(t)(tok.Delegate(e.tokenOpts(outsider), e.addr(holderC)))
		wantTokens(t, "C's votes after the outsider delegates to C", e.votes(t, holderC), 1500)
		e.mined(t)(tok.Delegate(e.tokenOpts(newcomer), e.addr(holderB)))
		wantTokens(t, "newcomer's votes after delegating away", e.votes(t, newcomer), 0)
		wantTokens(t, "B's votes with the newcomer's", e.votes(t, holderB), 1000)
		if got := value[common.Address](t)(tok.Delegates(call, e.addr(newcomer))); got != e.addr(holderB) {
			t.Fatalf("delegates(newcomer) = %s", got)
		}
		// Checkpoints keep the past: what a proposal's snapshot counts.
		past := new(big.Int).SetUint64(before)
		wantTokens(t, "C's past votes", value[*big.Int](t)(tok.GetPastVotes(call, e.addr(holderC), past)), 1000)
		wantTokens(t, "B's past votes via the governor", value[*big.Int](t)(e.dao.Governor.GetVotes(call, e.addr(holderB), past)), 1000)
		wantTokens(t, "past total supply", value[*big.Int](t)(tok.GetPastTotalSupply(call, past)), 3500)
	})

	t.Run("delegateBySig", func(t *testing.T) {
		// The newcomer (500 tokens, delegated to B) signs a delegation to C; the outsider relays it.
		nonce := value[*big.Int](t)(tok.Nonces(call, e.addr(newcomer)))
		expiry := big.NewInt(time.Now().Add(time.Hour).Unix())
		delegation := []apitypes.Type{{Name: "delegatee", Type: "address"}, {Name: "nonce", Type: "uint256"}, {Name: "expiry", Type: "uint256"}}
		sign := func(expiry *big.Int) (uint8, [32]byte, [32]byte) {
			return e.signTyped(t, newcomer, "Delegation", delegation, apitypes.TypedDataMessage{
				"delegatee": e.addr(holderC).Hex(), "nonce": nonce, "expiry": expiry,
			})
		}
		v, r, s := sign(expiry)
		e.mined(t)(tok.DelegateBySig(e.tokenOpts(outsider), e.addr(holderC), nonce, expiry, v, r, s))
		if got := value[common.Address](t)(tok.Delegates(call, e.addr(newcomer))); got != e.addr(holderC) {
			t.Fatalf("delegates(newcomer) = %s, want C", got)
		}
		wantTokens(t, "B's votes", e.votes(t, holderB), 500)
		wantTokens(t, "C's votes", e.votes(t, holderC), 2000)
		replay := pack(t, contracts.TokenABI, "delegateBySig", e.addr(holderC), nonce, expiry, v, r, s)
		expectRevert(t, e.call(e.addr(outsider), e.dao.Deployment.Token, replay), "InvalidAccountNonce", e.addr(newcomer), nonce.Int64()+1)
		past := big.NewInt(time.Now().Add(-time.Hour).Unix())
		v, r, s = sign(past)
		expired := pack(t, contracts.TokenABI, "delegateBySig", e.addr(holderC), nonce, past, v, r, s)
		expectRevert(t, e.call(e.addr(outsider), e.dao.Deployment.Token, expired), "VotesExpiredSignature", past)
	})

	t.Run("permit", func(t *testing.T) {
		// B (500 tokens) lets the outsider spend 100 by a signature the outsider submits.
		nonce := value[*big.Int](t)(tok.Nonces(call, e.addr(holderB)))
		amount, deadline := devchain.Tokens(100), big.NewInt(time.Now().Add(time.Hour).Unix())
		permit := []apitypes.Type{{Name: "owner", Type: "address"}, {Name: "spender", Type: "address"}, {Name: "value", Type: "uint256"},
			{Name: "nonce", Type: "uint256"}, {Name: "deadline", Type: "uint256"}}
		sign := func(signer int, deadline *big.Int) (uint8, [32]byte, [32]byte) {
			return e.signTyped(t, signer, "Permit", permit, apitypes.TypedDataMessage{
				"owner": e.addr(holderB).Hex(), "spender": e.addr(outsider).Hex(), "value": amount, "nonce": nonce, "deadline": deadline,
			})
		}
		permitCall := func(deadline *big.Int, v uint8, r, s [32]byte) []byte {
			return pack(t, contracts.TokenABI, "permit", e.addr(holderB), e.addr(outsider), amount, deadline, v, r, s)
		}
		v, r, s := sign(holderC, deadline)
		expectRevert(t, e.call(e.addr(outsider), e.dao.Deployment.Token, permitCall(deadline, v, r, s)), "ERC2612InvalidSigner", e.addr(holderC), e.addr(holderB))
		past := big.NewInt(time.Now().Add(-time.Hour).Unix())
		v, r, s = sign(holderB, past)
		expectRevert(t, e.call(e.addr(outsider), e.dao.Deployment.Token, permitCall(past, v, r, s)), "ERC2612ExpiredSignature", past)

		v, r, s = sign(holderB, deadline)
		e.mined(t)(tok.Permit(e.opts(outsider), e.addr(holderB), e.addr(outsider), amount, deadline, v, r, s))
		if got := value[*big.Int](t)(tok.Allowance(call, e.addr(holderB), e.addr(outsider))); got.Cmp(amount) != 0 {
			t.Fatalf("allowance = %s, want %s", got, amount)
		}
		expectRevert(t, e.call(e.addr(outsider), e.dao.Deployment.Token, permitCall(deadline, v, r, s)), "ERC2612InvalidSigner")
		e.mined(t)(tok.TransferFrom(e.tokenOpts(outsider), e.addr(holderB), e.addr(outsider), amount))
		wantTokens(t, "B's votes after the permitted transfer", e.votes(t, holderB), 400)
		wantTokens(t, "C's votes (the outsider delegates to C)", e.votes(t, holderC), 2100)
	})
}

// signTyped signs EIP-712 data of the token's domain, as a wallet's eth_signTypedData_v4 does.
func (e *env) signTyped(t *testing.T, signer int, primary string, fields []apitypes.Type, msg apitypes.TypedDataMessage) (v uint8, r, s [32]byte) {
	t.Helper()
	td := apitypes.TypedData{
		Types: apitypes.Types{
			"EIP712Domain": {{Name: "name", Type: "string"}, {Name: "version", Type: "string"}, {Name: "chainId", Type: "uint256"},
				{Name: "verifyingContract", Type: "address"}},
			primary: fields,
		},
		PrimaryType: primary,
		Domain: apitypes.TypedDataDomain{Name: e.dao.Config.TokenName, Version: "1", ChainId: math.NewHexOrDecimal256(devchain.ChainID),
			VerifyingContract: e.dao.Deployment.Token.Hex()},
		Message: msg,
	}
	domain, err := td.HashStruct("EIP712Domain", td.Domain.Map())
	if err != nil {
		t.Fatal(err)
	}
	if onChain := value[[32]byte](t)(e.dao.Token.DOMAINSEPARATOR(e.callOpts())); !bytes.Equal(domain, onChain[:]) {
		t.Fatalf("EIP-712 domain separator %x differs from the token's %x", domain, onChain)
	}
	digest, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := crypto.Sign(digest, e.chain.Accounts[signer].Key)
	if err != nil {
		t.Fatal(err)
	}
	copy(r[:], sig[:32])
	copy(s[:], sig[32:64])
	return sig[64] + 27, r, s
}
