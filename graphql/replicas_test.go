package graphql_test

import (
	"testing"
	"time"

	"github.com/modeldao/modeldao"
)

// TestReplicasAndPolicyDocumentPin: the per-node state of pins (Pin.replicas,
// EvidencePin.replicas), DEGRADED, and the pin of a policy's document.
func TestReplicasAndPolicyDocumentPin(t *testing.T) {
	type replica struct {
		Node, Status, Error string
		UpdatedAt           *string
	}
	var out struct {
		Policy struct {
			DocumentCid string
			DocumentPin struct {
				Status, Cid string
				Verified    bool
				Replicas    []replica
			}
		}
	}
	q := `{ policy(id: 1) { documentCid documentPin { status cid verified replicas { node status error updatedAt } } } }`
	if err := fx.fresh.Exec(bg, q, nil, &out); err != nil {
		t.Fatal(err)
	}
	// Not taken up by a pinner yet: QUEUED with the chain's CID and no replica.
	if p := out.Policy.DocumentPin; p.Status != "QUEUED" || p.Cid != out.Policy.DocumentCid || p.Cid == "" || p.Verified || p.Replicas == nil || len(p.Replicas) != 0 {
		t.Fatalf("document pin before the pinner: %+v", p)
	}

	at := time.Unix(1_700_000_100, 0).UTC()
	err := fx.store.SetEvidencePin(bg, modeldao.EvidencePin{
		EvidenceRef: modeldao.EvidenceRef{Kind: modeldao.EvidencePolicyDocument, ID: 1}, CID: modeldao.Text(out.Policy.DocumentCid),
		Status: modeldao.PinDegraded, Attempts: 1, PinnedAt: at, UpdatedAt: at,
		Replicas: []modeldao.PinReplica{
			{Node: "http://10.0.1.5:5001", Status: modeldao.PinPinned, UpdatedAt: at},
			{Node: "http://10.0.2.5:5001", Status: modeldao.PinFailed, Error: "IPFS API at http://10.0.2.5:5001 did not answer: is the daemon running?", UpdatedAt: at},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.fresh.Exec(bg, q, nil, &out); err != nil {
		t.Fatal(err)
	}
	p := out.Policy.DocumentPin
	if p.Status != "DEGRADED" || len(p.Replicas) != 2 ||
		p.Replicas[0].Node != "http://10.0.1.5:5001" || p.Replicas[0].Status != "PINNED" || p.Replicas[0].Error != "" || p.Replicas[0].UpdatedAt == nil ||
		p.Replicas[1].Status != "FAILED" || p.Replicas[1].Error == "" {
		t.Fatalf("degraded document pin: %+v", p)
	}

	// A version's weights, replicated on two nodes; the record is restored afterwards for
	// the other tests of the shared fixture.
	orig, err := fx.store.GetPin(bg, 1)
	if err != nil || orig == nil {
		t.Fatalf("pin of v1: %+v, %v", orig, err)
	}
	t.Cleanup(func() {
		if err := fx.store.SetPin(bg, *orig); err != nil {
			t.Error(err)
		}
	})
	rec := *orig
	rec.Replicas = []modeldao.PinReplica{
		{Node: "/ip4/10.0.1.5/tcp/5001", Status: modeldao.PinPinned, UpdatedAt: at},
		{Node: "/ip4/10.0.2.5/tcp/5001", Status: modeldao.PinPinned, UpdatedAt: at},
	}
	if err := fx.store.SetPin(bg, rec); err != nil {
		t.Fatal(err)
	}
	var v struct {
		ModelVersion struct {
			Pin struct {
				Status   string
				Replicas []replica
			}
		}
	}
	if err := fx.fresh.Exec(bg, `{ modelVersion(id: 1) { pin { status replicas { node status error updatedAt } } } }`, nil, &v); err != nil {
		t.Fatal(err)
	}
	if pin := v.ModelVersion.Pin; pin.Status != "PINNED" || len(pin.Replicas) != 2 || pin.Replicas[1].Node != "/ip4/10.0.2.5/tcp/5001" || pin.Replicas[1].Status != "PINNED" {
		t.Fatalf("v1 pin: %+v", pin)
	}
}
