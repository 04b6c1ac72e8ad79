package config_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/contracts"
)

const (
	token    = "0x1111111111111111111111111111111111111111"
	governor = "0x2222222222222222222222222222222222222222"
	timelock = "0x3333333333333333333333333333333333333333"
	registry = "0x4444444444444444444444444444444444444444"
)

// env is a getenv over a map.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// with returns a copy of e with kv (name, value, name, value…) set; an empty value unsets.
func (e env) with(kv ...string) env {
	out := env{}
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

// full is a valid environment for every function.
var full = env{
	"REDIS_URL":        "redis://127.0.0.1:6379/0",
	"ETH_RPC_URL":      "http://127.0.0.1:8545",
	"IPFS_API_URL":     "http://127.0.0.1:5001",
	"CHAIN_ID":         "1337",
	"TOKEN_ADDRESS":    token,
	"GOVERNOR_ADDRESS": governor,
	"TIMELOCK_ADDRESS": timelock,
	"REGISTRY_ADDRESS": registry,
	"START_BLOCK":      "7",
}

func load(t *testing.T, e env, need config.Need) *config.Config {
	t.Helper()
	cfg, err := config.Load(e.get, need)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

// loadErr loads e, wants an *config.Error naming exactly vars, and returns its message.
func loadErr(t *testing.T, e env, need config.Need, vars ...string) string {
	t.Helper()
	_, err := config.Load(e.get, need)
	if err == nil {
		t.Fatalf("Load succeeded, want problems with %v", vars)
	}
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %T %v is not a *config.Error", err, err)
	}
	got := ce.Vars()
	if !slices.Equal(got, vars) {
		t.Fatalf("problems with %v, want %v: %v", got, vars, err)
	}
	for _, p := range ce.Problems {
		if !strings.HasPrefix(p.Msg, p.Var) {
			t.Errorf("problem message %q does not start with the variable %s", p.Msg, p.Var)
		}
	}
	if modeldao.ErrorCode(err) != modeldao.EINVALID {
		t.Errorf("ErrorCode = %q, want %q", modeldao.ErrorCode(err), modeldao.EINVALID)
	}
	return err.Error()
}

func wantIn(t *testing.T, msg string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q does not contain %q", msg, s)
		}
	}
}

func TestLoadFull(t *testing.T) {
	cfg := load(t, full, config.ForIndexer|config.NeedIPFS)
	d := cfg.Deployment
	if d.ChainID != 1337 || d.Token != common.HexToAddress(token) || d.Governor != common.HexToAddress(governor) ||
		d.Timelock != common.HexToAddress(timelock) || d.Registry != common.HexToAddress(registry) || d.Block != 7 {
		t.Fatalf("deployment %+v", d)
	}
	if cfg.EthRPCURL != full["ETH_RPC_URL"] || cfg.IPFSAPIURL != full["IPFS_API_URL"] {
		t.Fatalf("urls %q %q", cfg.EthRPCURL, cfg.IPFSAPIURL)
	}
	r := cfg.Redis
	if r.Cluster || r.TLS || r.DB != 0 || !slices.Equal(r.Addrs, []string{"127.0.0.1:6379"}) || r.URL != full["REDIS_URL"] {
		t.Fatalf("redis %+v", r)
	}
	// Defaults.
	if cfg.ReorgDepth != 0 || cfg.Confirmations != 0 || cfg.PollInterval != 0 || cfg.IndexerMargin != config.DefaultIndexerMargin ||
		cfg.CORSOrigins != nil || !cfg.GraphiQL || cfg.LogLevel != slog.LevelInfo || cfg.LogFormat != "text" {
		t.Fatalf("defaults %+v", cfg)
	}
}

