package graphql_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/internal/scenario"
	"github.com/modeldao/modeldao/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// roundTrips counts Redis round trips: each command sent alone and each pipeline is one.
// The handshake of a new pooled connection (HELLO, CLIENT SETINFO) is not a cost of the
// query that happened to need the connection, and is not counted.
type roundTrips struct{ n atomic.Int64 }

func (c *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func handshake(cmd redis.Cmder) bool {
	switch cmd.Name() {
	case "hello", "client", "auth", "select":
		return true
	}
	return false
}

func (c *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !handshake(cmd) {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (c *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && !handshake(cmds[0]) {
			c.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

// env is an API over an index built by the real indexer from a chain scenario.
type env struct {
	redis  *redisserver.Server
	rdb    *redis.Client
	store  *store.Store
	srv    *httptest.Server
	url    string // the GraphQL endpoint
	client *client.Client
	// fresh bypasses the response cache (Cache-Control: no-cache), to measure computation.
	fresh *client.Client
	trips *roundTrips
	s     *scenario.Scenario
	chain *devchain.Chain
}

func (e *env) close() {
	e.srv.Close()
	e.rdb.Close()
	e.s.Close()
	_ = e.redis.Close()
}

// newEnv starts a redis-server, indexes the chain of s into it and serves the API.
func newEnv(ctx context.Context, s *scenario.Scenario, opts graphql.Options) (*env, error) {
	rs, err := redisserver.Start(ctx, redisserver.Options{})
	if err != nil {
		return nil, err
	}
	e := &env{redis: rs, s: s, chain: s.Chain, trips: &roundTrips{}}
	e.rdb = redis.NewClient(&redis.Options{Addr: rs.Addr()})
	d := s.DAO.Deployment
	e.store = store.New(e.rdb, store.NewKeys(d.ChainID, d.Governor), quiet)
	ix, err := indexer.New(indexer.Config{Chain: s.Chain.Client, Store: e.store, Deployment: d, Log: quiet})
	if err != nil {
		return nil, err
	}
	if _, err := ix.CatchUp(ctx); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	e.rdb.AddHook(e.trips)
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	e.srv = httptest.NewServer(graphql.NewHandler(e.store, opts))
	e.url = e.srv.URL + "/graphql"
	e.client = client.New(e.url, e.srv.Client())
	e.fresh = client.New(e.url, &http.Client{Transport: noCache{e.srv.Client().Transport}})
	return e, nil
}

// Actors of the fixed scenario (indexes of dev accounts).
const (
	alice  = 0 // holder, proposer of most proposals
	bob    = 1
	carol  = 2
	dave   = 3 // delegates to alice
	erin   = 4 // delegates to bob, then to alice
	pub1   = scenario.Publisher1
	pub2   = scenario.Publisher2
	audtr  = scenario.Auditor
	frank  = scenario.Extra1 // receives 100 tokens from alice, never delegates
	nobody = scenario.Extra2 // never appears on chain
)

// fixture is the fixed scenario: what happened, so that tests know every answer.
type fixture struct {
	*env
	addr func(i int) common.Address
	// proposals P1..P7 in order of creation (index 0 is P1)
	props []contracts.Proposal
	ids   []string
}

var fx *fixture

// buildFixture drives a DAO through a fixed history:
//
//	P1  setup (scenario.New): auditor "Fair Audits Ltd", policy 1 "fairness-baseline"; alice, bob, carol for
//	v1..v4: acme/sentiment v1, v2 by pub1; beta/vision v3, v4 by pub2 (tags llm + text/audio/vision/text)
//	audits: 1 on v1 (pass, DPD 0.05), 2 on v2 (fail, DPD 0.3), 3 on v3 (pass)
//	P2  approve v1 (policy 1, audit 1): alice for "Audit is convincing", bob for, carol against "Bias too high on one feature", dave abstain → executed
//	P3  reject v2 "bias too high": alice, bob for → executed
//	P4  approve v3 (policy 1, audit 3): alice, bob, carol for → executed
//	P5  revoke v3 "licence withdrawn": alice, bob for → executed
//	P6  (by bob) approve v4 without audit: alice against "no audit", bob for, carol against → defeated
//	then dave delegates to alice; erin to bob, then to alice; alice sends frank 100 tokens
//	P7  (by carol) reject v4 "no audit": alice for "Looks good to me" (2900 votes), carol against → still active
func buildFixture(ctx context.Context) (*fixture, error) {
	s, err := scenario.New(ctx, 1, false)
	if err != nil {
		return nil, err
	}
	f := &fixture{addr: func(i int) common.Address { return s.Chain.Accounts[i].Address }}
	d, c := s.DAO, s.Chain
	fail := func(err error) (*fixture, error) { s.Close(); return nil, err }

	// P1 is the setup proposal of scenario.New: rebuild it to know its id.
	p1, err := d.RegistryProposal("# Set up auditing\nRegister the first auditor and the baseline policy.",
		contracts.AddAuditor(f.addr(audtr), "Fair Audits Ltd"),
		contracts.AdoptPolicy(modeldao.Policy{Name: "fairness-baseline", Version: "1.0", DocumentCID: modeldao.Text(scenario.FakeCID("policy")), AuditRequired: true,
			Bounds: []modeldao.MetricBound{{Kind: modeldao.DemographicParityDifference, Limit: 100000}, {Kind: modeldao.DisparateImpactRatio, IsMinimum: true, Limit: 800000}}}))
	if err != nil {
		return fail(err)
	}
	f.props = append(f.props, p1)

	for i, m := range []struct {
		pub   int
		model string
	}{{pub1, "acme/sentiment"}, {pub1, "acme/sentiment"}, {pub2, "beta/vision"}, {pub2, "beta/vision"}} {
		w := fmt.Sprint("weights", i+1)
		if _, err := s.SubmitVersion(ctx, m.pub, m.model, scenario.FakeCID(w), sha256.Sum256([]byte(w))); err != nil {
			return fail(fmt.Errorf("submit %d: %w", i+1, err))
		}
	}
	for _, a := range []struct {
		v    uint64
		pass bool
	}{{1, true}, {2, false}, {3, true}} {
		if _, err := s.Audit(ctx, a.v, a.pass); err != nil {
			return fail(fmt.Errorf("audit of %d: %w", a.v, err))
		}
	}

	type vote struct {
		who     int
		support modeldao.VoteSupport
		reason  string
	}
	govern := func(proposer int, desc string, votes []vote, execute bool, calls ...contracts.RegistryCall) error {
		p, err := d.RegistryProposal(desc, calls...)
		if err != nil {
			return err
		}
		if err := d.Propose(ctx, proposer, p); err != nil {
			return err
		}
		f.props = append(f.props, p)
		for _, v := range votes {
			if err := d.Vote(ctx, v.who, p, v.support, v.reason); err != nil {
				return err
			}
		}
		if !execute {
			return nil
		}
		d.EndVoting()
		_, err = d.QueueAndExecute(ctx, p)
		return err
	}
	for _, g := range []struct {
		proposer int
		desc     string
		votes    []vote
		execute  bool
		calls    []contracts.RegistryCall
	}{
		{alice, "# Approve acme/sentiment v1\nAudited under the baseline policy.",
			[]vote{{alice, modeldao.SupportFor, "Audit is convincing"}, {bob, modeldao.SupportFor, ""}, {carol, modeldao.SupportAgainst, "Bias too high on one feature"}, {dave, modeldao.SupportAbstain, ""}},
			true, []contracts.RegistryCall{contracts.ApproveVersion(1, 1, 1)}},
		{alice, "# Reject acme/sentiment v2\nIts audit failed.", []vote{{alice, modeldao.SupportFor, ""}, {bob, modeldao.SupportFor, ""}},
			true, []contracts.RegistryCall{contracts.RejectVersion(2, "bias too high")}},
		{alice, "# Approve beta/vision v3", []vote{{alice, modeldao.SupportFor, ""}, {bob, modeldao.SupportFor, ""}, {carol, modeldao.SupportFor, ""}},
			true, []contracts.RegistryCall{contracts.ApproveVersion(3, 1, 3)}},
		{alice, "# Revoke beta/vision v3\nThe licence was withdrawn.", []vote{{alice, modeldao.SupportFor, ""}, {bob, modeldao.SupportFor, ""}},
			true, []contracts.RegistryCall{contracts.RevokeVersion(3, "licence withdrawn")}},
	} {
		if err := govern(g.proposer, g.desc, g.votes, g.execute, g.calls...); err != nil {
			return fail(fmt.Errorf("%s: %w", g.desc, err))
		}
	}
	// P6: defeated.
	if err := govern(bob, "# Approve beta/vision v4 without audit",
		[]vote{{alice, modeldao.SupportAgainst, "no audit"}, {bob, modeldao.SupportFor, ""}, {carol, modeldao.SupportAgainst, ""}},
		false, contracts.ApproveVersion(4, 1, 0)); err != nil {
		return fail(fmt.Errorf("P6: %w", err))
	}
	d.EndVoting()
	// Delegations and a transfer.
	for _, tx := range []struct {
		from int
		to   common.Address
	}{{dave, f.addr(alice)}, {erin, f.addr(bob)}, {erin, f.addr(alice)}} {
		// Explicit gas: geth's estimate of a re-delegation falls short (refunds).
		opts := c.Opts(tx.from)
		opts.GasLimit = 500_000
		if _, err := d.Mined(ctx)(d.Token.Delegate(opts, tx.to)); err != nil {
			return fail(fmt.Errorf("delegate: %w", err))
		}
	}
	opts := c.Opts(alice)
	opts.GasLimit = 500_000
	if _, err := d.Mined(ctx)(d.Token.Transfer(opts, f.addr(frank), devchain.Tokens(100))); err != nil {
		return fail(fmt.Errorf("transfer: %w", err))
	}
	// P7: active.
	if err := govern(carol, "# Reject beta/vision v4\nNo audit was posted.",
		[]vote{{alice, modeldao.SupportFor, "Looks good to me"}, {carol, modeldao.SupportAgainst, ""}},
		false, contracts.RejectVersion(4, "no audit")); err != nil {
		return fail(fmt.Errorf("P7: %w", err))
	}
	for _, p := range f.props {
		f.ids = append(f.ids, p.ID().String())
	}
	e, err := newEnv(ctx, s, graphql.Options{ChainID: devchain.ChainID, AllowedOrigins: []string{"https://app.example.org"}})
	if err != nil {
		return fail(err)
	}
	f.env = e
	// The pinner's part: v1 pinned.
	if err := e.store.SetPin(ctx, modeldao.Pin{VersionID: 1, CID: modeldao.Text(scenario.FakeCID("weights1")), Status: modeldao.PinPinned, Attempts: 1,
		Size: 123456, PinnedAt: time.Unix(1_700_000_000, 0).UTC(), UpdatedAt: time.Unix(1_700_000_000, 0).UTC()}); err != nil {
		e.close()
		return nil, err
	}
	return f, nil
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(envLoadServe); spec != "" {
		os.Exit(serveLoad(spec)) // BenchmarkLoad's API server process (load_server_test.go)
	}
	ctx := context.Background()
	var err error
	if fx, err = buildFixture(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "building the scenario:", err)
		os.Exit(1)
	}
	code := m.Run()
	fx.close()
	if large != nil {
		large.close()
	}
	os.Exit(code)
}

// tokens returns n whole tokens in base units.
func tokens(n int64) *big.Int { return devchain.Tokens(n) }

// trips runs f and returns the Redis round trips it cost.
func (e *env) tripsOf(t *testing.T, f func()) int64 {
	t.Helper()
	before := e.trips.n.Load()
	f()
	return e.trips.n.Load() - before
}

// noCache asks the API not to answer from its response cache.
type noCache struct{ http.RoundTripper }

func (t noCache) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Cache-Control", "no-cache")
	return t.RoundTripper.RoundTrip(r)
}
