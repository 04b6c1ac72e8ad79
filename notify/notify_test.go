package notify_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/internal/scenario"
	"github.com/modeldao/modeldao/notify"
	"github.com/modeldao/modeldao/store"
)

// receiver is a webhook endpoint over a real HTTP server: it verifies every request's
// signature as a receiver must, and counts deliveries per event id (the idempotency key).
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	secret   string
	requests int
	badSig   int
	counts   map[string]int
	got      []modeldao.Notification // first delivery of each id, in arrival order
	status   func(n int) int         // answer to the n-th request (0-based); nil: 200
	delay    time.Duration
	hang     func(n int) bool // the n-th request hangs until the client gives up
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, counts: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	secret := r.secret
	r.mu.Unlock()
	if err := notify.Verify(secret, req.Header.Get(notify.HeaderSignature), req.Header.Get(notify.HeaderTimestamp), body, 5*time.Minute, time.Now()); err != nil {
		r.mu.Lock()
		r.badSig++
		r.mu.Unlock()
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var n modeldao.Notification
	if err := json.Unmarshal(body, &n); err != nil || n.ID != req.Header.Get(notify.HeaderEventID) {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	k := r.requests
	r.requests++
	status, delay, hang := http.StatusOK, r.delay, r.hang != nil && r.hang(k)
	if r.status != nil {
		status = r.status(k)
	}
	r.mu.Unlock()
	if hang {
		<-req.Context().Done()
		return
	}
	select {
	case <-time.After(delay):
	case <-req.Context().Done():
		return
	}
	if status == http.StatusOK {
		r.mu.Lock()
		if r.counts[n.ID] == 0 {
			r.got = append(r.got, n)
		}
		r.counts[n.ID]++
		r.mu.Unlock()
	}
	w.WriteHeader(status)
}

func (r *receiver) snapshot() (got []modeldao.Notification, counts map[string]int, requests int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	counts = map[string]int{}
	for k, v := range r.counts {
		counts[k] = v
	}
	return append([]modeldao.Notification(nil), r.got...), counts, r.requests
}

type env struct {
	t   *testing.T
	ctx context.Context
	s   *scenario.Scenario
	st  *store.Store
	ix  *indexer.Indexer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	srv := redisserver.StartT(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	s, err := scenario.New(ctx, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	d := s.DAO.Deployment
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := store.New(rdb, store.NewKeys(d.ChainID, d.Governor), log)
	ix, err := indexer.New(indexer.Config{Chain: s.Chain.Client, Store: st, Deployment: d, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, s: s, st: st, ix: ix}
}

func (e *env) catchUp() {
	e.t.Helper()
	if _, err := e.ix.CatchUp(e.ctx); err != nil {
		e.t.Fatalf("indexer: %v", err)
	}
}

func (e *env) add(r *receiver, events string, model *common.Hash) modeldao.Webhook {
	e.t.Helper()
	evs, err := modeldao.ParseNotificationTypes(events)
	if err != nil {
		e.t.Fatal(err)
	}
	w, err := e.st.AddWebhook(e.ctx, modeldao.Webhook{URL: r.srv.URL + "/hook", Events: evs, Model: model})
	if err != nil {
		e.t.Fatal(err)
	}
	r.mu.Lock()
	r.secret = w.Secret
	r.mu.Unlock()
	return w
}

// approveNew submits, audits and approves a version of model name; it returns the version.
func (e *env) approveNew(name string) uint64 {
	e.t.Helper()
	w := []byte("weights of " + name)
	id, err := e.s.SubmitVersion(e.ctx, scenario.Publisher1, name, scenario.FakeCID(name), sha256.Sum256(w))
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.s.Audit(e.ctx, id, true); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.s.DAO.Pass(e.ctx, "# Approve "+name, []int{0, 1, 2}, contracts.ApproveVersion(id, e.s.Policy, e.s.Audits[id])); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) outbox() []modeldao.Notification {
	e.t.Helper()
	ns, err := e.st.ReadOutbox(e.ctx, "", 10_000)
	if err != nil {
		e.t.Fatal(err)
	}
	return ns
}

func (e *env) modelOf(version uint64) common.Hash {
	e.t.Helper()
	v, err := e.st.VersionForPin(e.ctx, version)
	if err != nil || v == nil {
		e.t.Fatalf("version %d: %+v %v", version, v, err)
	}
	return v.ModelID
}

func fastConfig() notify.Config {
	return notify.Config{MaxAttempts: 4, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		RequestTimeout: 5 * time.Second, PollInterval: 20 * time.Millisecond, LockTTL: time.Second}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ids(ns []modeldao.Notification) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}

func types(ns []modeldao.Notification) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = string(n.Type)
		if n.Type == modeldao.NoteRetracted {
			out[i] += ":" + string(n.RetractsType)
		}
	}
	return out
}

func wantsOf(w modeldao.Webhook, ns []modeldao.Notification) []modeldao.Notification {
	var out []modeldao.Notification
	for _, n := range ns {
		if w.Wants(n) {
			out = append(out, n)
		}
	}
	return out
}

// TestDeliveryRetrySlowReceiverAndReorg: the indexer on a simulated chain fills the outbox; a
// notifier delivers it to three real HTTP receivers. All gets everything in outbox order,
// with valid signatures; Approvals (one model, approvals only) fails twice and then gets its
// approval; Slow takes a second per request and holds up nobody else; a reorg that undoes an
// approval sends retractions of what it undid.
func TestDeliveryRetrySlowReceiverAndReorg(t *testing.T) {
	e := newEnv(t)
	all, approvals, slow := newReceiver(t), newReceiver(t), newReceiver(t)
	approvals.status = func(n int) int {
		if n < 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	slow.delay = time.Second
	e.add(all, "", nil)
	e.add(slow, "", nil)
	e.catchUp() // the scenario's set-up: policy, auditor, its proposal
	v1 := e.approveNew("llama-fair")
	e.catchUp()
	model := e.modelOf(v1)
	wApp := e.add(approvals, "version.approved,retracted", &model)
	v2 := e.approveNew("llama-fair")
	e.catchUp()

	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	n := notify.New(e.st, fastConfig(), nil, nil)
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()

	out := e.outbox()
	if len(out) < 15 {
		t.Fatalf("outbox has %d entries: %v", len(out), types(out))
	}
	waitFor(t, "All to get the whole outbox", 60*time.Second, func() bool {
		got, _, _ := all.snapshot()
		return len(got) == len(out)
	})
	_, _, slowReqs := slow.snapshot()
	if slowReqs > len(out)/2 {
		t.Fatalf("Slow had %d of %d requests by the time All had everything: it held All up", slowReqs, len(out))
	}
	got, counts, _ := all.snapshot()
	if strings.Join(ids(got), ",") != strings.Join(ids(out), ",") {
		t.Fatalf("All got %v, want the outbox in order %v", types(got), types(out))
	}
	for id, c := range counts {
		if c != 1 {
			t.Errorf("All got %s %d times", id, c)
		}
	}
	want := wantsOf(wApp, out)
	if len(want) != 1 || want[0].Type != modeldao.NoteVersionApproved {
		t.Fatalf("Approvals wants %v, want v%d's approval alone (v1's was before it registered)", types(want), v2)
	}
	waitFor(t, "Approvals to get its approval after two failures", 30*time.Second, func() bool {
		got, _, _ := approvals.snapshot()
		return len(got) == 1
	})
	if got, _, reqs := approvals.snapshot(); got[0].ID != want[0].ID || reqs != 3 {
		t.Fatalf("Approvals got %v in %d requests, want %s in 3", ids(got), reqs, want[0].ID)
	}

	// A reorg undoes v3's approval proposal: every entry it made is retracted, and the
	// retraction of the approval reaches Approvals too.
	before, err := e.s.Chain.Head(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	v3 := e.approveNew("llama-fair")
	e.catchUp()
	after, _ := e.s.Chain.Head(e.ctx)
	mid := e.outbox()
	undone := mid[len(out):]
	if err := e.s.Chain.Fork(before.Hash()); err != nil {
		t.Fatal(err)
	}
	e.s.Chain.Mine(int(after.Number.Uint64()-before.Number.Uint64()) + 2)
	e.catchUp()
	final := e.outbox()
	// (The pool puts the abandoned branch's transactions back: what follows the
	// retractions is the new branch's own history.)
	retractions := final[len(mid):]
	if len(retractions) < len(undone) {
		t.Fatalf("the reorg undid %v (v%d) and appended %v", types(undone), v3, types(retractions))
	}
	for i, r := range retractions[:len(undone)] {
		if u := undone[len(undone)-1-i]; r.Type != modeldao.NoteRetracted || r.Retracts != u.ID || r.RetractsType != u.Type {
			t.Fatalf("retraction %d is %+v, want one of %+v", i, r, u)
		}
	}
	waitFor(t, "All to get the retractions", 60*time.Second, func() bool {
		got, _, _ := all.snapshot()
		return len(got) == len(final)
	})
	waitFor(t, "Approvals to get v3's approval and its retraction", 30*time.Second, func() bool {
		got, _, _ := approvals.snapshot()
		return len(got) == 3
	})
	got, _, _ = approvals.snapshot()
	if got[1].Type != modeldao.NoteVersionApproved || got[2].Type != modeldao.NoteRetracted || got[2].Retracts != got[1].ID {
		t.Fatalf("Approvals got %v", types(got))
	}
	for _, r := range []*receiver{all, approvals, slow} {
		if _, _, _ = r.snapshot(); r.badSig != 0 {
			t.Fatalf("%d requests failed signature verification", r.badSig)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

}

// TestCrashedNotifierResumes: a notifier dies while a receiver holds a request; a new one
// resumes from the state in Redis. Every event arrives, in order, and only the one that was
// in flight arrives twice (with the same idempotency key).
func TestCrashedNotifierResumes(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t)
	var killed sync.Once
	ctx1, kill := context.WithCancel(e.ctx)
	r.hang = func(n int) bool {
		if n == 4 {
			killed.Do(func() { go func() { time.Sleep(100 * time.Millisecond); kill() }() })
			return true
		}
		return false
	}
	e.add(r, "", nil)
	e.catchUp()
	out := e.outbox()
	n1 := notify.New(e.st, fastConfig(), nil, nil)
	if err := n1.Run(ctx1); err != nil {
		t.Fatal(err)
	}
	got, _, reqs := r.snapshot()
	if len(got) != 4 || reqs != 5 {
		t.Fatalf("before the crash: %d delivered in %d requests, want 4 in 5", len(got), reqs)
	}
	n2 := notify.New(e.st, fastConfig(), nil, nil)
	rep, err := n2.RunOnce(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, counts, _ := r.snapshot()
	if strings.Join(ids(got), ",") != strings.Join(ids(out), ",") {
		t.Fatalf("after the restart: got %v, want %v", ids(got), ids(out))
	}
	if rep.Delivered != len(out)-4 {
		t.Fatalf("the second notifier delivered %d, want %d", rep.Delivered, len(out)-4)
	}
	for id, c := range counts {
		if c != 1 {
			t.Errorf("%s delivered %d times", id, c)
		}
	}
}

// TestDeadLetter: a receiver that always fails gets MaxAttempts requests per event, then the
// event goes to the dead letters and the queue moves on.
func TestDeadLetter(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t)
	r.status = func(int) int { return http.StatusInternalServerError }
	w := e.add(r, "policy.adopted", nil)
	e.catchUp()
	out := wantsOf(w, e.outbox())
	if len(out) != 1 {
		t.Fatalf("want one policy.adopted, outbox has %v", types(out))
	}
	n := notify.New(e.st, fastConfig(), nil, nil)
	var rep notify.Report
	waitFor(t, "the dead letter", 20*time.Second, func() bool {
		r1, err := n.RunOnce(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		rep.Retried += r1.Retried
		rep.Dead += r1.Dead
		return rep.Dead == 1
	})
	dead, err := e.st.DeadLetters(e.ctx, w.ID)
	if err != nil || len(dead) != 1 || dead[0].ID != out[0].ID {
		t.Fatalf("dead letters %v, %v; want %s", dead, err, out[0].ID)
	}
	if _, _, reqs := r.snapshot(); reqs != 4 || rep.Retried != 3 {
		t.Fatalf("%d requests, %d retries; want 4 and 3", reqs, rep.Retried)
	}
	qs, err := e.st.NotifyQueues(e.ctx, []string{w.ID})
	if err != nil || qs[0].Queued != 0 || qs[0].Dead != 1 {
		t.Fatalf("queue %+v, %v", qs, err)
	}
}

// TestSignature: what a receiver checks.
func TestSignature(t *testing.T) {
	body := []byte(`{"id":"1-0","type":"vote.cast"}`)
	now := time.Unix(1_800_000_000, 0)
	sig := notify.Sign("whsec_k", now.Unix(), body)
	ts := "1800000000"
	if err := notify.Verify("whsec_k", sig, ts, body, 5*time.Minute, now.Add(time.Minute)); err != nil {
		t.Fatalf("valid delivery refused: %v", err)
	}
	for name, err := range map[string]error{
		"wrong secret":  notify.Verify("whsec_x", sig, ts, body, 5*time.Minute, now),
		"altered body":  notify.Verify("whsec_k", sig, ts, append(body, ' '), 5*time.Minute, now),
		"moved stamp":   notify.Verify("whsec_k", sig, "1800000001", body, 5*time.Minute, now),
		"replayed late": notify.Verify("whsec_k", sig, ts, body, 5*time.Minute, now.Add(10*time.Minute)),
		"no stamp":      notify.Verify("whsec_k", sig, "", body, 5*time.Minute, now),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
