package redisserver

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestServer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := StartT(t)

	if got, err := s.Do(ctx, "PING"); err != nil || got != "PONG" {
		t.Fatalf("PING = %v, %v; want PONG", got, err)
	}
	if !strings.HasPrefix(s.URL(), "redis://127.0.0.1:") || !strings.HasSuffix(s.URL(), "/0") {
		t.Errorf("URL() = %q", s.URL())
	}

	opt, err := redis.ParseURL(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got, err := rdb.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET = %q, %v; want v", got, err)
	}

	// The plain RESP helper agrees.
	if got, err := s.Do(ctx, "GET", "k"); err != nil || got != "v" {
		t.Fatalf("Do GET = %v, %v", got, err)
	}
	var re ReplyError
	if _, err := s.Do(ctx, "NOSUCHCOMMAND"); !errors.As(err, &re) {
		t.Errorf("unknown command: err = %v, want a ReplyError", err)
	}

	// And redis-cli, the way a person would check.
	if cli, err := exec.LookPath("redis-cli"); err == nil {
		out, err := exec.CommandContext(ctx, cli, "-p", fmt.Sprint(s.Port()), "GET", "k").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "v" {
			t.Errorf("redis-cli GET k = %q, %v", out, err)
		}
	}
}

func TestStopRestartKeepsPort(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := StartT(t)
	addr := s.Addr()
	if _, err := s.Do(ctx, "SET", "k", "v"); err != nil {
		t.Fatal(err)
	}

	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if s.Running() {
		t.Fatal("Running() after Stop")
	}
	if _, err := s.Do(ctx, "PING"); err == nil {
		t.Fatal("PING answered after Stop")
	}

	if err := s.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if s.Addr() != addr {
		t.Fatalf("Restart moved the server from %s to %s", addr, s.Addr())
	}
	if got, err := s.Do(ctx, "PING"); err != nil || got != "PONG" {
		t.Fatalf("PING after Restart = %v, %v", got, err)
	}
	if got, err := s.Do(ctx, "GET", "k"); err != nil || got != nil {
		t.Fatalf("GET after Restart = %v, %v; want nil (nothing is persisted)", got, err)
	}

	// Restart of a running server, and after a crash.
	if err := s.Restart(ctx); err != nil {
		t.Fatalf("Restart while running: %v", err)
	}
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatalf("Restart after Kill: %v", err)
	}
	if got, err := s.Do(ctx, "PING"); err != nil || got != "PONG" {
		t.Fatalf("PING after Kill+Restart = %v, %v", got, err)
	}
}

func TestClientReconnectsAfterRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := StartT(t)
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Ping(ctx).Err(); err == nil {
		t.Fatal("PING through the client succeeded while the server was down")
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
}

func TestCluster(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := StartClusterT(t)
	if len(c.Addrs()) != 3 {
		t.Fatalf("Addrs() = %v, want 3 nodes", c.Addrs())
	}
	for _, addr := range c.Addrs() {
		info, err := ClusterInfo(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		if info["cluster_state"] != "ok" || info["cluster_size"] != "3" {
			t.Errorf("%s: cluster_state=%s cluster_size=%s", addr, info["cluster_state"], info["cluster_size"])
		}
	}

	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	defer rdb.Close()
	// Enough keys to land on every master.
	for i := range 30 {
		if err := rdb.Set(ctx, fmt.Sprintf("key-%d", i), i, 0).Err(); err != nil {
			t.Fatalf("SET key-%d: %v", i, err)
		}
	}
	var perNode atomic.Int32 // ForEachMaster calls in parallel
	err := rdb.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := m.DBSize(ctx).Result()
		if n > 0 {
			perNode.Add(1)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if perNode.Load() != 3 {
		t.Errorf("keys landed on %d masters, want 3", perNode.Load())
	}
	if got, err := rdb.Get(ctx, "key-7").Int(); err != nil || got != 7 {
		t.Errorf("GET key-7 = %d, %v", got, err)
	}
}

func TestClusterNeedsThreeMasters(t *testing.T) {
	t.Parallel()
	if _, err := StartCluster(t.Context(), ClusterOptions{Masters: 2}); err == nil || !strings.Contains(err.Error(), "at least 3") {
		t.Fatalf("err = %v", err)
	}
}

func TestMissingBinary(t *testing.T) {
	// Not parallel: changes the environment.
	t.Setenv("MODELDAO_REDIS_SERVER", "")
	t.Setenv("PATH", t.TempDir())
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := Start(ctx, Options{})
	want := `redis-server not found: run "make test" (it installs it) or "apt-get install -y redis-server"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to say %s", err, want)
	}

	t.Setenv("MODELDAO_REDIS_SERVER", "/nonexistent/redis-server")
	if _, err := Start(ctx, Options{}); err == nil || !strings.Contains(err.Error(), "MODELDAO_REDIS_SERVER") {
		t.Fatalf("err = %v, want it to name MODELDAO_REDIS_SERVER", err)
	}
}

func TestContextEndStopsServer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	s, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for s.Running() {
		if time.Now().After(deadline) {
			t.Fatal("server still running 10s after its context ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
