// Package config reads ModelDAO's configuration from the environment, for the Lambda
// functions (functions/) and the CLI (cmd/modeldao), and builds the Redis client they share
// (see Redis). Load checks every variable that is set and every variable the caller needs,
// and reports all the problems at once in an *Error that names each variable and says what
// is expected; it never panics.
//
// The variables:
//
//	REDIS_URL         redis://host:6379/0, or rediss://user:password@host:6379 (TLS and AUTH,
//	                  as ElastiCache wants); go-redis URL options (?dial_timeout=3s) are allowed
//	REDIS_CLUSTER     true: cluster mode (Redis Cluster, ElastiCache cluster mode); REDIS_URL is
//	                  then one node or the configuration endpoint, more seeds as &addr=host:port
//	ETH_RPC_URL       JSON-RPC endpoint of an Ethereum node (http, https, ws, wss)
//	IPFS_API_URL      kubo RPC API: http://host:5001 or /ip4/127.0.0.1/tcp/5001
//	IPFS_API_URLS     the pinner's kubo nodes, comma-separated, each as IPFS_API_URL; it
//	                  pins on all of them (PIN_REPLICATION, see package pinning); without it,
//	                  IPFS_API_URL is a list of one
//	CHAIN_ID          chain id of the DAO's chain
//	TOKEN_ADDRESS, GOVERNOR_ADDRESS, TIMELOCK_ADDRESS, REGISTRY_ADDRESS
//	                  the DAO's contracts
//	START_BLOCK       block of the deployment: indexing starts there [0]
//	DEPLOYMENT_FILE   JSON deployment file (as contracts.Deployment.WriteFile writes it), in
//	                  place of the six above; a variable that is also set must agree with it
//	REORG_DEPTH       deepest reorg the indexer rolls back, in blocks replaced: N rolls back, N+1 stops [indexer default, 128]
//	CONFIRMATIONS     index only blocks this far below the head [0]
//	POLL_INTERVAL     wait between head polls once caught up [1s]
//	INDEXER_MARGIN    an indexer invocation stops this long before its deadline [5s]
//	CORS_ORIGINS      comma-separated origins browsers may call the API from, or * [none]
//	GRAPHIQL          false removes the GraphiQL page [true]
//	MIN_BLOCK_WAIT    how long an API request asking for a minimum block waits for the index [2s]
//	MAX_CONCURRENT_OPERATIONS  GraphQL operations the API executes at once; the others wait in
//	                  arrival order [4 per CPU]
//	LOG_LEVEL         debug, info, warn or error [info]
//	LOG_FORMAT        text or json [text]
//
// The pinner's own settings (MODELDAO_PIN_*) are read by pinning.ConfigFromEnv, the
// notifier's (MODELDAO_NOTIFY_*) by notify.ConfigFromEnv; the relayer's (RELAYER_*) are
// listed in relayer.go.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// Names of the environment variables.
const (
	EnvRedisURL       = "REDIS_URL"
	EnvRedisCluster   = "REDIS_CLUSTER"
	EnvEthRPCURL      = "ETH_RPC_URL"
	EnvIPFSAPIURL     = "IPFS_API_URL"
	EnvIPFSAPIURLs    = "IPFS_API_URLS"
	EnvChainID        = "CHAIN_ID"
	EnvToken          = "TOKEN_ADDRESS"
	EnvGovernor       = "GOVERNOR_ADDRESS"
	EnvTimelock       = "TIMELOCK_ADDRESS"
	EnvRegistry       = "REGISTRY_ADDRESS"
	EnvStartBlock     = "START_BLOCK"
	EnvDeploymentFile = "DEPLOYMENT_FILE"
	EnvReorgDepth     = "REORG_DEPTH"
	EnvConfirmations  = "CONFIRMATIONS"
	EnvPollInterval   = "POLL_INTERVAL"
	EnvIndexerMargin  = "INDEXER_MARGIN"
	EnvCORSOrigins    = "CORS_ORIGINS"
	EnvGraphiQL       = "GRAPHIQL"
	EnvLogLevel       = "LOG_LEVEL"
	EnvLogFormat      = "LOG_FORMAT"

	// Read-after-write (graphql/minblock.go).
	EnvMinBlockWait = "MIN_BLOCK_WAIT"

	// Admission of GraphQL operations (graphql/admission.go).
	EnvMaxConcurrentOperations = "MAX_CONCURRENT_OPERATIONS"

	// A steward's review (stale approvals, contested audits).
	EnvStaleAuditAgeBlocks = "STALE_AUDIT_AGE_BLOCKS"
	EnvContestTolerance    = "CONTEST_TOLERANCE"
)

