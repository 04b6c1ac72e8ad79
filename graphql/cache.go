package graphql

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"sync"
	"time"

	"github.com/modeldao/modeldao/store"
)

// The response cache. The index changes only when the indexer commits, and every commit
// moves the checkpoint; so an answer computed at one checkpoint stays right until the next.
// A request costs a read of the checkpoint (one GET, shared with the requests that arrive
// while it is on its way: checkpoint.go); when the same request (method, body or query
// string, Accept) was answered at that checkpoint less than a TTL ago, the stored bytes are
// sent again. The TTL bounds how stale the few fields that change outside commits may be:
// pin records (written by the pinner) and the indexer's status. Answers with errors are
// never stored. A request with "Cache-Control: no-cache" is always computed afresh.
// Concurrent misses of one request at one checkpoint are computed once: the others wait for
// that answer (single flight), so that an expiry does not make every client recompute.

type cachedResponse struct {
	checkpoint string
	expires    time.Time
	ctype      string
	body       []byte
}

type responseCache struct {
	ttl      time.Duration
	maxBytes int
	store    *store.Store

	reads *checkpointReads

	mu        sync.Mutex
	cur, prev map[[32]byte]*cachedResponse
	curBytes  int
	flights   map[flightKey]*flight
}

type flightKey struct {
	key        [32]byte
	checkpoint string
}

type flight struct {
	done chan struct{}
	resp *cachedResponse // nil: the answer was not cacheable
}

func newResponseCache(st *store.Store, ttl time.Duration, maxBytes int) *responseCache {
	return &responseCache{ttl: ttl, maxBytes: maxBytes, store: st, reads: newCheckpointReads(st), cur: map[[32]byte]*cachedResponse{}, flights: map[flightKey]*flight{}}
}

func cacheKey(r *http.Request, body []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(r.Method))
	h.Write([]byte{0})
	h.Write([]byte(r.Header.Get("Accept")))
	h.Write([]byte{0})
	if r.Method == http.MethodGet {
		h.Write([]byte(r.URL.RawQuery))
	} else {
		h.Write(body)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (c *responseCache) get(k [32]byte, checkpoint string, now time.Time) *cachedResponse {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.cur[k]
	if e == nil {
		e = c.prev[k]
	}
	if e == nil || e.checkpoint != checkpoint || now.After(e.expires) {
		return nil
	}
	return e
}

func (c *responseCache) put(k [32]byte, e *cachedResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.curBytes+len(e.body) > c.maxBytes {
		c.prev, c.cur, c.curBytes = c.cur, map[[32]byte]*cachedResponse{}, 0
	}
	c.cur[k] = e
	c.curBytes += len(e.body)
}

// serve answers r from the cache or from next, storing a good answer. The checkpoint is
// the index's version, read after r arrived (checkpoint.go): "" when nothing is indexed or
// Redis fails, then the request is computed, and fails or succeeds on its own.
func (c *responseCache) serve(w http.ResponseWriter, r *http.Request, body []byte, next http.Handler) {
	checkpoint := c.reads.get(r.Context())
	if checkpoint == "" {
		next.ServeHTTP(w, r)
		return
	}
	if r.Header.Get("Cache-Control") == "no-cache" {
		// Computed afresh, at the checkpoint just read: its first read needs no GET of it.
		next.ServeHTTP(w, r.WithContext(store.WithViewAt(r.Context(), checkpoint)))
		return
	}
	k := cacheKey(r, body)
	now := time.Now()
	if e := c.get(k, checkpoint, now); e != nil {
		writeCached(w, e)
		return
	}
	fk := flightKey{k, checkpoint}
	c.mu.Lock()
	f, waiting := c.flights[fk]
	if !waiting {
		f = &flight{done: make(chan struct{})}
		c.flights[fk] = f
	}
	c.mu.Unlock()
	if waiting {
		select {
		case <-f.done:
			if f.resp != nil {
				writeCached(w, f.resp)
				return
			}
		case <-r.Context().Done():
		}
		next.ServeHTTP(w, r)
		return
	}
	defer func() {
		c.mu.Lock()
		delete(c.flights, fk)
		c.mu.Unlock()
		close(f.done)
	}()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	// The answer is stored under checkpoint: computing it at that checkpoint's view also
	// spares its first read a round trip when its page is in the store's memory.
	next.ServeHTTP(rec, r.WithContext(store.WithViewAt(r.Context(), checkpoint)))
	if rec.status == http.StatusOK && !rec.failed && !bytes.Contains(rec.buf.Bytes(), []byte(`"errors":`)) {
		f.resp = &cachedResponse{checkpoint: checkpoint, expires: now.Add(c.ttl), ctype: w.Header().Get("Content-Type"), body: rec.buf.Bytes()}
		c.put(k, f.resp)
	}
}

func writeCached(w http.ResponseWriter, e *cachedResponse) {
	w.Header().Set("Content-Type", e.ctype)
	w.Header().Set("X-Cache", "hit")
	_, _ = w.Write(e.body)
}

// recorder passes a response through and keeps a copy of it.
type recorder struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
	failed bool
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.buf.Write(b)
	n, err := r.ResponseWriter.Write(b)
	if err != nil {
		r.failed = true
	}
	return n, err
}
