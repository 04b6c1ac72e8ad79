package cli

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/internal/txutil"
	"github.com/modeldao/modeldao/pinning"
)

// Environment variables the CLI reads besides those of the config package.
const (
	EnvAPIURL       = "MODELDAO_API_URL"       // the GraphQL endpoint
	EnvPrivateKey   = "MODELDAO_PRIVATE_KEY"   // hex private key of the sending account
	EnvKeystore     = "MODELDAO_KEYSTORE"      // encrypted keystore file (go-ethereum/web3 v3 format)
	EnvPasswordFile = "MODELDAO_PASSWORD_FILE" // file holding the keystore's password
)

// Defaults: the dev stack's addresses.
const (
	DefaultRPCURL  = "http://127.0.0.1:8545"
	DefaultAPIURL  = "http://127.0.0.1:8080/graphql"
	DefaultIPFSURL = "http://127.0.0.1:5001"
)

// runner holds one invocation's settings and connections.
type runner struct {
	env            Env
	cmd            *command
	stdout, stderr io.Writer

	json                   bool
	printed                bool // the result went to stdout
	rpcURL                 string
	apiURL                 string
	ipfsURL                string
	redisURL               string
	deploymentFile         string
	keystoreFile, pwFile   string
	devAccount             int
	timeout                time.Duration
	hasAPI, hasDeployment  bool
	hasRPC, hasRedis, hasK bool

	eth     *ethclient.Client
	chainID *big.Int
	dao     *contracts.DAO
	opts    *bind.TransactOpts
}

func (r *runner) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("modeldao "+r.cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func (r *runner) getenv(k string) string { return strings.TrimSpace(r.env.Getenv(k)) }

func (r *runner) envOr(k, def string) string {
	if v := r.getenv(k); v != "" {
		return v
	}
	return def
}

// ---- flag groups ----

func (r *runner) jsonFlag(fs *flag.FlagSet) {
	fs.BoolVar(&r.json, "json", false, "print the result as JSON (for scripts)")
}

func (r *runner) apiFlag(fs *flag.FlagSet) {
	if r.hasAPI {
		return
	}
	r.hasAPI = true
	fs.StringVar(&r.apiURL, "api", r.envOr(EnvAPIURL, DefaultAPIURL), "GraphQL endpoint of the ModelDAO API (env "+EnvAPIURL+")")
}

func (r *runner) rpcFlag(fs *flag.FlagSet) {
	r.hasRPC = true
	fs.StringVar(&r.rpcURL, "rpc", r.envOr(config.EnvEthRPCURL, DefaultRPCURL), "JSON-RPC endpoint of the chain (env "+config.EnvEthRPCURL+")")
}

func (r *runner) deploymentFlag(fs *flag.FlagSet, apiFallback bool) {
	r.hasDeployment = true
	help := "deployment file of the DAO's contracts, as modeldao dev writes it (env " + config.EnvDeploymentFile + "; or CHAIN_ID and *_ADDRESS variables)"
	if apiFallback {
		help += "; default: the contracts the API reports"
		r.apiFlag(fs)
	}
	fs.StringVar(&r.deploymentFile, "deployment", r.getenv(config.EnvDeploymentFile), help)
}

// chainFlags are the flags of commands that read the chain.
func (r *runner) chainFlags(fs *flag.FlagSet) {
	r.rpcFlag(fs)
	r.deploymentFlag(fs, true)
}

// txFlags are the flags of commands that send transactions.
func (r *runner) txFlags(fs *flag.FlagSet) {
	r.chainFlags(fs)
	r.keyFlags(fs)
}

// keyFlags choose the sending account and how long to wait for its transactions.
func (r *runner) keyFlags(fs *flag.FlagSet) {
	fs.StringVar(&r.keystoreFile, "keystore", r.getenv(EnvKeystore), "encrypted keystore file of the sending account (env "+EnvKeystore+"); default: the key in "+EnvPrivateKey)
	fs.StringVar(&r.pwFile, "password-file", r.getenv(EnvPasswordFile), "file holding the keystore's password (env "+EnvPasswordFile+")")
	fs.IntVar(&r.devAccount, "dev-account", -1, "send from this dev account of modeldao dev (0-9; dev chain only)")
	fs.DurationVar(&r.timeout, "timeout", 2*time.Minute, "how long to wait for a transaction to be mined")
}

func (r *runner) ipfsFlag(fs *flag.FlagSet) {
	r.hasK = true
	fs.StringVar(&r.ipfsURL, "ipfs", r.envOr(config.EnvIPFSAPIURL, DefaultIPFSURL), "kubo RPC API, URL or multiaddr (env "+config.EnvIPFSAPIURL+")")
}

func (r *runner) redisFlag(fs *flag.FlagSet) {
	r.hasRedis = true
	fs.StringVar(&r.redisURL, "redis", r.getenv(config.EnvRedisURL), "Redis of the index, redis://host:port/db (env "+config.EnvRedisURL+"; modeldao dev prints it)")
}

// ---- configuration ----

// config loads the configuration from the environment with the flags' values in place of
// the variables they override, and checks what need asks for.
func (r *runner) config(need config.Need) (*config.Config, error) {
	over := map[string]string{}
	if r.hasRPC {
		over[config.EnvEthRPCURL] = r.rpcURL
	}
	if r.hasRedis {
		over[config.EnvRedisURL] = r.redisURL
	}
	if r.hasK {
		over[config.EnvIPFSAPIURL] = r.ipfsURL
	}
	if r.hasDeployment {
		over[config.EnvDeploymentFile] = r.deploymentFile
	}
	get := func(k string) string {
		if v, ok := over[k]; ok {
			return v
		}
		return r.env.Getenv(k)
	}
	cfg, err := config.Load(get, need)
	if err != nil {
		return nil, renameVars(err)
	}
	return cfg, nil
}

// renameVars mentions the flags next to the variables they override.
func renameVars(err error) error {
	var ce *config.Error
	if !errors.As(err, &ce) {
		return err
	}
	flags := map[string]string{config.EnvEthRPCURL: "--rpc", config.EnvRedisURL: "--redis", config.EnvIPFSAPIURL: "--ipfs", config.EnvDeploymentFile: "--deployment"}
	out := &config.Error{}
	for _, p := range ce.Problems {
		if f := flags[p.Var]; f != "" {
			p.Msg = strings.Replace(p.Msg, p.Var, p.Var+" ("+f+")", 1)
		}
		out.Problems = append(out.Problems, p)
	}
	return out
}

func (r *runner) logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(r.stderr, &slog.HandlerOptions{Level: level}))
}