func TestLoadOptional(t *testing.T) {
	cfg := load(t, full.with(
		"REORG_DEPTH", "64", "CONFIRMATIONS", "12", "POLL_INTERVAL", "250ms", "INDEXER_MARGIN", "3s",
		"CORS_ORIGINS", " https://App.Example.org/ , http://localhost:5173,", "GRAPHIQL", "false",
		"LOG_LEVEL", "DEBUG", "LOG_FORMAT", "JSON", "REDIS_CLUSTER", "yes"), config.ForIndexer)
	if cfg.ReorgDepth != 64 || cfg.Confirmations != 12 || cfg.PollInterval != 250*time.Millisecond || cfg.IndexerMargin != 3*time.Second {
		t.Fatalf("indexer settings %+v", cfg)
	}
	if !slices.Equal(cfg.CORSOrigins, []string{"https://app.example.org", "http://localhost:5173"}) {
		t.Fatalf("CORSOrigins %q", cfg.CORSOrigins)
	}
	if cfg.GraphiQL || cfg.LogLevel != slog.LevelDebug || cfg.LogFormat != "json" || !cfg.Redis.Cluster {
		t.Fatalf("%+v", cfg)
	}
	if cfg := load(t, full.with("CORS_ORIGINS", "*", "LOG_LEVEL", "warning"), config.ForAPI); !slices.Equal(cfg.CORSOrigins, []string{"*"}) || cfg.LogLevel != slog.LevelWarn {
		t.Fatalf("%q %v", cfg.CORSOrigins, cfg.LogLevel)
	}
}

// TestNeeds: each function asks only for what it uses.
func TestNeeds(t *testing.T) {
	api := env{"REDIS_URL": "redis://r:6379", "CHAIN_ID": "1", "GOVERNOR_ADDRESS": governor}
	load(t, api, config.ForAPI)
	load(t, api.with("IPFS_API_URL", "/ip4/127.0.0.1/tcp/5001"), config.ForPinner)

	msg := loadErr(t, env{}, config.ForAPI, "REDIS_URL", "CHAIN_ID", "GOVERNOR_ADDRESS")
	wantIn(t, msg, "REDIS_URL is not set: set it to redis://host:6379/0 or rediss://user:password@host:6379",
		"CHAIN_ID is not set", "GOVERNOR_ADDRESS is not set", "DEPLOYMENT_FILE")

	msg = loadErr(t, api, config.ForPinner, "IPFS_API_URL")
	wantIn(t, msg, "IPFS_API_URL is not set: set it to the kubo RPC API, e.g. http://127.0.0.1:5001")

	msg = loadErr(t, api, config.ForIndexer, "ETH_RPC_URL", "TOKEN_ADDRESS", "TIMELOCK_ADDRESS", "REGISTRY_ADDRESS")
	wantIn(t, msg, "ETH_RPC_URL is not set: set it to the JSON-RPC endpoint", "TOKEN_ADDRESS is not set")

	// Needing nothing, nothing is missing; but what is set is still checked.
	load(t, env{}, 0)
	loadErr(t, env{"CHAIN_ID": "x"}, 0, "CHAIN_ID")
}

