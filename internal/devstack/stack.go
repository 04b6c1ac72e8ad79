// Package devstack runs the whole ModelDAO stack on one machine, as `modeldao dev` (and so
// `make dev`) starts it: a dev chain serving JSON-RPC over HTTP and WebSocket that mines a
// block for each transaction and on a timer, redis-server and a kubo daemon (unless external
// ones are given), the contracts deployed, demo data seeded, and the indexer (follow mode),
// the pinner, the webhook notifier and the GraphQL API with GraphiQL running against them. Close stops everything
// and removes what it created.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/infra/kubo"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/notify"
	"github.com/modeldao/modeldao/pinning"
	"github.com/modeldao/modeldao/store"
)

// Options configure a stack. Start fills in the defaults of zero values.
type Options struct {
	RPCAddr  string // JSON-RPC (HTTP and WebSocket) of the dev chain [127.0.0.1:8545]; port 0 picks a free one
	APIAddr  string // GraphQL API and GraphiQL [127.0.0.1:8080]; port 0 picks a free one
	IPFSPort int    // RPC API port of the kubo daemon it starts; 0 picks a free one
	RedisURL string // use this Redis instead of starting redis-server
	// RedisCluster: RedisURL is a node of a Redis Cluster (REDIS_CLUSTER=true).
	RedisCluster bool
	IPFSURL      string // use this kubo RPC API (URL or multiaddr) instead of starting a daemon
	DataDir      string // keep data here (deployment.json, kubo repository, logs); "" uses a temporary directory removed by Close
	Empty        bool   // deploy the contracts but seed no demo data
	BlockTime    time.Duration
	Accounts     int              // funded dev accounts [10]
	Config       contracts.Config // governance parameters of the deployment [DefaultConfig]
	Log          *slog.Logger     // [slog.Default()]
	// Progress, if set, receives one line per step while the stack starts.
	Progress func(format string, args ...any)
}

// Account is a funded dev account.
type Account struct {
	Index      int    `json:"index"`
	Address    string `json:"address"`
	PrivateKey string `json:"privateKey"` // DEV ONLY: these keys are public knowledge
	Role       string `json:"role,omitempty"`
	Tokens     string `json:"tokens,omitempty"`
}

// Info describes a running stack.
type Info struct {
	RPCURL         string               `json:"rpcUrl"`
	WSURL          string               `json:"wsUrl"`
	ChainID        uint64               `json:"chainId"`
	GraphQLURL     string               `json:"graphqlUrl"`
	GraphiQLURL    string               `json:"graphiqlUrl"`
	RelayURL       string               `json:"relayUrl"`       // the gasless relayer, beside the API
	RelayerAddress string               `json:"relayerAddress"` // the account it sends from
	RedisURL       string               `json:"redisUrl"`
	IPFSAPIURL     string               `json:"ipfsApiUrl"`
	IPFSGatewayURL string               `json:"ipfsGatewayUrl,omitempty"`
	DataDir        string               `json:"dataDir"`
	KeepData       bool                 `json:"keepData"`
	DeploymentFile string               `json:"deploymentFile"`
	Deployment     contracts.Deployment `json:"deployment"`
	Accounts       []Account            `json:"accounts"`
	Seed           *SeedSummary         `json:"seed,omitempty"`
}

// Stack is a running dev stack.
type Stack struct {
	Info  Info
	Chain *devchain.Chain
	DAO   *devchain.DAO
	Store *store.Store
	IPFS  *pinning.Client

	opts     Options
	log      *slog.Logger
	miner    *miner
	rdb      redis.UniversalClient
	redis    *redisserver.Server
	kubo     *kubo.Server
	rpcSrv   *http.Server
	apiSrv   *http.Server
	cancel   context.CancelFunc // stops the miner, indexer and pinner
	ipfsCh   chan ipfsResult    // the result of starting IPFS, until Start takes it
	ls       []net.Listener
	wg       sync.WaitGroup
	errs     chan error
	ownDir   bool
	closeMu  sync.Mutex
	closed   bool
	closeErr error
}