// Defaults.
const (
	DefaultIndexerMargin = 5 * time.Second
	MaxReorgDepth        = 100_000 // the undo log keeps this many blocks at most
)

// Need says which parts of the configuration a program cannot run without.
type Need uint

const (
	// NeedStore: REDIS_URL, and the DAO whose keys the store reads: CHAIN_ID and
	// GOVERNOR_ADDRESS (or DEPLOYMENT_FILE).
	NeedStore Need = 1 << iota
	// NeedChain: ETH_RPC_URL and the whole deployment: CHAIN_ID and the four contract
	// addresses (or DEPLOYMENT_FILE).
	NeedChain
	// NeedIPFS: IPFS_API_URL or IPFS_API_URLS.
	NeedIPFS
	// NeedRelayer: RELAYER_PRIVATE_KEY or RELAYER_KEY_SECRET (see relayer.go).
	NeedRelayer

	ForAPI     = NeedStore
	ForIndexer = NeedStore | NeedChain
	ForPinner  = NeedStore | NeedIPFS
	ForRelayer = NeedStore | NeedChain | NeedRelayer
)

// Deployment is where the DAO's contracts live: the root package's type, which this package
// (and the API function) use without linking the contract bindings.
type Deployment = modeldao.Deployment

// Config is ModelDAO's configuration. Load fills it from the environment; the CLI may also
// set fields from flags and call Check.
type Config struct {
	Redis      RedisConfig
	EthRPCURL  string
	IPFSAPIURL string
	// IPFSAPIURLs are the pinner's kubo nodes: IPFS_API_URLS, or IPFS_API_URL alone. When
	// only IPFS_API_URLS is set, IPFSAPIURL is its first node (for publish and pull).
	IPFSAPIURLs []string
	Deployment  Deployment

	ReorgDepth    uint64        // 0: the indexer's default
	Confirmations uint64        // 0: index up to the head
	PollInterval  time.Duration // 0: the indexer's default
	IndexerMargin time.Duration

	CORSOrigins []string
	GraphiQL    bool
	// MinBlockWait bounds an API request's wait for a minimum block (0: the API's default).
	MinBlockWait time.Duration
	// MaxConcurrentOperations bounds the GraphQL operations executing at once (0: the
	// API's default).
	MaxConcurrentOperations int
	// StaleAuditAgeBlocks: an approval whose audit is older than this many blocks is stale
	// (nil: modeldao.DefaultStaleAuditAgeBlocks).
	StaleAuditAgeBlocks *uint64
	// ContestTolerance: two auditors' values of a metric further apart than this contest a
	// version (nil: modeldao.DefaultContestTolerance).
	ContestTolerance *modeldao.Fixed6

	LogLevel  slog.Level
	LogFormat string // "text" or "json"

	Relayer RelayerConfig // see relayer.go
}

// Problem is one invalid or missing variable.
type Problem struct {
	Var string // the environment variable
	Msg string // what is wrong and what is expected, starting with the variable's name
}

// Error lists every problem of a configuration. Its code is modeldao.EINVALID.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Msg
	}
	return "invalid configuration: " + strings.Join(msgs, "; ")
}

