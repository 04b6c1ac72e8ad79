package config

import (
	"crypto/tls"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// RedisConfig is REDIS_URL and REDIS_CLUSTER, parsed.
type RedisConfig struct {
	URL      string // as given: it holds the password, so log Redacted() instead
	Cluster  bool
	Addrs    []string // host:port of the server, or the cluster's seed nodes
	Username string
	Password string
	DB       int
	TLS      bool // rediss://
	// ServerName is the name the server's certificate must carry (REDIS_URL's host).
	ServerName string
	// SkipVerify (rediss://…?skip_verify=true) accepts any certificate: for tests only.
	SkipVerify bool
	// Protocol is the RESP version (?protocol=2 for servers without HELLO); 0 means 3.
	Protocol int
}

// Redacted returns the URL with its password replaced by "xxxxx".
func (r RedisConfig) Redacted() string {
	u, err := url.Parse(r.URL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

const redisWant = "want redis://host:6379/0, or rediss://user:password@host:6379 for TLS with AUTH (percent-encode special characters of the password)"

// redisURLOptions are the query options REDIS_URL may carry.
var redisURLOptions = []string{"addr", "skip_verify", "protocol"}

func (l *loader) redis() RedisConfig {
	r := RedisConfig{Cluster: l.bool(EnvRedisCluster, false)}
	v := l.get(EnvRedisURL)
	if v == "" {
		return r
	}
	u, err := url.Parse(v)
	if err != nil {
		l.fail(EnvRedisURL, "%s is not a valid URL (%s): %s", EnvRedisURL, urlProblem(err), redisWant)
		return r
	}
	switch u.Scheme {
	case "redis", "rediss":
	case "":
		l.fail(EnvRedisURL, "%s=%q has no scheme: %s", EnvRedisURL, u.Redacted(), redisWant)
		return r
	default:
		l.fail(EnvRedisURL, "%s has scheme %q: %s", EnvRedisURL, u.Scheme, redisWant)
		return r
	}
	host := u.Hostname()
	if host == "" {
		l.fail(EnvRedisURL, "%s=%q has no host: %s", EnvRedisURL, u.Redacted(), redisWant)
		return r
	}
	port := u.Port()
	if port == "" {
		port = "6379"
	} else if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		l.fail(EnvRedisURL, "%s has port %q: want a TCP port number", EnvRedisURL, port)
		return r
	}
	r.Addrs = []string{net.JoinHostPort(host, port)}
	r.TLS = u.Scheme == "rediss"
	r.ServerName = host
	if u.User != nil {
		r.Username = u.User.Username()
		r.Password, _ = u.User.Password()
	}
	switch db := strings.Trim(u.Path, "/"); {
	case db == "":
	case strings.Contains(db, "/"):
		l.fail(EnvRedisURL, "%s has path %q: the path is the database number, e.g. /0", EnvRedisURL, u.Path)
		return r
	default:
		n, err := strconv.Atoi(db)
		if err != nil || n < 0 {
			l.fail(EnvRedisURL, "%s has path %q: the path is the database number, e.g. /0", EnvRedisURL, u.Path)
			return r
		}
		r.DB = n
	}
	q := u.Query()
	for k := range q {
		if !slices.Contains(redisURLOptions, k) {
			l.fail(EnvRedisURL, "%s has the option %q: only %s are understood (the connection settings are tuned for Lambda, see config.RedisOptions)", EnvRedisURL, k, strings.Join(redisURLOptions, ", "))
			return r
		}
	}
	for _, a := range q["addr"] {
		h, p, err := net.SplitHostPort(a)
		if n, perr := strconv.ParseUint(p, 10, 16); err != nil || h == "" || perr != nil || n == 0 {
			l.fail(EnvRedisURL, "%s has addr=%q: want host:port of another cluster node", EnvRedisURL, a)
			return r
		}
		r.Addrs = append(r.Addrs, a)
	}
	if s := q.Get("skip_verify"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			l.fail(EnvRedisURL, "%s has skip_verify=%q: want true or false", EnvRedisURL, s)
			return r
		}
		r.SkipVerify = b
	}
	if s := q.Get("protocol"); s != "" {
		if s != "2" && s != "3" {
			l.fail(EnvRedisURL, "%s has protocol=%q: want 2 or 3 (RESP version)", EnvRedisURL, s)
			return r
		}
		r.Protocol, _ = strconv.Atoi(s)
	}
	if r.Cluster && r.DB != 0 {
		l.fail(EnvRedisURL, "%s selects database %d, but %s=true and a Redis Cluster has only database 0: drop the /%d", EnvRedisURL, r.DB, EnvRedisCluster, r.DB)
		return r
	}
	if !r.Cluster && len(r.Addrs) > 1 {
		l.fail(EnvRedisURL, "%s lists %d nodes (addr=…) but %s is not true: set %s=true for a cluster, or give one server", EnvRedisURL, len(r.Addrs), EnvRedisCluster, EnvRedisCluster)
		return r
	}
	r.URL = v
	return r
}

// Connection settings of the Redis client, tuned for Lambda: one container serves one
// invocation at a time, so a few connections are enough; a Redis that does not answer must
// fail an invocation fast and clearly rather than eat its whole timeout; and a container is
// frozen between invocations, for seconds or hours, during which the server or a NAT may drop
// its connections, so connections idle for longer than RedisConnMaxIdleTime are not reused.
const (
	RedisPoolSize         = 4 // per node: the GraphQL resolvers of one request run concurrently
	RedisDialTimeout      = 2 * time.Second
	RedisDialerRetries    = 2 // dial attempts per connection (go-redis' default is 5)
	RedisDialerRetryWait  = 100 * time.Millisecond
	RedisReadTimeout      = 3 * time.Second // context deadlines apply too (ContextTimeoutEnabled)
	RedisWriteTimeout     = 3 * time.Second
	RedisMaxRetries       = 2 // retries of a command after a network error
	RedisPoolTimeout      = 2 * time.Second
	RedisConnMaxIdleTime  = 30 * time.Second
	RedisMaxRetryBackoff  = 250 * time.Millisecond
	RedisMinRetryBackoff  = 8 * time.Millisecond
	RedisClusterRedirects = 3
)

// RedisOptions returns the go-redis options for cfg.Redis, tuned for Lambda (see the
// constants above): a small pool that dials nothing at start (the first command dials, so
// a cold start does not wait for Redis), a short dial timeout and few dial retries, context
// deadlines honoured, connections dropped after RedisConnMaxIdleTime idle, no pipeline pool
// of its own, and no extra round trips on connect (CLIENT SETINFO, maintenance
// notifications). IsClusterMode is set for REDIS_CLUSTER=true, so one address (ElastiCache's
// configuration endpoint) is enough. The CLI may change fields before building a client.
func RedisOptions(cfg *Config) *redis.UniversalOptions {
	r := cfg.Redis
	o := &redis.UniversalOptions{
		Addrs:                 slices.Clone(r.Addrs),
		Username:              r.Username,
		Password:              r.Password,
		DB:                    r.DB,
		Protocol:              r.Protocol,
		IsClusterMode:         r.Cluster,
		PoolSize:              RedisPoolSize,
		MinIdleConns:          0,
		MaxIdleConns:          RedisPoolSize,
		PipelinePoolSize:      -1,
		PoolTimeout:           RedisPoolTimeout,
		ConnMaxIdleTime:       RedisConnMaxIdleTime,
		DialTimeout:           RedisDialTimeout,
		DialerRetries:         RedisDialerRetries,
		DialerRetryTimeout:    RedisDialerRetryWait,
		ReadTimeout:           RedisReadTimeout,
		WriteTimeout:          RedisWriteTimeout,
		ContextTimeoutEnabled: true,
		MaxRetries:            RedisMaxRetries,
		MinRetryBackoff:       RedisMinRetryBackoff,
		MaxRetryBackoff:       RedisMaxRetryBackoff,
		MaxRedirects:          RedisClusterRedirects,
		DisableIdentity:       true,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	}
	if r.TLS {
		o.TLSConfig = &tls.Config{ServerName: r.ServerName, MinVersion: tls.VersionTLS12, InsecureSkipVerify: r.SkipVerify} //nolint:gosec // skip_verify is opt-in, for tests
	}
	return o
}

// Redis returns a client for cfg.Redis with RedisOptions: a *redis.ClusterClient when
// REDIS_CLUSTER=true, else a *redis.Client. It does not connect: the first command does.
// Create one per process (per Lambda container) and reuse it.
func Redis(cfg *Config) redis.UniversalClient {
	return redis.NewUniversalClient(RedisOptions(cfg))
}
