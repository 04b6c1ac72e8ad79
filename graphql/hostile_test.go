package graphql_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/graphql"
)

type gqlResponse struct {
	Data   map[string]any `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// post sends a raw body to the API.
func post(t *testing.T, url, contentType string, body []byte) (int, gqlResponse, string) {
	t.Helper()
	resp, err := http.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r gqlResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("answer is not JSON (status %d): %.300s", resp.StatusCode, raw)
	}
	return resp.StatusCode, r, string(raw)
}

func query(q string) []byte {
	b, _ := json.Marshal(map[string]any{"query": q})
	return b
}

// stillServing checks that the server answers a normal query.
func stillServing(t *testing.T) {
	t.Helper()
	d, err := fx.client.DAO(bg)
	if err != nil || d.ProposalCount != 7 {
		t.Fatalf("the server stopped serving: %+v %v", d, err)
	}
}

func nested(depth int, open, leaf string) string {
	return "{" + strings.Repeat(open+"{", depth) + leaf + strings.Repeat("}", depth) + "}"
}

func TestHostileRequests(t *testing.T) {
	addr := fx.addr(alice).Hex()
	aliases := func(n int, field string) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			fmt.Fprintf(&b, " a%d: %s", i, field)
		}
		b.WriteString("}")
		return b.String()
	}
	fragBomb := "query { dao { ...F0 } } " // each fragment spreads the next twice: 2^40 fields
	for i := range 40 {
		fragBomb += fmt.Sprintf("fragment F%d on DAO { ...F%d ...F%d } ", i, i+1, i+1)
	}
	fragBomb += "fragment F40 on DAO { chainId }"
	for _, c := range []struct {
		name   string
		ctype  string
		body   []byte
		status int
		code   string
		msg    string
	}{
		{"depth 1000 (valid fields)", "application/json",
			query(`{ account(address: "` + addr + `") { ` + strings.Repeat("delegate { ", 998) + "id" + strings.Repeat(" }", 998) + " } }"),
			http.StatusOK, "DEPTH_LIMIT_EXCEEDED", "levels deep; at most 15"},
		{"depth 1000 (unknown fields)", "application/json", query(nested(1000, "a", "b")), 422, "GRAPHQL_PARSE_FAILED", "exceeded maximum nesting depth"},
		{"depth 100 (unknown fields)", "application/json", query(nested(100, "a", "b")), 422, "GRAPHQL_VALIDATION_FAILED", `Cannot query field "a"`},
		{"10,000 aliases", "application/json", query(aliases(10000, "dao { chainId }")), 422, "QUERY_TOO_LARGE", "more than 20000 tokens"},
		{"1,000 aliases of the same field", "application/json", query(aliases(1000, "dao { chainId }")), http.StatusOK, "TOO_MANY_FIELDS", "selects 2000 fields"},
		{"fragment bomb", "application/json", query(fragBomb), http.StatusOK, "TOO_MANY_FIELDS", "at most 1000 are allowed"},
		{"first: 1000000000", "application/json", query(`{ proposals(first: 1000000000) { totalCount } }`), http.StatusOK, "BAD_USER_INPUT", "first is 1000000000; a page holds at most 1000"},
		{"first: 2^40", "application/json", query(`{ proposals(first: 1099511627776) { totalCount } }`), http.StatusOK, "BAD_USER_INPUT", "a page holds at most 1000"},
		{"a million votes", "application/json",
			query(`{ proposals(first: 1000) { edges { node { votes(first: 1000) { edges { node { voter { id } } } } } } } }`),
			http.StatusOK, "COMPLEXITY_LIMIT_EXCEEDED", "exceeds the limit of 250000"},
		{"10 MB body", "application/json", append(append([]byte(`{"query": "{ dao { chainId } }", "x": "`), bytes.Repeat([]byte("a"), 10<<20)...), '"', '}'),
			http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE", "at most 1048576 are accepted"},
		{"malformed JSON", "application/json", []byte(`{"query": "{ dao { chainId } }"`), http.StatusBadRequest, "BAD_REQUEST", "not a JSON object"},
		{"JSON of the wrong shape", "application/json", []byte(`{"query": 42}`), http.StatusBadRequest, "BAD_REQUEST", `field "query" must be a string`},
		{"not JSON at all", "text/plain", []byte("{ dao { chainId } }"), http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Content-Type: application/json"},
		{"unknown field", "application/json", query(`{ dao { chainId secretKey } }`), 422, "GRAPHQL_VALIDATION_FAILED", `Cannot query field "secretKey" on type "DAO"`},
		{"unknown argument", "application/json", query(`{ proposals(limit: 5) { totalCount } }`), 422, "GRAPHQL_VALIDATION_FAILED", `Unknown argument "limit"`},
		{"unknown input field", "application/json", query(`{ proposals(where: {author: "x"}) { totalCount } }`), 422, "GRAPHQL_VALIDATION_FAILED", "author"},
		{"syntax error", "application/json", query(`{ dao { chainId }`), 422, "GRAPHQL_PARSE_FAILED", ""},
		{"bad address", "application/json", query(`{ account(address: "0x123") { id } }`), http.StatusOK, "BAD_USER_INPUT", "is not 0x followed by 40 hex digits"},
		{"bad variable", "application/json", []byte(`{"query": "query($a: Address!) { account(address: $a) { id } }", "variables": {"a": 12}}`),
			http.StatusOK, "BAD_USER_INPUT", "is not 0x followed by 40 hex digits"},
		{"mutation", "application/json", query(`mutation { dao { id } }`), 422, "GRAPHQL_VALIDATION_FAILED", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			status, r, raw := post(t, fx.url, c.ctype, c.body)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v", took)
			}
			if status != c.status || len(r.Errors) == 0 {
				t.Fatalf("status %d, want %d: %.500s", status, c.status, raw)
			}
			code, _ := r.Errors[0].Extensions["code"].(string)
			if code != c.code || !strings.Contains(r.Errors[0].Message, c.msg) {
				t.Errorf("error %q %q, want %q %q", code, r.Errors[0].Message, c.code, c.msg)
			}
			if len(raw) > 20000 {
				t.Errorf("the answer is %d bytes: it should not echo the request", len(raw))
			}
			stillServing(t)
		})
	}
	// Unknown keys in the request body are ignored.
	status, r, raw := post(t, fx.url, "application/json", []byte(`{"query": "{ dao { chainId } }", "extra": {"x": 1}}`))
	if status != http.StatusOK || len(r.Errors) != 0 || r.Data["dao"] == nil {
		t.Errorf("unknown keys in the body: %d %s", status, raw)
	}
}

