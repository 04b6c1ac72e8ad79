package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/pinning"
	"github.com/modeldao/modeldao/store"
)

func init() {
	register(&command{name: "serve", summary: "serve the GraphQL API and GraphiQL over the index in Redis",
		detail: "Configuration from the environment (REDIS_URL, REDIS_CLUSTER, DEPLOYMENT_FILE or CHAIN_ID and GOVERNOR_ADDRESS, CORS_ORIGINS, GRAPHIQL, LOG_LEVEL); flags override it.",
		setup:  setupServe})
	register(&command{name: "index", summary: "follow the chain and index the DAO's events into Redis",
		detail: "Configuration from the environment (REDIS_URL, ETH_RPC_URL, DEPLOYMENT_FILE or CHAIN_ID and the *_ADDRESS variables, START_BLOCK, REORG_DEPTH, CONFIRMATIONS, POLL_INTERVAL); flags override it.",
		setup:  setupIndex})
	register(&command{name: "pin", summary: "pin the weights of approved versions to IPFS (and unpin revoked ones)",
		detail: "Configuration from the environment (REDIS_URL, IPFS_API_URL or IPFS_API_URLS (several kubo nodes, comma-separated), PIN_REPLICATION, DEPLOYMENT_FILE or CHAIN_ID and GOVERNOR_ADDRESS, MODELDAO_PIN_*); flags override it.",
		setup:  setupPin})
	register(&command{name: "digest", summary: "print the digest of the index (equal digests: equal projections of the chain)", setup: setupDigest})
	register(&command{name: "reindex", summary: "drop the index and rebuild it from the chain",
		detail: "Stop the indexer first (modeldao index, the indexer function or modeldao dev hold a lease on the index): reindex refuses to drop an index that an indexer is writing.",
		setup:  setupReindex})
}

// service loads the configuration of a service and opens its store.
func (r *runner) service(need config.Need) (*config.Config, *slog.Logger, redis.UniversalClient, *store.Store, error) {
	cfg, err := r.config(need)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	log := cfg.NewLogger(r.stderr)
	rdb := config.Redis(cfg)
	st := store.New(rdb, store.NewKeys(cfg.Deployment.ChainID, cfg.Deployment.Governor), log)
	return cfg, log, rdb, st, nil
}

func setupServe(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.redisFlag(fs)
	r.deploymentFlag(fs, false)
	listen := fs.String("listen", "127.0.0.1:8080", "address to serve on")
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 0, ""); err != nil {
			return err
		}
		cfg, log, rdb, st, err := r.service(config.ForAPI)
		if err != nil {
			return err
		}
		defer rdb.Close()
		graphql.TuneGCForServing() // this process only serves the API
		h := graphql.NewHandler(st, graphql.Options{ChainID: cfg.Deployment.ChainID, AllowedOrigins: cfg.CORSOrigins, DisableGraphiQL: !cfg.GraphiQL, Logger: log, MinBlockWait: cfg.MinBlockWait,
			StaleAuditAgeBlocks: cfg.StaleAuditAgeBlocks, ContestTolerance: cfg.ContestTolerance, MaxConcurrentOperations: cfg.MaxConcurrentOperations})
		l, err := net.Listen("tcp", *listen)
		if err != nil {
			return modeldao.WrapError(modeldao.EINVALID, err, "cannot listen on %s: choose another address with --listen", *listen)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		r.progress("serving the GraphQL API at http://%s/graphql (GraphiQL at http://%s/); Ctrl-C stops", l.Addr(), l.Addr())
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(l) }()
		select {
		case err := <-errc:
			return modeldao.WrapError(modeldao.EINTERNAL, err, "the server stopped")
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	}
}

func setupIndex(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.redisFlag(fs)
	r.rpcFlag(fs)
	r.deploymentFlag(fs, false)
	r.jsonFlag(fs)
	once := fs.Bool("once", false, "index up to the head, then exit (default: follow the chain until interrupted)")
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 0, ""); err != nil {
			return err
		}
		cfg, log, rdb, st, err := r.service(config.ForIndexer)
		if err != nil {
			return err
		}
		defer rdb.Close()
		ix, err := r.indexer(ctx, cfg, st, log)
		if err != nil {
			return err
		}
		if *once {
			p, err := ix.CatchUp(ctx)
			if err != nil {
				return err
			}
			return r.print(p, func(w io.Writer) {
				fmt.Fprintf(w, "Indexed blocks %d to %d: %d events in %d commits; head %d\n", p.FromBlock, p.ToBlock, p.Events, p.Commits, p.Head)
			})
		}
		r.progress("following %s from block %d into %s; Ctrl-C stops", r.rpcURL, cfg.Deployment.Block, cfg.Redis.Redacted())
		return ix.Run(ctx)
	}
}

