package pinning_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ipfs/boxo/files"
	"github.com/ipfs/kubo/core/coreiface/options"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/infra/kubo"
	"github.com/modeldao/modeldao/pinning"
)

// pair is env with a second real kubo node (its own repository and ports), and a consumer
// that replicates to both. The second node is addressed by a URL with a user and password
// that must never show in the records. Both daemons are offline: content a test pins is
// added (unpinned) to both first, as an online node would fetch it from the other.
type pair struct {
	*env
	kubo2  *kubo.Server
	plain2 *pinning.Client // uncounted client of node 2, for the test's own checks
	nodes  []*pinning.Client
	node1  string // node identities as the records show them
	node2  string
}

func newPair(t *testing.T) *pair {
	t.Helper()
	e := newEnv(t)
	ks2 := kubo.StartT(t)
	p := &pair{env: e, kubo2: ks2}
	var err error
	if p.plain2, err = pinning.NewClient(ks2.APIURL(), nil); err != nil {
		t.Fatal(err)
	}
	secret := strings.Replace(ks2.APIURL(), "http://", "http://pinner:s3cret@", 1)
	n2, err := pinning.NewClient(secret, &http.Client{Transport: e.ops})
	if err != nil {
		t.Fatal(err)
	}
	p.nodes = []*pinning.Client{e.ipfs, n2}
	p.node1, p.node2 = e.ipfs.Addr, n2.Addr
	if strings.Contains(p.node2, "s3cret") || strings.Contains(p.node2, "pinner") || p.node2 != ks2.APIURL() {
		t.Fatalf("node identity %q leaks the URL's credentials or is not %s", p.node2, ks2.APIURL())
	}
	return p
}

func (p *pair) consumer(cfg pinning.Config) *pinning.Consumer {
	p.t.Helper()
	c, err := pinning.NewReplicated(p.nodes, p.st, cfg)
	if err != nil {
		p.t.Fatal(err)
	}
	return c
}

func (p *pair) drain(cfg pinning.Config) pinning.Report {
	p.t.Helper()
	rep, err := p.consumer(cfg).Drain(context.Background())
	if err != nil {
		p.t.Fatalf("Drain: %v", err)
	}
	return rep
}

// addBoth adds data to both nodes, unpinned, and returns its CID and sha256.
func (p *pair) addBoth(data []byte) (string, common.Hash) {
	p.t.Helper()
	c, sha := p.add(data)
	q, err := p.plain2.Unixfs().Add(context.Background(), files.NewBytesFile(data), options.Unixfs.CidVersion(1), options.Unixfs.Pin(false, ""))
	if err != nil {
		p.t.Fatalf("adding to node 2: %v", err)
	}
	if q.RootCid().String() != c {
		p.t.Fatalf("node 2 made %s of the bytes, node 1 %s", q.RootCid(), c)
	}
	return c, sha
}

// pinned reports whether c is pinned on node 1 and on node 2, and their pin names.
func (p *pair) pinned(c string) (string, string) {
	p.t.Helper()
	other := &env{t: p.t, plain: p.plain2}
	return p.pins()[c], other.pins()[c]
}

func (p *pair) putPolicy(id uint64, doc string) {
	p.t.Helper()
	ctx := context.Background()
	raw, _ := json.Marshal(modeldao.Policy{ID: id, Name: "fairness", Version: "1", DocumentCID: modeldao.Text(doc), Active: true})
	_, err := p.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.HSet(ctx, p.keys.Key("policy"), strconv.FormatUint(id, 10), raw)
		pipe.ZAdd(ctx, p.keys.Key("policies"), redis.Z{Score: float64(id), Member: strconv.FormatUint(id, 10)})
		return nil
	})
	if err != nil {
		p.t.Fatal(err)
	}
}

// replicas returns the per-node status of a record's replicas and their errors.
func replicas(rs []modeldao.PinReplica) map[string]modeldao.PinReplica {
	out := map[string]modeldao.PinReplica{}
	for _, r := range rs {
		out[r.Node] = r
	}
	return out
}

func (p *pair) wantReplicas(what string, rs []modeldao.PinReplica, s1, s2 modeldao.PinStatus) {
	p.t.Helper()
	m := replicas(rs)
	if len(m) != 2 || m[p.node1].Status != s1 || m[p.node2].Status != s2 {
		p.t.Fatalf("%s: replicas %+v, want %s on %s and %s on %s", what, rs, s1, p.node1, s2, p.node2)
	}
}

