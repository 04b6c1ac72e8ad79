package functions_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	iface "github.com/ipfs/kubo/core/coreiface"
	"github.com/ipfs/kubo/core/coreiface/options"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/infra/kubo"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/internal/scenario"
	"github.com/modeldao/modeldao/pinning"
)

// pinReport is the pinner's result (pinning.Report as JSON).
type pinReport = pinning.Report

// indexOnce invokes the indexer with a scheduled event and checks that it caught up with the
// chain and returned before its deadline, having followed the chain until close to it.
func indexOnce(t *testing.T, idx *fn, s *scenario.Scenario, during func()) indexer.Progress {
	t.Helper()
	done := make(chan struct{})
	if during != nil {
		go func() {
			defer close(done)
			time.Sleep(time.Second)
			during()
		}()
	} else {
		close(done)
	}
	start := time.Now()
	var p indexer.Progress
	idx.mustInvoke(scheduled("modeldao-indexer"), &p)
	took := time.Since(start)
	<-done
	head, err := s.Chain.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("indexer invocation: %s, progress %+v", took.Round(time.Millisecond), p)
	if !p.CaughtUp || p.ToBlock != head.Number.Uint64() || p.Head != head.Number.Uint64() || p.Lag != 0 {
		t.Fatalf("progress %+v, want caught up with the head %d", p, head.Number)
	}
	// It polls until the deadline minus the margin, and returns before the deadline.
	if took >= indexerTimeout || took < indexerTimeout-indexerMargin-time.Second {
		t.Fatalf("the invocation took %s; want between %s and %s", took, indexerTimeout-indexerMargin-time.Second, indexerTimeout)
	}
	return p
}

type indexerStatus struct {
	IndexerStatus struct {
		ChainHead    uint64 `json:"chainHead"`
		IndexedBlock uint64 `json:"indexedBlock"`
		Lag          uint64 `json:"lag"`
	} `json:"indexerStatus"`
}

const registryQuery = `query ($id: ID!) {
  models(first: 100) { totalCount edges { node { name versionCount } } }
  modelVersions(first: 1) { totalCount }
  proposals(first: 100) { totalCount edges { node { title state } } }
  modelVersion(id: $id) { status modelName weightsCid pin { status cid } }
}`

type registryData struct {
	Models struct {
		TotalCount int
		Edges      []struct{ Node struct{ Name string } }
	}
	ModelVersions struct{ TotalCount uint64 }
	Proposals     struct {
		TotalCount int
		Edges      []struct{ Node struct{ Title, State string } }
	}
	ModelVersion *struct {
		Status     string
		ModelName  string
		WeightsCid string
		Pin        *struct{ Status, Cid string }
	}
}

// checkRegistry queries models, versions and proposals through the API and compares them
// with the chain; it returns what it read.
func checkRegistry(t *testing.T, api *fn, s *scenario.Scenario, version uint64) registryData {
	t.Helper()
	var d registryData
	api.data(registryQuery, map[string]any{"id": fmt.Sprint(version)}, &d)
	if d.ModelVersions.TotalCount != s.Versions {
		t.Errorf("modelVersions.totalCount = %d, the chain has %d versions", d.ModelVersions.TotalCount, s.Versions)
	}
	if d.Models.TotalCount == 0 || d.Proposals.TotalCount == 0 || len(d.Proposals.Edges) != min(d.Proposals.TotalCount, 100) {
		t.Errorf("models %+v, proposals %+v", d.Models, d.Proposals)
	}
	executed := 0
	for _, e := range d.Proposals.Edges {
		if e.Node.State == "EXECUTED" {
			executed++
		}
	}
	if executed == 0 {
		t.Errorf("no EXECUTED proposal in %+v", d.Proposals.Edges)
	}
	return d
}

