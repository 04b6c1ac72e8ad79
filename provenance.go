package modeldao

import (
	"fmt"

	"github.com/ethereum/go-ethereum/common"
)

// Provenance locates a fact on the chain: the log that established it.
type Provenance struct {
	BlockNumber uint64      `json:"blockNumber"`
	BlockHash   common.Hash `json:"blockHash"`
	Timestamp   uint64      `json:"timestamp"` // block timestamp, Unix seconds
	TxHash      common.Hash `json:"txHash"`
	LogIndex    uint        `json:"logIndex"`
}

// Before reports whether p comes earlier in the chain than q (block, then log index).
func (p Provenance) Before(q Provenance) bool {
	if p.BlockNumber != q.BlockNumber {
		return p.BlockNumber < q.BlockNumber
	}
	return p.LogIndex < q.LogIndex
}

// AccountID is the CAIP-10 identifier of an account or contract: eip155:<chainId>:<address>.
func AccountID(chainID uint64, addr common.Address) string {
	return fmt.Sprintf("eip155:%d:%s", chainID, addr.Hex())
}
