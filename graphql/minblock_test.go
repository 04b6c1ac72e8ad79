package graphql_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/internal/scenario"
)

type minBlockAnswer struct {
	Data *struct {
		IndexerStatus struct{ IndexedBlock uint64 }
	}
	Errors []struct {
		Message    string
		Extensions map[string]any
	}
}

// Read-after-write: a request that asks for a block the index has not reached waits for it
// (the indexer gets there meanwhile) or, past MinBlockWait, answers UNAVAILABLE with the
// indexed block; the header, the request extension and GET all say it; bad values are
// refused with what to send.
func TestMinBlock(t *testing.T) {
	ctx := context.Background()
	s, err := scenario.New(ctx, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	e, err := newEnv(ctx, s, graphql.Options{MinBlockWait: 1500 * time.Millisecond})
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	defer e.close()
	ix, err := indexer.New(indexer.Config{Chain: s.Chain.Client, Store: e.store, Deployment: s.DAO.Deployment, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	cp, _, err := e.store.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const q = `{"query":"{ indexerStatus { indexedBlock } }"%s}`
	post := func(header, ext string) (int, minBlockAnswer, time.Duration) {
		t.Helper()
		body := strings.Replace(q, "%s", ext, 1)
		req, _ := http.NewRequest(http.MethodPost, e.url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if header != "" {
			req.Header.Set(graphql.HeaderMinBlock, header)
		}
		start := time.Now()
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a minBlockAnswer
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, a, time.Since(start)
	}
	itoa := func(n uint64) string { return strconv.FormatUint(n, 10) }

	// Reached: answered at once.
	if code, a, took := post(itoa(cp.Number), ""); code != 200 || a.Data == nil || a.Data.IndexerStatus.IndexedBlock != cp.Number || took > time.Second {
		t.Fatalf("min block = checkpoint: %d %+v in %s", code, a, took)
	}
	// Not reached in time: UNAVAILABLE with both blocks, after the wait.
	want := cp.Number + 2
	code, a, took := post(itoa(want), "")
	if code != http.StatusServiceUnavailable || len(a.Errors) != 1 || a.Errors[0].Extensions["code"] != "UNAVAILABLE" ||
		a.Errors[0].Extensions["indexedBlock"] != float64(cp.Number) || a.Errors[0].Extensions["minBlock"] != float64(want) || took < 1400*time.Millisecond {
		t.Fatalf("min block ahead: %d %+v in %s", code, a, took)
	}
	// The chain moves and the indexer follows while the request waits: the answer comes from
	// the new block (asked for in the request's extensions this time).
	s.Chain.Mine(2)
	go func() {
		time.Sleep(300 * time.Millisecond)
		if _, err := ix.CatchUp(ctx); err != nil {
			t.Errorf("indexer: %v", err)
		}
	}()
	code, a, took = post("", `,"extensions":{"minBlock":`+itoa(want)+`}`)
	if code != 200 || a.Data == nil || a.Data.IndexerStatus.IndexedBlock < want || took < 250*time.Millisecond {
		t.Fatalf("min block reached while waiting: %d %+v in %s", code, a, took)
	}
	// GET carries it in the extensions parameter.
	resp, err := e.srv.Client().Get(e.url + "?query=" + url.QueryEscape("{ indexerStatus { indexedBlock } }") + "&extensions=" + url.QueryEscape(`{"minBlock":`+itoa(want+100)+`}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("GET with a min block ahead: %d", resp.StatusCode)
	}
	// Bad values.
	for _, c := range []struct{ header, ext, want string }{
		{"latest", "", "is not a block number"},
		{"", `,"extensions":{"minBlock":-1}`, "is not a block number"},
		{"", `,"extensions":[1]`, "extensions must be a JSON object"},
	} {
		code, a, _ := post(c.header, c.ext)
		if code != http.StatusBadRequest || len(a.Errors) != 1 || !strings.Contains(a.Errors[0].Message, c.want) {
			t.Errorf("%q %q: %d %+v", c.header, c.ext, code, a)
		}
	}
}
