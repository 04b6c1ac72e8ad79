// Command relayer is the gasless vote relayer (package relay) as a Lambda function behind
// the API Gateway HTTP API (payload format 2.0): POST /relay/vote, POST /relay/delegate,
// GET /relay/{id}, GET /relay. It verifies each signed ballot or delegation against the
// chain and sends it from the relayer's funded account.
//
// Environment: REDIS_URL, REDIS_CLUSTER, ETH_RPC_URL, CHAIN_ID and the contract addresses
// (or DEPLOYMENT_FILE), CORS_ORIGINS, LOG_LEVEL, LOG_FORMAT, and RELAYER_* (see package
// config): the key in RELAYER_PRIVATE_KEY or, in AWS, RELAYER_KEY_SECRET naming the Secrets
// Manager secret that holds it, read on the first invocation of a container.
package main

import (
	"context"
	"crypto/ecdsa"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/functions/internal/apigw"
	"github.com/modeldao/modeldao/functions/internal/awssecret"
	"github.com/modeldao/modeldao/functions/internal/lambdafn"
	"github.com/modeldao/modeldao/relay"
	"github.com/modeldao/modeldao/store"
)

func main() {
	lambdafn.Start(config.ForRelayer, setup)
}

func setup(cfg *config.Config, log *slog.Logger) (lambdafn.Handler[events.APIGatewayV2HTTPRequest, events.APIGatewayV2HTTPResponse], error) {
	d := cfg.Deployment
	rdb := config.Redis(cfg)
	gate := lambdafn.NewRedisGate(rdb)
	st := store.New(rdb, store.NewKeys(d.ChainID, d.Governor), log)
	var (
		mu sync.Mutex
		h  func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
	)
	// The relayer is built on the first invocation: the secret and the node may be down,
	// and that must fail the invocation, not the container.
	build := func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if h != nil {
			return nil
		}
		key, err := relayerKey(ctx, cfg.Relayer)
		if err != nil {
			return err
		}
		rpc, err := ethclient.DialContext(ctx, cfg.EthRPCURL)
		if err != nil {
			return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "cannot reach the node at %s", config.EnvEthRPCURL)
		}
		r, err := relay.New(relay.Config{
			Chain: rpc, Store: st, Deployment: contracts.Deployment(d), Key: key, Log: log,
			SignerLimit: cfg.Relayer.SignerLimit, IPLimit: cfg.Relayer.IPLimit, Window: cfg.Relayer.Window,
			GasBudget: cfg.Relayer.GasBudget, BudgetPeriod: cfg.Relayer.BudgetPeriod, Wait: cfg.Relayer.Wait,
		})
		if err != nil {
			rpc.Close()
			return err
		}
		log.Info("relayer ready", "relayer", r.Address())
		h = apigw.Handler(r.Handler(relay.HandlerOptions{AllowedOrigins: cfg.CORSOrigins}))
		return nil
	}
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		_ = gate.Wait(ctx, lambdafn.DefaultRedisWait)
		if err := build(ctx); err != nil {
			log.Error("relayer not ready", "err", err)
			return apigw.JSONError(http.StatusServiceUnavailable, modeldao.RelayError{
				Code: "UNAVAILABLE", Reason: modeldao.RelayNotConfigured, Message: "the relayer cannot start: " + modeldao.ErrorMessage(err),
			}), nil
		}
		return h(ctx, req)
	}, nil
}

// relayerKey is the key from RELAYER_PRIVATE_KEY, or from the Secrets Manager secret
// RELAYER_KEY_SECRET names.
func relayerKey(ctx context.Context, rc config.RelayerConfig) (*ecdsa.PrivateKey, error) {
	hexKey, source := rc.PrivateKey.Reveal(), config.EnvRelayerPrivateKey
	if hexKey == "" {
		v, err := awssecret.Get(ctx, os.Getenv, rc.KeySecret)
		if err != nil {
			return nil, err
		}
		k, ok := config.ParsePrivateKey(v)
		if !ok {
			return nil, modeldao.Errorf(modeldao.EINVALID, "the secret %s (%s) is not a private key: store 64 hex digits as its plain-text value", rc.KeySecret, config.EnvRelayerKeySecret)
		}
		hexKey, source = k, config.EnvRelayerKeySecret
	}
	key, err := crypto.HexToECDSA(hexKey)
	if err != nil {
		// err would not quote the key, but say nothing of it anyway.
		return nil, modeldao.Errorf(modeldao.EINVALID, "the key in %s is not a valid secp256k1 private key", source)
	}
	return key, nil
}