// Unwrap lets modeldao.ErrorCode see EINVALID.
func (e *Error) Unwrap() error {
	return &modeldao.Error{Code: modeldao.EINVALID, Message: e.Error()}
}

// Vars returns the names of the variables that have problems.
func (e *Error) Vars() []string {
	out := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p.Var
	}
	return out
}

type loader struct {
	getenv   func(string) string
	problems []Problem
}

func (l *loader) get(name string) string { return strings.TrimSpace(l.getenv(name)) }

func (l *loader) fail(name, format string, args ...any) {
	l.problems = append(l.problems, Problem{Var: name, Msg: fmt.Sprintf(format, args...)})
}

// Load reads the configuration from the environment (getenv nil means os.Getenv) and checks
// it for what need asks. On any problem it returns an *Error (and the configuration as far
// as it could be read).
func Load(getenv func(string) string, need Need) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	l := &loader{getenv: getenv}
	cfg := &Config{GraphiQL: true, IndexerMargin: DefaultIndexerMargin, LogFormat: "text"}

	cfg.Redis = l.redis()
	cfg.EthRPCURL = l.ethRPC()
	cfg.IPFSAPIURL = l.ipfsAPI(EnvIPFSAPIURL, EnvIPFSAPIURL, l.get(EnvIPFSAPIURL))
	cfg.IPFSAPIURLs = l.ipfsAPIs(cfg.IPFSAPIURL)
	if cfg.IPFSAPIURL == "" && len(cfg.IPFSAPIURLs) > 0 {
		cfg.IPFSAPIURL = cfg.IPFSAPIURLs[0]
	}
	cfg.Deployment = l.deployment()
	if v := l.get(EnvReorgDepth); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n < 1 || n > MaxReorgDepth {
			l.fail(EnvReorgDepth, "%s=%q: want a whole number of blocks from 1 to %d, e.g. 128", EnvReorgDepth, v, MaxReorgDepth)
		}
		cfg.ReorgDepth = n
	}
	if v := l.get(EnvConfirmations); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n > MaxReorgDepth {
			l.fail(EnvConfirmations, "%s=%q: want a whole number of blocks from 0 to %d, e.g. 12", EnvConfirmations, v, MaxReorgDepth)
		}
		cfg.Confirmations = n
	}
	cfg.PollInterval = l.duration(EnvPollInterval, 0)
	cfg.IndexerMargin = l.duration(EnvIndexerMargin, DefaultIndexerMargin)
	cfg.CORSOrigins = l.origins()
	cfg.GraphiQL = l.bool(EnvGraphiQL, true)
	cfg.MinBlockWait = l.duration(EnvMinBlockWait, 0)
	if v := l.get(EnvMaxConcurrentOperations); v != "" {
		n, err := ParseWhole(EnvMaxConcurrentOperations, v, 1, 1<<16, "a whole number of operations >= 1, e.g. 8 (the default is 4 per CPU)")
		if err != nil {
			l.fail(EnvMaxConcurrentOperations, "%s", modeldao.ErrorMessage(err))
		}
		cfg.MaxConcurrentOperations = n
	}
	if v := l.get(EnvStaleAuditAgeBlocks); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			l.fail(EnvStaleAuditAgeBlocks, "%s=%q: want a whole number of blocks, e.g. %d (the default, about a year of 12-second blocks)", EnvStaleAuditAgeBlocks, v, modeldao.DefaultStaleAuditAgeBlocks)
		} else {
			cfg.StaleAuditAgeBlocks = &n
		}
	}
	if v := l.get(EnvContestTolerance); v != "" {
		t, err := modeldao.ParseContestTolerance(EnvContestTolerance, v)
		if err != nil {
			l.fail(EnvContestTolerance, "%s", modeldao.ErrorMessage(err))
		} else {
			cfg.ContestTolerance = &t
		}
	}
	cfg.LogLevel = l.logLevel()
	if v := l.get(EnvLogFormat); v != "" {
		switch strings.ToLower(v) {
		case "text", "json":
			cfg.LogFormat = strings.ToLower(v)
		default:
			l.fail(EnvLogFormat, "%s=%q: want text or json", EnvLogFormat, v)
		}
	}
	cfg.Relayer = l.relayer(need)
	l.require(cfg, need)
	if len(l.problems) > 0 {
		return cfg, &Error{Problems: l.problems}
	}
	return cfg, nil
}

