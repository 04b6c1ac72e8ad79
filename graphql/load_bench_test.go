package graphql_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/internal/scenario"
	"github.com/modeldao/modeldao/store"

	"github.com/redis/go-redis/v9"
)

// BenchmarkLoad measures the API served over HTTP with an external load generator, wrk, in
// its own process (64 connections, 2 threads, MODELDAO_WRK_DURATION each, default 10s),
// on the four typical frontend pages: 50 proposals with tallies, 50 model versions with
// audits and metrics, a proposal with 100 votes, 50 delegates. Each page is measured
// computed (Cache-Control: no-cache) and cached; then the four in turn while a block is
// committed and indexed every second (live), where every commit invalidates the cache.
// It reports wrk's requests/s and its p50 and p99 latencies, and the server process's CPU
// time per request. The server is the test binary in a process of its own, as `modeldao
// serve` is (load_server_test.go); MODELDAO_LOAD_INPROCESS=1 serves from this process and
// adds the handler's own latencies (srv_p50_ms, srv_p99_ms).
//
//	go test ./graphql/ -run '^$' -bench Load -benchtime 1x
func BenchmarkLoad(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Fatal("wrk is not installed: apt-get install -y wrk (make deps does)")
	}
	// The server runs in a process of its own (load_server_test.go), or in this one with
	// MODELDAO_LOAD_INPROCESS=1: tune the collector as modeldao serve and the api function do
	// (an explicit GOGC still wins).
	graphql.TuneGCForServing()
	le := newLoadEnv(b)
	defer le.close()
	dur := 10 * time.Second
	if d, err := time.ParseDuration(os.Getenv("MODELDAO_WRK_DURATION")); err == nil && d > 0 {
		dur = d
	}
	queries := le.queries()
	for _, q := range queries {
		le.check(b, q.body)
	}
	for _, mode := range []string{"computed", "cached"} {
		for _, q := range queries {
			b.Run(q.name+"/"+mode, func(b *testing.B) {
				le.runWrk(b, wrk, dur, mode == "computed", q.body)
			})
		}
	}
	b.Run("live/mix", func(b *testing.B) {
		stop := le.live(b)
		bodies := make([]string, len(queries))
		for i, q := range queries {
			bodies[i] = q.body
		}
		le.runWrk(b, wrk, dur, false, bodies...)
		blocks := stop()
		b.ReportMetric(float64(blocks), "blocks")
	})
}

type loadQuery struct{ name, body string }

type loadEnv struct {
	redis *redisserver.Server
	rdb   *redis.Client
	srv   *http.Server   // the API in this process (MODELDAO_LOAD_INPROCESS=1), or
	proc  *serverProcess // the API in a process of its own
	url   string
	chain *devchain.Chain
	dao   *devchain.DAO
	ix    *indexer.Indexer
	big   contracts.Proposal // the proposal with 100 votes
	// live writes: holders that have not voted on the live proposal yet
	liveProp contracts.Proposal
	next     int
}

const (
	loadHolders   = 120 // accounts 0..119 hold 1000 tokens each and delegate to themselves
	loadPublisher = 120
	loadAuditor   = 121
	loadAccounts  = 122
	loadVersions  = 60
	loadProposals = 60
)

