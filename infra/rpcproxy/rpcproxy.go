// Package rpcproxy is an HTTP JSON-RPC reverse proxy for tests that puts a real network's
// timing between a client and a node: every call is delayed (uniform in [MinLatency,
// MaxLatency], from a seeded source), and a chosen call can be held — its request before it
// reaches the node, or its response after the node answered — while the test changes the
// chain (a reorg, a rollback), so the client receives an answer of a chain that is gone. The
// proxy can be stopped or killed and started again on the same port.
//
// It never changes a request or a response; batches are forwarded as they are.
package rpcproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/modeldao/modeldao/infra/procutil"
)

// Options configures a proxy. Target is required.
type Options struct {
	// Target is the node's JSON-RPC URL.
	Target string
	// Port to listen on (127.0.0.1 only); 0 picks a free one.
	Port int
	// MinLatency and MaxLatency bound the delay added to each call before it is forwarded.
	MinLatency, MaxLatency time.Duration
	// Seed seeds the delays, so a run can be repeated.
	Seed uint64
	// Logger logs holds and restarts; nil means slog.Default().
	Logger *slog.Logger
}

// Call is one JSON-RPC call of a request (a batch has several).
type Call struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// Param decodes the i-th parameter of the call into v.
func (c Call) Param(i int, v any) error {
	var params []json.RawMessage
	if err := json.Unmarshal(c.Params, &params); err != nil {
		return fmt.Errorf("rpcproxy: params of %s: %w", c.Method, err)
	}
	if i >= len(params) {
		return fmt.Errorf("rpcproxy: %s has %d params, not %d", c.Method, len(params), i+1)
	}
	return json.Unmarshal(params[i], v)
}

// Stage is where a hold stops a call.
type Stage int

const (
	// Response: the request is forwarded, and the node's answer is kept from the client
	// until the hold's Then has run (an answer of a chain that may be gone by then).
	Response Stage = iota
	// Request: the request reaches the node only after Then has run.
	Request
)

// Hold picks calls to stop and says what happens while they are stopped.
type Hold struct {
	// Match picks the call (for a batch: any of its calls).
	Match func(Call) bool
	// Stage is where the call is stopped.
	Stage Stage
	// Then runs while the call is stopped, with the call that matched; the call goes on
	// when it returns.
	Then func(ctx context.Context, c Call) error
	// Times is how many calls to hold (0 means 1).
	Times int
}

// Held reports on a hold.
type Held struct {
	times int
	done  chan struct{}

	mu       sync.Mutex
	calls    []Call
	released int
	errs     []error
}

// Done is closed once the hold has held and released its last call.
func (h *Held) Done() <-chan struct{} { return h.done }

// Wait waits until the hold has held and released all its calls, and returns the first
// error of Then.
func (h *Held) Wait(ctx context.Context) error {
	select {
	case <-h.done:
	case <-ctx.Done():
		return fmt.Errorf("rpcproxy: the held call did not come: %w", ctx.Err())
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return errors.Join(h.errs...)
}

// Calls returns the calls held so far.
func (h *Held) Calls() []Call {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Call(nil), h.calls...)
}

type hold struct {
	Hold
	held *Held
	left int
}

// Proxy is a running proxy.
type Proxy struct {
	opts   Options
	port   int
	log    *slog.Logger
	client *http.Client

	mu      sync.Mutex
	rng     *rand.Rand
	holds   []*hold
	counts  map[string]int
	srv     *http.Server
	kill    context.CancelFunc // ends the calls in flight of the current server
	running bool
}

// Start listens on 127.0.0.1 and forwards to opts.Target.
func Start(opts Options) (*Proxy, error) {
	if opts.Target == "" {
		return nil, errors.New("rpcproxy: no target URL")
	}
	if opts.MaxLatency < opts.MinLatency {
		return nil, fmt.Errorf("rpcproxy: MaxLatency %v is below MinLatency %v", opts.MaxLatency, opts.MinLatency)
	}
	p := &Proxy{
		opts:   opts,
		port:   opts.Port,
		log:    opts.Logger,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		rng:    rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x5bd1e995)),
		counts: map[string]int{},
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.port == 0 {
		var err error
		if p.port, err = procutil.FreePort(); err != nil {
			return nil, err
		}
	}
	if err := p.listen(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Proxy) listen() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running {
		return nil
	}
	l, err := net.Listen("tcp", procutil.LoopbackAddr(p.port))
	if err != nil {
		return fmt.Errorf("rpcproxy: listen on port %d: %w", p.port, err)
	}
	ctx, kill := context.WithCancel(context.Background())
	srv := &http.Server{Handler: http.HandlerFunc(p.serve), BaseContext: func(net.Listener) context.Context { return ctx }}
	p.srv, p.kill, p.running = srv, kill, true
	go func() { _ = srv.Serve(l) }()
	return nil
}