// require checks that what need asks for is present (problems of syntax were reported while
// reading; a variable reported once is not reported again).
func (l *loader) require(cfg *Config, need Need) {
	reported := map[string]bool{}
	for _, p := range l.problems {
		reported[p.Var] = true
	}
	missing := func(name, hint string) {
		if !reported[name] {
			l.fail(name, "%s is not set: %s", name, hint)
		}
	}
	fromFile := " (or set " + EnvDeploymentFile + " to the deployment file)"
	if l.get(EnvDeploymentFile) != "" {
		fromFile = " (or put it in the deployment file " + EnvDeploymentFile + " names)"
	}
	// When the deployment file could not be read, what it lacks is unknown.
	deploymentKnown := !reported[EnvDeploymentFile]
	d := cfg.Deployment
	if need&NeedStore != 0 {
		if cfg.Redis.URL == "" {
			missing(EnvRedisURL, "set it to redis://host:6379/0 or rediss://user:password@host:6379 (TLS with AUTH, as ElastiCache wants)")
		}
	}
	if need&(NeedStore|NeedChain) != 0 && deploymentKnown {
		if d.ChainID == 0 {
			missing(EnvChainID, "set it to the chain id of the DAO's chain, e.g. 1 (Ethereum mainnet) or 1337 (dev chain)"+fromFile)
		}
		if d.Governor == (common.Address{}) {
			missing(EnvGovernor, "set it to the address of the DAO's Governor contract, 0x followed by 40 hex digits"+fromFile)
		}
	}
	if need&NeedChain != 0 {
		if cfg.EthRPCURL == "" {
			missing(EnvEthRPCURL, "set it to the JSON-RPC endpoint of a node of the DAO's chain, e.g. https://rpc.example.org or http://127.0.0.1:8545")
		}
		for _, a := range []struct {
			name, what string
			addr       common.Address
		}{{EnvToken, "governance token", d.Token}, {EnvTimelock, "timelock", d.Timelock}, {EnvRegistry, "model registry", d.Registry}} {
			if a.addr == (common.Address{}) && deploymentKnown {
				missing(a.name, "set it to the address of the DAO's "+a.what+" contract, 0x followed by 40 hex digits"+fromFile)
			}
		}
	}
	if need&NeedIPFS != 0 && cfg.IPFSAPIURL == "" {
		missing(EnvIPFSAPIURL, "set it to the kubo RPC API, e.g. http://127.0.0.1:5001 or /ip4/127.0.0.1/tcp/5001 (or set IPFS_API_URLS to several, comma-separated)")
	}
}

func (l *loader) bool(name string, def bool) bool {
	v := l.get(name)
	if v == "" {
		return def
	}
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true
	case "0", "false", "no", "off":
		return false
	}
	l.fail(name, "%s=%q: want true or false", name, v)
	return def
}

func (l *loader) duration(name string, def time.Duration) time.Duration {
	v := l.get(name)
	if v == "" {
		return def
	}
	d, err := ParseDuration(name, v)
	if err != nil {
		l.fail(name, "%s", modeldao.ErrorMessage(err))
		return def
	}
	return d
}

