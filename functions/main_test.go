// Tests of the Lambda functions as AWS runs them: each function's bootstrap, built for this
// machine like functions/build.sh builds it, runs under the AWS Lambda Runtime Interface
// Emulator (aws-lambda-rie, "make tools") on loopback ports and is invoked over HTTP with
// real event payloads (API Gateway HTTP API v2 requests, EventBridge scheduled events),
// against a real redis-server (and a three-master Redis Cluster), the simulated chain over
// JSON-RPC, and a kubo daemon.
package functions_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/infra/lambdarie"
	"github.com/modeldao/modeldao/internal/benchchain"
	"github.com/modeldao/modeldao/internal/scenario"
	"github.com/modeldao/modeldao/pinning"

	// The functions' dependencies, linked into the test binary so that a change to any of
	// them invalidates go test's cached result (the functions are built by "go build").
	_ "github.com/modeldao/modeldao/functions/internal/apigw"
	_ "github.com/modeldao/modeldao/functions/internal/lambdafn"
	_ "github.com/modeldao/modeldao/graphql"
	_ "github.com/modeldao/modeldao/indexer"
	_ "github.com/modeldao/modeldao/relay"
	_ "github.com/modeldao/modeldao/store"
)

var functionNames = []string{"api", "indexer", "pinner", "relayer", "notifier"}

func TestMain(m *testing.M) {
	benchchain.ServeIfChild() // BenchmarkIndexerBackfill's chain node runs as this binary
	// The functions inherit the emulator's environment, which inherits ours: a developer's
	// REDIS_URL must not leak into a test that checks what happens without one.
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if isConfigVar(k) {
			os.Unsetenv(k)
		}
	}
	code := m.Run()
	closeShared()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
	}
	os.Exit(code)
}

func isConfigVar(k string) bool {
	switch k {
	case config.EnvRedisURL, config.EnvRedisCluster, config.EnvEthRPCURL, config.EnvIPFSAPIURL, config.EnvChainID,
		config.EnvToken, config.EnvGovernor, config.EnvTimelock, config.EnvRegistry, config.EnvStartBlock,
		config.EnvDeploymentFile, config.EnvReorgDepth, config.EnvConfirmations, config.EnvPollInterval,
		config.EnvIndexerMargin, config.EnvCORSOrigins, config.EnvMinBlockWait, config.EnvGraphiQL, config.EnvLogLevel, config.EnvLogFormat:
		return true
	}
	return strings.HasPrefix(k, "MODELDAO_PIN_") || strings.HasPrefix(k, "MODELDAO_NOTIFY_") || strings.HasPrefix(k, "AWS_LAMBDA_") || strings.HasPrefix(k, "RELAYER_")
}

// builds holds the bootstraps, built once per test binary with one go command.
var builds struct {
	once sync.Once
	dir  string
	err  error
	took time.Duration
}

// bootstrap returns the path of the named function's bootstrap, built for this machine as
// functions/build.sh builds it (CGO off, -tags lambda.norpc, -trimpath, -s -w).
func bootstrap(t testing.TB, name string) string {
	t.Helper()
	builds.once.Do(func() {
		start := time.Now()
		builds.dir, builds.err = os.MkdirTemp("", "modeldao-functions-")
		if builds.err != nil {
			return
		}
		args := []string{"build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", builds.dir + "/"}
		for _, n := range functionNames {
			args = append(args, "./"+n)
			// Read the sources so that go test's cache notices when they change.
			if _, err := os.ReadFile(filepath.Join(n, "main.go")); err != nil {
				builds.err = err
				return
			}
		}
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			builds.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			return
		}
		for _, n := range functionNames {
			bin := filepath.Join(builds.dir, n)
			if err := os.Rename(bin, bin+".bin"); err != nil {
				builds.err = err
				return
			}
			if err := os.Mkdir(bin, 0o755); err != nil {
				builds.err = err
				return
			}
			if err := os.Rename(bin+".bin", filepath.Join(bin, "bootstrap")); err != nil {
				builds.err = err
				return
			}
		}
		builds.took = time.Since(start)
	})
	if builds.err != nil {
		t.Fatalf("building the functions: %v", builds.err)
	}
	return filepath.Join(builds.dir, name, "bootstrap")
}

