// Package eip712 hashes and signs the EIP-712 messages that the DAO's contracts accept from
// anyone on behalf of a signer: OpenZeppelin 5.x Governor ballots (castVoteBySig,
// castVoteWithReasonAndParamsBySig) and ERC20Votes delegations (delegateBySig). The relayer
// verifies with it, and the Go client and the tests sign with it, so that both sides hash
// exactly as the contracts do (the relay tests compare the type hashes with the deployed
// governor's BALLOT_TYPEHASH and EXTENDED_BALLOT_TYPEHASH).
package eip712

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
)

// Type hashes, as the contracts define them.
var (
	DomainTypeHash         = crypto.Keccak256Hash([]byte("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"))
	BallotTypeHash         = crypto.Keccak256Hash([]byte("Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)"))
	ExtendedBallotTypeHash = crypto.Keccak256Hash([]byte("ExtendedBallot(uint256 proposalId,uint8 support,address voter,uint256 nonce,string reason,bytes params)"))
	DelegationTypeHash     = crypto.Keccak256Hash([]byte("Delegation(address delegatee,uint256 nonce,uint256 expiry)"))
)

// Domain is an EIP-712 domain with the four fields OpenZeppelin's EIP712 uses.
type Domain struct {
	Name              string
	Version           string
	ChainID           uint64
	VerifyingContract common.Address
}

// Separator is the domain separator (OpenZeppelin's _domainSeparatorV4).
func (d Domain) Separator() common.Hash {
	return crypto.Keccak256Hash(
		DomainTypeHash[:],
		crypto.Keccak256([]byte(d.Name)),
		crypto.Keccak256([]byte(d.Version)),
		word(new(big.Int).SetUint64(d.ChainID)),
		common.LeftPadBytes(d.VerifyingContract[:], 32),
	)
}

// Digest is the hash a signer signs for a struct hash under the domain.
func (d Domain) Digest(structHash common.Hash) common.Hash {
	sep := d.Separator()
	return crypto.Keccak256Hash([]byte{0x19, 0x01}, sep[:], structHash[:])
}

// Ballot is a Governor ballot; Extended selects ExtendedBallot (with Reason and Params).
type Ballot struct {
	ProposalID *big.Int
	Support    uint8
	Voter      common.Address
	Nonce      *big.Int
	Extended   bool
	Reason     string
	Params     []byte
}

// StructHash is the ballot's EIP-712 struct hash.
func (b Ballot) StructHash() common.Hash {
	if !b.Extended {
		return crypto.Keccak256Hash(BallotTypeHash[:], word(b.ProposalID), word(big.NewInt(int64(b.Support))),
			common.LeftPadBytes(b.Voter[:], 32), word(b.Nonce))
	}
	return crypto.Keccak256Hash(ExtendedBallotTypeHash[:], word(b.ProposalID), word(big.NewInt(int64(b.Support))),
		common.LeftPadBytes(b.Voter[:], 32), word(b.Nonce),
		crypto.Keccak256([]byte(b.Reason)), crypto.Keccak256(b.Params))
}

// Delegation is an ERC20Votes delegation.
type Delegation struct {
	Delegatee common.Address
	Nonce     *big.Int
	Expiry    *big.Int
}

// StructHash is the delegation's EIP-712 struct hash.
func (d Delegation) StructHash() common.Hash {
	return crypto.Keccak256Hash(DelegationTypeHash[:], common.LeftPadBytes(d.Delegatee[:], 32), word(d.Nonce), word(d.Expiry))
}

// word is x as a 32-byte big-endian word (nil is 0).
func word(x *big.Int) []byte {
	if x == nil {
		return make([]byte, 32)
	}
	return math.U256Bytes(new(big.Int).Set(x))
}

// Sign signs digest with key: 65 bytes r‖s‖v with v 27 or 28, as OpenZeppelin's ECDSA wants.
func Sign(digest common.Hash, key *ecdsa.PrivateKey) ([]byte, error) {
	sig, err := crypto.Sign(digest[:], key)
	if err != nil {
		return nil, err
	}
	sig[64] += 27
	return sig, nil
}

// secp256k1halfN is n/2: OpenZeppelin's ECDSA refuses signatures whose s is above it
// (EIP-2), because (r, n−s) is the same signature in another form.
var secp256k1halfN = new(big.Int).Rsh(crypto.S256().Params().N, 1)

// ErrSignature is wrapped by every error of Recover.
var ErrSignature = errors.New("invalid signature")

// Recover returns the address whose key signed digest, and the signature in the form the
// contracts accept (v 27 or 28). It refuses what OpenZeppelin's ECDSA.recover refuses: a
// length other than 65, v other than 27/28 (0/1 are taken as 27/28), s in the upper half.
func Recover(digest common.Hash, sig []byte) (common.Address, []byte, error) {
	if len(sig) != 65 {
		return common.Address{}, nil, fmt.Errorf("%w: %d bytes, want 65 (r‖s‖v)", ErrSignature, len(sig))
	}
	norm := append([]byte(nil), sig...)
	switch norm[64] {
	case 0, 1:
		norm[64] += 27
	case 27, 28:
	default:
		return common.Address{}, nil, fmt.Errorf("%w: v is %d, want 27 or 28", ErrSignature, sig[64])
	}
	if new(big.Int).SetBytes(norm[32:64]).Cmp(secp256k1halfN) > 0 {
		return common.Address{}, nil, fmt.Errorf("%w: s is in the upper half of the curve order (a malleated signature; sign again)", ErrSignature)
	}
	raw := append([]byte(nil), norm...)
	raw[64] -= 27
	pub, err := crypto.SigToPub(digest[:], raw)
	if err != nil {
		return common.Address{}, nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return crypto.PubkeyToAddress(*pub), norm, nil
}
