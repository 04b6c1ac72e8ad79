package pinning_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/infra/kubo"
	"github.com/modeldao/modeldao/infra/procutil"
	"github.com/modeldao/modeldao/pinning"
	"github.com/modeldao/modeldao/store"
)

func (e *env) drain(cfg pinning.Config) pinning.Report {
	e.t.Helper()
	rep, err := pinning.New(e.ipfs, e.st, cfg).Drain(context.Background())
	if err != nil {
		e.t.Fatalf("Drain: %v", err)
	}
	return rep
}

// redeliver adds a stream entry with the job's fields without touching the pin record: the
// same job delivered a second time.
func (e *env) redeliver(op string, id uint64, c string, sha string) {
	e.t.Helper()
	err := e.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: e.keys.PinJobs(), Values: []string{
		"op", op, "version", strconv.FormatUint(id, 10), "cid", c, "sha256", sha, "block", "1",
	}}).Err()
	if err != nil {
		e.t.Fatal(err)
	}
}

func recordJSON(t *testing.T, p *modeldao.Pin) string {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestApprovePinsAndVerifies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	data := content(1, 1<<20+123)
	c, sha := e.add(data)
	if e.isPinned(c) {
		t.Fatal("content pinned before the approval")
	}
	e.approve(1, c, sha)
	if p := e.pin(1); p == nil || p.Status != modeldao.PinQueued || string(p.CID) != c {
		t.Fatalf("after the approval the pin record is %+v, want QUEUED with the CID", p)
	}

	rep := e.drain(e.config("a"))
	if rep.Pinned != 1 || rep.Jobs != 1 || rep.Queued != 0 || rep.Waiting != 0 {
		t.Fatalf("report %+v, want one job pinned and nothing left", rep)
	}
	p := e.pin(1)
	if p.Status != modeldao.PinPinned || p.Size != uint64(len(data)) || p.Attempts != 1 || p.LastError != "" || p.PinnedAt.IsZero() || string(p.CID) != c {
		t.Fatalf("pin record %+v, want PINNED, size %d, 1 attempt", p, len(data))
	}
	if name := e.pins()[c]; name != "modeldao:1" {
		t.Fatalf("kubo pin ls: %s has name %q, want modeldao:1 (pins %v)", c, name, e.pins())
	}
	if n, err := pinning.Verify(ctx, e.plain, c, sha); err != nil || n != int64(len(data)) {
		t.Fatalf("Verify = %d, %v", n, err)
	}
	if n := e.ops.count("pin/add " + c); n != 1 {
		t.Fatalf("pin/add %s called %d times, want 1", c, n)
	}

	// The same job delivered again changes nothing.
	before := recordJSON(t, p)
	e.redeliver(store.PinOpPin, 1, c, sha.Hex())
	rep = e.drain(e.config("a"))
	if rep.Duplicate != 1 || rep.Pinned != 0 {
		t.Fatalf("second delivery: report %+v, want one duplicate", rep)
	}
	if after := recordJSON(t, e.pin(1)); after != before {
		t.Fatalf("second delivery changed the record:\n%s\n%s", before, after)
	}
	if n := e.ops.count("pin/add " + c); n != 1 {
		t.Fatalf("pin/add %s called %d times after a duplicate, want 1", c, n)
	}
	sum, err := e.st.PinSummary(ctx)
	if err != nil || len(sum) != 1 || sum[modeldao.PinPinned] != 1 {
		t.Fatalf("PinSummary = %v, %v; want PINNED: 1", sum, err)
	}
}