// TestPipeline runs the three functions as the schedule and API Gateway would: the indexer
// indexes a DAO whose governance approved a version, the API serves it, the pinner pins its
// weights; then Redis goes down and comes back.
func TestPipeline(t *testing.T) {
	ctx := context.Background()
	s := chain(t)
	rs := redisserver.StartT(t)
	ks := kubo.StartT(t)
	ipfs, err := pinning.NewClient(ks.APIURL(), nil)
	if err != nil {
		t.Fatal(err)
	}

	// A publisher adds weights to IPFS and submits a version; an auditor audits it; the DAO
	// approves it.
	weightsCID, digest := weights(t, ipfs, 7, 300_000)
	v, err := s.SubmitVersion(ctx, scenario.Publisher1, "acme/llama-fair", weightsCID, digest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Audit(ctx, v, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DAO.Pass(ctx, "# Approve acme/llama-fair\nIt passed its audit.", []int{0, 1, 2}, contracts.ApproveVersion(v, s.Policy, s.Audits[v])); err != nil {
		t.Fatal(err)
	}

	redisEnv := map[string]string{config.EnvRedisURL: rs.URL()}
	idx := startFn(t, "indexer", merge(redisEnv, daoEnv(t, s, false), map[string]string{config.EnvIndexerMargin: indexerMargin.String()}), indexerTimeout)
	api := startFn(t, "api", merge(redisEnv, daoEnv(t, s, true), map[string]string{config.EnvCORSOrigins: "https://app.example.org"}), 10*time.Second)
	pin := startFn(t, "pinner", merge(redisEnv, daoEnv(t, s, true), map[string]string{
		config.EnvIPFSAPIURL: ks.APIURL(), pinning.EnvDrainMargin: "1s", pinning.EnvInactivityTimeout: "5s",
	}), 20*time.Second)

	// The indexer catches up, follows a block mined while it runs, and stops before its
	// deadline.
	p := indexOnce(t, idx, s, func() { s.Chain.Mine(1) })
	if p.Events == 0 || p.Commits == 0 {
		t.Fatalf("progress %+v: nothing indexed", p)
	}

	// The API serves what was indexed.
	var st indexerStatus
	api.data(`{ indexerStatus { chainHead indexedBlock lag } }`, nil, &st)
	if st.IndexerStatus.IndexedBlock != p.ToBlock || st.IndexerStatus.Lag != 0 {
		t.Fatalf("indexerStatus %+v, indexer progress %+v", st.IndexerStatus, p)
	}
	d := checkRegistry(t, api, s, v)
	if mv := d.ModelVersion; mv == nil || mv.Status != "APPROVED" || mv.ModelName != "acme/llama-fair" || mv.WeightsCid != weightsCID ||
		mv.Pin == nil || mv.Pin.Status != "QUEUED" {
		t.Fatalf("modelVersion %d: %+v", v, mv)
	}
	checkHTTP(t, api)

	// The pinner pins the approved weights (and fails, for now, the random history's fake
	// CIDs, which no IPFS node has).
	var rep pinReport
	pin.mustInvoke(scheduled("modeldao-pinner"), &rep)
	t.Logf("pinner report: %+v", rep)
	if rep.Pinned < 1 {
		t.Fatalf("report %+v: nothing pinned", rep)
	}
	if name, ok := kuboPins(t, ipfs)[weightsCID]; !ok || name != modeldao.PinName(v) {
		t.Fatalf("kubo pins %v: want %s pinned as %q", kuboPins(t, ipfs), weightsCID, modeldao.PinName(v))
	}
	d = checkRegistry(t, api, s, v)
	if mv := d.ModelVersion; mv.Pin == nil || mv.Pin.Status != "PINNED" || mv.Pin.Cid != weightsCID {
		t.Fatalf("after the pinner, modelVersion %d: %+v", v, mv.Pin)
	}

	// Redis goes down: every function fails fast and says so.
	if err := rs.Stop(); err != nil {
		t.Fatal(err)
	}
	resp, g := api.query(`{ indexerStatus { indexedBlock } }`, nil)
	if len(g.Errors) == 0 || g.Errors[0].Extensions["code"] != "UNAVAILABLE" {
		t.Fatalf("API with Redis down: HTTP %d, %+v", resp.StatusCode, g)
	}
	t.Logf("API with Redis down: HTTP %d, %q (%v)", resp.StatusCode, g.Errors[0].Message, g.Errors[0].Extensions["code"])
	health := api.http(httpRequest(http.MethodGet, "/healthz", "", nil, nil))
	if health.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/healthz with Redis down: %+v", health)
	}
	for _, f := range []struct {
		name string
		fn   *fn
	}{{"indexer", idx}, {"pinner", pin}} {
		start := time.Now()
		ferr := f.fn.invoke(scheduled("modeldao-"+f.name), nil)
		if ferr == nil || ferr.Type != "EUNAVAILABLE" || !strings.Contains(ferr.Message, "redis") || time.Since(start) > 3*time.Second {
			t.Fatalf("%s with Redis down: %v after %s", f.name, ferr, time.Since(start))
		}
		t.Logf("%s with Redis down failed after %s: %s: %s", f.name, time.Since(start).Round(time.Millisecond), ferr.Type, ferr.Message)
	}

	// Redis comes back (empty: it persists nothing): the next invocations recover, and the
	// indexer rebuilds the projection from the chain.
	if err := rs.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	p = indexOnce(t, idx, s, nil)
	api.data(`{ indexerStatus { chainHead indexedBlock lag } }`, nil, &st)
	if st.IndexerStatus.IndexedBlock != p.ToBlock {
		t.Fatalf("after the restart: indexerStatus %+v, progress %+v", st.IndexerStatus, p)
	}
	checkRegistry(t, api, s, v)
	health = api.http(httpRequest(http.MethodGet, "/healthz", "", nil, nil))
	if health.StatusCode != http.StatusOK {
		t.Errorf("/healthz after the restart: %+v", health)
	}
	pin.mustInvoke(scheduled("modeldao-pinner"), &rep)
	t.Logf("pinner report after the restart: %+v", rep)
}

// checkHTTP checks what the API function does besides POST /graphql: GET queries, CORS, the
// GraphiQL page.
func checkHTTP(t *testing.T, api *fn) {
	t.Helper()
	q := url.Values{"query": {"{ indexerStatus { indexedBlock } }"}}
	resp := api.http(httpRequest(http.MethodGet, "/graphql", q.Encode(), nil, map[string]string{"origin": "https://app.example.org"}))
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"indexedBlock"`) || resp.Headers["Access-Control-Allow-Origin"] != "https://app.example.org" {
		t.Errorf("GET /graphql: %+v", resp)
	}
	resp = api.http(httpRequest(http.MethodOptions, "/graphql", "", nil, map[string]string{"origin": "https://app.example.org", "access-control-request-method": "POST"}))
	if resp.StatusCode != http.StatusNoContent || !strings.Contains(resp.Headers["Access-Control-Allow-Methods"], "POST") {
		t.Errorf("CORS preflight: %+v", resp)
	}
	resp = api.http(httpRequest(http.MethodOptions, "/graphql", "", nil, map[string]string{"origin": "https://evil.example.org", "access-control-request-method": "POST"}))
	if resp.Headers["Access-Control-Allow-Origin"] != "" {
		t.Errorf("CORS preflight from another origin: %+v", resp)
	}
	resp = api.http(httpRequest(http.MethodGet, "/", "", nil, nil))
	body := resp.Body
	if resp.IsBase64Encoded {
		b, _ := base64.StdEncoding.DecodeString(resp.Body)
		body = string(b)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Headers["Content-Type"], "text/html") || !strings.Contains(strings.ToLower(body), "graphiql") {
		t.Errorf("GET /: HTTP %d, headers %v", resp.StatusCode, resp.Headers)
	}
}

// kuboPins returns kubo's recursive pins: CID → name (what "ipfs pin ls --names" lists).
func kuboPins(t *testing.T, ipfs *pinning.Client) map[string]string {
	t.Helper()
	ch := make(chan iface.Pin)
	errc := make(chan error, 1)
	go func() {
		errc <- ipfs.Pin().Ls(context.Background(), ch, options.Pin.Ls.Recursive(), options.Pin.Ls.Detailed(true))
	}()
	out := map[string]string{}
	for p := range ch {
		out[p.Path().RootCid().String()] = p.Name()
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCluster runs the indexer and the API against a three-master Redis Cluster through the
// universal client (REDIS_CLUSTER=true, one seed node in REDIS_URL).
func TestCluster(t *testing.T) {
	s := chain(t)
	c := redisserver.StartClusterT(t)
	redisEnv := map[string]string{config.EnvRedisURL: "redis://" + c.Addrs()[1], config.EnvRedisCluster: "true"}
	idx := startFn(t, "indexer", merge(redisEnv, daoEnv(t, s, false), map[string]string{config.EnvIndexerMargin: indexerMargin.String()}), indexerTimeout)
	api := startFn(t, "api", merge(redisEnv, daoEnv(t, s, false)), 10*time.Second)

	p := indexOnce(t, idx, s, func() { s.Chain.Mine(2) })
	var st indexerStatus
	api.data(`{ indexerStatus { chainHead indexedBlock lag } }`, nil, &st)
	if st.IndexerStatus.IndexedBlock != p.ToBlock {
		t.Fatalf("indexerStatus %+v, progress %+v", st.IndexerStatus, p)
	}
	checkRegistry(t, api, s, 1)
	// A second invocation has nothing new to apply but keeps following.
	s.Chain.Mine(1)
	p = indexOnce(t, idx, s, nil)
	if p.Blocks == 0 {
		t.Fatalf("second invocation %+v: the new block was not applied", p)
	}
}

// TestBadConfig: a misconfigured function does not crash; every invocation fails with
// errorType EINVALID and a message that names the variable and says what to set. (And a node
// that does not answer fails the indexer at once, EUNAVAILABLE, naming ETH_RPC_URL without
// its secret path.)
func TestBadConfig(t *testing.T) {
	s := chain(t)
	noRedis := daoEnv(t, s, false)
	rs := redisserver.StartT(t)
	cases := []struct {
		name, fn string
		env      map[string]string
		event    any
		want     []string
		typ      string // "" means EINVALID
	}{
		{"api without REDIS_URL", "api", noRedis, httpRequest(http.MethodPost, "/graphql", "", []byte(`{"query":"{ dao { name } }"}`), map[string]string{"content-type": "application/json"}),
			[]string{"REDIS_URL is not set: set it to redis://host:6379/0 or rediss://user:password@host:6379"}, ""},
		{"indexer with a bad CHAIN_ID and no REDIS_URL", "indexer", merge(noRedis, map[string]string{config.EnvChainID: "mainnet"}), scheduled("x"),
			[]string{`CHAIN_ID="mainnet": want a positive whole number`, "REDIS_URL is not set"}, ""},
		{"pinner without IPFS_API_URL", "pinner", merge(noRedis, map[string]string{config.EnvRedisURL: "redis://127.0.0.1:1"}), scheduled("x"),
			[]string{"IPFS_API_URL is not set"}, ""},
		{"pinner with a bad MODELDAO_PIN_MAX_ATTEMPTS", "pinner", merge(noRedis, map[string]string{config.EnvRedisURL: "redis://127.0.0.1:1", config.EnvIPFSAPIURL: "http://127.0.0.1:1", pinning.EnvMaxAttempts: "none"}), scheduled("x"),
			[]string{pinning.EnvMaxAttempts}, ""},
		{"indexer whose margin exceeds its timeout", "indexer", merge(noRedis, map[string]string{config.EnvRedisURL: "redis://127.0.0.1:1", config.EnvIndexerMargin: "10s"}), scheduled("x"),
			[]string{"INDEXER_MARGIN=10s leaves no time in this invocation", "raise the function's timeout or lower INDEXER_MARGIN"}, ""},
		{"indexer whose node does not answer", "indexer", merge(noRedis, map[string]string{config.EnvRedisURL: rs.URL(), config.EnvEthRPCURL: "http://127.0.0.1:1/v3/secret-api-key", config.EnvIndexerMargin: "1s"}), scheduled("x"),
			[]string{"the node at ETH_RPC_URL (http://127.0.0.1:1) does not answer", "connection refused"}, "EUNAVAILABLE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := startFn(t, c.fn, c.env, indexerTimeout)
			for i := range 2 { // the process stays up: the second invocation says the same
				typ := c.typ
				if typ == "" {
					typ = "EINVALID"
				}
				ferr := f.invoke(c.event, nil)
				if ferr == nil || ferr.Type != typ {
					t.Fatalf("invocation %d: %v, want an %s error", i+1, ferr, typ)
				}
				if strings.Contains(ferr.Message, "secret") {
					t.Errorf("the message shows the RPC URL's path: %s", ferr.Message)
				}
				for _, w := range c.want {
					if !strings.Contains(ferr.Message, w) {
						t.Errorf("invocation %d: message %q does not contain %q", i+1, ferr.Message, w)
					}
				}
			}
			if !f.srv.Running() {
				t.Fatal("the emulator stopped")
			}
		})
	}
}