// shared is the chain every test indexes: a DAO with an auditor, a policy and a random
// history (proposals in every state, votes, delegations, versions, audits). Tests that add
// to it run one after the other and compare with the chain as it is when they look.
var shared struct {
	once sync.Once
	s    *scenario.Scenario
	err  error
}

func chain(t testing.TB) *scenario.Scenario {
	t.Helper()
	shared.once.Do(func() {
		ctx := context.Background()
		shared.s, shared.err = scenario.New(ctx, 6, true)
		if shared.err == nil {
			shared.err = shared.s.Random(ctx, 60)
		}
	})
	if shared.err != nil {
		t.Fatalf("scenario: %v", shared.err)
	}
	return shared.s
}

// closeShared stops the shared chain.
func closeShared() {
	if shared.s != nil {
		shared.s.Close()
	}
	if benchEnv.rs != nil {
		_ = benchEnv.rs.Close()
	}
}

// daoEnv returns the environment naming the DAO of s: the variables, or (file true) a
// deployment file in dir.
func daoEnv(t testing.TB, s *scenario.Scenario, file bool) map[string]string {
	t.Helper()
	d := s.DAO.Deployment
	if file {
		path := filepath.Join(t.TempDir(), "deployment.json")
		if err := d.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		return map[string]string{config.EnvDeploymentFile: path}
	}
	return merge(deploymentEnv(d, s.Chain.URL()), map[string]string{config.EnvPollInterval: "200ms"})
}

// deploymentEnv returns the variables naming deployment d on the node at rpcURL.
func deploymentEnv(d modeldao.Deployment, rpcURL string) map[string]string {
	return map[string]string{
		config.EnvChainID:    fmt.Sprint(d.ChainID),
		config.EnvToken:      d.Token.Hex(),
		config.EnvGovernor:   d.Governor.Hex(),
		config.EnvTimelock:   d.Timelock.Hex(),
		config.EnvRegistry:   d.Registry.Hex(),
		config.EnvStartBlock: fmt.Sprint(d.Block),
		config.EnvEthRPCURL:  rpcURL,
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// Timing of the indexer under test: a 5 s function timeout, of which the invocation keeps
// indexerMargin.
const (
	indexerTimeout = 5 * time.Second
	indexerMargin  = 2 * time.Second
)

// fn is one function under the emulator.
type fn struct {
	t   testing.TB
	srv *lambdarie.Server
}

func startFn(t testing.TB, name string, env map[string]string, timeout time.Duration) *fn {
	t.Helper()
	env = merge(map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "modeldao-test-" + name, config.EnvLogLevel: "debug"}, env)
	srv := lambdarie.StartT(t, lambdarie.Options{Handler: bootstrap(t, name), Env: env, Timeout: timeout})
	return &fn{t: t, srv: srv}
}

// invoke sends event and decodes the result into out (if not nil); it returns the
// function's error, if it reported one, and fails the test on any other problem.
func (f *fn) invoke(event any, out any) *lambdarie.FunctionError {
	f.t.Helper()
	b, err := json.Marshal(event)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := f.srv.Invoke(ctx, b)
	var ferr *lambdarie.FunctionError
	if errors.As(err, &ferr) {
		return ferr
	}
	if err != nil {
		f.t.Fatalf("invoke: %v", err)
	}
	if out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			f.t.Fatalf("invoke: result %s: %v", res, err)
		}
	}
	return nil
}

// mustInvoke is invoke failing the test on a function error.
func (f *fn) mustInvoke(event any, out any) {
	f.t.Helper()
	if ferr := f.invoke(event, out); ferr != nil {
		f.t.Fatalf("the function failed: %v", ferr)
	}
}

