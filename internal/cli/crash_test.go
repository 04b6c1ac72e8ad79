package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/infra/anvil"
	"github.com/modeldao/modeldao/infra/procutil"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/infra/rpcproxy"
	"github.com/modeldao/modeldao/internal/scenario"
	"github.com/modeldao/modeldao/store"
)

// TestIndexSurvivesKillsRestartsAndOutages backfills a chain whose every free string holds
// invalid UTF-8 with the real binary (`modeldao index` as a child process) while, at random
// moments, the indexer is killed with SIGKILL, redis-server is killed and restarted in place
// (its append-only file keeps what it acknowledged), and the JSON-RPC proxy in front of the
// node is killed and restarted. The index it ends with must have the digest of a clean index.
// It runs on go-ethereum's simulated chain and on anvil.
func TestIndexSurvivesKillsRestartsAndOutages(t *testing.T) {
	ctx := context.Background()
	root, err := procutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "modeldao")
	build := exec.Command("go", "build", "-o", bin, "./cmd/modeldao")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/modeldao: %v\n%s", err, out)
	}
	const seed = 51
	t.Run("simulated", func(t *testing.T) {
		s, err := scenario.New(ctx, seed, true)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		crashTest(t, bin, s, s.Chain.URL(), seed)
	})
	t.Run("anvil", func(t *testing.T) {
		n := anvil.StartT(t, anvil.Options{Quiet: true})
		s, err := scenario.NewWith(ctx, scenario.Options{Seed: seed, Node: n})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		crashTest(t, bin, s, n.URL(), seed)
	})
}