func TestReplicationNodeDownDegradesThenCatchesUp(t *testing.T) {
	p := newPair(t)
	c1, sha1 := p.addBoth(content(61, 300_000))
	c2, sha2 := p.addBoth(content(62, 200_000))
	c3, sha3 := p.addBoth(content(63, 100_000))
	doc, _ := p.addBoth([]byte("# Fairness policy v1\n"))
	cfg := p.config("r")

	// Both nodes up: the weights are pinned on both, PINNED.
	p.approve(1, c1, sha1)
	if rep := p.drain(cfg); rep.Pinned != 1 || rep.Failed != 0 {
		t.Fatalf("report %+v, want 1 pinned", rep)
	}
	rec := p.pin(1)
	if rec.Status != modeldao.PinPinned || rec.LastError != "" {
		t.Fatalf("pin record %+v, want PINNED", rec)
	}
	p.wantReplicas("version 1", rec.Replicas, modeldao.PinPinned, modeldao.PinPinned)
	if n1, n2 := p.pinned(c1); n1 != "modeldao:1" || n2 != "modeldao:1" {
		t.Fatalf("pins of %s: node 1 %q, node 2 %q; want modeldao:1 on both", c1, n1, n2)
	}

	// Node 2 stopped: new pins (weights and a policy document) go to node 1, DEGRADED, with
	// node 2's error on its replica; the jobs finish, nothing waits for node 2.
	if err := p.kubo2.Stop(); err != nil {
		t.Fatal(err)
	}
	p.approve(2, c2, sha2)
	p.approve(3, c3, sha3)
	p.putPolicy(1, doc)
	rep := p.drain(cfg)
	if rep.Pinned != 2 || rep.Failed != 0 || rep.Retrying != 0 || rep.Queued != 0 || rep.Waiting != 0 || rep.Evidence.Pinned != 1 {
		t.Fatalf("node 2 down: report %+v, want 2 pinned, the policy document pinned, nothing left", rep)
	}
	for _, id := range []uint64{2, 3} {
		rec := p.pin(id)
		if rec.Status != modeldao.PinDegraded || !strings.Contains(rec.LastError, "held by 1 of 2") {
			t.Fatalf("version %d with node 2 down: %+v, want DEGRADED saying held by 1 of 2", id, rec)
		}
		p.wantReplicas("version "+strconv.FormatUint(id, 10), rec.Replicas, modeldao.PinPinned, modeldao.PinFailed)
		if e := replicas(rec.Replicas)[p.node2].Error; !strings.Contains(e, "did not answer") || !strings.Contains(e, p.node2) || strings.Contains(e, "s3cret") {
			t.Fatalf("node 2's error %q: want it to say %s did not answer, without credentials", e, p.node2)
		}
	}
	pol := p.evidence(modeldao.EvidencePolicyDocument, 1)
	if pol == nil || pol.Status != modeldao.PinDegraded {
		t.Fatalf("policy document with node 2 down: %+v, want DEGRADED", pol)
	}
	p.wantReplicas("policy document", pol.Replicas, modeldao.PinPinned, modeldao.PinFailed)
	if p.pin(1).Status != modeldao.PinPinned {
		t.Fatalf("version 1 changed while node 2 was down: %+v", p.pin(1))
	}

	// Node 2 back: the next pass pins there what it missed; everything is PINNED again.
	if err := p.kubo2.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep = p.drain(cfg)
	if rep.Replicas.CaughtUp != 3 || rep.Replicas.Failed != 0 || rep.Jobs != 0 {
		t.Fatalf("node 2 back: report %+v, want 3 replicas caught up and no job", rep)
	}
	for _, id := range []uint64{1, 2, 3} {
		rec := p.pin(id)
		if rec.Status != modeldao.PinPinned || rec.LastError != "" {
			t.Fatalf("version %d after the catch-up: %+v, want PINNED", id, rec)
		}
		p.wantReplicas("version "+strconv.FormatUint(id, 10), rec.Replicas, modeldao.PinPinned, modeldao.PinPinned)
	}
	for i, c := range []string{c2, c3} {
		if _, n2 := p.pinned(c); n2 != modeldao.PinName(uint64(i+2)) {
			t.Fatalf("node 2 after the catch-up: %s pinned as %q", c, n2)
		}
	}
	if n1, n2 := p.pinned(doc); n1 != "modeldao:policy:1" || n2 != "modeldao:policy:1" {
		t.Fatalf("policy document pins: %q, %q", n1, n2)
	}
	if pol := p.evidence(modeldao.EvidencePolicyDocument, 1); pol.Status != modeldao.PinPinned {
		t.Fatalf("policy document after the catch-up: %+v", pol)
	}
	// Caught up: another pass touches nothing.
	adds := p.ops.count("pin/add " + c2)
	if rep := p.drain(cfg); rep.Replicas != (pinning.ReplicaReport{}) || p.ops.count("pin/add "+c2) != adds {
		t.Fatalf("third pass: %+v, pin/add %s %d times (was %d)", rep, c2, p.ops.count("pin/add "+c2), adds)
	}

	// A replication factor of 1: one node is enough for PINNED.
	c4, sha4 := p.addBoth(content(64, 50_000))
	if err := p.kubo2.Stop(); err != nil {
		t.Fatal(err)
	}
	p.approve(4, c4, sha4)
	cfg.Replication = 1
	p.drain(cfg)
	if rec := p.pin(4); rec.Status != modeldao.PinPinned || !strings.Contains(rec.LastError, "held by 1 of 2") {
		t.Fatalf("factor 1, node 2 down: %+v, want PINNED noting node 2", rec)
	}
	cfg.Replication = 3
	if _, err := pinning.NewReplicated(p.nodes, p.st, cfg); err == nil || !strings.Contains(err.Error(), "PIN_REPLICATION=3 but only 2") {
		t.Fatalf("factor 3 of 2 nodes: %v", err)
	}
}