func (l *loader) logLevel() slog.Level {
	v := l.get(EnvLogLevel)
	switch strings.ToLower(v) {
	case "":
		return slog.LevelInfo
	case "debug":
		return slog.LevelDebug
	case "info":
		return slog.LevelInfo
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	l.fail(EnvLogLevel, "%s=%q: want debug, info, warn or error", EnvLogLevel, v)
	return slog.LevelInfo
}

func (l *loader) origins() []string {
	v := l.get(EnvCORSOrigins)
	if v == "" {
		return nil
	}
	var out []string
	for _, o := range strings.Split(v, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if o == "*" {
			out = append(out, o)
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			l.fail(EnvCORSOrigins, "%s: %q is not an origin: want scheme://host[:port] such as https://app.example.org (no path), comma-separated, or * for any", EnvCORSOrigins, o)
			continue
		}
		out = append(out, u.Scheme+"://"+strings.ToLower(u.Host))
	}
	return out
}

func (l *loader) ethRPC() string {
	v := l.get(EnvEthRPCURL)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil {
		l.fail(EnvEthRPCURL, "%s is not a valid URL (%s): want e.g. https://rpc.example.org or http://127.0.0.1:8545", EnvEthRPCURL, urlProblem(err))
		return ""
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		l.fail(EnvEthRPCURL, "%s has scheme %q: want http, https, ws or wss, e.g. https://rpc.example.org", EnvEthRPCURL, u.Scheme)
		return ""
	}
	if u.Host == "" {
		l.fail(EnvEthRPCURL, "%s has no host: want e.g. https://rpc.example.org or http://127.0.0.1:8545", EnvEthRPCURL)
		return ""
	}
	return v
}

// ipfsAPIs returns the nodes of IPFS_API_URLS (checked one by one, each listed once), or
// single as a list of one.
func (l *loader) ipfsAPIs(single string) []string {
	list := l.get(EnvIPFSAPIURLs)
	if list == "" {
		if single == "" {
			return nil
		}
		return []string{single}
	}
	var out []string
	seen := map[string]bool{}
	problems := len(l.problems)
	for i, v := range strings.Split(list, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		name := fmt.Sprintf("%s (node %d)", EnvIPFSAPIURLs, i+1)
		if v = l.ipfsAPI(EnvIPFSAPIURLs, name, v); v == "" {
			continue
		}
		if seen[v] {
			l.fail(EnvIPFSAPIURLs, "%s lists the same node twice: list each kubo node once", name)
			continue
		}
		seen[v] = true
		out = append(out, v)
	}
	if len(out) == 0 && len(l.problems) == problems {
		l.fail(EnvIPFSAPIURLs, "%s lists no node: want kubo RPC API URLs, comma-separated, e.g. http://10.0.1.5:5001,http://10.0.2.5:5001", EnvIPFSAPIURLs)
	}
	return out
}

// ipfsAPI checks v, the value of the variable varName (called name in messages), as a kubo
// RPC API address.
func (l *loader) ipfsAPI(varName, name, v string) string {
	if v == "" {
		return ""
	}
	const want = "want http://host:5001 or a multiaddr like /ip4/127.0.0.1/tcp/5001"
	if strings.HasPrefix(v, "/") {
		parts := strings.Split(strings.TrimPrefix(v, "/"), "/")
		ok := len(parts) >= 4 && parts[2] == "tcp" && parts[1] != ""
		if ok {
			switch parts[0] {
			case "ip4", "ip6", "dns", "dns4", "dns6":
			default:
				ok = false
			}
			if p, err := strconv.ParseUint(parts[3], 10, 16); err != nil || p == 0 {
				ok = false
			}
		}
		if !ok {
			l.fail(varName, "%s=%q is not a TCP multiaddr: %s", name, v, want)
			return ""
		}
		return v
	}
	u, err := url.Parse(v)
	if err != nil {
		l.fail(varName, "%s is not a valid URL (%s): %s", name, urlProblem(err), want)
		return ""
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		l.fail(varName, "%s=%q: %s", name, redactURL(u), want)
		return ""
	}
	return v
}

// urlProblem returns what url.Parse found wrong, without the URL (which may hold a password).
func urlProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return "malformed"
}

