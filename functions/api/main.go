// Command api is the GraphQL API as a Lambda function behind an API Gateway HTTP API
// (payload format 2.0): POST/GET /graphql, GET / (GraphiQL), GET /healthz. It reads the
// Redis projection only.
//
// Environment: REDIS_URL, REDIS_CLUSTER, CHAIN_ID and GOVERNOR_ADDRESS (or DEPLOYMENT_FILE),
// CORS_ORIGINS, GRAPHIQL, LOG_LEVEL, LOG_FORMAT (see package config).
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/functions/internal/apigw"
	"github.com/modeldao/modeldao/functions/internal/lambdafn"
	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/store"
)

func main() {
	graphql.TuneGCForServing()
	lambdafn.Start(config.ForAPI, setup)
}

func setup(cfg *config.Config, log *slog.Logger) (lambdafn.Handler[events.APIGatewayV2HTTPRequest, events.APIGatewayV2HTTPResponse], error) {
	d := cfg.Deployment
	rdb := config.Redis(cfg)
	gate := lambdafn.NewRedisGate(rdb)
	st := store.New(rdb, store.NewKeys(d.ChainID, d.Governor), log)
	h := apigw.Handler(graphql.NewHandler(st, graphql.Options{
		ChainID:         d.ChainID,
		AllowedOrigins:  cfg.CORSOrigins,
		DisableGraphiQL: !cfg.GraphiQL,
		Logger:          log,
		MinBlockWait:    cfg.MinBlockWait,

		StaleAuditAgeBlocks: cfg.StaleAuditAgeBlocks,
		ContestTolerance:    cfg.ContestTolerance,
	}))
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		// After a Redis outage, wait (briefly) for Redis; if it still does not answer, the
		// API answers with its own UNAVAILABLE errors.
		_ = gate.Wait(ctx, lambdafn.DefaultRedisWait)
		return h(ctx, req)
	}, nil
}