func TestReplicationEvidenceOnBothNodes(t *testing.T) {
	p := newPair(t)
	doc, _ := p.addBoth([]byte("# Fairness policy v2: demographic parity within 0.1\n"))
	report, reportSHA := p.addBoth([]byte(`{"format":"modeldao-fairness-report/v1","passed":true}`))
	forged, _ := p.addBoth([]byte(`{"format":"modeldao-fairness-report/v1","passed":false}`))
	card, _ := p.addBoth([]byte("# card\n"))
	v1 := newVersion(1, p.absentCID(1), [32]byte{1}, modeldao.VersionSubmitted)
	v1.ModelCardCID = modeldao.Text(card)
	p.putEvidence([]modeldao.ModelVersion{v1}, []modeldao.Audit{
		{ID: 1, VersionID: 1, PolicyID: 1, ReportCID: modeldao.Text(report), ReportSHA256: reportSHA},
		{ID: 2, VersionID: 1, PolicyID: 1, ReportCID: modeldao.Text(forged), ReportSHA256: reportSHA}, // digest of another report
	})
	p.putPolicy(1, doc)
	p.putPolicy(2, "not-a-cid")
	rep := p.drain(p.config("r"))
	if rep.Evidence.Pinned != 3 || rep.Evidence.Failed != 2 {
		t.Fatalf("report %+v, want 3 documents pinned and 2 failed", rep.Evidence)
	}
	for _, c := range []struct {
		kind   modeldao.EvidenceKind
		id     uint64
		cid    string
		name   string
		verify bool
	}{
		{modeldao.EvidencePolicyDocument, 1, doc, "modeldao:policy:1", false},
		{modeldao.EvidenceAuditReport, 1, report, "modeldao:report:1", true},
		{modeldao.EvidenceModelCard, 1, card, "modeldao:card:1", false},
	} {
		ep := p.evidence(c.kind, c.id)
		if ep == nil || ep.Status != modeldao.PinPinned || string(ep.CID) != c.cid || ep.Verified != c.verify {
			t.Fatalf("%s %d: %+v", c.kind, c.id, ep)
		}
		p.wantReplicas(c.kind.String(), ep.Replicas, modeldao.PinPinned, modeldao.PinPinned)
		if n1, n2 := p.pinned(c.cid); n1 != c.name || n2 != c.name {
			t.Fatalf("%s %d: pinned as %q and %q, want %q on both", c.kind, c.id, n1, n2, c.name)
		}
	}
	if ep := p.evidence(modeldao.EvidenceAuditReport, 2); ep.Status != modeldao.PinFailed || !strings.Contains(ep.LastError, "digest mismatch") {
		t.Fatalf("forged report: %+v, want FAILED with a digest mismatch", ep)
	}
	if ep := p.evidence(modeldao.EvidencePolicyDocument, 2); ep.Status != modeldao.PinFailed || !strings.Contains(ep.LastError, "is not a CID") {
		t.Fatalf("policy 2 with a malformed CID: %+v", ep)
	}
}

