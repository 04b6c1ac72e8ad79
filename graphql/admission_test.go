package graphql

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// held is a handler whose requests run until released, counting how many run at once and
// the order in which they started.
type held struct {
	release chan struct{}
	running atomic.Int32
	most    atomic.Int32
	mu      sync.Mutex
	order   []int
	started chan int
}

func newHeld() *held {
	return &held{release: make(chan struct{}), started: make(chan int, 64)}
}

func (h *held) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := h.running.Add(1)
	for {
		m := h.most.Load()
		if n <= m || h.most.CompareAndSwap(m, n) {
			break
		}
	}
	id, _ := strconv.Atoi(r.URL.Query().Get("id"))
	h.mu.Lock()
	h.order = append(h.order, id)
	h.mu.Unlock()
	h.started <- id
	<-h.release
	h.running.Add(-1)
	w.WriteHeader(http.StatusOK)
}

func serveAsync(h http.Handler, id int) <-chan *httptest.ResponseRecorder {
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/graphql?id="+strconv.Itoa(id), nil))
		done <- rec
	}()
	return done
}

// waitQueued waits until n requests wait for a place.
func waitQueued(t *testing.T, a *admission, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for a.queued.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests waiting, want %d", a.queued.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// At most the limit run at once; the others start in the order they arrived.
func TestAdmissionBoundsAndOrders(t *testing.T) {
	a := newAdmission(2, 100, time.Minute)
	h := newHeld()
	gated := a.wrap(h)
	var dones []<-chan *httptest.ResponseRecorder
	for id := 0; id < 2; id++ {
		dones = append(dones, serveAsync(gated, id))
		<-h.started
	}
	for id := 2; id < 10; id++ {
		dones = append(dones, serveAsync(gated, id))
		waitQueued(t, a, int64(id-1))
	}
	for i := 0; i < 8; i++ {
		h.release <- struct{}{}
		<-h.started
	}
	close(h.release)
	for _, d := range dones {
		if rec := <-d; rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
	}
	if got := h.most.Load(); got != 2 {
		t.Fatalf("%d ran at once, want 2", got)
	}
	for i, id := range h.order {
		if id != i {
			t.Fatalf("started in order %v, want arrival order", h.order)
		}
	}
	if q := a.queued.Load(); q != 0 {
		t.Fatalf("%d still counted as waiting", q)
	}
}

// A full queue and a wait past MaxQueueWait are refused with 503, Retry-After and
// UNAVAILABLE, and never reach the operation; a client that leaves while waiting frees its
// place in the queue.
func TestAdmissionRefusesWhatItCannotServe(t *testing.T) {
	a := newAdmission(1, 1, 200*time.Millisecond)
	h := newHeld()
	gated := a.wrap(h)
	first := serveAsync(gated, 0)
	<-h.started
	waiting := serveAsync(gated, 1)
	waitQueued(t, a, 1)

	full := <-serveAsync(gated, 2)
	checkRefused(t, full, "(operations: 1 running, 1 waiting)")
	timedOut := <-waiting
	checkRefused(t, timedOut, "waited 200ms")

	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		rec := httptest.NewRecorder()
		gated.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/graphql?id=3", nil).WithContext(ctx))
		left <- rec
	}()
	waitQueued(t, a, 1)
	cancel()
	<-left
	waitQueued(t, a, 0)

	close(h.release)
	if rec := <-first; rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if len(h.order) != 1 {
		t.Fatalf("%d requests reached the operation, want 1", len(h.order))
	}
}

func checkRefused(t *testing.T, rec *httptest.ResponseRecorder, says string) {
	t.Helper()
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("status %d, Retry-After %q; want 503 and 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	var resp struct {
		Errors []struct {
			Message    string
			Extensions struct{ Code string }
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || len(resp.Errors) != 1 {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
	e := resp.Errors[0]
	if e.Extensions.Code != CodeUnavailable || !strings.Contains(e.Message, says) {
		t.Fatalf("error %+v; want %s saying %q", e, CodeUnavailable, says)
	}
}
