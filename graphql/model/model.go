// Package model holds the Go types of the GraphQL objects that are not domain types: the
// connections and inputs that gqlgen generates (models_gen.go), and a few computed views
// written by hand here. Domain objects (Proposal, ModelVersion, …) are bound directly to
// the root package's types (see gqlgen.yml).
package model

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"

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
	total                          *big.Int // computed on first use
}

// NewTally returns the tally of votes for, against and abstain (nil counts as zero) with the
// quorum at the snapshot (nil while unknown).
func NewTally(forVotes, against, abstain, quorum *big.Int) *Tally {
	return &Tally{for_: nz(forVotes), against: nz(against), abstain: nz(abstain), quorum: quorum}
}

func nz(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
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
		t.total = new(big.Int).Add(new(big.Int).Add(t.for_, t.against), t.abstain)
	}
	return t.total
}

func (t *Tally) ForPercent() float64     { return percent(t.for_, t.Total()) }
func (t *Tally) AgainstPercent() float64 { return percent(t.against, t.Total()) }
func (t *Tally) AbstainPercent() float64 { return percent(t.abstain, t.Total()) }

// QuorumReached says whether for + abstain reached the quorum; false while it is unknown.
func (t *Tally) QuorumReached() bool {
	return t.quorum != nil && new(big.Int).Add(t.for_, t.abstain).Cmp(t.quorum) >= 0
}

// QuorumPercent is (for + abstain) / quorum × 100; nil while the quorum is unknown or zero.
func (t *Tally) QuorumPercent() *float64 {
	if t.quorum == nil || t.quorum.Sign() <= 0 {
		return nil
	}
	q := percent(new(big.Int).Add(t.for_, t.abstain), t.quorum)
	return &q
}

// percent is 100 × a / b, rounded once to the nearest float64; 0 when b is 0. A quotient
// of exact big.Floats at 53 bits is rounded once, to nearest even, as big.Rat's Float64
// rounds it, without reducing the fraction first (a GCD that cost 13 % of a page of tallies).
func percent(a, b *big.Int) float64 {
	if b.Sign() == 0 {
		return 0
	}
	x := new(big.Float).SetInt(new(big.Int).Mul(a, hundred))
	f, _ := new(big.Float).SetPrec(53).Quo(x, new(big.Float).SetInt(b)).Float64()
	return f
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