func TestRedisURL(t *testing.T) {
	ok := []struct {
		url, cluster string
		check        func(config.RedisConfig) bool
	}{
		{"redis://localhost", "", func(r config.RedisConfig) bool {
			return slices.Equal(r.Addrs, []string{"localhost:6379"}) && !r.TLS && r.DB == 0 && r.Username == "" && r.Password == ""
		}},
		{"redis://:s3cr%40t@10.0.0.1:6380/2", "", func(r config.RedisConfig) bool {
			return r.Addrs[0] == "10.0.0.1:6380" && r.Password == "s3cr@t" && r.Username == "" && r.DB == 2
		}},
		{"rediss://modeldao:tok%2Fen@clustercfg.x.cache.amazonaws.com:6379", "true", func(r config.RedisConfig) bool {
			return r.TLS && r.Cluster && r.Username == "modeldao" && r.Password == "tok/en" && r.ServerName == "clustercfg.x.cache.amazonaws.com" && !r.SkipVerify
		}},
		{"redis://[::1]:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002", "1", func(r config.RedisConfig) bool {
			return slices.Equal(r.Addrs, []string{"[::1]:7000", "127.0.0.1:7001", "127.0.0.1:7002"}) && r.Cluster
		}},
		{"rediss://h:1/0?skip_verify=true&protocol=2", "false", func(r config.RedisConfig) bool {
			return r.SkipVerify && r.Protocol == 2 && r.TLS && !r.Cluster
		}},
		{"redis://h/0", "true", func(r config.RedisConfig) bool { return r.Cluster && r.DB == 0 }},
	}
	for _, c := range ok {
		cfg := load(t, env{"REDIS_URL": c.url, "REDIS_CLUSTER": c.cluster}, 0)
		if !c.check(cfg.Redis) {
			t.Errorf("%s (cluster %q): %+v", c.url, c.cluster, cfg.Redis)
		}
	}

	bad := []struct {
		url, cluster string
		want         []string
	}{
		{"http://localhost:6379", "", []string{`REDIS_URL has scheme "http": want redis://host:6379/0, or rediss://user:password@host:6379`}},
		{"localhost:6379", "", []string{"REDIS_URL has scheme", "want redis://"}},
		{"127.0.0.1:6379", "", []string{"REDIS_URL is not a valid URL", "want redis://"}},
		{"//host:6379", "", []string{"has no scheme"}},
		{"redis:///0", "", []string{"has no host"}},
		{"redis://host:99999", "", []string{`has port "99999"`}},
		{"redis://host:6379/zero", "", []string{`has path "/zero": the path is the database number`}},
		{"redis://host:6379/0/1", "", []string{"the path is the database number"}},
		{"redis://host:6379?dial_timeout=3s", "", []string{`has the option "dial_timeout": only addr, skip_verify, protocol`}},
		{"redis://host:6379?addr=nope", "true", []string{`addr="nope": want host:port`}},
		{"redis://host:6379?skip_verify=maybe", "", []string{"skip_verify"}},
		{"redis://host:6379?protocol=4", "", []string{"protocol"}},
		{"redis://host:6379/3", "true", []string{"selects database 3, but REDIS_CLUSTER=true", "drop the /3"}},
		{"redis://host:6379?addr=h2:6379", "", []string{"lists 2 nodes", "set REDIS_CLUSTER=true"}},
	}
	for _, c := range bad {
		msg := loadErr(t, env{"REDIS_URL": c.url, "REDIS_CLUSTER": c.cluster}, 0, "REDIS_URL")
		wantIn(t, msg, c.want...)
	}
	msg := loadErr(t, env{"REDIS_URL": "redis://h", "REDIS_CLUSTER": "sometimes"}, 0, "REDIS_CLUSTER")
	wantIn(t, msg, `REDIS_CLUSTER="sometimes": want true or false`)
}

// TestRedisURLSecret: no message ever shows the password.
func TestRedisURLSecret(t *testing.T) {
	for _, u := range []string{
		"rediss://user:hunter2@host:6379/0/1",
		"rediss://user:hunter2@host:bad",
		"rediss://user:hunter2@:6379",
		"rediss://user:hunter2@host:6379?x=1",
		"rediss://user:hunter2@host:6379/5",
		"rediss://user:hunter2@host:6379/\x7f",
		"//user:hunter2@host",
	} {
		_, err := config.Load(env{"REDIS_URL": u, "REDIS_CLUSTER": "true"}.get, config.ForAPI)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: error %v", u, err)
		}
	}
	cfg := load(t, env{"REDIS_URL": "rediss://user:hunter2@host:6379"}, 0)
	if r := cfg.Redis.Redacted(); strings.Contains(r, "hunter2") || !strings.Contains(r, "user:xxxxx@host") {
		t.Errorf("Redacted() = %q", r)
	}
}