func TestRevokeUnpins(t *testing.T) {
	e := newEnv(t)
	c1, sha1 := e.add(content(11, 200_000))
	c2, sha2 := e.add(content(12, 200_000))
	e.approve(1, c1, sha1)
	e.approve(2, c2, sha2)
	if rep := e.drain(e.config("a")); rep.Pinned != 2 {
		t.Fatalf("report %+v, want 2 pinned", rep)
	}

	e.revoke(1, c1, sha1)
	rep := e.drain(e.config("a"))
	if rep.Unpinned != 1 {
		t.Fatalf("report %+v, want 1 unpinned", rep)
	}
	if p := e.pin(1); p.Status != modeldao.PinUnpinned || p.LastError != "" {
		t.Fatalf("pin record %+v, want UNPINNED", p)
	}
	if e.isPinned(c1) || !e.isPinned(c2) {
		t.Fatalf("after revoking version 1: pins %v, want only %s", e.pins(), c2)
	}

	// An unpin job delivered again, for a pin that is gone: nothing changes.
	e.redeliver(store.PinOpUnpin, 1, c1, sha1.Hex())
	if rep := e.drain(e.config("a")); rep.Duplicate != 1 {
		t.Fatalf("second unpin delivery: report %+v, want one duplicate", rep)
	}
	if n := e.ops.count("pin/rm /ipfs/" + c1); n != 1 {
		t.Fatalf("pin/rm %s called %d times, want 1", c1, n)
	}

	// With UnpinOnRevoke off, a revoked version keeps its weights pinned.
	e.revoke(2, c2, sha2)
	cfg := e.config("a")
	cfg.UnpinOnRevoke = false
	if rep := e.drain(cfg); rep.Kept != 1 {
		t.Fatalf("report %+v, want one kept", rep)
	}
	if !e.isPinned(c2) || e.pin(2).Status != modeldao.PinPinned {
		t.Fatalf("UnpinOnRevoke=false: %s pinned %v, record %+v; want still pinned", c2, e.isPinned(c2), e.pin(2))
	}
}

func TestSharedWeightsStayPinnedWhileApproved(t *testing.T) {
	e := newEnv(t)
	c, sha := e.add(content(21, 100_000))
	e.approve(1, c, sha)
	e.approve(2, c, sha)
	if rep := e.drain(e.config("a")); rep.Pinned != 2 {
		t.Fatalf("report %+v, want 2 pinned", rep)
	}
	e.revoke(1, c, sha)
	e.drain(e.config("a"))
	if e.pin(1).Status != modeldao.PinUnpinned || !e.isPinned(c) {
		t.Fatalf("revoking version 1 of 2 sharing %s: record %+v, pinned %v; want UNPINNED and still pinned for version 2", c, e.pin(1), e.isPinned(c))
	}
	e.revoke(2, c, sha)
	e.drain(e.config("a"))
	if e.pin(2).Status != modeldao.PinUnpinned || e.isPinned(c) {
		t.Fatalf("revoking both: record %+v, pinned %v; want unpinned", e.pin(2), e.isPinned(c))
	}
}

func TestUnavailableContentFailsAfterRetries(t *testing.T) {
	e := newEnv(t) // offline daemon: a block it does not have fails at once
	c := e.absentCID(7)
	sha := sha256Of([]byte("whatever"))
	e.approve(1, c, sha)
	cfg := e.config("a")
	cfg.MaxAttempts = 3
	runConsumer(t, pinning.New(e.ipfs, e.st, cfg))

	p := e.waitStatus(1, modeldao.PinFailed, 30*time.Second)
	if p.Attempts != 3 || !strings.Contains(p.LastError, "gave up after 3 attempts") || !strings.Contains(p.LastError, "not found") {
		t.Fatalf("pin record %+v, want 3 attempts and the reason (block not found)", p)
	}
	if n := e.ops.count("pin/add " + c); n != 3 {
		t.Fatalf("pin/add called %d times, want 3", n)
	}
	if e.isPinned(c) {
		t.Fatal("failed CID is pinned")
	}
	waitFor(t, 5*time.Second, "an empty queue", func() bool { q, w := e.backlog(); return q == 0 && w == 0 })
}

func TestNoProgressCancelsThePin(t *testing.T) {
	// Online with no peers, kubo waits for the blocks forever: only the inactivity timeout
	// (or the caller's deadline) ends the pin.
	e := newEnv(t, kubo.Options{Online: true})
	c := e.absentCID(8)
	sha := sha256Of([]byte("x"))
	e.approve(1, c, sha)
	cfg := e.config("a")
	cfg.InactivityTimeout = 1500 * time.Millisecond
	cfg.MaxAttempts = 1
	start := time.Now()
	rep := e.drain(cfg)
	if rep.Failed != 1 {
		t.Fatalf("report %+v, want 1 failed", rep)
	}
	p := e.pin(1)
	if p.Status != modeldao.PinFailed || !strings.Contains(p.LastError, "no progress for 1.5s") {
		t.Fatalf("pin record %+v, want FAILED for no progress", p)
	}
	t.Logf("cancelled after %s without progress", time.Since(start))

	// The caller's deadline ends a pin that the inactivity timeout would not end yet; the
	// job stays queued, without a counted attempt, for the next invocation.
	c2 := e.absentCID(9)
	e.approve(2, c2, sha)
	cfg.InactivityTimeout = time.Minute
	cfg.DrainMargin = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rep, err := pinning.New(e.ipfs, e.st, cfg).Drain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Aborted != 1 || rep.Queued != 1 {
		t.Fatalf("report %+v, want 1 aborted and 1 left in the queue", rep)
	}
	if p := e.pin(2); p.Status != modeldao.PinQueued || p.Attempts != 0 {
		t.Fatalf("pin record %+v, want QUEUED without attempts", p)
	}
}

