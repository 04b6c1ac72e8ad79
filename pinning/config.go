package pinning

import (
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/config"
)

// Config configures a Consumer. Start from DefaultConfig (or ConfigFromEnv): zero durations
// and counts are replaced by the defaults, but a zero UnpinOnRevoke means false.
type Config struct {
	// Consumer is this consumer's name in the consumer group; empty means
	// "<hostname>-<pid>-<random>". A stable name lets a restarted consumer resume its own
	// unfinished jobs at once instead of after MinIdle.
	Consumer string
	// InactivityTimeout cancels a pin that made no progress (no new block fetched) for
	// that long. Default 2 minutes.
	InactivityTimeout time.Duration
	// MaxAttempts is the number of attempts after which a pin that keeps failing is FAILED.
	// Default 5.
	MaxAttempts int
	// BaseBackoff is the delay before the second attempt; each further attempt doubles it,
	// up to MaxBackoff, with jitter (a random half of it). Defaults 10 s and 10 minutes. The
	// same backoff paces the checks while kubo does not answer (capped at 30 s).
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// MinIdle is how long a job must have been left unacked by its consumer before another
	// one takes it over. Working consumers refresh their job every MinIdle/3. Default 2
	// minutes.
	MinIdle time.Duration
	// Block is the longest Run waits for a new job in one read. Default 5 s.
	Block time.Duration
	// DrainMargin is the time Drain keeps before its context's deadline to finish cleanly.
	// Default 10 s.
	DrainMargin time.Duration
	// UnpinOnRevoke unpins the weights of revoked versions (status UNPINNED). Default true.
	UnpinOnRevoke bool
	// EvidenceEvery is how often Run sweeps for model cards and audit reports to pin (see
	// evidence.go) while the queue is idle; Drain sweeps once per call. Default 30 s.
	EvidenceEvery time.Duration
	// Replication is how many IPFS nodes must hold a pin for it to be PINNED; fewer (but at
	// least one) is DEGRADED. The pinner pins on every node it is given either way, so a
	// factor below the number of nodes is the number of nodes that may be lost without the
	// pin counting as degraded. 0 means every node (PIN_REPLICATION unset or 0).
	Replication int
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultInactivityTimeout = 2 * time.Minute
	DefaultMaxAttempts       = 5
	DefaultBaseBackoff       = 10 * time.Second
	DefaultMaxBackoff        = 10 * time.Minute
	DefaultMinIdle           = 2 * time.Minute
	DefaultBlock             = 5 * time.Second
	DefaultDrainMargin       = 10 * time.Second
	DefaultEvidenceEvery     = 30 * time.Second
)

// DefaultConfig returns the default configuration.
func DefaultConfig() Config {
	return Config{
		InactivityTimeout: DefaultInactivityTimeout,
		MaxAttempts:       DefaultMaxAttempts,
		BaseBackoff:       DefaultBaseBackoff,
		MaxBackoff:        DefaultMaxBackoff,
		MinIdle:           DefaultMinIdle,
		Block:             DefaultBlock,
		DrainMargin:       DefaultDrainMargin,
		UnpinOnRevoke:     true,
		EvidenceEvery:     DefaultEvidenceEvery,
	}
}

// Environment variables of ConfigFromEnv.
const (
	EnvConsumer          = "MODELDAO_PIN_CONSUMER"
	EnvInactivityTimeout = "MODELDAO_PIN_INACTIVITY_TIMEOUT"
	EnvMaxAttempts       = "MODELDAO_PIN_MAX_ATTEMPTS"
	EnvBaseBackoff       = "MODELDAO_PIN_BACKOFF"
	EnvMaxBackoff        = "MODELDAO_PIN_MAX_BACKOFF"
	EnvMinIdle           = "MODELDAO_PIN_MIN_IDLE"
	EnvDrainMargin       = "MODELDAO_PIN_DRAIN_MARGIN"
	EnvUnpinOnRevoke     = "MODELDAO_PIN_UNPIN_ON_REVOKE"
	EnvEvidenceEvery     = "MODELDAO_PIN_EVIDENCE_EVERY"
	// EnvReplication is the replication factor (Config.Replication); the IPFS nodes
	// themselves are config.EnvIPFSAPIURLs.
	EnvReplication = "PIN_REPLICATION"
)

// ConfigFromEnv returns DefaultConfig overridden by the environment variables Env* that are
// set (durations as "90s", "2m"; booleans as "true"/"false"). getenv nil means os.Getenv.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg := DefaultConfig()
	cfg.Consumer = getenv(EnvConsumer)
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{
		{EnvInactivityTimeout, &cfg.InactivityTimeout},
		{EnvBaseBackoff, &cfg.BaseBackoff},
		{EnvMaxBackoff, &cfg.MaxBackoff},
		{EnvMinIdle, &cfg.MinIdle},
		{EnvDrainMargin, &cfg.DrainMargin},
		{EnvEvidenceEvery, &cfg.EvidenceEvery},
	} {
		if v := getenv(d.name); v != "" {
			x, err := config.ParseDuration(d.name, v)
			if err != nil {
				return cfg, err
			}
			*d.dst = x
		}
	}
	if v := getenv(EnvMaxAttempts); v != "" {
		n, err := config.ParseWhole(EnvMaxAttempts, v, 1, math.MaxInt, "a whole number >= 1")
		if err != nil {
			return cfg, err
		}
		cfg.MaxAttempts = n
	}
	if v := getenv(EnvReplication); v != "" {
		n, err := config.ParseWhole(EnvReplication, v, 0, math.MaxInt, "a whole number of IPFS nodes from 1 to the number of IPFS_API_URLS, or 0 (or unset) for all of them")
		if err != nil {
			return cfg, err
		}
		cfg.Replication = n
	}
	if v := getenv(EnvUnpinOnRevoke); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, modeldao.Errorf(modeldao.EINVALID, "%s=%q: want true or false", EnvUnpinOnRevoke, v)
		}
		cfg.UnpinOnRevoke = b
	}
	return cfg, nil
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.InactivityTimeout <= 0 {
		c.InactivityTimeout = d.InactivityTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.BaseBackoff <= 0 {
		c.BaseBackoff = d.BaseBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = d.MaxBackoff
	}
	if c.MaxBackoff < c.BaseBackoff {
		c.MaxBackoff = c.BaseBackoff
	}
	if c.MinIdle <= 0 {
		c.MinIdle = d.MinIdle
	}
	if c.Block <= 0 {
		c.Block = d.Block
	}
	if c.DrainMargin <= 0 {
		c.DrainMargin = d.DrainMargin
	}
	if c.EvidenceEvery <= 0 {
		c.EvidenceEvery = DefaultEvidenceEvery
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Consumer == "" {
		host, _ := os.Hostname()
		if host == "" {
			host = "pinner"
		}
		c.Consumer = fmt.Sprintf("%s-%d-%04x", host, os.Getpid(), rand.IntN(1<<16))
	}
	return c
}
