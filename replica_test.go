package modeldao_test

import (
	"testing"

	"github.com/modeldao/modeldao"
)

func TestReplicatedStatus(t *testing.T) {
	for _, c := range []struct {
		held, factor int
		want         modeldao.PinStatus
	}{
		{2, 2, modeldao.PinPinned}, {3, 2, modeldao.PinPinned}, {1, 2, modeldao.PinDegraded},
		{0, 2, modeldao.PinFailed}, {1, 1, modeldao.PinPinned}, {1, 0, modeldao.PinPinned}, {0, 1, modeldao.PinFailed},
	} {
		if got := modeldao.ReplicatedStatus(c.held, c.factor); got != c.want {
			t.Errorf("ReplicatedStatus(%d, %d) = %s, want %s", c.held, c.factor, got, c.want)
		}
	}
	if s, err := modeldao.ParsePinStatus("degraded"); err != nil || s != modeldao.PinDegraded || s.String() != "DEGRADED" || !s.Held() {
		t.Fatalf("DEGRADED: %v %v", s, err)
	}
	// The numbers stored before DEGRADED existed keep their meaning.
	if modeldao.PinUnpinned != 5 || modeldao.PinDegraded != 6 || modeldao.PinFailed.Held() || !modeldao.PinPinned.Held() {
		t.Fatal("PinStatus numbering changed")
	}
}

func TestSetReplica(t *testing.T) {
	var rs []modeldao.PinReplica
	rs = modeldao.SetReplica(rs, modeldao.PinReplica{Node: "http://b:5001", Status: modeldao.PinFailed, Error: "down"})
	rs = modeldao.SetReplica(rs, modeldao.PinReplica{Node: "http://a:5001", Status: modeldao.PinPinned})
	orig := rs
	rs = modeldao.SetReplica(rs, modeldao.PinReplica{Node: "http://b:5001", Status: modeldao.PinPinned})
	if len(rs) != 2 || rs[0].Node != "http://a:5001" || rs[1].Status != modeldao.PinPinned || rs[1].Error != "" || modeldao.HeldBy(rs) != 2 {
		t.Fatalf("replicas %+v", rs)
	}
	if orig[1].Status != modeldao.PinFailed {
		t.Fatal("SetReplica changed its argument")
	}
	if r, ok := modeldao.Replica(rs, "http://c:5001"); ok || r.Node != "" {
		t.Fatal("Replica found an absent node")
	}
}