func TestDigestMismatchFailsAndUnpins(t *testing.T) {
	e := newEnv(t)
	c, sha := e.add(content(3, 300_000))
	wrong := sha256Of([]byte("not the weights"))
	e.approve(1, c, wrong)
	rep := e.drain(e.config("a"))
	if rep.Failed != 1 || rep.Retrying != 0 {
		t.Fatalf("report %+v, want 1 failed without retries", rep)
	}
	p := e.pin(1)
	want := fmt.Sprintf("digest mismatch: got %s, want %s", sha.Hex(), wrong.Hex())
	if p.Status != modeldao.PinFailed || p.LastError != want || p.Attempts != 1 {
		t.Fatalf("pin record %+v, want FAILED with %q", p, want)
	}
	if e.isPinned(c) {
		t.Fatal("content with the wrong digest is still pinned")
	}
	if e.ops.count("pin/add "+c) != 1 || e.ops.count("pin/rm /ipfs/"+c) != 1 {
		t.Fatalf("ops %v, want one pin/add and one pin/rm", e.ops.ops)
	}
	_, err := pinning.Verify(context.Background(), e.plain, c, wrong)
	var mm *pinning.DigestMismatchError
	if !errors.As(err, &mm) || mm.Got != sha || modeldao.ErrorCode(err) != modeldao.EINVALID {
		t.Fatalf("Verify with the wrong digest: %v", err)
	}
}

func TestKuboStoppedMidQueue(t *testing.T) {
	e := newEnv(t)
	type item struct {
		c   string
		sha common.Hash
	}
	var items []item
	c5, sha5 := e.add(content(49, 150_000))
	for i := range 4 {
		c, sha := e.add(content(uint64(40+i), 150_000))
		items = append(items, item{c, sha})
	}
	e.approve(1, items[0].c, items[0].sha)
	stop := runConsumer(t, pinning.New(e.ipfs, e.st, e.config("a")))
	e.waitStatus(1, modeldao.PinPinned, 30*time.Second)

	if err := e.kubo.Stop(); err != nil {
		t.Fatal(err)
	}
	errs := e.ops.errors()
	for i := 1; i < 4; i++ {
		e.approve(uint64(i+1), items[i].c, items[i].sha)
	}
	waitFor(t, 20*time.Second, "the consumer to find kubo down a few times", func() bool { return e.ops.errors() >= errs+4 })
	for id := uint64(2); id <= 4; id++ {
		p := e.pin(id)
		if (p.Status != modeldao.PinQueued && p.Status != modeldao.PinPinning) || p.Attempts != 0 || p.LastError != "" {
			t.Fatalf("kubo down: version %d has pin record %+v, want waiting (QUEUED/PINNING, no attempt)", id, p)
		}
	}

	if err := e.kubo.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	for id := uint64(2); id <= 4; id++ {
		if p := e.waitStatus(id, modeldao.PinPinned, 30*time.Second); p.Attempts != 1 {
			t.Fatalf("version %d: %+v, want pinned at the first counted attempt", id, p)
		}
	}
	for i, it := range items {
		if name := e.pins()[it.c]; name != modeldao.PinName(uint64(i+1)) {
			t.Fatalf("%s pinned as %q, want %q", it.c, name, modeldao.PinName(uint64(i+1)))
		}
	}

	// A Lambda invocation (Drain) that ends while kubo is down reports EUNAVAILABLE and
	// leaves the job, without a counted attempt, for the next invocation.
	stop()
	if err := e.kubo.Stop(); err != nil {
		t.Fatal(err)
	}
	e.approve(5, c5, sha5)
	cfg := e.config("lambda")
	cfg.DrainMargin = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	rep, err := pinning.New(e.ipfs, e.st, cfg).Drain(ctx)
	if modeldao.ErrorCode(err) != modeldao.EUNAVAILABLE || !strings.Contains(err.Error(), "is the daemon running?") || rep.Aborted != 1 || rep.Queued != 1 {
		t.Fatalf("Drain with kubo down: %+v, %v; want EUNAVAILABLE and the job left queued", rep, err)
	}
	if p := e.pin(5); p.Attempts != 0 || p.Status == modeldao.PinFailed {
		t.Fatalf("kubo down: pin record %+v, want no attempt counted", p)
	}
	if err := e.kubo.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rep, err := pinning.New(e.ipfs, e.st, cfg).Drain(context.Background()); err != nil || rep.Pinned != 1 {
		t.Fatalf("next invocation: %+v, %v; want the job pinned", rep, err)
	}
}