// scheduled is an EventBridge scheduled event, as a rate(1 minute) rule sends it.
func scheduled(rule string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{
  "version": "0",
  "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
  "detail-type": "Scheduled Event",
  "source": "aws.events",
  "account": "123456789012",
  "time": %q,
  "region": "eu-west-1",
  "resources": ["arn:aws:events:eu-west-1:123456789012:rule/%s"],
  "detail": {}
}`, time.Now().UTC().Format(time.RFC3339), rule))
}

// httpRequest is an API Gateway HTTP API (payload 2.0) request.
func httpRequest(method, path, rawQuery string, body []byte, headers map[string]string) events.APIGatewayV2HTTPRequest {
	h := map[string]string{
		"host":              "abc123.execute-api.eu-west-1.amazonaws.com",
		"user-agent":        "modeldao-test",
		"x-forwarded-for":   "203.0.113.9",
		"x-forwarded-proto": "https",
	}
	for k, v := range headers {
		h[k] = v
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       method + " " + path,
		RawPath:        path,
		RawQueryString: rawQuery,
		Headers:        h,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: method + " " + path, AccountID: "123456789012", Stage: "$default", RequestID: "req-1",
			APIID: "abc123", DomainName: "abc123.execute-api.eu-west-1.amazonaws.com", DomainPrefix: "abc123",
			Time: time.Now().UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: time.Now().UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.9", UserAgent: "modeldao-test"},
		},
	}
	if body != nil {
		// API Gateway base64-encodes bodies it does not consider text; do it for JSON too, to
		// exercise the decoding.
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return ev
}

// gqlResponse is a GraphQL response.
type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// query posts a GraphQL query through the API function and returns the HTTP response and
// the decoded GraphQL response.
func (f *fn) query(q string, vars map[string]any) (events.APIGatewayV2HTTPResponse, gqlResponse) {
	f.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	// no-cache: the API keeps answers for a second at one checkpoint, and pin records change
	// without the checkpoint moving.
	resp := f.http(httpRequest(http.MethodPost, "/graphql", "", body, map[string]string{
		"content-type": "application/json", "accept": "application/json", "cache-control": "no-cache"}))
	var g gqlResponse
	raw := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if raw, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		f.t.Fatalf("GraphQL response (HTTP %d) is not JSON: %s", resp.StatusCode, raw)
	}
	return resp, g
}

// http invokes the API function with an API Gateway request and returns its response.
func (f *fn) http(req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	f.t.Helper()
	var resp events.APIGatewayV2HTTPResponse
	f.mustInvoke(req, &resp)
	return resp
}

// data queries and decodes data into out, failing the test on errors.
func (f *fn) data(q string, vars map[string]any, out any) {
	f.t.Helper()
	resp, g := f.query(q, vars)
	if resp.StatusCode != http.StatusOK || len(g.Errors) > 0 {
		f.t.Fatalf("query %s: HTTP %d, errors %+v", q, resp.StatusCode, g.Errors)
	}
	if err := json.Unmarshal(g.Data, out); err != nil {
		f.t.Fatalf("query %s: data %s: %v", q, g.Data, err)
	}
}

// weights adds n pseudo-random bytes to kubo as pinning.AddWeights does for a publisher,
// then unpins them, so that only the pinner's pin holds them afterwards.
func weights(t testing.TB, ipfs *pinning.Client, seed byte, n int) (string, common.Hash) {
	t.Helper()
	data := bytes.Repeat([]byte{seed}, n)
	for i := range data {
		data[i] ^= byte(i * 31)
	}
	ctx := context.Background()
	c, sum, size, err := pinning.AddWeights(ctx, ipfs, bytes.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if size != int64(n) || sum != common.Hash(sha256.Sum256(data)) {
		t.Fatalf("AddWeights: %d bytes, sha256 %x", size, sum)
	}
	id, err := cid.Decode(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := ipfs.Pin().Rm(ctx, path.FromCid(id)); err != nil {
		t.Fatalf("unpinning the added weights: %v", err)
	}
	return c, sum
}