// newLoadEnv builds a chain with 120 delegates, 60 model versions with an audit each, 60
// proposals with votes, and one proposal with 100 votes; indexes it into a fresh
// redis-server; and serves the API on a loopback port.
func newLoadEnv(b *testing.B) *loadEnv {
	ctx := context.Background()
	c, err := devchain.New(devchain.Options{Accounts: loadAccounts, BlockGasLimit: 1_000_000_000})
	if err != nil {
		b.Fatal(err)
	}
	le := &loadEnv{chain: c}
	cfg := contracts.DefaultConfig()
	cfg.VotingPeriod = 2000
	if le.dao, err = c.Deploy(ctx, cfg, loadHolders); err != nil {
		b.Fatal(err)
	}
	d := le.dao
	// Every tx of a step goes into one block: sent to the pool, mined with one Commit.
	block := func(send func(i int) (*types.Transaction, error), n int) {
		b.Helper()
		txs := make([]*types.Transaction, 0, n)
		for i := range n {
			tx, err := send(i)
			if err != nil {
				b.Fatal(err)
			}
			txs = append(txs, tx)
		}
		c.Commit()
		for _, tx := range txs {
			r, err := c.Client.TransactionReceipt(ctx, tx.Hash())
			if err != nil || r.Status != types.ReceiptStatusSuccessful {
				b.Fatalf("transaction %s failed: %v", tx.Hash(), err)
			}
		}
	}
	policy := modeldao.Policy{Name: "fairness-baseline", Version: "1.0", DocumentCID: modeldao.Text(scenario.FakeCID("policy")), AuditRequired: true,
		Bounds: []modeldao.MetricBound{{Kind: modeldao.DemographicParityDifference, Limit: 100000}, {Kind: modeldao.DisparateImpactRatio, IsMinimum: true, Limit: 800000}}}
	setup, err := d.RegistryProposal("# Set up auditing", contracts.AddAuditor(c.Accounts[loadAuditor].Address, "Fair Audits Ltd"), contracts.AdoptPolicy(policy))
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Propose(ctx, 0, setup); err != nil {
		b.Fatal(err)
	}
	block(func(i int) (*types.Transaction, error) {
		return d.Governor.CastVote(c.Opts(i), setup.ID(), uint8(modeldao.SupportFor))
	}, 10)
	d.EndVoting()
	if _, err := d.QueueAndExecute(ctx, setup); err != nil {
		b.Fatal(err)
	}
	for v := 1; v <= loadVersions; v++ {
		label := fmt.Sprintf("v%d", v)
		if _, err := d.Mined(ctx)(d.Registry.SubmitVersion(c.Opts(loadPublisher), fmt.Sprintf("org/model-%d", v%7), label,
			scenario.FakeCID("w"+label), sha256.Sum256([]byte(label)), scenario.FakeCID("card"+label), "Apache-2.0", []string{"llm", "text"}, bindings.ModelRegistryLineage{})); err != nil {
			b.Fatal(err)
		}
		passing := v%3 != 0
		dpd := int64(50000)
		if !passing {
			dpd = 300000
		}
		metrics := []bindings.ModelRegistryMetric{
			{Kind: uint8(modeldao.DemographicParityDifference), SensitiveFeature: "sex", Value: dpd, Threshold: 100000, Passed: passing},
			{Kind: uint8(modeldao.DemographicParityDifference), SensitiveFeature: "race", Value: 40000, Threshold: 100000, Passed: true},
			{Kind: uint8(modeldao.DisparateImpactRatio), SensitiveFeature: "sex", Value: 900000, Threshold: 800000, Passed: true},
		}
		if _, err := d.Mined(ctx)(d.Registry.SubmitAudit(c.Opts(loadAuditor), big.NewInt(int64(v)), big.NewInt(1),
			scenario.FakeCID("report"+label), sha256.Sum256([]byte("report"+label)), metrics, passing)); err != nil {
			b.Fatal(err)
		}
	}
	// Proposals to approve the versions, each with a few votes; then the big one.
	for p := 1; p <= loadProposals; p++ {
		prop, err := d.RegistryProposal(fmt.Sprintf("# Approve version %d\nIts audit is convincing.", p),
			contracts.ApproveVersion(uint64(p), 1, uint64(p)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.Mined(ctx)(d.DAO.Propose(c.Opts(p%loadHolders), prop)); err != nil {
			b.Fatal(err)
		}
		c.Mine(int(cfg.VotingDelay) + 1)
		block(func(i int) (*types.Transaction, error) {
			return d.Governor.CastVoteWithReason(c.Opts((p+i)%loadHolders), prop.ID(), uint8(i%3), "reason "+strconv.Itoa(i))
		}, 1+p%5)
	}
	le.big, err = d.RegistryProposal("# The big vote\nEveryone votes.", contracts.RejectVersion(3, "bias too high"))
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Propose(ctx, 0, le.big); err != nil {
		b.Fatal(err)
	}
	block(func(i int) (*types.Transaction, error) {
		return d.Governor.CastVoteWithReason(c.Opts(i), le.big.ID(), uint8(i%3), fmt.Sprintf("vote %d of the big one", i))
	}, 100)
	// The proposal the live benchmark votes on, one holder a block.
	if le.liveProp, err = d.RegistryProposal("# Live\nVoted during the benchmark.", contracts.RejectVersion(6, "bias too high")); err != nil {
		b.Fatal(err)
	}
	if err := d.Propose(ctx, 0, le.liveProp); err != nil {
		b.Fatal(err)
	}

	if le.redis, err = redisserver.Start(ctx, redisserver.Options{}); err != nil {
		b.Fatal(err)
	}
	le.rdb = redis.NewClient(&redis.Options{Addr: le.redis.Addr(), PoolSize: 64})
	st := store.New(le.rdb, store.NewKeys(d.Deployment.ChainID, d.Deployment.Governor), quiet)
	if le.ix, err = indexer.New(indexer.Config{Chain: c.Client, Store: st, Deployment: d.Deployment, Log: quiet}); err != nil {
		b.Fatal(err)
	}
	if _, err := le.ix.CatchUp(ctx); err != nil {
		b.Fatal(err)
	}
	// A profile is of this process, so MODELDAO_LOAD_PROFILE serves the API here too.
	if os.Getenv("MODELDAO_LOAD_INPROCESS") != "1" && os.Getenv("MODELDAO_LOAD_PROFILE") == "" {
		le.proc, le.url = startServerProcess(b, le.redis.Addr(), d.Deployment.ChainID, d.Deployment.Governor)
		return le
	}
	ln, err := netListen()
	if err != nil {
		b.Fatal(err)
	}
	// MODELDAO_LOAD_OPERATIONS sets MaxConcurrentOperations (to compare admission settings).
	ops, _ := strconv.Atoi(os.Getenv("MODELDAO_LOAD_OPERATIONS"))
	api := graphql.NewHandler(st, graphql.Options{Logger: quiet, MaxConcurrentOperations: ops})
	le.srv = &http.Server{Handler: serverTimes.around(api), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = le.srv.Serve(ln) }()
	le.url = "http://" + ln.Addr().String() + "/graphql"
	return le
}

// serverCPU is the CPU time of the process that serves the API so far.
func (le *loadEnv) serverCPU() time.Duration {
	if le.proc != nil {
		return le.proc.cpu()
	}
	return processCPU()
}

func (le *loadEnv) close() {
	if le.proc != nil {
		le.proc.close()
	} else {
		_ = le.srv.Close()
	}
	le.rdb.Close()
	_ = le.redis.Close()
	le.chain.Close()
}

func (le *loadEnv) queries() []loadQuery {
	q := func(name, query string) loadQuery {
		body, _ := json.Marshal(map[string]string{"query": query})
		return loadQuery{name, string(body)}
	}
	return []loadQuery{
		q("proposals50", benchQueries[0]),
		q("versions50", benchQueries[1]),
		q("proposal100votes", `{ proposal(id: "`+le.big.ID().String()+`") { id title state tally { for against abstain forPercent quorumReached }
			votes(first: 100) { totalCount edges { cursor node { support weight reason voter { address votingPower } } } } } }`),
		q("delegates50", `{ delegates(first: 50) { totalCount edges { cursor node { address votingPower balance delegatorCount voteCount } } } }`),
	}
}

// check fails unless the query answers without errors and with data.
func (le *loadEnv) check(b *testing.B, body string) {
	b.Helper()
	resp, err := http.Post(le.url, "application/json", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || bytes.Contains(out, []byte(`"errors"`)) || len(out) < 1000 {
		b.Fatalf("query %s: HTTP %d %.500s", body, resp.StatusCode, out)
	}
}

// live commits a block with a vote every second and indexes it, until the returned stop
// is called; stop returns the number of blocks indexed.
func (le *loadEnv) live(b *testing.B) (stop func() int) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	blocks := 0
	var fail error
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			voter := le.next % loadHolders
			le.next++
			if _, err := le.dao.Mined(ctx)(le.dao.Governor.CastVote(le.chain.Opts(voter), le.liveProp.ID(), uint8(modeldao.SupportFor))); err != nil {
				le.chain.Commit() // a voter that already voted: an empty block still moves the head
			}
			if _, err := le.ix.CatchUp(ctx); err != nil && ctx.Err() == nil {
				fail = err
				return
			}
			blocks++
		}
	}()
	return func() int {
		cancel()
		wg.Wait()
		if fail != nil {
			b.Fatal(fail)
		}
		return blocks
	}
}