// Start starts a stack. ctx bounds the start (seeding included); the stack then runs until
// Close. On error everything started so far is stopped.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	if opts.RPCAddr == "" {
		opts.RPCAddr = "127.0.0.1:8545"
	}
	if opts.APIAddr == "" {
		opts.APIAddr = "127.0.0.1:8080"
	}
	if opts.Accounts == 0 {
		opts.Accounts = 10
	}
	if opts.Accounts < seedAccounts {
		return nil, fmt.Errorf("the dev stack needs at least %d accounts, got %d", seedAccounts, opts.Accounts)
	}
	if opts.Config.TokenName == "" {
		opts.Config = contracts.DefaultConfig()
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Progress == nil {
		opts.Progress = func(string, ...any) {}
	}
	s := &Stack{opts: opts, log: opts.Log, errs: make(chan error, 8)}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel

	// Data directory.
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		s.Info.DataDir, s.Info.KeepData = opts.DataDir, true
	} else {
		dir, err := os.MkdirTemp("", "modeldao-dev-")
		if err != nil {
			return nil, fmt.Errorf("temporary data directory: %w", err)
		}
		s.Info.DataDir, s.ownDir = dir, true
	}

	// Listeners first, so that a taken port fails before anything is started.
	rpcL, err := listen(opts.RPCAddr, "dev chain's JSON-RPC", "--rpc-addr")
	if err != nil {
		return nil, err
	}
	s.ls = append(s.ls, rpcL)
	apiL, err := listen(opts.APIAddr, "GraphQL API", "--api-addr")
	if err != nil {
		return nil, err
	}
	s.ls = append(s.ls, apiL)
	s.apiSrv = &http.Server{ReadHeaderTimeout: 10 * time.Second}
	s.rpcSrv = &http.Server{ReadHeaderTimeout: 10 * time.Second}
	s.Info.RPCURL = "http://" + rpcL.Addr().String()
	s.Info.WSURL = "ws://" + rpcL.Addr().String()
	s.Info.GraphQLURL = "http://" + apiL.Addr().String() + "/graphql"
	s.Info.GraphiQLURL = "http://" + apiL.Addr().String() + "/"

	// IPFS starts in the background: kubo takes a few seconds.
	s.ipfsCh = make(chan ipfsResult, 1)
	go func() {
		var r ipfsResult
		r.srv, r.cli, r.err = s.startIPFS(ctx)
		s.ipfsCh <- r
	}()

	// Chain.
	opts.Progress("starting the dev chain")
	chain, err := newChain(opts.Accounts)
	if err != nil {
		return nil, err
	}
	s.Chain = chain
	s.Info.ChainID = devchain.ChainID
	front, err := newRPCFront(chain.URL(), chain, s.log)
	if err != nil {
		return nil, err
	}
	s.rpcSrv.Handler = front
	go s.serve(s.rpcSrv, rpcL, "dev chain JSON-RPC")
	if s.miner, err = newMiner(chain, opts.BlockTime, s.log); err != nil {
		return nil, err
	}
	s.goRun(func() error { s.miner.run(runCtx); return nil })
	for i, a := range chain.Accounts {
		s.Info.Accounts = append(s.Info.Accounts, Account{Index: i, Address: a.Address.Hex(), PrivateKey: a.KeyHex(), Role: roleOf(i, false)})
	}

	// Redis.
	if err := s.startRedis(ctx); err != nil {
		return nil, err
	}

	// Contracts.
	opts.Progress("deploying the contracts")
	s.miner.hold.Lock()
	dao, err := chain.Deploy(ctx, opts.Config, seedHolders)
	s.miner.hold.Unlock()
	if err != nil {
		return nil, fmt.Errorf("deploy the contracts: %w", err)
	}
	s.DAO = dao
	s.Info.Deployment = dao.Deployment
	s.Info.DeploymentFile = filepath.Join(s.Info.DataDir, "deployment.json")
	if err := dao.Deployment.WriteFile(s.Info.DeploymentFile); err != nil {
		return nil, fmt.Errorf("write the deployment file: %w", err)
	}
	s.Store = store.New(s.rdb, store.NewKeys(dao.Deployment.ChainID, dao.Deployment.Governor), s.log)
	if opts.RedisURL != "" {
		if err := s.dropPrevious(ctx); err != nil {
			return nil, err
		}
	}

	// Indexer and API.
	ix, err := indexer.New(indexer.Config{Chain: chain.Client, Store: s.Store, Deployment: dao.Deployment, Log: s.log, PollInterval: 200 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	s.goRun(func() error {
		if err := ix.Run(runCtx); err != nil {
			return fmt.Errorf("indexer stopped: %w", err)
		}
		return nil
	})
	api := graphql.NewHandler(s.Store, graphql.Options{ChainID: dao.Deployment.ChainID, AllowedOrigins: []string{"*"}, Logger: s.log})
	rh, err := s.startRelayer(ctx)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/relay", rh)
	mux.Handle("/relay/", rh)
	mux.Handle("/", api)
	s.apiSrv.Handler = mux
	s.Info.RelayURL = "http://" + apiL.Addr().String() + "/relay"
	go s.serve(s.apiSrv, apiL, "GraphQL API")

	// IPFS and the pinner.
	if opts.IPFSURL == "" {
		opts.Progress("starting kubo (IPFS)")
	}
	r := <-s.ipfsCh
	s.ipfsCh = nil
	s.kubo = r.srv
	if r.err != nil {
		return nil, r.err
	}
	s.IPFS = r.cli
	s.Info.IPFSAPIURL = r.cli.Addr
	if s.kubo != nil {
		s.Info.IPFSAPIURL = s.kubo.APIURL()
		s.Info.IPFSGatewayURL = s.kubo.GatewayURL()
	}
	pcfg := pinning.DefaultConfig()
	pcfg.Consumer = "modeldao-dev"
	pcfg.Block = time.Second
	pcfg.BaseBackoff = 2 * time.Second
	pcfg.MaxBackoff = 30 * time.Second
	pcfg.InactivityTimeout = 30 * time.Second
	pcfg.Logger = s.log
	consumer := pinning.New(s.IPFS, s.Store, pcfg)
	s.goRun(func() error { return consumer.Run(runCtx) })
	// The notifier: delivers webhooks registered with `modeldao webhook add`.
	ncfg := notify.DefaultConfig()
	ncfg.BaseBackoff, ncfg.MaxBackoff = time.Second, 30*time.Second
	notifier := notify.New(s.Store, ncfg, nil, s.log)
	s.goRun(func() error { return notifier.Run(runCtx) })

	// Demo data.
	if !opts.Empty {
		opts.Progress("seeding demo data")
		s.miner.hold.Lock()
		sum, err := seed(ctx, s)
		s.miner.hold.Unlock()
		if err != nil {
			return nil, fmt.Errorf("seed demo data: %w", err)
		}
		s.Info.Seed = sum
	}
	for i := range s.Info.Accounts {
		if bal, err := dao.Token.BalanceOf(nil, chain.Accounts[i].Address); err == nil && bal.Sign() > 0 {
			s.Info.Accounts[i].Tokens = tokens(bal)
		}
	}

	opts.Progress("waiting for the indexer and the pinner")
	if err := s.WaitIndexed(ctx); err != nil {
		return nil, err
	}
	if err := s.waitPins(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

type ipfsResult struct {
	srv *kubo.Server
	cli *pinning.Client
	err error
}

// newChain starts the simulated chain with JSON-RPC on a free loopback port (the front
// serves the public address). The simulated backend panics when its node cannot start.
func newChain(accounts int) (c *devchain.Chain, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("start the dev chain: %v", r)
		}
	}()
	return devchain.New(devchain.Options{Accounts: accounts, HTTPAddr: "127.0.0.1:0"})
}

func (s *Stack) startRedis(ctx context.Context) error {
	if s.opts.RedisURL != "" {
		rdb, err := redisClient(s.opts.RedisURL, s.opts.RedisCluster)
		if err != nil {
			return err
		}
		s.rdb = rdb
		s.Info.RedisURL = s.opts.RedisURL
	} else {
		s.opts.Progress("starting redis-server")
		srv, err := redisserver.Start(context.WithoutCancel(ctx), redisserver.Options{Logger: s.log})
		if err != nil {
			return fmt.Errorf("start redis-server (or set REDIS_URL to use a running Redis): %w", err)
		}
		s.redis = srv
		s.Info.RedisURL = srv.URL()
		s.rdb = redis.NewClient(&redis.Options{Addr: srv.Addr()})
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.rdb.Ping(pctx).Err(); err != nil {
		if s.opts.RedisURL != "" {
			return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "Redis at REDIS_URL=%s does not answer (unset REDIS_URL to let modeldao dev start its own redis-server)", s.Info.RedisURL)
		}
		return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "Redis at %s does not answer", s.Info.RedisURL)
	}
	return nil
}

