package modeldao

import (
	"encoding/json"
	"os"

	"github.com/ethereum/go-ethereum/common"
)

// Deployment is where the contracts of one DAO live. It is the one shape of that fact: the
// contracts package deploys one, config reads one from the environment, the indexer indexes
// one, and deployment.json (what `modeldao dev` and `modeldao deploy` write, every command
// reads) is its JSON.
type Deployment struct {
	ChainID   uint64         `json:"chainId"`
	Token     common.Address `json:"token"`
	Governor  common.Address `json:"governor"`
	Timelock  common.Address `json:"timelock"`
	Registry  common.Address `json:"registry"`
	Block     uint64         `json:"startBlock"` // the block of the first deployment transaction: index from here
	BlockHash common.Hash    `json:"startBlockHash"`
}

// Validate checks that every address and the chain id are set.
func (d Deployment) Validate() error {
	for _, c := range []struct {
		name string
		addr common.Address
	}{{"token", d.Token}, {"governor", d.Governor}, {"timelock", d.Timelock}, {"registry", d.Registry}} {
		if c.addr == (common.Address{}) {
			return Errorf(EINVALID, "deployment has no %s address", c.name)
		}
	}
	if d.ChainID == 0 {
		return Errorf(EINVALID, "deployment has no chain id")
	}
	return nil
}

// Params are the DAO parameters that the deployment fixes (the indexer's first commit
// writes them; events set the others).
func (d Deployment) Params() DAOParams {
	return DAOParams{ChainID: d.ChainID, Token: d.Token, Governor: d.Governor, Timelock: d.Timelock, Registry: d.Registry, StartBlock: d.Block}
}

// The deployment file is the one piece of I/O in this package: it is the product's
// exchange format for a deployment, and a method keeps every caller (tests included) on
// one spelling of it.

// LoadDeployment reads a deployment file as WriteFile writes it.
func LoadDeployment(path string) (Deployment, error) {
	var d Deployment
	b, err := os.ReadFile(path)
	if err != nil {
		return d, WrapError(EINVALID, err, "read deployment file %s", path)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, WrapError(EINVALID, err, "deployment file %s is not valid JSON", path)
	}
	return d, d.Validate()
}

// WriteFile writes the deployment as indented JSON.
func (d Deployment) WriteFile(path string) error {
	b, _ := json.MarshalIndent(d, "", "  ")
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
