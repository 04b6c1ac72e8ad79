// Package model holds the Go types of the GraphQL objects that are not domain types: the
// connections and inputs that gqlgen generates (models_gen.go), and a few computed views
// written by hand here. Domain objects (Proposal, ModelVersion, …) are bound directly to
// the root package's types (see gqlgen.yml).
package model

import (
	"math"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modeldao/modeldao"
)

// Contract is a deployed contract.
type Contract struct {
	ID      string // CAIP-10
	Address common.Address
}

// Tally is a proposal's votes with their shares, computed field by field when a query
// asks for it: a percentage is a division of 256-bit numbers, and most queries ask for a few
// of the fields only. Its methods are bound by gqlgen as plain fields (no resolver, no
// goroutine). A Tally is used by one goroutine (the one marshalling its object).
type Tally struct {
	for_, against, abstain, quorum *big.Int
	total, forAbstain              *big.Int // computed on first use
	// The sums in 256 bits, computed on first use when the votes fit (sums256): the
	// percentages and the quorum's test without a big.Int of the sums (two allocations a
	// tally, 3.5 % of a page of 50 proposals).
	sums                    int8 // 0: not computed; 1: the sums below; -1: the votes do not fit
	total256, forAbstain256 uint256.Int
}

// NewTally returns the tally of votes for, against and abstain (nil counts as zero) with the
// quorum at the snapshot (nil while unknown).
func NewTally(forVotes, against, abstain, quorum *big.Int) *Tally {
	return &Tally{for_: nz(forVotes), against: nz(against), abstain: nz(abstain), quorum: quorum}
}

var zero = new(big.Int) // read only

func nz(x *big.Int) *big.Int {
	if x == nil {
		return zero
	}
	return x
}

func (t *Tally) For() *big.Int     { return t.for_ }
func (t *Tally) Against() *big.Int { return t.against }
func (t *Tally) Abstain() *big.Int { return t.abstain }

// Quorum is the quorum at the snapshot, nil while unknown.
func (t *Tally) Quorum() *big.Int { return t.quorum }

// Total is for + against + abstain.
func (t *Tally) Total() *big.Int {
	if t.total == nil {
		t.total = new(big.Int).Add(t.forAndAbstain(), t.against)
	}
	return t.total
}

// forAndAbstain is for + abstain: the votes that count towards the quorum.
func (t *Tally) forAndAbstain() *big.Int {
	if t.forAbstain == nil {
		t.forAbstain = new(big.Int).Add(t.for_, t.abstain)
	}
	return t.forAbstain
}

func (t *Tally) ForPercent() float64     { return t.ofTotal(t.for_) }
func (t *Tally) AgainstPercent() float64 { return t.ofTotal(t.against) }
func (t *Tally) AbstainPercent() float64 { return t.ofTotal(t.abstain) }

// ofTotal is percent(a, t.Total()) (a one of the votes), from the 256-bit total when the
// votes fit.
func (t *Tally) ofTotal(a *big.Int) float64 {
	if t.sums256() {
		if t.total256.IsZero() {
			return 0
		}
		var x uint256.Int
		x.SetFromBig(a)
		if f, ok := percentOf256(x, &t.total256); ok {
			return f
		}
	}
	return percent(a, t.Total())
}

// sums256 computes the 256-bit sums once; false when a vote count is negative or wider than
// 200 bits (then the sums are big.Ints).
func (t *Tally) sums256() bool {
	if t.sums == 0 {
		t.sums = -1
		if fits256(t.for_) && fits256(t.against) && fits256(t.abstain) {
			var f, ag, ab uint256.Int
			f.SetFromBig(t.for_)
			ag.SetFromBig(t.against)
			ab.SetFromBig(t.abstain)
			t.forAbstain256.Add(&f, &ab)
			t.total256.Add(&t.forAbstain256, &ag)
			t.sums = 1
		}
	}
	return t.sums > 0
}

func fits256(x *big.Int) bool { return x.Sign() >= 0 && x.BitLen() <= 200 }

// QuorumReached says whether for + abstain reached the quorum; false while it is unknown.
func (t *Tally) QuorumReached() bool {
	if t.quorum == nil {
		return false
	}
	if t.sums256() && fits256(t.quorum) {
		var q uint256.Int
		q.SetFromBig(t.quorum)
		return !t.forAbstain256.Lt(&q)
	}
	return t.forAndAbstain().Cmp(t.quorum) >= 0
}

