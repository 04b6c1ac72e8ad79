// Package differential checks the GraphQL API against the contracts themselves: a long
// random history is indexed by the real indexer (over JSON-RPC) into a real redis-server,
// the API is served over HTTP, and every fact it gives is compared with the contracts' own
// views at the indexed block and with their events decoded by the generated bindings. Nothing
// here uses the indexer's decoder, the store or the typed client: the API is read as JSON.
package differential

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/infra/anvil"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/infra/rpcproxy"
	"github.com/modeldao/modeldao/internal/scenario"
	"github.com/modeldao/modeldao/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// harness is a scenario, an indexer following it over JSON-RPC, and the API over HTTP.
type harness struct {
	s  *scenario.Scenario
	ix *indexer.Indexer
	// rpc reads the node directly, for the oracle; the indexer may read through a proxy.
	rpc *ethclient.Client
	srv *httptest.Server
	url string
}

// backend is the node a differential run happens on.
type backend struct {
	name string
	// start returns the node to deploy on and its JSON-RPC URL; a nil node means a devchain
	// that the scenario starts (and serves over JSON-RPC).
	start func(t *testing.T) (devchain.Node, string)
	// latency, if set, puts the indexer behind a proxy that delays each call by
	// latency[0]–latency[1], as a network to a real node does; the oracle reads directly.
	latency [2]time.Duration
}

// simulated is go-ethereum's simulated backend, in process; anvilNode is Foundry's anvil,
// a separate process that mines a block per transaction, with chain id 31337.
var (
	simulated = backend{name: "simulated", start: func(*testing.T) (devchain.Node, string) { return nil, "" }}
	anvilNode = backend{name: "anvil", latency: [2]time.Duration{30 * time.Millisecond, 90 * time.Millisecond},
		start: func(t *testing.T) (devchain.Node, string) {
			n := anvil.StartT(t, anvil.Options{Quiet: true})
			return n, n.URL()
		}}
)

func newHarness(ctx context.Context, t *testing.T, b backend, seed uint64) *harness {
	t.Helper()
	node, url := b.start(t)
	s, err := scenario.NewWith(ctx, scenario.Options{Seed: seed, Node: node, RPC: node == nil})
	if err != nil {
		t.Fatalf("scenario on %s: %v", b.name, err)
	}
	t.Cleanup(s.Close)
	if s.Chain != nil {
		url = s.Chain.URL()
	}
	rs := redisserver.StartT(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { rdb.Close() })
	rpc, err := ethclient.DialContext(ctx, url)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(rpc.Close)
	ixRPC := rpc
	if b.latency[1] > 0 {
		p, err := rpcproxy.Start(rpcproxy.Options{Target: url, MinLatency: b.latency[0], MaxLatency: b.latency[1], Seed: seed, Logger: quiet})
		if err != nil {
			t.Fatalf("rpc proxy: %v", err)
		}
		t.Cleanup(func() { p.Close() })
		if ixRPC, err = ethclient.DialContext(ctx, p.URL()); err != nil {
			t.Fatalf("dial %s: %v", p.URL(), err)
		}
		t.Cleanup(ixRPC.Close)
	}
	d := s.DAO.Deployment
	st := store.New(rdb, store.NewKeys(d.ChainID, d.Governor), quiet)
	ix, err := indexer.New(indexer.Config{Chain: ixRPC, Store: st, Deployment: d, Log: quiet, RangeBlocks: 50})
	if err != nil {
		t.Fatalf("indexer: %v", err)
	}
	srv := httptest.NewServer(graphql.NewHandler(st, graphql.Options{ChainID: d.ChainID, Logger: quiet}))
	t.Cleanup(srv.Close)
	return &harness{s: s, ix: ix, rpc: rpc, srv: srv, url: srv.URL + "/graphql"}
}

// index catches the index up with the chain's head and returns the indexed block.
func (h *harness) index(ctx context.Context, t *testing.T) uint64 {
	t.Helper()
	p, err := h.ix.CatchUp(ctx)
	if err != nil {
		t.Fatalf("index: %v", err)
	}
	head, err := h.rpc.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.ToBlock != head {
		t.Fatalf("indexed up to %d, head is %d", p.ToBlock, head)
	}
	return p.ToBlock
}

// obj is a JSON object of an answer; numbers stay json.Number.
type obj = map[string]any

// query runs a GraphQL query over HTTP, bypassing the response cache, and returns data.
// Any error in the answer fails the test.
func (h *harness) query(ctx context.Context, t *testing.T, q string) obj {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": q})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	var out struct {
		Data   obj
		Errors []json.RawMessage
	}
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("query answered HTTP %d, not JSON: %v", resp.StatusCode, err)
	}
	if len(out.Errors) > 0 || resp.StatusCode != http.StatusOK {
		t.Fatalf("query %s\nanswered HTTP %d with errors %s", short(q), resp.StatusCode, out.Errors)
	}
	return out.Data
}

func short(q string) string {
	if len(q) > 600 {
		return q[:600] + "…"
	}
	return q
}

// Accessors of decoded JSON; a missing or mistyped field fails the test.

func field(t *testing.T, o obj, path ...string) any {
	t.Helper()
	var v any = o
	for _, p := range path {
		m, ok := v.(obj)
		if !ok {
			t.Fatalf("%s: not an object in %v", strings.Join(path, "."), o)
		}
		v = m[p]
	}
	return v
}

func str(t *testing.T, o obj, path ...string) string {
	t.Helper()
	switch v := field(t, o, path...).(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case nil:
		return "<null>"
	case bool:
		return fmt.Sprint(v)
	default:
		t.Fatalf("%s: %T %v is not a scalar", strings.Join(path, "."), v, v)
		return ""
	}
}

func sub(t *testing.T, o obj, path ...string) obj {
	t.Helper()
	v := field(t, o, path...)
	if v == nil {
		return nil
	}
	m, ok := v.(obj)
	if !ok {
		t.Fatalf("%s: %T is not an object", strings.Join(path, "."), v)
	}
	return m
}

func list(t *testing.T, o obj, path ...string) []obj {
	t.Helper()
	v, ok := field(t, o, path...).([]any)
	if !ok {
		t.Fatalf("%s: not a list", strings.Join(path, "."))
	}
	out := make([]obj, len(v))
	for i, x := range v {
		out[i], _ = x.(obj)
	}
	return out
}