// redactURL returns u with its password replaced by "xxxxx".
func redactURL(u *url.URL) string {
	return u.Redacted()
}

func (l *loader) address(name string) (common.Address, bool) {
	v := l.get(name)
	if v == "" {
		return common.Address{}, false
	}
	if !common.IsHexAddress(v) || (!strings.HasPrefix(v, "0x") && !strings.HasPrefix(v, "0X")) {
		l.fail(name, "%s=%q is not an address: want 0x followed by 40 hex digits", name, v)
		return common.Address{}, false
	}
	a := common.HexToAddress(v)
	hexPart := v[2:]
	if hexPart != strings.ToLower(hexPart) && hexPart != strings.ToUpper(hexPart) && a.Hex()[2:] != hexPart {
		l.fail(name, "%s=%q fails its EIP-55 checksum (a typo?): the checksummed form of these digits is %s", name, v, a.Hex())
		return common.Address{}, false
	}
	if a == (common.Address{}) {
		l.fail(name, "%s is the zero address: want the address of the deployed contract", name)
		return common.Address{}, false
	}
	return a, true
}

func (l *loader) uint(name, want string) (uint64, bool) {
	v := l.get(name)
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		l.fail(name, "%s=%q: want %s", name, v, want)
		return 0, false
	}
	return n, true
}

// deployment reads DEPLOYMENT_FILE and the six variables; a variable that disagrees with
// the file is a problem (which one is right cannot be guessed).
func (l *loader) deployment() Deployment {
	var d Deployment
	file := l.get(EnvDeploymentFile)
	haveFile := false
	if file != "" {
		b, err := os.ReadFile(file)
		switch {
		case err != nil:
			l.fail(EnvDeploymentFile, "%s=%q cannot be read (%v): want the path of a deployment file as `modeldao deploy` writes it", EnvDeploymentFile, file, unwrapPathError(err))
		default:
			if err := json.Unmarshal(b, &d); err != nil {
				l.fail(EnvDeploymentFile, "%s=%q is not a deployment file (%v): want JSON with chainId, token, governor, timelock, registry and startBlock", EnvDeploymentFile, file, err)
				d = Deployment{}
			} else {
				haveFile = true
			}
		}
	}
	conflict := func(name, env, inFile string) {
		l.fail(name, "%s=%s disagrees with %s (%s says %s): set one of them, or make them agree", name, env, EnvDeploymentFile, file, inFile)
	}
	if n, ok := l.uint(EnvChainID, "a positive whole number, e.g. 1 (Ethereum mainnet) or 1337 (dev chain)"); ok {
		switch {
		case n == 0:
			l.fail(EnvChainID, "%s=0: want a positive whole number, e.g. 1 (Ethereum mainnet) or 1337 (dev chain)", EnvChainID)
		case haveFile && d.ChainID != 0 && d.ChainID != n:
			conflict(EnvChainID, strconv.FormatUint(n, 10), strconv.FormatUint(d.ChainID, 10))
		default:
			d.ChainID = n
		}
	}
	for _, a := range []struct {
		name string
		dst  *common.Address
	}{{EnvToken, &d.Token}, {EnvGovernor, &d.Governor}, {EnvTimelock, &d.Timelock}, {EnvRegistry, &d.Registry}} {
		if v, ok := l.address(a.name); ok {
			if haveFile && *a.dst != (common.Address{}) && *a.dst != v {
				conflict(a.name, v.Hex(), a.dst.Hex())
				continue
			}
			*a.dst = v
		}
	}
	if n, ok := l.uint(EnvStartBlock, "a block number (a whole number), the block the DAO was deployed in"); ok {
		if haveFile && d.Block != 0 && d.Block != n {
			conflict(EnvStartBlock, strconv.FormatUint(n, 10), strconv.FormatUint(d.Block, 10))
		} else {
			d.Block = n
		}
	}
	return d
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// NewLogger returns the logger the configuration asks for, writing to w.
func (c *Config) NewLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
