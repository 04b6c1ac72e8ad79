// Package lambdafn is what the three Lambda functions share around their wiring: reading the
// configuration once per container, a logger, reporting bad configuration on every
// invocation instead of crashing at init (a crash loop shows only "Runtime.ExitError"), and
// errors whose errorType is the domain's error code, so that a caller, a log query or an
// alarm can tell a Redis outage (EUNAVAILABLE) from bad configuration (EINVALID).
package lambdafn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/config"
)

// Handler is a typed Lambda handler.
type Handler[E, R any] func(context.Context, E) (R, error)

// Setup builds a function's handler from its configuration, once per container. It must not
// contact anything that may be down (connect lazily, in the handler): a failure here fails
// every invocation of the container.
type Setup[E, R any] func(cfg *config.Config, log *slog.Logger) (Handler[E, R], error)

// Start reads the configuration (what need asks for), calls setup and serves the handler
// with lambda.Start. A bad configuration or a failed setup does not stop the process: every
// invocation then fails with that error (errorType EINVALID, the message naming the
// variables).
func Start[E, R any](need config.Need, setup Setup[E, R]) {
	LimitMemory(os.Getenv)
	h := Init(os.Getenv, need, setup)
	lambda.StartHandlerFunc((func(context.Context, E) (R, error))(h))
}

// Init is Start without lambda.Start: it returns the handler to serve.
func Init[E, R any](getenv func(string) string, need config.Need, setup Setup[E, R]) Handler[E, R] {
	cfg, err := config.Load(getenv, need)
	log := cfg.NewLogger(os.Stderr)
	if getenv("AWS_LAMBDA_FUNCTION_NAME") != "" {
		log = log.With("function", getenv("AWS_LAMBDA_FUNCTION_NAME"))
	}
	// go-redis' own messages (failed dials, …) go to the same log, in its format.
	redis.SetLogger(redisLogger{log})
	var h Handler[E, R]
	if err == nil {
		h, err = setup(cfg, log)
	}
	if err != nil {
		log.Error("the function is misconfigured: every invocation will fail until it is fixed", "err", err)
		return Failing[E, R](err)
	}
	log.Debug("function ready", "redis", cfg.Redis.Redacted(), "cluster", cfg.Redis.Cluster, "chain_id", cfg.Deployment.ChainID)
	return func(ctx context.Context, ev E) (R, error) {
		r, err := h(ctx, ev)
		return r, Error(err)
	}
}

// LimitMemory sets the Go runtime's soft memory limit to 3/4 of the function's memory
// (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, MB), unless the operator set GOMEMLIMIT: a warm
// container keeps its process between invocations, and without a limit the collector lets
// the heap double before it runs, so a function near its memory setting would be killed
// instead of collecting earlier. It returns the limit it set (0: none).
func LimitMemory(getenv func(string) string) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return 0
	}
	mb, err := strconv.ParseInt(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 10, 64)
	if err != nil || mb <= 0 || mb > 1<<30 {
		return 0
	}
	limit := mb << 20 * 3 / 4
	debug.SetMemoryLimit(limit)
	return limit
}

// Failing returns a handler that always fails with err.
func Failing[E, R any](err error) Handler[E, R] {
	lerr := Error(err)
	return func(context.Context, E) (R, error) {
		var zero R
		return zero, lerr
	}
}

// Error returns err as Lambda reports it: errorType the domain code (EINVALID, ENOTFOUND,
// ECONFLICT, EUNAVAILABLE, EINTERNAL; a context deadline is EUNAVAILABLE) and errorMessage
// the whole message. nil stays nil.
func Error(err error) error {
	if err == nil {
		return nil
	}
	var le messages.InvokeResponse_Error
	if errors.As(err, &le) {
		return le
	}
	code := modeldao.ErrorCode(err)
	if code == modeldao.EINTERNAL && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		code = modeldao.EUNAVAILABLE
	}
	return messages.InvokeResponse_Error{Type: ErrorType(code), Message: err.Error()}
}

