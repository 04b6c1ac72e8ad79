package graphql_test

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/internal/scenario"
)

// sseClient reads a live query's stream: "next" events' data and heartbeat comments.
type sseClient struct {
	resp   *http.Response
	events chan string
	beats  atomic.Int64
	cancel context.CancelFunc
}

func openLive(t *testing.T, base, query string) (*sseClient, int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/graphql/live?query="+url.QueryEscape(query), nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, resp.StatusCode
	}
	c := &sseClient{resp: resp, events: make(chan string, 16), cancel: cancel}
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "data: "):
				c.events <- strings.TrimPrefix(line, "data: ")
			case strings.HasPrefix(line, ":"):
				c.beats.Add(1)
			}
		}
		close(c.events)
	}()
	t.Cleanup(func() { c.close() })
	return c, resp.StatusCode
}

func (c *sseClient) close() { c.cancel(); c.resp.Body.Close() }

func (c *sseClient) next(t *testing.T) string {
	t.Helper()
	select {
	case e, ok := <-c.events:
		if !ok {
			t.Fatal("the stream ended")
		}
		return e
	case <-time.After(20 * time.Second):
		t.Fatal("no event within 20s")
	}
	return ""
}

// Live queries: two clients of the same query get its result, then a new one when the
// indexer moves the checkpoint, from one execution per checkpoint; a third stream from the
// same client is refused; heartbeats flow; closing the streams stops the query.
func TestLiveQueries(t *testing.T) {
	ctx := context.Background()
	s, err := scenario.New(ctx, 4, false)
	if err != nil {
		t.Fatal(err)
	}
	var execs atomic.Int64
	e, err := newEnv(ctx, s, graphql.Options{MaxLiveQueries: 2, LiveHeartbeat: 150 * time.Millisecond, OnLiveExecution: func() { execs.Add(1) }})
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	defer e.close()
	ix, err := indexer.New(indexer.Config{Chain: s.Chain.Client, Store: e.store, Deployment: s.DAO.Deployment, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	base := e.srv.URL
	const q = "{ indexerStatus { indexedBlock } }"
	a, _ := openLive(t, base, q)
	b, _ := openLive(t, base, q)
	first := a.next(t)
	if got := b.next(t); got != first || !strings.Contains(first, `"indexedBlock"`) {
		t.Fatalf("first results %s and %s", first, got)
	}
	if _, code := openLive(t, base, "{ dao { name } }"); code != http.StatusTooManyRequests {
		t.Fatalf("third stream of one client: %d, want 429", code)
	}
	before := execs.Load()
	s.Chain.Mine(1)
	if _, err := ix.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	second := a.next(t)
	if got := b.next(t); got != second || second == first {
		t.Fatalf("after a new block: %s and %s (before %s)", second, got, first)
	}
	time.Sleep(500 * time.Millisecond)
	if n := execs.Load() - before; n != 1 {
		t.Fatalf("%d executions for one new checkpoint and two clients, want 1", n)
	}
	if a.beats.Load() == 0 {
		t.Fatal("no heartbeat in 500ms with a 150ms interval")
	}
	// Closing both streams stops the query: no execution for the next block, and the
	// client may open new streams.
	a.close()
	b.close()
	time.Sleep(300 * time.Millisecond)
	before = execs.Load()
	s.Chain.Mine(1)
	if _, err := ix.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if n := execs.Load() - before; n != 0 {
		t.Fatalf("%d executions after every client left", n)
	}
	c, code := openLive(t, base, q)
	if code != http.StatusOK || !strings.Contains(c.next(t), `"indexedBlock"`) {
		t.Fatalf("a new stream after closing: %d", code)
	}
	c.close() // before the server closes: httptest.Server.Close waits for open streams
}