func TestKilledConsumerJobIsTakenOver(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, sha := e.add(content(50, 250_000))

	// Consumer a takes the job and hangs in pin/add until it is killed.
	aOps := &opCounter{ops: map[string]int{}, hold: true, holdCh: make(chan string, 1)}
	aClient, err := pinning.NewClient(e.kubo.APIAddr(), &http.Client{Transport: aOps})
	if err != nil {
		t.Fatal(err)
	}
	cfgA := e.config("a")
	cfgA.MinIdle = 400 * time.Millisecond
	stopA := runConsumer(t, pinning.New(aClient, e.st, cfgA))
	e.approve(1, c, sha)
	select {
	case got := <-aOps.holdCh:
		if got != c {
			t.Fatalf("consumer a pins %s, want %s", got, c)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("consumer a never took the job")
	}
	stopA()
	pend, err := e.rdb.XPending(ctx, e.keys.PinJobs(), store.PinGroup).Result()
	if err != nil || pend.Count != 1 || pend.Consumers["a"] != 1 {
		t.Fatalf("after killing a: pending %+v, %v; want the job pending on a", pend, err)
	}
	if e.isPinned(c) {
		t.Fatal("pinned although a never reached kubo")
	}

	cfgB := e.config("b")
	cfgB.MinIdle = 400 * time.Millisecond
	runConsumer(t, pinning.New(e.ipfs, e.st, cfgB))
	p := e.waitStatus(1, modeldao.PinPinned, 30*time.Second)
	if p.Attempts != 1 || e.ops.count("pin/add "+c) != 1 || e.pins()[c] != "modeldao:1" {
		t.Fatalf("after take-over: record %+v, pin/add by b %d, pins %v", p, e.ops.count("pin/add "+c), e.pins())
	}
	waitFor(t, 5*time.Second, "no pending job", func() bool {
		pend, err := e.rdb.XPending(ctx, e.keys.PinJobs(), store.PinGroup).Result()
		return err == nil && pend.Count == 0
	})
}

func TestThreeConsumersPinEachJobOnce(t *testing.T) {
	e := newEnv(t)
	const n = 6
	cids := make([]string, n)
	shas := make([]common.Hash, n)
	for i := range n {
		cids[i], shas[i] = e.add(content(uint64(60+i), 120_000))
	}
	for _, name := range []string{"a", "b", "c"} {
		runConsumer(t, pinning.New(e.ipfs, e.st, e.config(name)))
	}
	for i := range n {
		e.approve(uint64(i+1), cids[i], shas[i])
	}
	for i := range n {
		e.waitStatus(uint64(i+1), modeldao.PinPinned, 60*time.Second)
	}
	for i, c := range cids {
		if k := e.ops.count("pin/add " + c); k != 1 {
			t.Fatalf("version %d: pin/add %s called %d times, want exactly 1", i+1, c, k)
		}
	}
	waitFor(t, 5*time.Second, "an empty queue", func() bool { q, w := e.backlog(); return q == 0 && w == 0 })
}

func TestStaleAndMalformedJobsAreDropped(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, sha := e.add(content(70, 100_000))

	// An approval that a reorg rolled back: the indexer restores the version to SUBMITTED
	// and the pin record to what it was (none); the job stays in the stream.
	e.approve(1, c, sha)
	_, err := e.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		e.putVersion(pipe, newVersion(1, c, sha, modeldao.VersionSubmitted))
		pipe.HDel(ctx, e.keys.Pin(), "1")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A job of a version that does not exist, and a malformed job.
	e.redeliver(store.PinOpPin, 99, c, sha.Hex())
	if err := e.rdb.XAdd(ctx, &redis.XAddArgs{Stream: e.keys.PinJobs(), Values: []string{"op", "frobnicate", "version", "x"}}).Err(); err != nil {
		t.Fatal(err)
	}

	rep := e.drain(e.config("a"))
	if rep.Stale != 2 || rep.Invalid != 1 || rep.Pinned != 0 || rep.Queued != 0 {
		t.Fatalf("report %+v, want 2 stale and 1 invalid, nothing pinned or left", rep)
	}
	if e.ops.count("pin/add "+c) != 0 || e.isPinned(c) {
		t.Fatalf("a stale job pinned %s", c)
	}
	if p := e.pin(1); p != nil {
		t.Fatalf("a stale job wrote the pin record %+v", p)
	}
}

func TestConnectToAbsentDaemon(t *testing.T) {
	port, err := procutil.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "/ip4/127.0.0.1/tcp/" + strconv.Itoa(port)
	_, err = pinning.Connect(context.Background(), addr, nil)
	if modeldao.ErrorCode(err) != modeldao.EUNAVAILABLE || !strings.Contains(err.Error(), "IPFS API at "+addr+" did not answer: is the daemon running?") {
		t.Fatalf("Connect to nothing: %v", err)
	}
	if _, err := pinning.NewClient("localhost:5001", nil); modeldao.ErrorCode(err) != modeldao.EINVALID {
		t.Fatalf("NewClient with a bad address: %v", err)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		pinning.EnvInactivityTimeout: "90s",
		pinning.EnvMaxAttempts:       "7",
		pinning.EnvUnpinOnRevoke:     "false",
	}
	cfg, err := pinning.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || cfg.InactivityTimeout != 90*time.Second || cfg.MaxAttempts != 7 || cfg.UnpinOnRevoke || cfg.MinIdle != pinning.DefaultMinIdle {
		t.Fatalf("ConfigFromEnv = %+v, %v", cfg, err)
	}
	env[pinning.EnvMaxAttempts] = "zero"
	if _, err := pinning.ConfigFromEnv(func(k string) string { return env[k] }); modeldao.ErrorCode(err) != modeldao.EINVALID || !strings.Contains(err.Error(), pinning.EnvMaxAttempts) {
		t.Fatalf("bad %s: %v", pinning.EnvMaxAttempts, err)
	}
}

func TestAddWeights(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 6<<20 + 12345
	var reports []int64
	c, sha, size, err := pinning.AddWeights(ctx, e.plain, genReader(5, n), func(b int64) { reports = append(reports, b) })
	if err != nil {
		t.Fatal(err)
	}
	if size != n {
		t.Fatalf("size %d, want %d", size, n)
	}
	if want := sha256Sum(genReader(5, n)); sha != want {
		t.Fatalf("sha256 %s, want %s (crypto/sha256 of the bytes)", sha.Hex(), want.Hex())
	}
	if len(reports) < 2 || reports[len(reports)-1] != n {
		t.Fatalf("progress reports %v, want several ending with %d", reports, n)
	}
	for i := 1; i < len(reports); i++ {
		if reports[i] < reports[i-1] {
			t.Fatalf("progress went backwards: %v", reports)
		}
	}
	if !strings.HasPrefix(c, "bafy") || !e.isPinned(c) {
		t.Fatalf("CID %s: want a pinned CIDv1 (bafy…)", c)
	}

	// What kubo itself computes for the same bytes, through the ipfs command line.
	file := filepath.Join(t.TempDir(), "weights.bin")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFrom(genReader(5, n)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	bin, err := kubo.Binary.Find()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--api", e.kubo.APIAddr(), "add", "-Q", "--only-hash", "--cid-version=1", file)
	cmd.Env = append(os.Environ(), "IPFS_PATH="+e.kubo.RepoPath())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ipfs add --only-hash: %v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != c {
		t.Fatalf("AddWeights CID %s, ipfs add says %s", c, got)
	}
	if got, err := pinning.Verify(ctx, e.plain, c, sha); err != nil || got != n {
		t.Fatalf("Verify = %d, %v", got, err)
	}
}