// redisClient connects to REDIS_URL as the services do (config.Redis).
func redisClient(url string, cluster bool) (redis.UniversalClient, error) {
	cfg, err := config.Load(func(k string) string {
		switch {
		case k == config.EnvRedisURL:
			return url
		case k == config.EnvRedisCluster && cluster:
			return "true"
		}
		return ""
	}, 0)
	if err != nil {
		return nil, err
	}
	return config.Redis(cfg), nil
}

func (s *Stack) startIPFS(ctx context.Context) (*kubo.Server, *pinning.Client, error) {
	if s.opts.IPFSURL != "" {
		c, err := pinning.Connect(ctx, s.opts.IPFSURL, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("IPFS_API_URL=%s (unset it to let modeldao dev start its own kubo daemon): %w", s.opts.IPFSURL, err)
		}
		return nil, c, nil
	}
	o := kubo.Options{APIPort: s.opts.IPFSPort, Logger: s.log}
	if s.opts.IPFSPort != 0 {
		l, err := listen(net.JoinHostPort("127.0.0.1", strconv.Itoa(s.opts.IPFSPort)), "IPFS API", "--ipfs-port")
		if err != nil {
			return nil, nil, fmt.Errorf("%w; or set IPFS_API_URL to use a running daemon", err)
		}
		l.Close()
	}
	if s.Info.KeepData {
		o.RepoDir = filepath.Join(s.Info.DataDir, "ipfs")
	}
	srv, err := kubo.Start(context.WithoutCancel(ctx), o)
	if err != nil {
		return nil, nil, fmt.Errorf("start kubo (run `make tools` to build .bin/ipfs, or set IPFS_API_URL): %w", err)
	}
	c, err := pinning.Connect(ctx, srv.APIURL(), nil)
	if err != nil {
		return srv, nil, err
	}
	return srv, c, nil
}