// IndexerMemoryLimit is the Go runtime's soft memory limit of `modeldao index` and
// `modeldao reindex` unless GOMEMLIMIT is set. A backfill's peak is set by the collector
// letting the heap grow to twice what is live (GOGC 100) while a batch commits and the next
// one is read (about 100 MiB live at most with the default batch, see BENCHMARKS.md); the
// limit makes it collect earlier instead near the limit, so the process stays near 256 MiB
// even for batches of unusually large events (long proposal descriptions), at the cost of
// more collector work only then. The indexer Lambda gets 3/4 of its memory setting instead
// (lambdafn.LimitMemory).
const IndexerMemoryLimit = 256 << 20

// limitMemory sets IndexerMemoryLimit unless the operator set GOMEMLIMIT.
func (r *runner) limitMemory() {
	if r.env.SetMemoryLimit != nil && r.getenv("GOMEMLIMIT") == "" {
		r.env.SetMemoryLimit(IndexerMemoryLimit)
	}
}

// indexer connects to the chain and makes an indexer of the configured deployment.
func (r *runner) indexer(ctx context.Context, cfg *config.Config, st *store.Store, log *slog.Logger) (*indexer.Indexer, error) {
	eth, id, err := r.chain(ctx)
	if err != nil {
		return nil, err
	}
	d := cfg.Deployment
	if d.ChainID != id.Uint64() {
		return nil, modeldao.Errorf(modeldao.EINVALID, "the deployment is on chain %d but the node at %s serves chain %d", d.ChainID, r.rpcURL, id)
	}
	r.limitMemory()
	return indexer.New(indexer.Config{Chain: indexer.NewNode(eth, r.rpcURL), Store: st, Deployment: d, Log: log,
		ReorgDepth: cfg.ReorgDepth, Confirmations: cfg.Confirmations, PollInterval: cfg.PollInterval})
}

func setupPin(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.redisFlag(fs)
	r.ipfsFlag(fs)
	r.deploymentFlag(fs, false)
	r.jsonFlag(fs)
	once := fs.Bool("once", false, "do the jobs that can be done now, then exit (default: wait for jobs until interrupted)")
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 0, ""); err != nil {
			return err
		}
		_, log, rdb, st, err := r.service(config.ForPinner)
		if err != nil {
			return err
		}
		defer rdb.Close()
		pcfg, err := pinning.ConfigFromEnv(r.env.Getenv)
		if err != nil {
			return asUsage(err)
		}
		pcfg.Logger = log
		nodes, err := r.pinNodes(ctx)
		if err != nil {
			return err
		}
		c, err := pinning.NewReplicated(nodes, st, pcfg)
		if err != nil {
			return asUsage(err)
		}
		if *once {
			rep, err := c.Drain(ctx)
			if err != nil {
				return err
			}
			return r.print(rep, func(w io.Writer) {
				fmt.Fprintf(w, "%d jobs: %d pinned, %d unpinned, %d failed, %d to retry; %d left in the queue\n", rep.Jobs, rep.Pinned, rep.Unpinned, rep.Failed, rep.Retrying, rep.Queued+rep.Waiting)
				if e := rep.Evidence; e != (pinning.EvidenceReport{}) {
					fmt.Fprintf(w, "model cards, audit reports and policy documents: %d pinned, %d failed, %d to retry\n", e.Pinned, e.Failed, e.Retrying)
				}
				if x := rep.Replicas; x != (pinning.ReplicaReport{}) {
					fmt.Fprintf(w, "nodes caught up: %d pins added, %d removed, %d still behind\n", x.CaughtUp, x.Unpinned, x.Failed)
				}
			})
		}
		r.progress("pinning on %s (replication %d) as consumer %s; Ctrl-C stops", strings.Join(c.Nodes(), ", "), c.Replication(), c.Name())
		return c.Run(ctx)
	}
}

// pinNodes connects to the pinner's kubo nodes: IPFS_API_URLS when it is set (each node
// that answers is enough to start: the others are caught up when they do), else the one
// node of --ipfs / IPFS_API_URL.
func (r *runner) pinNodes(ctx context.Context) ([]*pinning.Client, error) {
	list := r.env.Getenv(config.EnvIPFSAPIURLs)
	if list == "" {
		ipfs, err := r.ipfs(ctx)
		if err != nil {
			return nil, err
		}
		return []*pinning.Client{ipfs}, nil
	}
	nodes, err := pinning.ParseNodes(list, nil)
	if err != nil {
		return nil, asUsage(err)
	}
	for _, n := range nodes {
		if err := n.Ping(ctx); err == nil {
			return nodes, nil
		}
	}
	return nil, modeldao.Errorf(modeldao.EUNAVAILABLE, "no IPFS node of %s answers (%s): start one, or fix the list", config.EnvIPFSAPIURLs, strings.Join(pinning.NodeNames(nodes), ", "))
}

