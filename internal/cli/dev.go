package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/internal/devstack"
)

func init() {
	register(&command{name: "dev", summary: "run the whole stack locally, with demo data (what `make dev` runs)",
		detail: `Starts a dev chain with JSON-RPC over HTTP and WebSocket (it mines a block for every
transaction and every --block-time), redis-server (unless REDIS_URL is set) and a kubo daemon
(unless IPFS_API_URL is set); deploys the contracts, seeds demo data (unless --empty), and
runs the indexer, the pinner and the GraphQL API with GraphiQL. It prints the URLs, the
contract addresses and the funded dev accounts with their keys, then runs until Ctrl-C,
when it stops everything and removes its data (unless --data-dir keeps it).

The dev chain also answers evm_mine, evm_increaseTime, anvil_mine and hardhat_mine, so that
scripts (and modeldao mine) can end a voting period or pass the timelock delay at once.`,
		setup: setupDev})
}

func setupDev(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	def := contracts.DefaultConfig()
	rpcAddr := fs.String("rpc-addr", "127.0.0.1:8545", "address of the dev chain's JSON-RPC (HTTP and WebSocket); port 0 picks a free one")
	apiAddr := fs.String("api-addr", "127.0.0.1:8080", "address of the GraphQL API and GraphiQL; port 0 picks a free one")
	ipfsPort := fs.Int("ipfs-port", 5001, "port of the kubo daemon's RPC API (0 picks a free one); ignored with IPFS_API_URL")
	dataDir := fs.String("data-dir", "", "keep the data (deployment.json, IPFS repository, dev.log) in this directory (default: a temporary directory, removed on exit)")
	empty := fs.Bool("empty", false, "deploy the contracts but seed no demo data")
	blockTime := fs.Duration("block-time", 5*time.Second, "mine an empty block when none was mined for this long (0: only for transactions)")
	votingDelay := fs.Uint64("voting-delay", 10, "blocks between a proposal and the start of its voting")
	votingPeriod := fs.Uint("voting-period", 150, "blocks of voting")
	timelockDelay := fs.Duration("timelock-delay", 60*time.Second, "delay between queueing and executing a proposal")
	quorum := fs.Uint64("quorum", def.QuorumPercent, "quorum, in percent of the total supply")
	logLevel := fs.String("log-level", "warn", "level of the logs on stderr: debug, info, warn or error (dev.log in the data directory gets info)")
	r.jsonFlag(fs)
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 0, ""); err != nil {
			return err
		}
		var level slog.Level
		if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
			return usagef("--log-level %q: want debug, info, warn or error", *logLevel)
		}
		if *timelockDelay < 0 || *timelockDelay%time.Second != 0 {
			return usagef("--timelock-delay must be a whole number of seconds")
		}
		if *votingPeriod == 0 || *votingPeriod > 1<<31 {
			return usagef("--voting-period must be at least 1 block")
		}
		if *blockTime < 0 {
			return usagef("--block-time must not be negative")
		}
		// REDIS_URL and IPFS_API_URL, checked as the services check them.
		cfg, err := config.Load(r.env.Getenv, 0)
		if err != nil {
			return err
		}
		gov := def
		gov.VotingDelay, gov.VotingPeriod, gov.TimelockDelay, gov.QuorumPercent = *votingDelay, uint32(*votingPeriod), uint64(*timelockDelay/time.Second), *quorum

		// Logs: stderr at --log-level; dev.log in the data directory at info.
		handlers := []slog.Handler{slog.NewTextHandler(r.stderr, &slog.HandlerOptions{Level: level})}
		var logFile *os.File
		if *dataDir != "" {
			if err := os.MkdirAll(*dataDir, 0o755); err != nil {
				return usagef("--data-dir: %v", err)
			}
			if logFile, err = os.OpenFile(filepath.Join(*dataDir, "dev.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
				return usagef("--data-dir: %v", err)
			}
			defer logFile.Close()
			handlers = append(handlers, slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))
		}
		log := slog.New(slog.NewMultiHandler(handlers...))

		start := time.Now()
		stack, err := devstack.Start(ctx, devstack.Options{
			RPCAddr: *rpcAddr, APIAddr: *apiAddr, IPFSPort: *ipfsPort,
			RedisURL: cfg.Redis.URL, RedisCluster: cfg.Redis.Cluster, IPFSURL: cfg.IPFSAPIURL, DataDir: *dataDir,
			Empty: *empty, BlockTime: *blockTime, Config: gov, Log: log,
			Progress: func(format string, args ...any) { r.progress("dev: "+format+"…", args...) },
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil // interrupted while starting
			}
			return err
		}
		defer func() {
			r.progress("dev: stopping")
			if err := stack.Close(); err != nil {
				r.progress("dev: while stopping: %v", err)
			}
			r.progress("dev: stopped")
		}()
		info := stack.Info
		if r.json {
			if err := json.NewEncoder(r.stdout).Encode(info); err != nil {
				return err
			}
		} else {
			banner(r.stdout, info, time.Since(start))
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-stack.Err():
			return err
		}
	}
}