var (
	wrkReqs    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkLatency = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	wrkCount   = regexp.MustCompile(`(\d+) requests in`)
	wrkErrors  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)|Socket errors: .*`)
)

// runWrk runs wrk against url with a Lua script that POSTs the bodies in turn, and
// reports its figures.
func (le *loadEnv) runWrk(b *testing.B, wrk string, dur time.Duration, noCache bool, bodies ...string) {
	b.Helper()
	var lua strings.Builder
	lua.WriteString("wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n")
	if noCache {
		lua.WriteString("wrk.headers[\"Cache-Control\"] = \"no-cache\"\n")
	}
	lua.WriteString("local bodies = {\n")
	for _, body := range bodies {
		fmt.Fprintf(&lua, "  %q,\n", body)
	}
	lua.WriteString("}\nlocal i = 0\nrequest = function()\n  i = i % #bodies + 1\n  return wrk.format(nil, nil, nil, bodies[i])\nend\n")
	script := filepath.Join(b.TempDir(), "load.lua")
	if err := os.WriteFile(script, []byte(lua.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(wrk, "-t2", "-c64", "-d"+dur.String(), "--timeout", "10s", "--latency", "-s", script, le.url)
	// MODELDAO_LOAD_PROFILE=DIR writes a CPU profile of the server during each run (the
	// load generator is another process, so the profile is the API's alone).
	if dir := os.Getenv("MODELDAO_LOAD_PROFILE"); dir != "" {
		f, err := os.Create(filepath.Join(dir, strings.ReplaceAll(b.Name(), "/", "_")+".cpu"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	serverTimes.reset()
	cpu0 := le.serverCPU()
	out, err := cmd.CombinedOutput()
	cpu := le.serverCPU() - cpu0
	srv50, srv99 := serverTimes.percentiles()
	if dir := os.Getenv("MODELDAO_LOAD_PROFILE"); dir != "" && le.proc == nil {
		writeHeapProfile(b, dir)
	}
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	if m := wrkErrors.Find(out); m != nil {
		b.Fatalf("wrk saw failed requests (%s):\n%s", m, out)
	}
	m := wrkReqs.FindSubmatch(out)
	if m == nil {
		b.Fatalf("no Requests/sec in wrk's output:\n%s", out)
	}
	rps, _ := strconv.ParseFloat(string(m[1]), 64)
	b.ReportMetric(rps, "req/s")
	// The server's CPU time per request (this process: the API, and the indexer when live)
	// tells the cost of a request apart from what the other processes of the machine take.
	if n := wrkCount.FindSubmatch(out); n != nil {
		if reqs, _ := strconv.ParseFloat(string(n[1]), 64); reqs > 0 {
			b.ReportMetric(float64(cpu.Microseconds())/1000/reqs, "cpu_ms/req")
		}
	}
	for _, l := range wrkLatency.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(l[2]), 64)
		switch string(l[3]) {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		b.ReportMetric(v, "p"+string(l[1])+"_ms")
	}
	if le.proc == nil {
		// The time the handler took (from reading the request to writing the answer) tells
		// the server's own latency apart from the time a request waits in wrk or the kernel.
		b.ReportMetric(srv50, "srv_p50_ms")
		b.ReportMetric(srv99, "srv_p99_ms")
	}
	b.ReportMetric(0, "ns/op") // wrk's figures are the result, not the benchmark loop's time
}

// handlerTimes records how long each request took in the handler.
type handlerTimes struct {
	mu    sync.Mutex
	times []time.Duration
}

var serverTimes handlerTimes

func (h *handlerTimes) around(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		d := time.Since(start)
		h.mu.Lock()
		h.times = append(h.times, d)
		h.mu.Unlock()
	})
}

func (h *handlerTimes) reset() {
	h.mu.Lock()
	h.times = h.times[:0]
	h.mu.Unlock()
}

// percentiles returns the median and the 99th percentile in milliseconds.
func (h *handlerTimes) percentiles() (p50, p99 float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.times) == 0 {
		return 0, 0
	}
	slices.Sort(h.times)
	at := func(q float64) float64 {
		return float64(h.times[int(q*float64(len(h.times)-1))].Microseconds()) / 1000
	}
	return at(0.50), at(0.99)
}

// processCPU is the user and system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