// QuorumPercent is (for + abstain) / quorum × 100; nil while the quorum is unknown or zero.
func (t *Tally) QuorumPercent() *float64 {
	if t.quorum == nil || t.quorum.Sign() <= 0 {
		return nil
	}
	if t.sums256() && fits256(t.quorum) {
		var y uint256.Int
		y.SetFromBig(t.quorum)
		if q, ok := percentOf256(t.forAbstain256, &y); ok {
			return &q
		}
	}
	q := percent(t.forAndAbstain(), t.quorum)
	return &q
}

// percent is 100 × a / b, rounded once to the nearest float64 (to even on a tie), as
// big.Rat's Float64 rounds it; 0 when b is 0. Amounts up to 2^200 (all token amounts) take
// percent256: fixed 256-bit integers, no allocation. Others: a quotient of exact big.Floats
// at 53 bits, rounded once, without reducing the fraction first (a GCD that cost 13 % of a
// page of tallies).
func percent(a, b *big.Int) float64 {
	if b.Sign() == 0 {
		return 0
	}
	if f, ok := percent256(a, b); ok {
		return f
	}
	x := new(big.Float).SetInt(new(big.Int).Mul(a, hundred))
	f, _ := new(big.Float).SetPrec(53).Quo(x, new(big.Float).SetInt(b)).Float64()
	return f
}

// percent256 divides 100 × a × 2^k by b in 256 bits, k chosen so that the quotient has at
// least 55 bits (53 of the float, a guard bit, a sticky bit): the quotient's low bit ORed
// with "the remainder is not 0" keeps every bit the rounding needs, uint64 → float64
// rounds to nearest even, and × 2^-k is exact. ok is false outside its range (a or b
// negative or wider than 200 bits, or a quotient wider than 64 bits).
func percent256(a, b *big.Int) (float64, bool) {
	if a.Sign() < 0 || b.Sign() <= 0 || a.BitLen() > 200 || b.BitLen() > 200 {
		return 0, false
	}
	var x, y uint256.Int
	x.SetFromBig(a)
	y.SetFromBig(b)
	return percentOf256(x, &y)
}

// percentOf256 is percent256 of x and y (y not 0), each below 2^202.
func percentOf256(x uint256.Int, y *uint256.Int) (float64, bool) {
	var q, r uint256.Int
	x.Mul(&x, uint256.NewInt(100))
	if x.IsZero() {
		return 0, true
	}
	k := max(0, 55+y.BitLen()-x.BitLen())
	if x.BitLen()+k > 256 {
		return 0, false
	}
	x.Lsh(&x, uint(k))
	q.DivMod(&x, y, &r)
	if q.BitLen() > 64 {
		return 0, false
	}
	m := q.Uint64()
	if !r.IsZero() {
		m |= 1
	}
	return math.Ldexp(float64(m), -k), true
}

var hundred = big.NewInt(100)

// Action is one call of a proposal.
type Action struct {
	Index     int
	Target    *Contract
	Value     *big.Int
	Calldata  []byte
	Method    *string
	Args      []*ActionArg
	VersionID uint64 // 0: the call concerns no model version
}

// ActionArg is a decoded argument of a registry call.
type ActionArg struct {
	Name  string
	Value modeldao.Text // a string argument's bytes; others in canonical text
}

// EligibleVoter is an account with voting power at a proposal's snapshot; the proposal's
// id lets its vote be read.
type EligibleVoter struct {
	ProposalID string
	Address    common.Address
	Power      *big.Int
}

// ApprovalEvidence is the evidence of one approveVersion call of a proposal (see the
// schema): what the resolver read, and the bounds checked against the audit.
type ApprovalEvidence struct {
	ActionIndex    int
	Version        *modeldao.ModelVersion
	Policy         *modeldao.Policy
	Audit          *modeldao.Audit
	AuditAgeBlocks *int
	Checks         []*modeldao.BoundCheck
	Passed         bool
	Reason         string
	// Contest: how the version's audits disagree, so that a voter sees it before voting.
	Contest []*modeldao.AuditDisagreement
}

// PolicyImpact is an approved version that a proposed policy would not approve.
type PolicyImpact struct {
	ModelVersion *modeldao.ModelVersion
	Audit        *modeldao.Audit
	Reason       string
	Failing      []*modeldao.BoundCheck
}
