package lambdafn_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/functions/internal/lambdafn"
	"github.com/modeldao/modeldao/infra/redisserver"
)

func lambdaErr(t *testing.T, err error) messages.InvokeResponse_Error {
	t.Helper()
	le, ok := lambdafn.Error(err).(messages.InvokeResponse_Error)
	if !ok {
		t.Fatalf("Error(%v) = %T", err, lambdafn.Error(err))
	}
	return le
}

func TestError(t *testing.T) {
	if lambdafn.Error(nil) != nil {
		t.Fatal("Error(nil) != nil")
	}
	cases := []struct {
		err  error
		typ  string
		text string
	}{
		{modeldao.Errorf(modeldao.EUNAVAILABLE, "redis: down"), "EUNAVAILABLE", "unavailable: redis: down"},
		{fmt.Errorf("step: %w", modeldao.Errorf(modeldao.ECONFLICT, "lease")), "ECONFLICT", "step: conflict: lease"},
		{modeldao.Errorf(modeldao.EINVALID, "bad"), "EINVALID", "invalid: bad"},
		{modeldao.Errorf(modeldao.ENOTFOUND, "gone"), "ENOTFOUND", "not_found: gone"},
		{errors.New("boom"), "EINTERNAL", "boom"},
		{fmt.Errorf("rpc: %w", context.DeadlineExceeded), "EUNAVAILABLE", "rpc: context deadline exceeded"},
		{&config.Error{Problems: []config.Problem{{Var: "REDIS_URL", Msg: "REDIS_URL is not set"}}}, "EINVALID", "invalid configuration: REDIS_URL is not set"},
	}
	for _, c := range cases {
		le := lambdaErr(t, c.err)
		if le.Type != c.typ || le.Message != c.text {
			t.Errorf("Error(%v) = %+v, want type %s message %q", c.err, le, c.typ, c.text)
		}
	}
	// An error already in Lambda's shape passes through.
	in := messages.InvokeResponse_Error{Type: "Custom", Message: "m"}
	if le := lambdaErr(t, in); le.Type != in.Type || le.Message != in.Message {
		t.Errorf("%+v", le)
	}
}

func TestInit(t *testing.T) {
	ctx := context.Background()
	// Bad configuration: no panic, and every invocation reports the variables.
	setupCalled := false
	h := lambdafn.Init(func(string) string { return "" }, config.ForAPI, func(*config.Config, *slog.Logger) (lambdafn.Handler[string, int], error) {
		setupCalled = true
		return nil, nil
	})
	if setupCalled {
		t.Fatal("setup ran with a bad configuration")
	}
	for range 2 {
		_, err := h(ctx, "event")
		le := lambdaErr(t, err)
		if le.Type != "EINVALID" || !strings.Contains(le.Message, "REDIS_URL is not set") || !strings.Contains(le.Message, "GOVERNOR_ADDRESS is not set") {
			t.Fatalf("%+v", le)
		}
	}
	env := map[string]string{"REDIS_URL": "redis://127.0.0.1:1", "CHAIN_ID": "1", "GOVERNOR_ADDRESS": "0x2222222222222222222222222222222222222222"}
	getenv := func(k string) string { return env[k] }

	// A failing setup fails every invocation the same way.
	h = lambdafn.Init(getenv, config.ForAPI, func(*config.Config, *slog.Logger) (lambdafn.Handler[string, int], error) {
		return nil, modeldao.Errorf(modeldao.EINVALID, "MODELDAO_PIN_MAX_ATTEMPTS=x: want a number")
	})
	if _, err := h(ctx, ""); lambdaErr(t, err).Type != "EINVALID" {
		t.Fatalf("%v", err)
	}

	// A good setup: results pass, errors are mapped.
	h = lambdafn.Init(getenv, config.ForAPI, func(cfg *config.Config, log *slog.Logger) (lambdafn.Handler[string, int], error) {
		if cfg.Deployment.ChainID != 1 || log == nil {
			t.Errorf("setup got %+v", cfg)
		}
		return func(ctx context.Context, ev string) (int, error) {
			if ev == "fail" {
				return 0, modeldao.Errorf(modeldao.EUNAVAILABLE, "redis: down")
			}
			return len(ev), nil
		}, nil
	})
	if n, err := h(ctx, "four"); n != 4 || err != nil {
		t.Fatalf("%d %v", n, err)
	}
	if _, err := h(ctx, "fail"); lambdaErr(t, err).Type != "EUNAVAILABLE" {
		t.Fatalf("%v", err)
	}
}

func TestCheckBudget(t *testing.T) {
	if err := lambdafn.CheckBudget(context.Background(), time.Hour, "X"); err != nil {
		t.Fatalf("no deadline: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := lambdafn.CheckBudget(ctx, time.Second, "X"); err != nil {
		t.Fatal(err)
	}
	err := lambdafn.CheckBudget(ctx, 5*time.Second, "INDEXER_MARGIN")
	if modeldao.ErrorCode(err) != modeldao.EINVALID || !strings.Contains(err.Error(), "INDEXER_MARGIN=5s leaves no time") {
		t.Fatalf("%v", err)
	}
}

func TestOwner(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if o := lambdafn.Owner(getenv); o != "" {
		t.Errorf("outside Lambda: %q", o)
	}
	env["AWS_LAMBDA_FUNCTION_NAME"] = "modeldao-prod-indexer"
	env["AWS_LAMBDA_LOG_STREAM_NAME"] = "2026/11/25/[$LATEST]0123abcd"
	if o := lambdafn.Owner(getenv); o != "modeldao-prod-indexer/2026/11/25/[$LATEST]0123abcd" || strings.Contains(o, ":") {
		t.Errorf("Owner = %q", o)
	}
}

// TestRedisGate: after Redis was unreachable, Wait holds the next invocation until Redis
// answers, although go-redis' dial circuit breaker would still fail the first commands.
func TestRedisGate(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.StartT(t)
	cfg, err := config.Load(envMap{"REDIS_URL": srv.URL()}.get, 0)
	if err != nil {
		t.Fatal(err)
	}
	rdb := config.Redis(cfg)
	t.Cleanup(func() { rdb.Close() })
	gate := lambdafn.NewRedisGate(rdb)
	if err := gate.Wait(ctx, time.Second); err != nil {
		t.Fatalf("healthy: %v", err)
	}
	// Missing keys and Redis' own errors are not outages.
	_ = rdb.Get(ctx, "missing").Err()
	_ = rdb.Do(ctx, "NOSUCHCOMMAND").Err()
	start := time.Now()
	if err := gate.Wait(ctx, time.Second); err != nil || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("after redis.Nil and a command error, Wait = %v after %s", err, time.Since(start))
	}

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	for range 6 { // enough failed dials to open go-redis' circuit breaker
		if err := rdb.Ping(ctx).Err(); err == nil {
			t.Fatal("PING of a stopped server succeeded")
		}
	}
	err = gate.Wait(ctx, 300*time.Millisecond)
	if modeldao.ErrorCode(err) != modeldao.EUNAVAILABLE {
		t.Fatalf("Wait with Redis down = %v", err)
	}
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := gate.Wait(ctx, lambdafn.DefaultRedisWait); err != nil {
		t.Fatalf("Wait after the restart: %v", err)
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Wait: %v", err)
	}
}

type envMap map[string]string

func (e envMap) get(k string) string { return e[k] }
