// Command notifier delivers webhooks as a Lambda function, invoked by an EventBridge
// schedule: each invocation fans the outbox out to the registered endpoints and delivers
// their queues (signed, in order per endpoint, with retries and dead letters; see package
// notify) until they are empty or waiting for a retry, or less than a request's timeout is
// left before its deadline; what is left stays queued in Redis for the next invocation. It
// returns its report.
//
// Environment: REDIS_URL, REDIS_CLUSTER, CHAIN_ID and GOVERNOR_ADDRESS (or DEPLOYMENT_FILE),
// LOG_LEVEL, LOG_FORMAT (see package config), and MODELDAO_NOTIFY_* (see
// notify.ConfigFromEnv). The endpoints must be reachable from the function's subnets (a NAT
// gateway for endpoints on the internet).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"

	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/functions/internal/lambdafn"
	"github.com/modeldao/modeldao/notify"
	"github.com/modeldao/modeldao/store"
)

func main() {
	lambdafn.Start(config.ForAPI, setup)
}

func setup(cfg *config.Config, log *slog.Logger) (lambdafn.Handler[events.EventBridgeEvent, notify.Report], error) {
	ncfg, err := notify.ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	d := cfg.Deployment
	rdb := config.Redis(cfg)
	gate := lambdafn.NewRedisGate(rdb)
	n := notify.New(store.New(rdb, store.NewKeys(d.ChainID, d.Governor), log), ncfg, nil, log)
	return func(ctx context.Context, ev events.EventBridgeEvent) (notify.Report, error) {
		if err := lambdafn.CheckBudget(ctx, ncfg.RequestTimeout, notify.EnvRequestTimeout); err != nil {
			return notify.Report{}, err
		}
		if err := gate.Wait(ctx, lambdafn.DefaultRedisWait); err != nil {
			return notify.Report{}, err
		}
		return n.RunOnce(ctx)
	}, nil
}