func TestDeploymentVariables(t *testing.T) {
	cases := []struct {
		name, value string
		want        []string
	}{
		{"CHAIN_ID", "abc", []string{`CHAIN_ID="abc": want a positive whole number`}},
		{"CHAIN_ID", "-1", []string{`CHAIN_ID="-1"`}},
		{"CHAIN_ID", "0", []string{"CHAIN_ID=0: want a positive whole number"}},
		{"GOVERNOR_ADDRESS", "0x1234", []string{`GOVERNOR_ADDRESS="0x1234" is not an address: want 0x followed by 40 hex digits`}},
		{"TOKEN_ADDRESS", "1111111111111111111111111111111111111111", []string{"is not an address"}},
		{"TIMELOCK_ADDRESS", "0x0000000000000000000000000000000000000000", []string{"TIMELOCK_ADDRESS is the zero address"}},
		{"REGISTRY_ADDRESS", "0xzz44444444444444444444444444444444444444", []string{"is not an address"}},
		// Mixed case must be the EIP-55 checksum.
		{"GOVERNOR_ADDRESS", "0x5AaEb6053F3E94C9b9A09f33669435E7Ef1BeAed", []string{"fails its EIP-55 checksum", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}},
		{"START_BLOCK", "-5", []string{`START_BLOCK="-5": want a block number`}},
		{"START_BLOCK", "1e6", []string{"START_BLOCK"}},
	}
	for _, c := range cases {
		msg := loadErr(t, full.with(c.name, c.value), config.ForIndexer, c.name)
		wantIn(t, msg, c.want...)
	}
	// Checksummed, lower and upper case are all fine.
	for _, a := range []string{"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED"} {
		if cfg := load(t, full.with("GOVERNOR_ADDRESS", a), config.ForAPI); cfg.Deployment.Governor != common.HexToAddress(a) {
			t.Errorf("%s: %s", a, cfg.Deployment.Governor)
		}
	}
}