// progress writes a line for the user on stderr.
func (r *runner) progress(format string, args ...any) {
	fmt.Fprintf(r.stderr, format+"\n", args...)
}

// print writes v as JSON with --json, else calls text.
func (r *runner) print(v any, text func(w io.Writer)) error {
	r.printed = true
	if r.json {
		enc := json.NewEncoder(r.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(r.stdout)
	return nil
}

// ---- the API ----

func (r *runner) api() *client.Client {
	return client.New(r.apiURL, &http.Client{Timeout: 30 * time.Second})
}

// freshAPI is a client whose requests bypass the API's response cache (Cache-Control:
// no-cache), for verify: a record changed in Redis behind the indexer's back shows at once.
func (r *runner) freshAPI() *client.Client {
	return client.New(r.apiURL, &http.Client{Timeout: 30 * time.Second, Transport: noCache{http.DefaultTransport}})
}

type noCache struct{ next http.RoundTripper }

func (n noCache) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Cache-Control", "no-cache")
	return n.next.RoundTrip(req)
}

// ---- the chain ----

// chain connects to the node and reads its chain id.
func (r *runner) chain(ctx context.Context) (*ethclient.Client, *big.Int, error) {
	if r.eth != nil {
		return r.eth, r.chainID, nil
	}
	if _, err := r.config(0); err != nil {
		return nil, nil, err
	}
	c, err := ethclient.DialContext(ctx, r.rpcURL)
	if err != nil {
		return nil, nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "cannot connect to the node at %s", r.rpcURL)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	id, err := c.ChainID(cctx)
	if err != nil {
		c.Close()
		return nil, nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err,
			"no Ethereum node answers at %s: start the dev stack with `make dev`, or pass --rpc / set %s", r.rpcURL, config.EnvEthRPCURL)
	}
	r.eth, r.chainID = c, id
	return c, id, nil
}

// deployment finds the DAO's contracts: the deployment file or variables, else the API.
func (r *runner) deployment(ctx context.Context) (contracts.Deployment, error) {
	cfg, err := r.config(0)
	if err != nil {
		return contracts.Deployment{}, err
	}
	d := cfg.Deployment
	if d.Validate() == nil {
		return d, nil
	}
	if d != (contracts.Deployment{}) || !r.hasAPI {
		// Something is configured, but not all of it.
		if _, err := r.config(config.NeedChain); err != nil {
			return d, err
		}
		return d, d.Validate()
	}
	dao, err := r.api().DAO(ctx)
	if err != nil {
		return d, modeldao.WrapError(modeldao.EUNAVAILABLE, err,
			"no deployment is configured and the API at %s did not say where the contracts are: pass --deployment <file> (`modeldao dev` writes one in its data directory) or set %s, or start the API",
			r.apiURL, config.EnvDeploymentFile)
	}
	d = contracts.Deployment{ChainID: dao.ChainID, Token: dao.Token, Governor: dao.Governor, Timelock: dao.Timelock, Registry: dao.Registry, Block: dao.StartBlock}
	return d, d.Validate()
}