// indexStore opens the store of the DAO that --deployment (or the API) names, in --redis.
func (r *runner) indexStore(ctx context.Context) (redis.UniversalClient, *store.Store, contracts.Deployment, error) {
	cfg, err := r.config(0)
	if err != nil {
		return nil, nil, contracts.Deployment{}, err
	}
	if cfg.Redis.URL == "" {
		return nil, nil, contracts.Deployment{}, usagef("no Redis to read: pass --redis redis://host:port/db or set REDIS_URL (`modeldao dev` prints it)")
	}
	d, err := r.deployment(ctx)
	if err != nil {
		return nil, nil, d, err
	}
	rdb := config.Redis(cfg)
	return rdb, store.New(rdb, store.NewKeys(d.ChainID, d.Governor), r.logger(slog.LevelWarn)), d, nil
}

type digestResult struct {
	Digest     string `json:"digest"`
	Block      uint64 `json:"block"`
	BlockHash  string `json:"blockHash"`
	Empty      bool   `json:"empty"`
	ChainID    uint64 `json:"chainId"`
	Governor   string `json:"governor"`
	DroppedKey int    `json:"droppedKeys,omitempty"`
}

func setupDigest(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.redisFlag(fs)
	r.deploymentFlag(fs, true)
	r.jsonFlag(fs)
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 0, ""); err != nil {
			return err
		}
		rdb, st, d, err := r.indexStore(ctx)
		if err != nil {
			return err
		}
		defer rdb.Close()
		res, err := digestOf(ctx, st, d)
		if err != nil {
			return err
		}
		return r.print(res, res.text)
	}
}

func digestOf(ctx context.Context, st *store.Store, d contracts.Deployment) (*digestResult, error) {
	dg, err := st.Digest(ctx)
	if err != nil {
		return nil, err
	}
	cp, ok, err := st.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	res := &digestResult{Digest: dg, Empty: !ok, ChainID: d.ChainID, Governor: d.Governor.Hex()}
	if ok {
		res.Block, res.BlockHash = cp.Number, cp.Hash.Hex()
	}
	return res, nil
}

func (d *digestResult) text(w io.Writer) {
	if d.Empty {
		fmt.Fprintf(w, "%s (the index of governor %s on chain %d is empty)\n", d.Digest, d.Governor, d.ChainID)
		return
	}
	fmt.Fprintf(w, "%s at block %d (%s)\n", d.Digest, d.Block, d.BlockHash)
}

func setupReindex(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.redisFlag(fs)
	r.rpcFlag(fs)
	r.deploymentFlag(fs, true)
	r.jsonFlag(fs)
	follow := fs.Bool("follow", false, "keep following the chain afterwards, as modeldao index does")
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 0, ""); err != nil {
			return err
		}
		eth, id, err := r.chain(ctx)
		if err != nil {
			return err
		}
		cfg, err := r.config(0) // REORG_DEPTH, CONFIRMATIONS, POLL_INTERVAL as `modeldao index` reads them
		if err != nil {
			return err
		}
		rdb, st, d, err := r.indexStore(ctx)
		if err != nil {
			return err
		}
		defer rdb.Close()
		if d.ChainID != id.Uint64() {
			return modeldao.Errorf(modeldao.EINVALID, "the deployment is on chain %d but the node at %s serves chain %d", d.ChainID, r.rpcURL, id)
		}
		start := time.Now()
		n, err := st.Drop(ctx)
		if modeldao.ErrorCode(err) == modeldao.ECONFLICT {
			return modeldao.Errorf(modeldao.ECONFLICT, "an indexer is writing this index (it holds the lease): stop it (modeldao index, the indexer function or modeldao dev), then run reindex again; the lease of an indexer that crashed expires within 30s")
		}
		if err != nil {
			return err
		}
		r.progress("reindex: dropped %d keys; indexing from block %d", n, d.Block)
		r.limitMemory()
		// The same settings as `modeldao index`: the confirmations and undo window of the
		// index a reindex rebuilds are those the follower will keep using.
		ix, err := indexer.New(indexer.Config{Chain: indexer.NewNode(eth, r.rpcURL), Store: st, Deployment: d, Log: r.logger(slog.LevelInfo),
			ReorgDepth: cfg.ReorgDepth, Confirmations: cfg.Confirmations, PollInterval: cfg.PollInterval})
		if err != nil {
			return err
		}
		p, err := ix.CatchUp(ctx)
		if err != nil {
			return err
		}
		res, err := digestOf(ctx, st, d)
		if err != nil {
			return err
		}
		res.DroppedKey = n
		out := map[string]any{"droppedKeys": n, "fromBlock": p.FromBlock, "toBlock": p.ToBlock, "events": p.Events, "commits": p.Commits,
			"digest": res.Digest, "elapsed": time.Since(start).Round(time.Millisecond).String()}
		if err := r.print(out, func(w io.Writer) {
			fmt.Fprintf(w, "Reindexed blocks %d to %d: %d events in %d commits, %s\n", p.FromBlock, p.ToBlock, p.Events, p.Commits, out["elapsed"])
			fmt.Fprintf(w, "digest %s\n", res.Digest)
		}); err != nil {
			return err
		}
		if !*follow {
			return nil
		}
		r.progress("following the chain; Ctrl-C stops")
		err = ix.Run(ctx)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
}
