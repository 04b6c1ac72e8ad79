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

// Tally is a proposal's votes with shares.
type Tally struct {
	For, Against, Abstain, Total               *big.Int
	ForPercent, AgainstPercent, AbstainPercent float64
	Quorum                                     *big.Int
	QuorumReached                              bool
	QuorumPercent                              *float64
}

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
