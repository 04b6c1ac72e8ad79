package cli

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/internal/devstack"
	"github.com/modeldao/modeldao/store"
)

// devFixture is what the operators' subtests of TestCLI share: the dev stack's
// environment and the helpers that wait for its chain and index.
type devFixture struct {
	ctx     context.Context
	e       env
	info    devstack.Info
	addr    func(i int) common.Address
	indexed func(t *testing.T, n uint64)
	head    func(t *testing.T) uint64
}

// The index is complete: verify agrees, and a rebuild in another Redis has the same digest.
func testVerifyDigestReindex(t *testing.T, f devFixture) {
	ctx, e, info, indexed, head := f.ctx, f.e, f.info, f.indexed, f.head
	indexed(t, head(t))
	r := ok(t, e, nil, "verify")
	if !strings.Contains(r.stdout, "All agree") {
		t.Errorf("verify:\n%s", r.stdout)
	}
	var d1, d2 digestResult
	ok(t, e, &d1, "digest", "--json")
	if d1.Empty || d1.Block != head(t) {
		t.Fatalf("digest %+v at head %d", d1, head(t))
	}
	fails(t, e, ExitFailure, "an indexer is writing this index", "reindex")
	other := redisserver.StartT(t)
	var re map[string]any
	ok(t, e, &re, "reindex", "--redis", other.URL(), "--json")
	if re["digest"] != d1.Digest {
		t.Errorf("reindexed digest %v, dev stack's %s", re["digest"], d1.Digest)
	}
	ok(t, e, &d2, "digest", "--redis", other.URL(), "--json", "--deployment", info.DeploymentFile)
	if d2.Digest != d1.Digest || d2.Block != d1.Block {
		t.Errorf("digest of the rebuilt index %+v, of the dev stack's %+v", d2, d1)
	}
	// reindex honours the indexer's configuration: it stops CONFIRMATIONS below the
	// head, and undo is kept for the indexed blocks among the last REORG_DEPTH.
	third := redisserver.StartT(t)
	var re3 struct{ ToBlock uint64 }
	h := head(t)
	ok(t, e.with("CONFIRMATIONS", "2").with("REORG_DEPTH", "5"), &re3, "reindex", "--redis", third.URL(), "--json")
	if re3.ToBlock != h-2 {
		t.Errorf("reindex with CONFIRMATIONS=2 at head %d indexed up to %d, want %d", h, re3.ToBlock, h-2)
	}
	keys := store.NewKeys(info.Deployment.ChainID, info.Deployment.Governor)
	rdb3 := redis.NewClient(&redis.Options{Addr: third.Addr()})
	defer rdb3.Close()
	if n := rdb3.ZCard(ctx, keys.UndoBlocks()).Val(); n != 3 {
		t.Errorf("reindex with REORG_DEPTH=5 and CONFIRMATIONS=2 keeps undo for %d blocks, want 3", n)
	}
}

// The three services, as the CLI runs them outside the dev stack.
func testServices(t *testing.T, f devFixture, pub publishResult) {
	ctx, e, info, head := f.ctx, f.e, f.info, f.head
	// serve: the API over the dev stack's Redis, on a free port.
	sctx, stop := context.WithCancel(ctx)
	var serr syncBuffer
	served := make(chan int, 1)
	go func() {
		served <- Main(sctx, []string{"serve", "--listen", "127.0.0.1:0"}, Env{Stdout: io.Discard, Stderr: &serr, Getenv: e.get})
	}()
	var url string
	waitFor(t, "serve to listen", func() (bool, error) {
		line := serr.String()
		_, rest, found := strings.Cut(line, "serving the GraphQL API at ")
		url, _, _ = strings.Cut(rest, " ")
		return found && strings.HasSuffix(url, "/graphql"), nil
	})
	d, err := client.New(url, nil).DAO(ctx)
	// test/tiny (pub) and test/release (the releases subtest) are the last two versions.
	if err != nil || d.Governor != info.Deployment.Governor || d.ModelVersionCount != int(pub.VersionID)+1 {
		t.Errorf("DAO from modeldao serve: %+v, %v", d, err)
	}
	stop()
	if code := <-served; code != 0 {
		t.Errorf("modeldao serve exited with %d:\n%s", code, serr.String())
	}
	// index --once into an empty Redis, then pin --once from the dev stack's queue.
	other := redisserver.StartT(t)
	var p struct {
		ToBlock, Events int
		CaughtUp        bool
	}
	ok(t, e.with("REDIS_URL", other.URL()), &p, "index", "--once", "--json")
	if uint64(p.ToBlock) != head(t) || p.Events < 100 || !p.CaughtUp {
		t.Errorf("index --once: %+v", p)
	}
	r := ok(t, e, nil, "pin", "--once")
	if !strings.Contains(r.stdout, "jobs:") {
		t.Errorf("pin --once: %s", r)
	}
	// Several nodes: a replication factor above their number, and a list where no node
	// answers, are refused before any work, saying what to fix.
	two := e.with("IPFS_API_URLS", info.IPFSAPIURL+",http://127.0.0.1:1")
	fails(t, two.with("PIN_REPLICATION", "3"), ExitUsage, "PIN_REPLICATION=3 but only 2", "pin", "--once")
	fails(t, e.with("IPFS_API_URLS", "http://u:s3cret@127.0.0.1:1,http://127.0.0.1:2"), ExitUnavailable, "no IPFS node of IPFS_API_URLS answers (http://127.0.0.1:1, http://127.0.0.1:2)", "pin", "--once")
	// Without their configuration they say what is missing.
	fails(t, env{}, ExitUsage, "REDIS_URL", "serve")
	fails(t, env{"REDIS_URL": other.URL()}, ExitUsage, "GOVERNOR_ADDRESS", "index")
}