// The client reports the server's codes for requests the server refuses before GraphQL.
func TestClientErrorCodes(t *testing.T) {
	err := fx.client.Exec(bg, `{ dao { nope } }`, nil, nil)
	wantCode(t, err, client.CodeValidationFailed, `Cannot query field "nope"`)
	err = fx.client.Exec(bg, nested(30, "dao", "chainId"), nil, nil)
	wantCode(t, err, client.CodeValidationFailed, "")
	down := client.New("http://127.0.0.1:1/graphql", nil)
	_, err = down.DAO(bg)
	wantCode(t, err, client.CodeTransport, "")
}

func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(graphql.NewHandler(fx.store, graphql.Options{Timeout: time.Nanosecond, Logger: quiet}))
	defer srv.Close()
	_, err := client.New(srv.URL+"/graphql", nil).Proposals(bg, client.ProposalQuery{})
	wantCode(t, err, client.CodeTimeout, "took longer than the API allows (1ns)")
}

func TestHTTPSurface(t *testing.T) {
	get := func(path string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, fx.srv.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	// GraphiQL, from embedded files only.
	resp, body := get("/", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `src="graphiql/graphiql.min.js"`) || strings.Contains(body, "https://") || strings.Contains(body, "//unpkg") {
		t.Errorf("GraphiQL page: %d %.300s", resp.StatusCode, body)
	}
	for _, asset := range []string{"graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js"} {
		if resp, body := get("/graphiql/"+asset, nil); resp.StatusCode != 200 || len(body) < 10000 {
			t.Errorf("asset %s: %d, %d bytes", asset, resp.StatusCode, len(body))
		}
	}
	if resp, _ := get("/nothing-here", nil); resp.StatusCode != 404 {
		t.Errorf("unknown path: %d", resp.StatusCode)
	}
	// Health.
	if resp, body := get("/healthz", nil); resp.StatusCode != 200 || !strings.Contains(body, `"ok":true`) {
		t.Errorf("healthz: %d %s", resp.StatusCode, body)
	}
	// GET queries.
	if resp, body := get(`/graphql?query={dao{chainId}}`, nil); resp.StatusCode != 200 || !strings.Contains(body, `"chainId":1337`) {
		t.Errorf("GET query: %d %s", resp.StatusCode, body)
	}
	// CORS: the allowed origin gets the header, another does not.
	if resp, _ := get(`/graphql?query={dao{chainId}}`, map[string]string{"Origin": "https://app.example.org"}); resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.org" {
		t.Errorf("allowed origin: %v", resp.Header)
	}
	if resp, _ := get(`/graphql?query={dao{chainId}}`, map[string]string{"Origin": "https://evil.example"}); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin: %v", resp.Header)
	}
	req, _ := http.NewRequest(http.MethodOptions, fx.url, nil)
	req.Header.Set("Origin", "https://app.example.org")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	pre, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pre.Body.Close()
	if pre.StatusCode != http.StatusNoContent || !strings.Contains(pre.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Errorf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
	// Introspection is on.
	var out struct {
		Schema struct{ QueryType struct{ Name string } } `json:"__schema"`
	}
	if err := fx.client.Exec(bg, `{ __schema { queryType { name } } }`, nil, &out); err != nil || out.Schema.QueryType.Name != "Query" {
		t.Errorf("introspection: %+v %v", out, err)
	}
}

