package modeldao

import (
	"slices"
	"time"
)

// PinReplica is the state of one pin (weights or a document) on one IPFS node. Node is the
// node's identity as the pinner shows it: its API address without credentials.
type PinReplica struct {
	Node string `json:"node"`
	// Status is PINNED (the node holds the content), UNPINNED (it was removed there),
	// FAILED (the last attempt on the node failed; Error says why), or QUEUED (not tried
	// yet on the node).
	Status    PinStatus `json:"status"`
	Error     string    `json:"error,omitempty"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// ReplicatedStatus is the overall status of a pin held by held nodes when the replication
// factor is factor: PINNED when held >= factor, DEGRADED when fewer but at least one,
// FAILED when none. A factor below 1 counts as 1.
func ReplicatedStatus(held, factor int) PinStatus {
	switch {
	case held >= max(factor, 1):
		return PinPinned
	case held >= 1:
		return PinDegraded
	}
	return PinFailed
}

// HeldBy returns the number of replicas whose node holds the content (status PINNED).
func HeldBy(replicas []PinReplica) int {
	n := 0
	for _, r := range replicas {
		if r.Status == PinPinned {
			n++
		}
	}
	return n
}

// SetReplica returns replicas with the replica of r.Node replaced by r (or r appended),
// sorted by node so that records compare and read the same whatever order the nodes
// answered in.
func SetReplica(replicas []PinReplica, r PinReplica) []PinReplica {
	out := slices.DeleteFunc(slices.Clone(replicas), func(x PinReplica) bool { return x.Node == r.Node })
	out = append(out, r)
	slices.SortFunc(out, func(a, b PinReplica) int {
		switch {
		case a.Node < b.Node:
			return -1
		case a.Node > b.Node:
			return 1
		}
		return 0
	})
	return out
}

// Replica returns the replica of node, and false if there is none.
func Replica(replicas []PinReplica, node string) (PinReplica, bool) {
	for _, r := range replicas {
		if r.Node == node {
			return r, true
		}
	}
	return PinReplica{}, false
}
