package pinning_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ipfs/boxo/files"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"
	iface "github.com/ipfs/kubo/core/coreiface"
	"github.com/ipfs/kubo/core/coreiface/options"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/infra/kubo"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/pinning"
	"github.com/modeldao/modeldao/store"
)

// env is a real kubo daemon and a real redis-server, with the store of one DAO.
type env struct {
	t     testing.TB
	kubo  *kubo.Server
	rdb   *redis.Client
	keys  store.Keys
	st    *store.Store
	ipfs  *pinning.Client // counted client (see ops)
	ops   *opCounter
	plain *pinning.Client // uncounted client, for the test's own checks
	log   *slog.Logger
}

func newEnv(t testing.TB, kopts ...kubo.Options) *env {
	t.Helper()
	var ko kubo.Options
	if len(kopts) > 0 {
		ko = kopts[0]
	}
	ks := kubo.StartT(t, ko)
	rs := redisserver.StartT(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { rdb.Close() })
	keys := store.NewKeys(1337, common.HexToAddress("0x00000000000000000000000000000000000000aa"))
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := &env{t: t, kubo: ks, rdb: rdb, keys: keys, st: store.New(rdb, keys, log), log: log}
	e.ops = &opCounter{ops: map[string]int{}}
	var err error
	if e.ipfs, err = pinning.NewClient(ks.APIAddr(), &http.Client{Transport: e.ops}); err != nil {
		t.Fatal(err)
	}
	if e.plain, err = pinning.NewClient(ks.APIURL(), nil); err != nil {
		t.Fatal(err)
	}
	return e
}

// testWriter sends logs to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// opCounter is an http.RoundTripper that counts RPC commands ("pin/add <cid>") and failed
// requests, and can hold pin/add requests until their context ends (hold).
type opCounter struct {
	mu     sync.Mutex
	ops    map[string]int
	errs   int
	hold   bool
	holdCh chan string // receives the CID of each held pin/add
}

func (o *opCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	cmd := strings.TrimPrefix(req.URL.Path, "/api/v0/")
	arg := req.URL.Query().Get("arg")
	o.mu.Lock()
	o.ops[cmd+" "+arg]++
	hold, ch := o.hold, o.holdCh
	o.mu.Unlock()
	if hold && cmd == "pin/add" {
		if ch != nil {
			ch <- arg
		}
		<-req.Context().Done()
		return nil, &url.Error{Op: "Post", URL: req.URL.String(), Err: req.Context().Err()}
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		o.mu.Lock()
		o.errs++
		o.mu.Unlock()
	}
	return resp, err
}

func (o *opCounter) count(op string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ops[op]
}

func (o *opCounter) errors() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.errs
}

// config is a fast configuration for tests.
func (e *env) config(name string) pinning.Config {
	cfg := pinning.DefaultConfig()
	cfg.Consumer = name
	cfg.BaseBackoff = 20 * time.Millisecond
	cfg.MaxBackoff = 200 * time.Millisecond
	cfg.Block = 100 * time.Millisecond
	cfg.InactivityTimeout = 10 * time.Second
	cfg.Logger = e.log
	return cfg
}

// content returns n deterministic pseudo-random bytes of the given seed.
func content(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	_, _ = r.Read(b)
	return b
}

// genReader streams n deterministic pseudo-random bytes of the given seed.
func genReader(seed uint64, n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 1}), n)
}

// add adds data to kubo as CIDv1 without pinning it (the blocks are local, nothing holds them)
// and returns its CID and sha256.
func (e *env) add(data []byte) (string, common.Hash) {
	e.t.Helper()
	p, err := e.plain.Unixfs().Add(context.Background(), files.NewBytesFile(data), options.Unixfs.CidVersion(1), options.Unixfs.Pin(false, ""))
	if err != nil {
		e.t.Fatalf("adding %d bytes: %v", len(data), err)
	}
	return p.RootCid().String(), sha256Of(data)
}

