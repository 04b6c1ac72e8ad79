package config

import (
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/modeldao/modeldao"
)

// The relayer's variables (functions/relayer, `modeldao relay`; see package relay):
//
//	RELAYER_PRIVATE_KEY    hex private key (64 digits, 0x optional) of the funded account that
//	                       sends the relayed transactions; never logged
//	RELAYER_KEY_SECRET     in its place: the name or ARN of a Secrets Manager secret whose
//	                       SecretString is that key, read when the function starts (Lambda)
//	RELAYER_SIGNER_LIMIT   requests admitted per signer per window [20]
//	RELAYER_IP_LIMIT       requests received per client address per window [60]
//	RELAYER_LIMIT_WINDOW   length of the sliding windows [1h]
//	RELAYER_GAS_BUDGET     gas the relayer may spend per period, all signers together [20000000]
//	RELAYER_BUDGET_PERIOD  length of a budget period [24h]
//	RELAYER_WAIT           how long a request waits for its receipt before answering [0: answer once sent]
const (
	EnvRelayerPrivateKey   = "RELAYER_PRIVATE_KEY"
	EnvRelayerKeySecret    = "RELAYER_KEY_SECRET"
	EnvRelayerSignerLimit  = "RELAYER_SIGNER_LIMIT"
	EnvRelayerIPLimit      = "RELAYER_IP_LIMIT"
	EnvRelayerLimitWindow  = "RELAYER_LIMIT_WINDOW"
	EnvRelayerGasBudget    = "RELAYER_GAS_BUDGET"
	EnvRelayerBudgetPeriod = "RELAYER_BUDGET_PERIOD"
	EnvRelayerWait         = "RELAYER_WAIT"
)

// Secret is a value that must never be printed: fmt, slog and encoding/json all see
// "[redacted]". Reveal returns it.
type Secret struct{ v string }

// NewSecret wraps v.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal returns the secret value.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

func (s Secret) String() string               { return "[redacted]" }
func (s Secret) GoString() string             { return "[redacted]" }
func (s Secret) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal("[redacted]") }
func (s Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// RelayerConfig is the relayer's configuration; zero values mean package relay's defaults.
type RelayerConfig struct {
	PrivateKey   Secret
	KeySecret    string // Secrets Manager secret id, when the key is not in the environment
	SignerLimit  int
	IPLimit      int
	Window       time.Duration
	GasBudget    uint64
	BudgetPeriod time.Duration
	Wait         time.Duration
}

// ParsePrivateKey checks the form of a hex private key without printing it: 64 hex digits,
// 0x optional. It returns the digits without 0x.
func ParsePrivateKey(v string) (string, bool) {
	v = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(v), "0x"), "0X")
	if len(v) != 64 {
		return "", false
	}
	for _, c := range v {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", false
		}
	}
	return v, true
}

func (l *loader) relayer(need Need) RelayerConfig {
	var r RelayerConfig
	if v := l.getenv(EnvRelayerPrivateKey); strings.TrimSpace(v) != "" {
		if k, ok := ParsePrivateKey(v); ok {
			r.PrivateKey = NewSecret(k)
		} else {
			// The value is not quoted: it may be a key with a typo.
			l.fail(EnvRelayerPrivateKey, "%s is not a private key: want 64 hex digits (0x optional); the value is not shown", EnvRelayerPrivateKey)
		}
	}
	r.KeySecret = l.get(EnvRelayerKeySecret)
	if need&NeedRelayer != 0 && r.PrivateKey.IsZero() && r.KeySecret == "" && !l.reported(EnvRelayerPrivateKey) {
		l.fail(EnvRelayerPrivateKey, "%s is not set: set it to the private key of the funded account the relayer sends from, or set %s to a Secrets Manager secret that holds it", EnvRelayerPrivateKey, EnvRelayerKeySecret)
	}
	count := func(name string) int {
		v := l.get(name)
		if v == "" {
			return 0
		}
		n, err := ParseWhole(name, v, 1, 1_000_000, "a whole number of requests from 1 to 1000000, e.g. 20")
		if err != nil {
			l.fail(name, "%s", modeldao.ErrorMessage(err))
			return 0
		}
		return n
	}
	r.SignerLimit = count(EnvRelayerSignerLimit)
	r.IPLimit = count(EnvRelayerIPLimit)
	r.Window = l.duration(EnvRelayerLimitWindow, 0)
	if v := l.get(EnvRelayerGasBudget); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			l.fail(EnvRelayerGasBudget, "%s=%q: want a positive whole amount of gas, e.g. 20000000", EnvRelayerGasBudget, v)
		}
		r.GasBudget = n
	}
	r.BudgetPeriod = l.duration(EnvRelayerBudgetPeriod, 0)
	r.Wait = l.duration(EnvRelayerWait, 0)
	return r
}

func (l *loader) reported(name string) bool {
	for _, p := range l.problems {
		if p.Var == name {
			return true
		}
	}
	return false
}
