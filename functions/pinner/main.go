// Command pinner is the pin queue consumer as a Lambda function, invoked by an EventBridge
// schedule: each invocation pins (and verifies) the weights of newly approved versions and
// unpins revoked ones, on every IPFS node, until the queue is empty or its deadline minus
// MODELDAO_PIN_DRAIN_MARGIN; then it pins evidence and catches up nodes that were down. What
// it could not finish stays queued for the next invocation. It returns its report.
//
// Environment: REDIS_URL, REDIS_CLUSTER, IPFS_API_URLS (or IPFS_API_URL, a list of one),
// CHAIN_ID and GOVERNOR_ADDRESS (or DEPLOYMENT_FILE), LOG_LEVEL, LOG_FORMAT (see package
// config), PIN_REPLICATION and MODELDAO_PIN_* (see pinning.ConfigFromEnv). The consumer is named after the function unless
// MODELDAO_PIN_CONSUMER says otherwise, so that a new container resumes at once the jobs an
// earlier one left unfinished (reserved concurrency 1 keeps them from overlapping).
package main

import (
	"context"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/functions/internal/lambdafn"
	"github.com/modeldao/modeldao/pinning"
	"github.com/modeldao/modeldao/store"
)

func main() {
	lambdafn.Start(config.ForPinner, setup)
}

func setup(cfg *config.Config, log *slog.Logger) (lambdafn.Handler[events.EventBridgeEvent, pinning.Report], error) {
	pcfg, err := pinning.ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	if pcfg.Consumer == "" {
		pcfg.Consumer = os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
	}
	pcfg.Logger = log
	nodes, err := pinning.ParseNodes(strings.Join(cfg.IPFSAPIURLs, ","), nil)
	if err != nil {
		return nil, err
	}
	d := cfg.Deployment
	rdb := config.Redis(cfg)
	gate := lambdafn.NewRedisGate(rdb)
	st := store.New(rdb, store.NewKeys(d.ChainID, d.Governor), log)
	c, err := pinning.NewReplicated(nodes, st, pcfg)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, ev events.EventBridgeEvent) (pinning.Report, error) {
		if err := lambdafn.CheckBudget(ctx, pcfg.DrainMargin, pinning.EnvDrainMargin); err != nil {
			return pinning.Report{}, err
		}
		if err := gate.Wait(ctx, lambdafn.DefaultRedisWait); err != nil {
			return pinning.Report{}, err
		}
		return c.Drain(ctx)
	}, nil
}
