package graphql

import (
	"net/http"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"
)

// Admission. A GraphQL operation is CPU work of a fraction of a millisecond to a few
// milliseconds. Left to the scheduler, 64 clients' operations all run at once on two cores:
// each takes 64 times its own CPU time to finish, they interleave with the collector's
// assists, and the slowest of them (the p99 a frontend feels) takes several times the median.
// Admitted a few at a time, in the order they arrived, an operation waits for the ones ahead
// of it and then runs nearly alone: the same throughput, latency in the order of arrival,
// and a live heap of a few operations instead of 64.
//
// Answers from the response cache never wait here: they cost a GET and a copy.

// DefaultMaxConcurrentOperations is Options.MaxConcurrentOperations' default per CPU
// (GOMAXPROCS): enough to keep the CPUs busy while some operations wait on Redis.
const DefaultMaxConcurrentOperations = 4

// admission lets at most cap(slots) operations execute at once; the others wait in arrival
// order (a channel's blocked senders are woken first in, first out) for at most maxWait,
// and at most maxQueued of them wait.
type admission struct {
	slots     chan struct{}
	queued    atomic.Int64
	maxQueued int64
	maxWait   time.Duration
}

func newAdmission(concurrent, queued int, maxWait time.Duration) *admission {
	return &admission{slots: make(chan struct{}, concurrent), maxQueued: int64(queued), maxWait: maxWait}
}

// defaultConcurrentOperations is DefaultMaxConcurrentOperations per CPU the process may use.
func defaultConcurrentOperations() int {
	return DefaultMaxConcurrentOperations * runtime.GOMAXPROCS(0)
}

// wrap admits each request to next; a request that cannot be admitted is answered 503 with
// Retry-After and the code UNAVAILABLE, and reaches nothing.
func (a *admission) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.acquire(w, r) {
			return
		}
		defer func() { <-a.slots }()
		next.ServeHTTP(w, r)
	})
}

func (a *admission) acquire(w http.ResponseWriter, r *http.Request) bool {
	select {
	case a.slots <- struct{}{}:
		return true
	default:
	}
	if a.queued.Add(1) > a.maxQueued {
		a.queued.Add(-1)
		a.refuse(w, "the server is at capacity (operations: %d running, %d waiting): retry in a second", cap(a.slots), a.maxQueued)
		return false
	}
	defer a.queued.Add(-1)
	t := time.NewTimer(a.maxWait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return true
	case <-t.C:
		a.refuse(w, "the server is at capacity: the request waited %s for one of %d places; retry in a second", a.maxWait, cap(a.slots))
		return false
	case <-r.Context().Done():
		// The client left; nothing reads an answer.
		return false
	}
}

func (a *admission) refuse(w http.ResponseWriter, format string, args ...any) {
	w.Header().Set("Retry-After", strconv.Itoa(1))
	writeError(w, http.StatusServiceUnavailable, requestError(CodeUnavailable, format, args...))
}
