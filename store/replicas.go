package store

import (
	"context"
	"encoding/json"

	"github.com/modeldao/modeldao"
)

// Replication: every pin record (Keys.Pin for weights, Keys.Evidence for documents) carries
// the state of the pin on each IPFS node the pinner targets (modeldao.PinReplica), written
// in the same HSET as the record, so that the overall status and the per-node states never
// disagree. The readers below feed the pinner's catch-up pass (pinning/catchup.go) and its
// reference check before an unpin.

// PinsToReconcile returns the weights' pin records whose nodes may have to be caught up:
// PINNED or DEGRADED (a node may lack the pin), and UNPINNED with a replica still PINNED (a
// node that was down when the version was revoked).
func (s *Store) PinsToReconcile(ctx context.Context) ([]modeldao.Pin, error) {
	var out []modeldao.Pin
	err := s.scanPins(ctx, func(p modeldao.Pin) {
		if p.Status.Held() || modeldao.HeldBy(p.Replicas) > 0 {
			out = append(out, p)
		}
	})
	return out, err
}

// EvidenceToReconcile returns the documents' pin records that are PINNED or DEGRADED (a
// node may lack the pin).
func (s *Store) EvidenceToReconcile(ctx context.Context) ([]modeldao.EvidencePin, error) {
	var out []modeldao.EvidencePin
	var cursor uint64
	for {
		kv, next, err := s.rdb.HScan(ctx, s.keys.Evidence(), cursor, "", 500).Result()
		if err != nil {
			return nil, pinRedisErr(err, "scanning %s", s.keys.Evidence())
		}
		for i := 1; i < len(kv); i += 2 {
			var p modeldao.EvidencePin
			if err := json.Unmarshal([]byte(kv[i]), &p); err != nil {
				return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "%s: malformed evidence pin record in %s", kv[i-1], s.keys.Evidence())
			}
			if p.Status.Held() {
				out = append(out, p)
			}
		}
		if next == 0 {
			return out, nil
		}
		cursor = next
	}
}

// EvidenceWithCID returns the first document of the projection (model card, audit report,
// policy document) whose CID is cid, and false if none is: such a CID stays pinned whatever
// happens to weights that share it, since documents are never unpinned. It reads the
// projection, not the evidence records, so that a document the pinner has not taken up yet
// counts as well.
func (s *Store) EvidenceWithCID(ctx context.Context, cid string) (modeldao.EvidenceRef, bool, error) {
	want, err := s.evidenceWanted(ctx)
	if err != nil {
		return modeldao.EvidenceRef{}, false, err
	}
	for _, w := range want {
		if string(w.CID) == cid {
			return w.EvidenceRef, true, nil
		}
	}
	return modeldao.EvidenceRef{}, false, nil
}