// contracts binds the DAO's contracts on the node, with a margin on gas estimates.
func (r *runner) contracts(ctx context.Context) (*contracts.DAO, error) {
	if r.dao != nil {
		return r.dao, nil
	}
	eth, id, err := r.chain(ctx)
	if err != nil {
		return nil, err
	}
	d, err := r.deployment(ctx)
	if err != nil {
		return nil, err
	}
	if d.ChainID != id.Uint64() {
		return nil, modeldao.Errorf(modeldao.EINVALID, "the deployment is on chain %d but the node at %s serves chain %d: check --rpc and --deployment", d.ChainID, r.rpcURL, id)
	}
	dao, err := contracts.Bind(d, txutil.WithGasMargin(eth))
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "bind the contracts")
	}
	r.dao = dao
	return dao, nil
}

// key finds the private key to send with: --keystore, --dev-account or MODELDAO_PRIVATE_KEY.
func (r *runner) key(chainID *big.Int) (*ecdsa.PrivateKey, error) {
	switch {
	case r.keystoreFile != "":
		if r.pwFile == "" {
			return nil, usagef("--keystore needs --password-file (or %s): the file that holds the keystore's password", EnvPasswordFile)
		}
		data, err := os.ReadFile(r.keystoreFile)
		if err != nil {
			return nil, usagef("cannot read the keystore file: %v", err)
		}
		pw, err := os.ReadFile(r.pwFile)
		if err != nil {
			return nil, usagef("cannot read the password file: %v", err)
		}
		k, err := keystore.DecryptKey(data, strings.TrimRight(string(pw), "\r\n"))
		if err != nil {
			return nil, modeldao.WrapError(modeldao.EINVALID, err, "cannot decrypt the keystore %s (wrong password, or not a keystore file?)", r.keystoreFile)
		}
		return k.PrivateKey, nil
	case r.devAccount >= 0:
		if chainID.Uint64() != devchain.ChainID {
			return nil, usagef("--dev-account works on the dev chain (chain id %d) only; this is chain %d", devchain.ChainID, chainID)
		}
		if r.devAccount > 9 {
			return nil, usagef("--dev-account %d: modeldao dev funds accounts 0 to 9", r.devAccount)
		}
		return devchain.DevAccounts(r.devAccount + 1)[r.devAccount].Key, nil
	}
	hexKey := strings.TrimPrefix(r.getenv(EnvPrivateKey), "0x")
	if hexKey == "" {
		return nil, usagef("no key to sign with: set %s=0x<private key>, or pass --keystore <file> --password-file <file> (on the dev chain: --dev-account <n>; `modeldao dev` prints the dev keys)", EnvPrivateKey)
	}
	k, err := crypto.HexToECDSA(hexKey)
	if err != nil {
		return nil, usagef("%s is not a private key in hex (64 hex digits, optionally 0x-prefixed)", EnvPrivateKey)
	}
	return k, nil
}

// signer returns the transaction options of the sending account.
func (r *runner) signer(ctx context.Context) (*bind.TransactOpts, error) {
	if r.opts != nil {
		return r.opts, nil
	}
	_, id, err := r.chain(ctx)
	if err != nil {
		return nil, err
	}
	k, err := r.key(id)
	if err != nil {
		return nil, err
	}
	o, err := bind.NewKeyedTransactorWithChainID(k, id)
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "make a transactor")
	}
	r.opts = o
	return o, nil
}

// send sends the transaction that build makes, waits until it is mined and returns its
// receipt; a transaction the chain would refuse fails before it is sent, with the reason.
func (r *runner) send(ctx context.Context, what string, build func(*bind.TransactOpts) (*types.Transaction, error)) (*types.Receipt, error) {
	opts, err := r.signer(ctx)
	if err != nil {
		return nil, err
	}
	o := *opts
	o.Context = ctx
	tx, err := build(&o)
	if err != nil {
		return nil, r.txError(what, o.From, err)
	}
	r.progress("%s: transaction %s sent from %s, waiting for it to be mined…", what, tx.Hash().Hex(), o.From.Hex())
	timeout := r.timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rec, err := txutil.WaitMined(wctx, r.eth, tx.Hash())
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err,
			"%s: transaction %s was not mined within %s: is the chain producing blocks? (`modeldao dev` mines every transaction)", what, tx.Hash().Hex(), timeout)
	}
	if rec.Status != types.ReceiptStatusSuccessful {
		// Replay it on the state before its block for the reason.
		reason := "no reason given"
		_, cerr := r.eth.CallContract(ctx, callMsg(o.From, tx), new(big.Int).Sub(rec.BlockNumber, big.NewInt(1)))
		if cerr != nil {
			reason = r.txError(what, o.From, cerr).Error()
		}
		return rec, modeldao.Errorf(modeldao.EINVALID, "%s: transaction %s reverted in block %d (%s)", what, tx.Hash().Hex(), rec.BlockNumber, reason)
	}
	return rec, nil
}