// dropPrevious removes the index of an earlier dev stack from an external Redis: every
// dev deployment has the same addresses, so its keys would be taken for this chain's.
func (s *Stack) dropPrevious(ctx context.Context) error {
	n, err := s.Store.DropAll(ctx)
	if modeldao.ErrorCode(err) == modeldao.ECONFLICT {
		// The lease of a dev stack that did not stop cleanly.
		if err := s.rdb.Del(ctx, s.Store.Keys().Lease()).Err(); err != nil {
			return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "Redis at %s", s.Info.RedisURL)
		}
		n, err = s.Store.DropAll(ctx)
	}
	if err != nil {
		return err
	}
	if n > 0 {
		s.log.Warn("dropped the index of an earlier dev chain from REDIS_URL", "keys", n)
	}
	return nil
}

func (s *Stack) serve(srv *http.Server, l net.Listener, what string) {
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.fail(fmt.Errorf("%s stopped: %w", what, err))
	}
}

func (s *Stack) goRun(f func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := f(); err != nil {
			s.fail(err)
		}
	}()
}

func (s *Stack) fail(err error) {
	select {
	case s.errs <- err:
	default:
	}
}

// Err delivers the errors of parts that stopped on their own (the indexer after a reorg
// deeper than its window, a server that could not serve).
func (s *Stack) Err() <-chan error { return s.errs }

// HoldMiner stops the dev chain's own mining (for pending transactions and on the timer)
// until release is called, for callers that mine blocks themselves and want no others.
func (s *Stack) HoldMiner() (release func()) {
	s.miner.hold.Lock()
	return s.miner.hold.Unlock
}

// WaitIndexed waits until the index has reached the chain's current head.
func (s *Stack) WaitIndexed(ctx context.Context) error {
	head, err := s.Chain.Client.BlockNumber(ctx)
	if err != nil {
		return err
	}
	return s.poll(ctx, "the indexer to reach block "+strconv.FormatUint(head, 10), func() (bool, error) {
		cp, ok, err := s.Store.Checkpoint(ctx)
		return ok && cp.Number >= head, err
	})
}

// waitPins waits until the pin queue is empty.
func (s *Stack) waitPins(ctx context.Context) error {
	return s.poll(ctx, "the pinner to empty its queue", func() (bool, error) {
		q, r, err := s.Store.PinBacklog(ctx)
		return q == 0 && r == 0, err
	})
}

// poll checks cond every 50 ms for up to a minute.
func (s *Stack) poll(ctx context.Context, what string, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var last error
	for {
		ok, err := cond()
		if ok && err == nil {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case err := <-s.errs:
			return err
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("waiting for %s: %w (last error: %v)", what, ctx.Err(), last)
			}
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
}

// Close stops the stack: servers, indexer, pinner, chain, kubo and redis-server, and removes
// the temporary data directory. It is safe to call more than once.
func (s *Stack) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return s.closeErr
	}
	s.closed = true
	var errs []error
	shut := func(srv *http.Server) {
		if srv == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
	}
	shut(s.apiSrv)
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	if s.miner != nil {
		s.miner.rc.Close()
	}
	shut(s.rpcSrv)
	for _, l := range s.ls {
		l.Close() // those a server never took
	}
	if s.ipfsCh != nil {
		// Start failed while kubo was starting: wait for it, to stop it.
		if r := <-s.ipfsCh; r.srv != nil {
			s.kubo = r.srv
		}
	}
	if s.rdb != nil {
		s.rdb.Close()
	}
	if s.Chain != nil {
		if err := s.Chain.Close(); err != nil {
			errs = append(errs, fmt.Errorf("dev chain: %w", err))
		}
	}
	if s.kubo != nil {
		if err := s.kubo.Close(); err != nil {
			errs = append(errs, fmt.Errorf("kubo: %w", err))
		}
	}
	if s.redis != nil {
		if err := s.redis.Close(); err != nil {
			errs = append(errs, fmt.Errorf("redis-server: %w", err))
		}
	}
	if s.ownDir && s.Info.DataDir != "" {
		if err := os.RemoveAll(s.Info.DataDir); err != nil {
			errs = append(errs, err)
		}
	}
	s.closeErr = errors.Join(errs...)
	return s.closeErr
}