// URL returns the proxy's endpoint, "http://127.0.0.1:PORT".
func (p *Proxy) URL() string { return "http://" + procutil.LoopbackAddr(p.port) }

// Port returns the port the proxy listens on, across restarts.
func (p *Proxy) Port() int { return p.port }

// Hold registers a hold; the returned Held reports when it happened.
func (p *Proxy) Hold(h Hold) *Held {
	if h.Times <= 0 {
		h.Times = 1
	}
	held := &Held{times: h.Times, done: make(chan struct{})}
	p.mu.Lock()
	p.holds = append(p.holds, &hold{Hold: h, held: held, left: h.Times})
	p.mu.Unlock()
	return held
}

// Count returns how many calls of method the proxy received.
func (p *Proxy) Count(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[method]
}

// Stop stops accepting calls and lets those in flight finish (held ones included), within
// ctx. Restart listens again.
func (p *Proxy) Stop(ctx context.Context) error {
	p.mu.Lock()
	srv, running := p.srv, p.running
	p.running = false
	p.mu.Unlock()
	if !running {
		return nil
	}
	return srv.Shutdown(ctx)
}

// Kill drops every connection at once, calls in flight included (their clients see a
// broken connection), as if the proxy's process died. Restart listens again.
func (p *Proxy) Kill() error {
	p.mu.Lock()
	srv, kill, running := p.srv, p.kill, p.running
	p.running = false
	p.mu.Unlock()
	if !running {
		return nil
	}
	kill()
	return srv.Close()
}

// Restart listens again on the same port after Stop or Kill.
func (p *Proxy) Restart() error {
	if err := p.listen(); err != nil {
		return err
	}
	p.log.Info("rpc proxy restarted", "url", p.URL())
	return nil
}

// Close kills the proxy.
func (p *Proxy) Close() error {
	err := p.Kill()
	p.client.CloseIdleConnections()
	return err
}

// parse reads the calls of a request body: one object or a batch.
func parse(body []byte) []Call {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var calls []Call
		if json.Unmarshal(body, &calls) != nil {
			return nil
		}
		return calls
	}
	var c Call
	if json.Unmarshal(body, &c) != nil {
		return nil
	}
	return []Call{c}
}

// admit counts the calls, draws the delay and claims the first hold that matches, returning
// it with the call that matched.
func (p *Proxy) admit(calls []Call) (time.Duration, *hold, Call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range calls {
		p.counts[c.Method]++
	}
	d := p.opts.MinLatency
	if span := p.opts.MaxLatency - p.opts.MinLatency; span > 0 {
		d += time.Duration(p.rng.Int64N(int64(span) + 1))
	}
	for _, h := range p.holds {
		if h.left == 0 {
			continue
		}
		for _, c := range calls {
			if h.Match(c) {
				h.left--
				return d, h, c
			}
		}
	}
	return d, nil, Call{}
}

// unclaim gives a hold back when its call ended before it was held (the client gave up
// during the delay), so that the next matching call is held instead.
func (p *Proxy) unclaim(h *hold) {
	if h == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	h.left++
}

// release runs a hold's Then and records its outcome.
func (p *Proxy) release(ctx context.Context, h *hold, c Call) {
	p.log.Debug("rpc proxy holds a call", "method", c.Method, "params", string(c.Params), "stage", h.Stage)
	var err error
	if h.Then != nil {
		// The test's change of the chain runs to its end even if the client gives up.
		err = h.Then(context.WithoutCancel(ctx), c)
	}
	h.held.mu.Lock()
	h.held.calls = append(h.held.calls, c)
	h.held.released++
	if err != nil {
		h.held.errs = append(h.held.errs, err)
	}
	last := h.held.released == h.held.times
	h.held.mu.Unlock()
	if last {
		close(h.held.done)
	}
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	calls := parse(body)
	delay, h, matched := p.admit(calls)
	t := time.NewTimer(delay)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		p.unclaim(h)
		return
	}
	if h != nil && h.Stage == Request {
		p.release(ctx, h, matched)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.opts.Target, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			http.Error(w, "rpcproxy: node unreachable: "+err.Error(), http.StatusBadGateway)
		}
		return
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		http.Error(w, "rpcproxy: reading the node's answer: "+err.Error(), http.StatusBadGateway)
		return
	}
	if h != nil && h.Stage == Response {
		p.release(ctx, h, matched)
	}
	if ctx.Err() != nil {
		return // killed while held: the client sees a dropped connection
	}
	for _, k := range []string{"Content-Type", "Content-Encoding"} {
		if v := resp.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
}

// Method returns a Match for calls of one method.
func Method(name string) func(Call) bool {
	return func(c Call) bool { return c.Method == name }
}

// MethodWith returns a Match for calls of one method whose params contain substr (e.g. a
// block number in hex).
func MethodWith(name, substr string) func(Call) bool {
	return func(c Call) bool { return c.Method == name && strings.Contains(string(c.Params), substr) }
}