// ErrorType names a domain error code as errorType does.
func ErrorType(code string) string {
	switch code {
	case modeldao.EINVALID:
		return "EINVALID"
	case modeldao.ENOTFOUND:
		return "ENOTFOUND"
	case modeldao.ECONFLICT:
		return "ECONFLICT"
	case modeldao.EUNAVAILABLE:
		return "EUNAVAILABLE"
	}
	return "EINTERNAL"
}

// CheckBudget fails when ctx leaves no time beyond margin (the function's timeout is too
// short for the margin that variable sets), instead of doing nothing and reporting success.
func CheckBudget(ctx context.Context, margin time.Duration, variable string) error {
	dl, ok := ctx.Deadline()
	if !ok {
		return nil
	}
	if left := time.Until(dl); left <= margin {
		return modeldao.Errorf(modeldao.EINVALID, "%s=%s leaves no time in this invocation (%s left): raise the function's timeout or lower %s",
			variable, margin, left.Round(time.Millisecond), variable)
	}
	return nil
}

// Owner names this container for leases and consumer groups: the function and its log
// stream (one per container), so that the logs of the holder can be found.
func Owner(getenv func(string) string) string {
	fn, stream := getenv("AWS_LAMBDA_FUNCTION_NAME"), getenv("AWS_LAMBDA_LOG_STREAM_NAME")
	if fn == "" {
		return ""
	}
	if stream == "" {
		return fmt.Sprintf("%s/%d", fn, os.Getpid())
	}
	return fn + "/" + stream
}

// RedisGate lets the first invocation after a Redis outage wait until Redis answers again.
// go-redis stops dialling a server that failed PoolSize dials in a row and probes it once a
// second in the background (a circuit breaker); a container frozen during the outage thaws
// with that breaker open, so without the gate its first invocation after Redis came back may
// still fail. The gate watches commands through a hook and, once one failed for want of
// Redis, makes the next Wait ping Redis until it answers (or a bound passes).
type RedisGate struct {
	rdb  redis.UniversalClient
	down atomic.Bool
}

// NewRedisGate returns a gate over rdb (it adds a hook to rdb).
func NewRedisGate(rdb redis.UniversalClient) *RedisGate {
	g := &RedisGate{rdb: rdb}
	rdb.AddHook(gateHook{g})
	return g
}

// DefaultRedisWait is how long Wait waits for Redis after an outage: a little more than
// go-redis' probe interval.
const DefaultRedisWait = 1500 * time.Millisecond

// Wait returns at once unless a command failed for want of Redis since Redis last answered;
// then it pings Redis until it answers, for at most max (and not past ctx), and returns an
// EUNAVAILABLE error if it did not.
func (g *RedisGate) Wait(ctx context.Context, max time.Duration) error {
	if !g.down.Load() {
		return nil
	}
	deadline := time.Now().Add(max)
	for {
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		err := g.rdb.Ping(pctx).Err()
		cancel()
		if err == nil {
			g.down.Store(false)
			return nil
		}
		if time.Now().Add(200*time.Millisecond).After(deadline) || ctx.Err() != nil {
			return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "redis: does not answer")
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// unavailable reports whether err means Redis could not be reached (not a reply of Redis,
// and not a missing key).
func unavailable(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		return false
	}
	var re redis.Error
	return !errors.As(err, &re) || strings.HasPrefix(re.Error(), "LOADING") || strings.HasPrefix(re.Error(), "CLUSTERDOWN")
}

// redisLogger writes go-redis' internal messages at debug level: what matters reaches the
// caller as errors anyway.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.Debug(strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "), "component", "go-redis")
}

type gateHook struct{ g *RedisGate }

func (h gateHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h gateHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if unavailable(err) {
			h.g.down.Store(true)
		}
		return err
	}
}

func (h gateHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if unavailable(err) {
			h.g.down.Store(true)
		}
		return err
	}
}