// txError explains why a transaction could not be sent.
func (r *runner) txError(what string, from common.Address, err error) error {
	if data, ok := txutil.RevertData(err); ok {
		if rv, ok := txutil.DecodeRevert(data); ok {
			return modeldao.WrapError(modeldao.EINVALID, errors.New(rv.Text), "%s would fail: %s", what, explainRevert(rv, from))
		}
	}
	msg := err.Error()
	var re rpc.Error
	switch {
	case strings.Contains(msg, "insufficient funds"):
		return modeldao.WrapError(modeldao.EINVALID, err, "%s: account %s has not enough ETH to pay for gas", what, from.Hex())
	case strings.Contains(msg, "execution reverted"):
		return modeldao.WrapError(modeldao.EINVALID, err, "%s would fail: the contract refused it", what)
	case errors.As(err, &re):
		return modeldao.WrapError(modeldao.EINVALID, err, "%s: the node refused the transaction", what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "%s: interrupted", what)
	}
	return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "%s: the node at %s did not take the transaction", what, r.rpcURL)
}

// explainRevert turns the contracts' custom errors into advice.
func explainRevert(rv txutil.Revert, from common.Address) string {
	arg := func(n string) any { return rv.Args[n] }
	switch rv.Name {
	case "GovernorUnexpectedProposalState":
		st, _ := arg("current").(uint8)
		return fmt.Sprintf("the proposal is %s, which does not allow this", modeldao.ProposalState(st))
	case "GovernorNonexistentProposal":
		return fmt.Sprintf("there is no proposal %v", arg("proposalId"))
	case "GovernorAlreadyCastVote":
		return fmt.Sprintf("%v has already voted on this proposal", arg("voter"))
	case "GovernorInsufficientProposerVotes":
		return fmt.Sprintf("%v has %v votes, below the proposal threshold %v: get delegations first", arg("proposer"), arg("votes"), arg("threshold"))
	case "GovernorOnlyProposer":
		return "only the proposer may do this"
	case "NotAuditor":
		return fmt.Sprintf("%s is not a registered auditor: the DAO registers auditors with `modeldao propose auditor add`", from.Hex())
	case "NotModelOwner":
		return fmt.Sprintf("model %v belongs to %v: only its owner may publish versions of it", arg("modelName"), arg("owner"))
	case "DuplicateVersion":
		return fmt.Sprintf("%v %v is already published: choose another --version", arg("modelName"), arg("versionLabel"))
	case "TimelockUnexpectedOperationState":
		return "the timelock operation is not ready: wait until the timelock delay has passed"
	case "Error":
		return rv.Text
	}
	return "the contract refused it with " + rv.Text
}

// ---- arguments ----

// parseProposalID reads a proposal id in decimal (as Governor frontends show it) or hex.
func parseProposalID(s string) (*big.Int, bool) {
	if s == "" {
		return nil, false
	}
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		if len(s) > 66 {
			return nil, false
		}
		return new(big.Int).SetString(s[2:], 16)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return nil, false
		}
	}
	x, ok := new(big.Int).SetString(s, 10)
	if !ok || x.BitLen() > 256 {
		return nil, false
	}
	return x, true
}

func parseVersionID(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, usagef("%q is not a model version id (a positive whole number, as `modeldao models` lists them)", s)
	}
	return n, nil
}

func parseAddress(s, what string) (common.Address, error) {
	if !common.IsHexAddress(s) {
		return common.Address{}, usagef("%s %q is not an address (0x followed by 40 hex digits)", what, s)
	}
	return common.HexToAddress(s), nil
}

func needArgs(args []string, n int, what string) error {
	if len(args) < n {
		return usagef("missing %s", what)
	}
	if len(args) > n {
		return usagef("unexpected argument %q", args[n])
	}
	return nil
}

// ipfs connects to the kubo RPC API.
func (r *runner) ipfs(ctx context.Context) (*pinning.Client, error) {
	if _, err := r.config(0); err != nil {
		return nil, err
	}
	c, err := pinning.Connect(ctx, r.ipfsURL, nil)
	if err != nil {
		if modeldao.ErrorCode(err) == modeldao.EUNAVAILABLE {
			return nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "no IPFS daemon answers at %s: start one (`make dev` does), or pass --ipfs / set %s", r.ipfsURL, config.EnvIPFSAPIURL)
		}
		return nil, err
	}
	return c, nil
}

func callMsg(from common.Address, tx *types.Transaction) ethereum.CallMsg {
	return ethereum.CallMsg{From: from, To: tx.To(), Data: tx.Data(), Gas: tx.Gas(), Value: tx.Value()}
}

func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}