func TestReplicationUnpinOnlyWhatNothingNeeds(t *testing.T) {
	p := newPair(t)
	shared, sha := p.addBoth(content(71, 150_000))
	cardAndWeights, sha3 := p.addBoth(content(72, 80_000))
	cfg := p.config("r")
	// Versions 1 and 2 share weights; version 3's weights are the model card of version 4
	// (a document: kept whatever happens to the weights).
	p.approve(1, shared, sha)
	p.approve(2, shared, sha)
	p.approve(3, cardAndWeights, sha3)
	v4 := newVersion(4, p.absentCID(4), [32]byte{4}, modeldao.VersionSubmitted)
	v4.ModelCardCID = modeldao.Text(cardAndWeights)
	p.putEvidence([]modeldao.ModelVersion{v4}, nil)
	if rep := p.drain(cfg); rep.Pinned != 3 {
		t.Fatalf("report %+v, want 3 pinned", rep)
	}

	p.revoke(1, shared, sha)
	if rep := p.drain(cfg); rep.Unpinned != 1 {
		t.Fatalf("revoking version 1: %+v", rep)
	}
	if n1, n2 := p.pinned(shared); n1 == "" || n2 == "" {
		t.Fatalf("revoking version 1 of 2 sharing weights unpinned them (node 1 %q, node 2 %q)", n1, n2)
	}
	if rec := p.pin(1); rec.Status != modeldao.PinUnpinned {
		t.Fatalf("version 1: %+v", rec)
	}
	if rec := p.pin(2); rec.Status != modeldao.PinPinned {
		t.Fatalf("version 2: %+v", rec)
	}

	p.revoke(3, cardAndWeights, sha3)
	p.drain(cfg)
	if n1, n2 := p.pinned(cardAndWeights); n1 == "" || n2 == "" {
		t.Fatalf("revoking version 3 unpinned the model card of version 4 (node 1 %q, node 2 %q)", n1, n2)
	}

	// The last version with the weights revoked while node 2 is down: unpinned on node 1 at
	// once, on node 2 when it is back.
	if err := p.kubo2.Stop(); err != nil {
		t.Fatal(err)
	}
	p.revoke(2, shared, sha)
	if rep := p.drain(cfg); rep.Unpinned != 1 {
		t.Fatalf("revoking version 2 with node 2 down: %+v", rep)
	}
	rec := p.pin(2)
	if rec.Status != modeldao.PinUnpinned {
		t.Fatalf("version 2: %+v, want UNPINNED", rec)
	}
	p.wantReplicas("version 2", rec.Replicas, modeldao.PinUnpinned, modeldao.PinPinned)
	if e := replicas(rec.Replicas)[p.node2].Error; !strings.Contains(e, "unpin pending") {
		t.Fatalf("node 2's replica error %q, want unpin pending", e)
	}
	if n1 := p.pins()[shared]; n1 != "" {
		t.Fatalf("node 1 still pins %s as %q", shared, n1)
	}
	if err := p.kubo2.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rep := p.drain(cfg); rep.Replicas.Unpinned != 1 {
		t.Fatalf("node 2 back: %+v, want 1 replica unpinned", rep)
	}
	if n1, n2 := p.pinned(shared); n1 != "" || n2 != "" {
		t.Fatalf("after the catch-up %s is pinned as %q, %q; want on neither node", shared, n1, n2)
	}
	p.wantReplicas("version 2 after the catch-up", p.pin(2).Replicas, modeldao.PinUnpinned, modeldao.PinUnpinned)
}

// TestReplicationRunCatchesUp: the long-running consumer (Run) degrades while a node is down
// and catches it up on one of its idle passes once it answers again.
func TestReplicationRunCatchesUp(t *testing.T) {
	p := newPair(t)
	c1, sha1 := p.addBoth(content(81, 120_000))
	cfg := p.config("run")
	cfg.EvidenceEvery = 100 * time.Millisecond
	if err := p.kubo2.Stop(); err != nil {
		t.Fatal(err)
	}
	runConsumer(t, p.consumer(cfg))
	p.approve(1, c1, sha1)
	rec := p.waitStatus(1, modeldao.PinDegraded, 30*time.Second)
	p.wantReplicas("version 1, node 2 down", rec.Replicas, modeldao.PinPinned, modeldao.PinFailed)
	if q, w := p.backlog(); q != 0 || w != 0 {
		t.Fatalf("node 2 down: %d jobs queued, %d waiting; want none (a node down never holds a job)", q, w)
	}
	if err := p.kubo2.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec = p.waitStatus(1, modeldao.PinPinned, 30*time.Second)
	p.wantReplicas("version 1, node 2 back", rec.Replicas, modeldao.PinPinned, modeldao.PinPinned)
	if _, n2 := p.pinned(c1); n2 != "modeldao:1" {
		t.Fatalf("node 2 pins %s as %q", c1, n2)
	}
}