// absentCID returns a valid CID of content that was never added.
func (e *env) absentCID(seed uint64) string {
	e.t.Helper()
	p, err := e.plain.Unixfs().Add(context.Background(), files.NewBytesFile(content(seed, 4096)), options.Unixfs.CidVersion(1), options.Unixfs.HashOnly(true))
	if err != nil {
		e.t.Fatal(err)
	}
	return p.RootCid().String()
}

// version writes the version record in the documented layout (version hash, JSON).
func (e *env) putVersion(pipe redis.Pipeliner, v modeldao.ModelVersion) {
	raw, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	pipe.HSet(context.Background(), e.keys.Key("version"), strconv.FormatUint(v.ID, 10), raw)
}

func newVersion(id uint64, c string, sha common.Hash, status modeldao.VersionStatus) modeldao.ModelVersion {
	return modeldao.ModelVersion{ID: id, ModelName: "m", Label: modeldao.Text("v" + strconv.FormatUint(id, 10)), WeightsCID: modeldao.Text(c), WeightsSHA256: sha, License: "MIT", Status: status}
}

// approve records an approval the way the indexer does: the version becomes APPROVED and the
// pin job is enqueued in the same MULTI/EXEC.
func (e *env) approve(id uint64, c string, sha common.Hash) {
	e.t.Helper()
	ctx := context.Background()
	_, err := e.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		e.putVersion(pipe, newVersion(id, c, sha, modeldao.VersionApproved))
		e.keys.EnqueuePin(pipe, ctx, store.PinJob{Op: store.PinOpPin, VersionID: id, CID: c, SHA256: sha, Block: 10 + id})
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// revoke records a revocation the way the indexer does.
func (e *env) revoke(id uint64, c string, sha common.Hash) {
	e.t.Helper()
	ctx := context.Background()
	_, err := e.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		e.putVersion(pipe, newVersion(id, c, sha, modeldao.VersionRevoked))
		e.keys.EnqueuePin(pipe, ctx, store.PinJob{Op: store.PinOpUnpin, VersionID: id, CID: c, SHA256: sha, Block: 100 + id})
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) pin(id uint64) *modeldao.Pin {
	e.t.Helper()
	p, err := e.st.GetPin(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// waitStatus polls the pin record of id until it has status, for up to d.
func (e *env) waitStatus(id uint64, status modeldao.PinStatus, d time.Duration) *modeldao.Pin {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for {
		p := e.pin(id)
		if p != nil && p.Status == status {
			return p
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("version %d: pin record %+v, want status %s within %s", id, p, status, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFor polls cond every 20 ms for up to d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pins lists kubo's recursive pins: CID → name.
func (e *env) pins() map[string]string {
	e.t.Helper()
	ch := make(chan iface.Pin)
	errc := make(chan error, 1)
	go func() {
		errc <- e.plain.Pin().Ls(context.Background(), ch, options.Pin.Ls.Recursive(), options.Pin.Ls.Detailed(true))
	}()
	out := map[string]string{}
	for p := range ch {
		out[p.Path().RootCid().String()] = p.Name()
	}
	if err := <-errc; err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) isPinned(c string) bool {
	e.t.Helper()
	id, err := cid.Decode(c)
	if err != nil {
		e.t.Fatal(err)
	}
	_, ok, err := e.plain.Pin().IsPinned(context.Background(), path.FromCid(id), options.Pin.IsPinned.Recursive())
	if err != nil {
		e.t.Fatal(err)
	}
	return ok
}

// backlog returns the jobs left in the stream and in the retry set.
func (e *env) backlog() (int64, int64) {
	e.t.Helper()
	q, w, err := e.st.PinBacklog(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return q, w
}

// runConsumer runs c.Run in the background until the test ends or cancel is called.
func runConsumer(t testing.TB, c *pinning.Consumer) (cancel func()) {
	ctx, cancelCtx := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancelCtx()
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

func sha256Of(b []byte) common.Hash { return sha256Sum(bytes.NewReader(b)) }

func sha256Sum(r io.Reader) common.Hash {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		panic(err)
	}
	return common.BytesToHash(h.Sum(nil))
}