// A repeated query at the same checkpoint is answered from the response cache: one round
// trip (the checkpoint), the same bytes. Errors are not cached; no-cache computes afresh.
func TestResponseCache(t *testing.T) {
	send := func(body []byte, noCache bool) (string, string, int64) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, fx.url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if noCache {
			req.Header.Set("Cache-Control", "no-cache")
		}
		var raw []byte
		var hit string
		trips := fx.tripsOf(t, func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ = io.ReadAll(resp.Body)
			hit = resp.Header.Get("X-Cache")
		})
		return string(raw), hit, trips
	}
	body := query(`{ proposals(first: 3) { edges { node { id title tally { forPercent } } } } }`)
	first, hit, trips := send(body, false)
	if hit != "" || trips < 3 || !strings.Contains(first, P(7)) {
		t.Fatalf("first answer: cache %q, %d round trips: %.200s", hit, trips, first)
	}
	for range 2 {
		if raw, hit, trips := send(body, false); raw != first || hit != "hit" || trips != 1 {
			t.Errorf("repeat: cache %q, %d round trips, same answer %v", hit, trips, raw == first)
		}
	}
	// Computed afresh: the page is read from Redis with the checkpoint (one round trip);
	// its records come from the store's memory at that checkpoint.
	if raw, hit, trips := send(body, true); raw != first || hit != "" || trips < 1 {
		t.Errorf("no-cache: cache %q, %d round trips, same answer %v", hit, trips, raw == first)
	}
	bad := query(`{ proposals(first: 5000) { totalCount } }`)
	for range 2 {
		if raw, hit, _ := send(bad, false); hit != "" || !strings.Contains(raw, "BAD_USER_INPUT") {
			t.Errorf("an error answer was cached (%q): %s", hit, raw)
		}
	}
}