// The gasless relayer: the dev stack serves one beside the API, and modeldao relay runs
// one with the key in RELAYER_PRIVATE_KEY, which it never prints.
func testRelay(t *testing.T, f devFixture) {
	ctx, e, info, addr := f.ctx, f.e, f.info, f.addr
	devInfo, err := client.NewRelayer(strings.TrimSuffix(info.RelayURL, "/relay"), nil).Info(ctx, nil)
	if err != nil || devInfo.Relayer.Hex() != info.RelayerAddress || devInfo.Governor.VerifyingContract != info.Deployment.Governor {
		t.Errorf("the dev stack's relayer: %+v, %v (stack says %s)", devInfo, err, info.RelayerAddress)
	}
	key := info.Accounts[8].PrivateKey
	sctx, stop := context.WithCancel(ctx)
	var serr syncBuffer
	served := make(chan int, 1)
	go func() {
		served <- Main(sctx, []string{"relay", "--listen", "127.0.0.1:0"}, Env{Stdout: io.Discard, Stderr: &serr, Getenv: e.with("RELAYER_PRIVATE_KEY", key).get})
	}()
	var base string
	waitFor(t, "relay to listen", func() (bool, error) {
		_, rest, found := strings.Cut(serr.String(), "relaying signed votes and delegations at ")
		base, _, _ = strings.Cut(rest, " ")
		return found && strings.HasSuffix(base, "/relay"), nil
	})
	ri, err := client.NewRelayer(strings.TrimSuffix(base, "/relay"), nil).Info(ctx, nil)
	if err != nil || ri.Relayer != addr(8) || ri.Token.VerifyingContract != info.Deployment.Token {
		t.Errorf("modeldao relay: %+v, %v", ri, err)
	}
	stop()
	if code := <-served; code != 0 {
		t.Errorf("modeldao relay exited with %d:\n%s", code, serr.String())
	}
	if strings.Contains(strings.ToLower(serr.String()), strings.ToLower(strings.TrimPrefix(key, "0x"))) {
		t.Errorf("modeldao relay printed its key:\n%s", serr.String())
	}
	fails(t, e, ExitUsage, "RELAYER_PRIVATE_KEY", "relay")
}

// A record corrupted in Redis: verify exits 4 and names it.
func testVerifyMismatch(t *testing.T, f devFixture) {
	ctx, e, info, indexed, head := f.ctx, f.e, f.info, f.indexed, f.head
	opts, err := redis.ParseURL(info.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	keys := store.NewKeys(info.Deployment.ChainID, info.Deployment.Governor)
	raw, err := rdb.HGet(ctx, keys.Key("version"), "1").Result()
	if err != nil {
		t.Fatal(err)
	}
	var v modeldao.ModelVersion
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	v.Status = modeldao.VersionRevoked
	b, _ := json.Marshal(v)
	if err := rdb.HSet(ctx, keys.Key("version"), "1", b).Err(); err != nil {
		t.Fatal(err)
	}
	// The API keeps the records of the checkpoint it last read in memory (nothing but a
	// commit writes them): the corruption shows from the next checkpoint on.
	ok(t, e, nil, "mine", "--blocks", "1")
	indexed(t, head(t))
	r := run(t, e, "verify")
	if r.code != ExitMismatch || !strings.Contains(r.stdout, "model version 1 status: chain APPROVED, API REVOKED") {
		t.Errorf("verify of a corrupted index: %s", r)
	}
	var res verifyResult
	r = run(t, e, "verify", "--json")
	if r.code != ExitMismatch || json.Unmarshal([]byte(r.stdout), &res) != nil || res.OK || len(res.Differences) != 1 {
		t.Errorf("verify --json: %s", r)
	}
}
