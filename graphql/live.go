package graphql

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/modeldao/modeldao/store"
)

// Live queries over server-sent events: GET /graphql/live?query=…&variables=… (Accept:
// text/event-stream) answers a stream whose "next" events carry the query's result, first
// at once, then each time the checkpoint moved and the result changed. Subscribers of the
// same query and variables share one execution per checkpoint, however many they are
// (liveQuery); a client (remote IP) holds at most MaxLiveQueries streams; a comment line
// every LiveHeartbeat keeps proxies from closing an idle stream; a client that goes away
// ends its subscription, and the last one stops the query's poller. On Lambda (API Gateway
// buffers responses) there are no live queries: use webhooks.

// liveHub runs the live queries of one handler.
type liveHub struct {
	st        *store.Store
	exec      http.Handler // the GraphQL handler that executes a query
	poll      time.Duration
	heartbeat time.Duration
	perClient int

	mu      sync.Mutex
	queries map[string]*liveQuery
	clients map[string]int

	onExec func() // Options.OnLiveExecution
}

// liveQuery is one distinct query with its subscribers.
type liveQuery struct {
	key    string
	body   []byte
	subs   map[chan []byte]struct{}
	last   []byte
	cancel context.CancelFunc
}

func newLiveHub(st *store.Store, exec http.Handler, opts Options) *liveHub {
	return &liveHub{st: st, exec: exec, poll: 200 * time.Millisecond, heartbeat: opts.LiveHeartbeat, perClient: opts.MaxLiveQueries,
		queries: map[string]*liveQuery{}, clients: map[string]int{}, onExec: opts.OnLiveExecution}
}

func (h *liveHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, requestError(CodeBadRequest, "live queries are GET /graphql/live?query=…, not %s", r.Method))
		return
	}
	q := r.URL.Query()
	if q.Get("query") == "" {
		writeError(w, http.StatusBadRequest, requestError(CodeBadRequest, "pass the query as ?query=… (and variables as ?variables={…})"))
		return
	}
	var vars json.RawMessage
	if v := q.Get("variables"); v != "" {
		if !json.Valid([]byte(v)) {
			writeError(w, http.StatusBadRequest, requestError(CodeBadRequest, "variables must be a JSON object"))
			return
		}
		vars = json.RawMessage(v)
	}
	body, _ := json.Marshal(map[string]any{"query": q.Get("query"), "variables": vars})
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, requestError(CodeInternal, "this server cannot stream"))
		return
	}
	client, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		client = r.RemoteAddr
	}
	ch, leave, ok := h.join(client, string(body), body)
	if !ok {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusTooManyRequests, requestError(CodeBadRequest, "at most %d live queries per client: close one first", h.perClient))
		return
	}
	defer leave()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	tick := time.NewTicker(h.heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case res := <-ch:
			if _, err := fmt.Fprintf(w, "event: next\ndata: %s\n\n", res); err != nil {
				return
			}
			flusher.Flush()
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}

// join subscribes to the query key; false when the client holds its maximum.
func (h *liveHub) join(client, key string, body []byte) (chan []byte, func(), bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.clients[client] >= h.perClient {
		return nil, nil, false
	}
	h.clients[client]++
	ch := make(chan []byte, 1)
	lq := h.queries[key]
	if lq == nil {
		ctx, cancel := context.WithCancel(context.Background())
		lq = &liveQuery{key: key, body: body, subs: map[chan []byte]struct{}{}, cancel: cancel}
		h.queries[key] = lq
		go h.run(ctx, lq)
	} else if lq.last != nil {
		ch <- lq.last // the current result at once
	}
	lq.subs[ch] = struct{}{}
	leave := func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(lq.subs, ch)
		if h.clients[client]--; h.clients[client] <= 0 {
			delete(h.clients, client)
		}
		if len(lq.subs) == 0 {
			lq.cancel()
			delete(h.queries, key)
		}
	}
	return ch, leave, true
}

// run executes lq once per new checkpoint and sends changed results to its subscribers.
func (h *liveHub) run(ctx context.Context, lq *liveQuery) {
	var seen string
	tick := time.NewTicker(h.poll)
	defer tick.Stop()
	for {
		cp, _, err := h.st.Checkpoint(ctx)
		if err == nil && cp.String() != seen {
			seen = cp.String()
			if h.onExec != nil {
				h.onExec()
			}
			req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/graphql", bytes.NewReader(lq.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Cache-Control", "no-cache")
			rec := httptest.NewRecorder()
			h.exec.ServeHTTP(rec, req)
			res := bytes.TrimSpace(rec.Body.Bytes())
			h.mu.Lock()
			if !bytes.Equal(res, lq.last) {
				lq.last = res
				for ch := range lq.subs {
					select {
					case <-ch: // a slow reader gets the newest result, not a backlog
					default:
					}
					ch <- res
				}
			}
			h.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