func writeDeployment(t *testing.T, d contracts.Deployment) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "deployment.json")
	if err := d.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDeploymentFile(t *testing.T) {
	dep := contracts.Deployment{
		ChainID: 31337, Token: common.HexToAddress(token), Governor: common.HexToAddress(governor),
		Timelock: common.HexToAddress(timelock), Registry: common.HexToAddress(registry), Block: 42,
		BlockHash: common.HexToHash("0xabcdef"),
	}
	path := writeDeployment(t, dep)
	base := env{"REDIS_URL": "redis://h", "ETH_RPC_URL": "wss://node.example.org/ws", "DEPLOYMENT_FILE": path}
	cfg := load(t, base, config.ForIndexer)
	// config.Deployment converts to contracts.Deployment (same fields, same order).
	if got := contracts.Deployment(cfg.Deployment); got != dep {
		t.Fatalf("deployment %+v, want %+v", got, dep)
	}
	// Variables that agree with the file are fine; those that disagree are named.
	load(t, base.with("CHAIN_ID", "31337", "GOVERNOR_ADDRESS", governor, "START_BLOCK", "42"), config.ForIndexer)
	msg := loadErr(t, base.with("CHAIN_ID", "1", "REGISTRY_ADDRESS", token, "START_BLOCK", "9"), config.ForIndexer, "CHAIN_ID", "REGISTRY_ADDRESS", "START_BLOCK")
	wantIn(t, msg, "CHAIN_ID=1 disagrees with DEPLOYMENT_FILE ("+path+" says 31337)", "START_BLOCK=9 disagrees")

	// A partial file can be completed by variables.
	partial := writeDeployment(t, contracts.Deployment{ChainID: 5, Governor: common.HexToAddress(governor)})
	load(t, env{"REDIS_URL": "redis://h", "DEPLOYMENT_FILE": partial}, config.ForAPI)
	msg = loadErr(t, env{"REDIS_URL": "redis://h", "ETH_RPC_URL": "http://n", "DEPLOYMENT_FILE": partial}, config.ForIndexer, "TOKEN_ADDRESS", "TIMELOCK_ADDRESS", "REGISTRY_ADDRESS")
	wantIn(t, msg, "or put it in the deployment file DEPLOYMENT_FILE names")
	load(t, env{"REDIS_URL": "redis://h", "ETH_RPC_URL": "http://n", "DEPLOYMENT_FILE": partial, "TOKEN_ADDRESS": token, "TIMELOCK_ADDRESS": timelock, "REGISTRY_ADDRESS": registry}, config.ForIndexer)

	// Unreadable or malformed files are named; what they lack is then not reported.
	missing := filepath.Join(t.TempDir(), "nope.json")
	msg = loadErr(t, env{"REDIS_URL": "redis://h", "DEPLOYMENT_FILE": missing}, config.ForAPI, "DEPLOYMENT_FILE")
	wantIn(t, msg, "DEPLOYMENT_FILE=\""+missing+"\" cannot be read (no such file or directory)")
	garbage := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(garbage, []byte(`{"chainId": "one"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	msg = loadErr(t, env{"DEPLOYMENT_FILE": garbage}, config.ForAPI, "DEPLOYMENT_FILE", "REDIS_URL")
	wantIn(t, msg, "is not a deployment file", "want JSON with chainId")
}

func TestURLs(t *testing.T) {
	for _, u := range []string{"http://n:8545", "https://rpc.example.org/v1/key", "ws://127.0.0.1:8546", "wss://n"} {
		load(t, full.with("ETH_RPC_URL", u), config.ForIndexer)
	}
	for _, c := range []struct{ value, want string }{
		{"ftp://n", `ETH_RPC_URL has scheme "ftp": want http, https, ws or wss`},
		{"127.0.0.1:8545", "ETH_RPC_URL"},
		{"http://", "ETH_RPC_URL has no host"},
		{"http://[::1", "ETH_RPC_URL is not a valid URL"},
	} {
		wantIn(t, loadErr(t, full.with("ETH_RPC_URL", c.value), config.ForIndexer, "ETH_RPC_URL"), c.want)
	}
	for _, u := range []string{"http://127.0.0.1:5001", "https://ipfs.internal", "/ip4/127.0.0.1/tcp/5001", "/dns4/kubo/tcp/5001/http", "/ip6/::1/tcp/5001"} {
		load(t, full.with("IPFS_API_URL", u), config.ForPinner)
	}
	for _, u := range []string{"/ip4/127.0.0.1/udp/5001", "/ip4/127.0.0.1/tcp/x", "/ip4/127.0.0.1", "/unix/tmp/api", "localhost:5001", "ftp://x", "http://"} {
		wantIn(t, loadErr(t, full.with("IPFS_API_URL", u), config.ForPinner, "IPFS_API_URL"), "want http://host:5001 or a multiaddr like /ip4/127.0.0.1/tcp/5001")
	}
}

func TestOptionalVariables(t *testing.T) {
	cases := []struct {
		name, value, want string
	}{
		{"REORG_DEPTH", "0", "REORG_DEPTH=\"0\": want a whole number of blocks from 1 to 100000"},
		{"REORG_DEPTH", "deep", "REORG_DEPTH"},
		{"REORG_DEPTH", "100001", "REORG_DEPTH"},
		{"CONFIRMATIONS", "-1", "CONFIRMATIONS=\"-1\": want a whole number of blocks from 0 to"},
		{"POLL_INTERVAL", "1", "POLL_INTERVAL=\"1\": want a positive duration with a unit, e.g. 500ms"},
		{"POLL_INTERVAL", "-1s", "POLL_INTERVAL"},
		{"INDEXER_MARGIN", "0s", "INDEXER_MARGIN"},
		{"CORS_ORIGINS", "app.example.org", `CORS_ORIGINS: "app.example.org" is not an origin: want scheme://host[:port]`},
		{"CORS_ORIGINS", "https://a.org/path", "is not an origin"},
		{"CORS_ORIGINS", "https://a.org,ftp://b.org", `"ftp://b.org" is not an origin`},
		{"GRAPHIQL", "nope", `GRAPHIQL="nope": want true or false`},
		{"LOG_LEVEL", "verbose", `LOG_LEVEL="verbose": want debug, info, warn or error`},
		{"LOG_FORMAT", "xml", `LOG_FORMAT="xml": want text or json`},
	}
	for _, c := range cases {
		wantIn(t, loadErr(t, full.with(c.name, c.value), config.ForIndexer, c.name), c.want)
	}
	// Every problem is reported at once, in a stable order.
	msg := loadErr(t, env{"REDIS_URL": "http://x", "LOG_LEVEL": "loud", "CHAIN_ID": "x"}, config.ForAPI, "REDIS_URL", "CHAIN_ID", "LOG_LEVEL", "GOVERNOR_ADDRESS")
	wantIn(t, msg, "invalid configuration: REDIS_URL has scheme")
}

func TestNewLogger(t *testing.T) {
	var b strings.Builder
	cfg := load(t, full.with("LOG_FORMAT", "json", "LOG_LEVEL", "warn"), config.ForAPI)
	log := cfg.NewLogger(&b)
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	if out := b.String(); strings.Contains(out, "hidden") || !strings.Contains(out, `"msg":"shown"`) {
		t.Fatalf("log output %q", out)
	}
}

// The steward's thresholds: unset means the API's defaults (nil), and bad values are
// reported with what to give.
func TestReviewSettings(t *testing.T) {
	cfg := load(t, full, config.ForAPI)
	if cfg.StaleAuditAgeBlocks != nil || cfg.ContestTolerance != nil {
		t.Fatalf("unset thresholds: %v %v", cfg.StaleAuditAgeBlocks, cfg.ContestTolerance)
	}
	cfg = load(t, full.with("STALE_AUDIT_AGE_BLOCKS", "7200", "CONTEST_TOLERANCE", "0.02"), config.ForAPI)
	if cfg.StaleAuditAgeBlocks == nil || *cfg.StaleAuditAgeBlocks != 7200 || cfg.ContestTolerance == nil || *cfg.ContestTolerance != 20_000 {
		t.Fatalf("thresholds: %v %v", cfg.StaleAuditAgeBlocks, cfg.ContestTolerance)
	}
	wantIn(t, loadErr(t, full.with("STALE_AUDIT_AGE_BLOCKS", "-1"), config.ForAPI, "STALE_AUDIT_AGE_BLOCKS"), "want a whole number of blocks")
	wantIn(t, loadErr(t, full.with("CONTEST_TOLERANCE", "-0.1"), config.ForAPI, "CONTEST_TOLERANCE"), "a tolerance is 0 or more")
	wantIn(t, loadErr(t, full.with("CONTEST_TOLERANCE", "lots"), config.ForAPI, "CONTEST_TOLERANCE"), "e.g. 0.05")
}

// MAX_CONCURRENT_OPERATIONS reaches the API's admission; 0, negatives and words are refused
// with what to set instead.
func TestMaxConcurrentOperations(t *testing.T) {
	cfg := load(t, full, config.ForAPI)
	if cfg.MaxConcurrentOperations != 0 {
		t.Fatalf("unset: %d, want 0 (the API's default)", cfg.MaxConcurrentOperations)
	}
	cfg = load(t, full.with("MAX_CONCURRENT_OPERATIONS", "16"), config.ForAPI)
	if cfg.MaxConcurrentOperations != 16 {
		t.Fatalf("MAX_CONCURRENT_OPERATIONS=16 read as %d", cfg.MaxConcurrentOperations)
	}
	for _, v := range []string{"0", "-3", "many"} {
		wantIn(t, loadErr(t, full.with("MAX_CONCURRENT_OPERATIONS", v), config.ForAPI, "MAX_CONCURRENT_OPERATIONS"), "want a whole number of operations >= 1")
	}
}
