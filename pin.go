package modeldao

import (
	"fmt"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// PinStatus is the state of a version's weights on IPFS, in the vocabulary of the IPFS
// Pinning Service API.
type PinStatus uint8

const (
	PinNone     PinStatus = iota // nothing asked
	PinQueued                    // a job waits in the queue
	PinPinning                   // a consumer is pinning and verifying
	PinPinned                    // pinned, and the sha256 read back equals the digest on chain
	PinFailed                    // gave up after retries, or digest mismatch (then unpinned)
	PinUnpinned                  // unpinned after a revocation
	// PinDegraded: pinned and verified, but on fewer IPFS nodes than the replication factor
	// asks (at least one holds it). The pinner catches the missing nodes up on its next
	// passes. Last in the list so that the stored numbers of the others stay what they were.
	PinDegraded
)

var pinStatusNames = [...]string{"NONE", "QUEUED", "PINNING", "PINNED", "FAILED", "UNPINNED", "DEGRADED"}

func (s PinStatus) String() string {
	if int(s) < len(pinStatusNames) {
		return pinStatusNames[s]
	}
	return fmt.Sprintf("PinStatus(%d)", uint8(s))
}

// ParsePinStatus parses the upper-case name of a pin status.
func ParsePinStatus(s string) (PinStatus, error) {
	for i, n := range pinStatusNames {
		if strings.EqualFold(n, s) {
			return PinStatus(i), nil
		}
	}
	return 0, Errorf(EINVALID, "unknown pin status %q: use one of %s", s, strings.Join(pinStatusNames[:], ", "))
}

// Held reports whether the status means the content is kept on IPFS: PINNED or DEGRADED.
func (s PinStatus) Held() bool { return s == PinPinned || s == PinDegraded }

// Pin is the pin record of a version's weights.
type Pin struct {
	VersionID uint64    `json:"versionId"`
	CID       Text      `json:"cid"`
	Status    PinStatus `json:"status"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"lastError,omitempty"`
	Size      uint64    `json:"size,omitempty"` // bytes of the weights file
	PinnedAt  time.Time `json:"pinnedAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Replicas is the state of the pin on each IPFS node the pinner targets.
	Replicas []PinReplica `json:"replicas,omitempty"`
}

// PinName is the name under which the weights of a version are pinned in kubo.
func PinName(versionID uint64) string { return fmt.Sprintf("modeldao:%d", versionID) }

// Pin job operations.
const (
	PinOpPin   = "pin"
	PinOpUnpin = "unpin"
)

// PinJob asks the pinner to pin a version's weights (after its approval) or to unpin them
// (after its revocation). The indexer enqueues one in the commit that records the change. It
// is a hint, the projection is the truth: the pinner re-reads the version and acts only if
// its status still calls for it, which is how an approval rolled back by a reorg cancels
// its job.
type PinJob struct {
	Op        string // PinOpPin or PinOpUnpin
	VersionID uint64
	CID       string      // the weights CID (a hint: the pinner uses the version record's)
	SHA256    common.Hash // the on-chain digest of the weights file (a hint as well)
	Block     uint64      // the block whose commit enqueued the job
}

// String describes a job for logs.
func (j PinJob) String() string {
	return fmt.Sprintf("%s version %d cid %s (block %d)", j.Op, j.VersionID, j.CID, j.Block)
}
