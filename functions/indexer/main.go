// Command indexer is the chain follower as a Lambda function, invoked by an EventBridge
// schedule (rate(1 minute)): each invocation follows the chain until its deadline minus
// INDEXER_MARGIN, polling for new blocks once caught up, and returns its progress. The
// store's writer lease (and reserved concurrency 1) keeps a second invocation from writing.
//
// Environment: REDIS_URL, REDIS_CLUSTER, ETH_RPC_URL, CHAIN_ID and the contract addresses
// with START_BLOCK (or DEPLOYMENT_FILE), REORG_DEPTH, CONFIRMATIONS, POLL_INTERVAL,
// INDEXER_MARGIN, LOG_LEVEL, LOG_FORMAT (see package config).
package main

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/functions/internal/lambdafn"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/store"
)

// rpcCheckTimeout bounds the check that the node answers, at the start of an invocation.
const rpcCheckTimeout = 5 * time.Second

func main() {
	lambdafn.Start(config.ForIndexer, setup)
}

func setup(cfg *config.Config, log *slog.Logger) (lambdafn.Handler[events.EventBridgeEvent, indexer.Progress], error) {
	d := cfg.Deployment
	rdb := config.Redis(cfg)
	gate := lambdafn.NewRedisGate(rdb)
	st := store.New(rdb, store.NewKeys(d.ChainID, d.Governor), log)
	var (
		rpc *ethclient.Client
		ix  *indexer.Indexer
	)
	node := endpoint(cfg.EthRPCURL)
	// Errors of the HTTP client quote the whole URL, API key included.
	redact := func(err error) string { return strings.ReplaceAll(err.Error(), cfg.EthRPCURL, node+"/…") }
	return func(ctx context.Context, ev events.EventBridgeEvent) (indexer.Progress, error) {
		if err := lambdafn.CheckBudget(ctx, cfg.IndexerMargin, config.EnvIndexerMargin); err != nil {
			return indexer.Progress{}, err
		}
		if err := gate.Wait(ctx, lambdafn.DefaultRedisWait); err != nil {
			return indexer.Progress{}, err
		}
		if rpc == nil {
			// Dialled here, not at init: a ws:// endpoint connects at once, and a node that
			// is down must fail this invocation only.
			c, err := ethclient.DialContext(ctx, cfg.EthRPCURL)
			if err != nil {
				return indexer.Progress{}, modeldao.Errorf(modeldao.EUNAVAILABLE, "cannot reach the node at %s (%s): %s", config.EnvEthRPCURL, node, redact(err))
			}
			ix, err = indexer.New(indexer.Config{
				Chain: indexer.NewNode(c, cfg.EthRPCURL), Store: st, Deployment: d, Log: log,
				ReorgDepth: cfg.ReorgDepth, Confirmations: cfg.Confirmations, PollInterval: cfg.PollInterval,
				Owner: lambdafn.Owner(os.Getenv),
			})
			if err != nil {
				c.Close()
				return indexer.Progress{}, err
			}
			rpc = c
		}
		// A node that does not answer fails the invocation at once and says so (the indexer
		// itself would retry it until the deadline).
		pctx, cancel := context.WithTimeout(ctx, rpcCheckTimeout)
		_, err := rpc.BlockNumber(pctx)
		cancel()
		if err != nil {
			return indexer.Progress{}, modeldao.Errorf(modeldao.EUNAVAILABLE, "the node at %s (%s) does not answer: %s", config.EnvEthRPCURL, node, redact(err))
		}
		p, err := ix.Step(ctx, cfg.IndexerMargin)
		if err != nil {
			log.Error("indexer invocation failed", "err", err, "event", ev.ID, "progress", p)
			return p, err
		}
		log.Info("indexer invocation done", "event", ev.ID, "from", p.FromBlock, "to", p.ToBlock, "head", p.Head,
			"lag", p.Lag, "blocks", p.Blocks, "events", p.Events, "commits", p.Commits, "reorgs", p.Reorgs, "caught_up", p.CaughtUp)
		return p, nil
	}, nil
}

// endpoint is the scheme and host of an RPC URL, without its path and query, which often
// hold an API key.
func endpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Scheme + "://" + u.Host
}