// crashTest backfills a hostile history of s, whose node serves JSON-RPC at nodeURL, with
// the binary bin under faults, and compares the result with a clean index.
func crashTest(t *testing.T, bin string, s *scenario.Scenario, nodeURL string, seed uint64) {
	ctx := context.Background()
	if err := s.Hostile(ctx, seed, 180); err != nil {
		t.Fatal(err)
	}
	eth, err := ethclient.DialContext(ctx, nodeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer eth.Close()
	d := s.DAO.Deployment
	keys := store.NewKeys(d.ChainID, d.Governor)

	// The reference: a clean index of the same chain, in this process.
	ref := redisserver.StartT(t)
	refRDB := redis.NewClient(&redis.Options{Addr: ref.Addr()})
	defer refRDB.Close()
	refStore := store.New(refRDB, keys, quietLog)
	ix, err := indexer.New(indexer.Config{Chain: eth, Store: refStore, Deployment: d, Log: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	want, err := refStore.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantCP, _, err := refStore.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The subject: redis-server persisting every write before it answers, and the RPC proxy
	// (infra/rpcproxy, a little latency) in front of a node that serves log queries of at
	// most 8 blocks (as providers limit ranges), so that the backfill is many commits long
	// and the faults land inside it.
	rs := redisserver.StartT(t, redisserver.Options{Args: []string{"--appendonly", "yes", "--appendfsync", "always"}})
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr(), MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: 2 * time.Second})
	defer rdb.Close()
	st := store.New(rdb, keys, quietLog)
	limited, err := rangeLimited(nodeURL, 8)
	if err != nil {
		t.Fatal(err)
	}
	node := httptest.NewServer(limited)
	defer node.Close()
	proxy, err := rpcproxy.Start(rpcproxy.Options{Target: node.URL, MinLatency: 5 * time.Millisecond, MaxLatency: 15 * time.Millisecond, Seed: seed, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	dep := filepath.Join(t.TempDir(), "deployment.json")
	if err := d.WriteFile(dep); err != nil {
		t.Fatal(err)
	}
	var proc *procutil.Process
	startIndexer := func() {
		t.Helper()
		p, err := procutil.Start(ctx, procutil.Config{Name: "modeldao index", Path: bin, Args: []string{"index"},
			Env: []string{"REDIS_URL=" + rs.URL(), "ETH_RPC_URL=" + proxy.URL(), "DEPLOYMENT_FILE=" + dep,
				"POLL_INTERVAL=50ms", "CONFIRMATIONS=0", "LOG_LEVEL=warn"},
			Logger: quietLog})
		if err != nil {
			t.Fatal(err)
		}
		proc = p
	}
	checkpoint := func() uint64 {
		for range 100 { // a restarted server may still be loading its append-only file
			if cp, _, err := st.Checkpoint(ctx); err == nil {
				return cp.Number
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("redis-server does not answer")
		return 0
	}

	rng := rand.New(rand.NewPCG(seed, seed))
	counts := map[string]int{}
	var round []int
	startIndexer()
	defer func() { _ = proc.Kill() }()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		time.Sleep(time.Duration(40+rng.IntN(200)) * time.Millisecond)
		before := checkpoint()
		if before == wantCP.Number {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the index did not reach block %d in time (at %d after %v)\nindexer output:\n%s", wantCP.Number, before, counts, proc.OutputTail(30))
		}
		// Faults come in shuffled rounds of all three, so that each is exercised about as
		// often as the others however fast the backfill goes.
		if len(round) == 0 {
			round = rng.Perm(3)
		}
		fault := round[0]
		round = round[1:]
		switch fault {
		case 0:
			if err := proc.Kill(); err != nil {
				t.Fatal(err)
			}
			// The dead process's lease would expire after its TTL (30 s); expire it now
			// rather than wait.
			if err := rdb.PExpire(ctx, keys.Lease(), time.Millisecond).Err(); err != nil {
				t.Fatalf("expire the lease of the killed indexer: %v", err)
			}
			startIndexer()
			counts["indexer killed"]++
		case 1:
			if err := rs.Kill(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
			if err := rs.Restart(context.Background()); err != nil {
				t.Fatal(err)
			}
			if after := checkpoint(); after < before {
				t.Fatalf("redis-server came back at block %d, below the block %d it had acknowledged: the test needs a persistent server", after, before)
			}
			counts["redis-server killed and restarted"]++
		case 2:
			if err := proxy.Kill(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
			if err := proxy.Restart(); err != nil {
				t.Fatal(err)
			}
			counts["RPC proxy killed and restarted"]++
		}
		if proc.Exited() {
			// At start-up the CLI checks the node's chain id once and exits with status 3
			// (a service unavailable) when the proxy is down: a supervisor starts it again.
			// Any other exit is a failure.
			var ee *exec.ExitError
			if !errors.As(proc.ExitErr(), &ee) || ee.ExitCode() != ExitUnavailable {
				t.Fatalf("modeldao index exited: %v\n%s", proc.ExitErr(), proc.OutputTail(30))
			}
			startIndexer()
			counts["indexer restarted after exit 3"]++
		}
	}
	if err := proc.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"indexer killed", "redis-server killed and restarted", "RPC proxy killed and restarted"} {
		if counts[k] < 5 {
			t.Errorf("%s only %d times before the backfill ended: the test did not exercise it", k, counts[k])
		}
	}
	cp, _, err := st.Checkpoint(ctx)
	if err != nil || cp != wantCP {
		t.Fatalf("checkpoint %s (%v), a clean index has %s", cp, err, wantCP)
	}
	got, err := st.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("digest after %v: %s, a clean index gives %s", counts, got, want)
	}
	t.Logf("faults during the backfill of %d blocks: %v", wantCP.Number-d.Block, counts)
}

// rangeLimited is the node as a provider serves it: log queries wider than maxRange blocks
// are refused with -32005, which the indexer answers by splitting the range.
func rangeLimited(target string, maxRange uint64) (http.Handler, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0) // calls cut by a killed proxy in front are expected
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if id, wide := tooWide(body, maxRange); wide {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32005,"message":"block range too large: at most %d blocks"}}`, id, maxRange)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		rp.ServeHTTP(w, r)
	}), nil
}

// tooWide reports whether body is one eth_getLogs call over more than maxRange blocks.
func tooWide(body []byte, maxRange uint64) (id string, wide bool) {
	var call struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params []struct {
			FromBlock, ToBlock string
		} `json:"params"`
	}
	if json.Unmarshal(body, &call) != nil || call.Method != "eth_getLogs" || len(call.Params) != 1 {
		return "", false
	}
	from, err1 := hexutil.DecodeUint64(call.Params[0].FromBlock)
	to, err2 := hexutil.DecodeUint64(call.Params[0].ToBlock)
	if err1 != nil || err2 != nil || to < from {
		return "", false
	}
	return string(call.ID), to-from+1 > maxRange
}