// firstQuery is the query the banner suggests for GraphiQL.
const firstQuery = `{
  modelVersions(first: 10) {
    edges { node { id modelName label status pin { status cid } policy { name version } } }
  }
  proposals(first: 5) {
    edges { node { title state tally { forPercent againstPercent quorumReached } } }
  }
}`

func banner(w io.Writer, info devstack.Info, took time.Duration) {
	fmt.Fprintf(w, "\nModelDAO dev stack is up (%s).\n\n", took.Round(100*time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  GraphiQL\t%s\n", info.GraphiQLURL)
	fmt.Fprintf(tw, "  GraphQL API\t%s\n", info.GraphQLURL)
	if info.RelayURL != "" {
		fmt.Fprintf(tw, "  Gasless relayer\t%s  (POST /relay/vote, /relay/delegate; sends from %s)\n", info.RelayURL, info.RelayerAddress)
	}
	fmt.Fprintf(tw, "  JSON-RPC\t%s  (WebSocket %s, chain id %d)\n", info.RPCURL, info.WSURL, info.ChainID)
	if info.IPFSGatewayURL != "" {
		fmt.Fprintf(tw, "  IPFS API\t%s  (gateway %s)\n", info.IPFSAPIURL, info.IPFSGatewayURL)
	} else {
		fmt.Fprintf(tw, "  IPFS API\t%s\n", info.IPFSAPIURL)
	}
	fmt.Fprintf(tw, "  Redis\t%s\n", info.RedisURL)
	keep := "removed on exit; keep it with --data-dir"
	if info.KeepData {
		keep = "kept"
	}
	fmt.Fprintf(tw, "  Data\t%s  (%s)\n", info.DataDir, keep)
	tw.Flush()

	d := info.Deployment
	fmt.Fprintf(w, "\nContracts (%s):\n", info.DeploymentFile)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  Governor\t%s\n  Token (MDAO)\t%s\n  Timelock\t%s\n  Registry\t%s\n", d.Governor.Hex(), d.Token.Hex(), d.Timelock.Hex(), d.Registry.Hex())
	tw.Flush()

	fmt.Fprintf(w, "\nDev accounts, 1,000,000 ETH each. DEV ONLY: these keys are public; never use them on a real network.\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\taddress\tprivate key\tMDAO\trole")
	for _, a := range info.Accounts {
		tok := a.Tokens
		if tok == "" {
			tok = "0"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", a.Index, a.Address, a.PrivateKey, tok, a.Role)
	}
	tw.Flush()

	if s := info.Seed; s != nil {
		vs, ps := map[string]int{}, map[string]int{}
		for _, v := range s.Versions {
			vs[v.Status]++
		}
		for _, p := range s.Proposals {
			ps[p.State]++
		}
		fmt.Fprintf(w, "\nDemo data (seeded in %s): %d model versions (%s), %d proposals (%s), %d votes, %d audits, %d policies, %d auditors.\n",
			s.Elapsed, len(s.Versions), counts(vs), len(s.Proposals), counts(ps), s.Votes, s.Audits, s.Policies, s.Auditors)
	} else {
		fmt.Fprintln(w, "\nNo demo data (--empty): accounts 0 to 4 hold 1000 MDAO each, delegated to themselves.")
	}

	fmt.Fprintf(w, "\nThe CLI, from another terminal:\n")
	fmt.Fprintf(w, "  export REDIS_URL=%s   # for digest and reindex\n", info.RedisURL)
	if info.GraphQLURL != DefaultAPIURL {
		fmt.Fprintf(w, "  export MODELDAO_API_URL=%s\n", info.GraphQLURL)
	}
	if info.RPCURL != DefaultRPCURL {
		fmt.Fprintf(w, "  export ETH_RPC_URL=%s\n", info.RPCURL)
	}
	if info.IPFSAPIURL != DefaultIPFSURL {
		fmt.Fprintf(w, "  export IPFS_API_URL=%s\n", info.IPFSAPIURL)
	}
	if len(info.Accounts) > 1 {
		fmt.Fprintf(w, "  export MODELDAO_PRIVATE_KEY=%s   # account 1, a voter (DEV ONLY)\n", info.Accounts[1].PrivateKey)
	}
	fmt.Fprintf(w, "  go run ./cmd/modeldao status\n  go run ./cmd/modeldao proposals --state ACTIVE\n")
	fmt.Fprintf(w, "  go run ./cmd/modeldao vote <proposal id> for --reason \"…\"\n  go run ./cmd/modeldao mine --blocks 200   # end a voting period\n")

	fmt.Fprintf(w, "\nA first query to try in GraphiQL (%s):\n\n", info.GraphiQLURL)
	for _, l := range strings.Split(firstQuery, "\n") {
		fmt.Fprintf(w, "  %s\n", l)
	}
	fmt.Fprintf(w, "\nPress Ctrl-C to stop.\n")
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", m[k], k)
	}
	return strings.Join(parts, ", ")
}
