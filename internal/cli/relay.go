package cli

import (
	"context"
	"crypto/ecdsa"
	"flag"
	"net"
	"net/http"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/relay"
)

func init() {
	register(&command{name: "relay", summary: "serve the gasless relayer: signed ballots and delegations sent from a funded key",
		detail: "Serves POST /relay/vote, POST /relay/delegate, GET /relay/{id} and GET /relay. The key of the sending account is RELAYER_PRIVATE_KEY (or --dev-account on the dev chain); it is never printed. " +
			"Configuration from the environment (REDIS_URL, ETH_RPC_URL, DEPLOYMENT_FILE or CHAIN_ID and the *_ADDRESS variables, CORS_ORIGINS, RELAYER_*); flags override it.",
		setup: setupRelay})
}

func setupRelay(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.redisFlag(fs)
	r.rpcFlag(fs)
	r.deploymentFlag(fs, false)
	listen := fs.String("listen", "127.0.0.1:8082", "address to serve on")
	dev := fs.Int("dev-account", -1, "send from this dev account of modeldao dev (0-9; dev chain only) instead of RELAYER_PRIVATE_KEY")
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 0, ""); err != nil {
			return err
		}
		need := config.ForRelayer
		if *dev >= 0 {
			need &^= config.NeedRelayer
		}
		cfg, log, rdb, st, err := r.service(need)
		if err != nil {
			return err
		}
		defer rdb.Close()
		eth, id, err := r.chain(ctx)
		if err != nil {
			return err
		}
		if id.Uint64() != cfg.Deployment.ChainID {
			return modeldao.Errorf(modeldao.EINVALID, "the deployment is on chain %d but the node at %s serves chain %d", cfg.Deployment.ChainID, r.rpcURL, id)
		}
		var key *ecdsa.PrivateKey
		switch {
		case *dev >= 0:
			if id.Uint64() != devchain.ChainID || *dev > 9 {
				return usagef("--dev-account works on the dev chain (chain id %d) with accounts 0 to 9", devchain.ChainID)
			}
			key = devchain.DevAccounts(*dev + 1)[*dev].Key
		case cfg.Relayer.KeySecret != "" && cfg.Relayer.PrivateKey.IsZero():
			return usagef("%s is read by the Lambda function; locally set %s", config.EnvRelayerKeySecret, config.EnvRelayerPrivateKey)
		default:
			if key, err = crypto.HexToECDSA(cfg.Relayer.PrivateKey.Reveal()); err != nil {
				return usagef("%s is not a valid secp256k1 private key", config.EnvRelayerPrivateKey)
			}
		}
		rl, err := relay.New(relay.Config{
			Chain: eth, Store: st, Deployment: contracts.Deployment(cfg.Deployment), Key: key, Log: log,
			SignerLimit: cfg.Relayer.SignerLimit, IPLimit: cfg.Relayer.IPLimit, Window: cfg.Relayer.Window,
			GasBudget: cfg.Relayer.GasBudget, BudgetPeriod: cfg.Relayer.BudgetPeriod, Wait: cfg.Relayer.Wait,
		})
		if err != nil {
			return err
		}
		if _, _, err := rl.Domains(ctx); err != nil {
			return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "the relayer cannot read the DAO's contracts at %s", r.rpcURL)
		}
		l, err := net.Listen("tcp", *listen)
		if err != nil {
			return modeldao.WrapError(modeldao.EINVALID, err, "cannot listen on %s: choose another address with --listen", *listen)
		}
		srv := &http.Server{Handler: rl.Handler(relay.HandlerOptions{AllowedOrigins: cfg.CORSOrigins}), ReadHeaderTimeout: 10 * time.Second}
		r.progress("relaying signed votes and delegations at http://%s/relay from %s (fund it); Ctrl-C stops", l.Addr(), rl.Address().Hex())
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
