package redisserver

import (
	"context"
	"testing"

	"github.com/modeldao/modeldao/infra/procutil"
)

// StartT starts a redis-server for a test (opts is optional, at most one)
// and stops it when the test ends, logging its output if the test failed. A
// missing redis-server fails the test with the command that installs it.
func StartT(t testing.TB, opts ...Options) *Server {
	t.Helper()
	s, err := Start(context.Background(), procutil.OptionsT(t, "redisserver.StartT", opts))
	if err != nil {
		t.Fatalf("redisserver: %v", err)
	}
	procutil.CleanupT(t, "redis-server "+s.Addr(), s.Output, s.Close)
	return s
}

// StartClusterT starts a Redis Cluster for a test (opts is optional, at most
// one) and stops it when the test ends.
func StartClusterT(t testing.TB, opts ...ClusterOptions) *Cluster {
	t.Helper()
	var o ClusterOptions
	switch len(opts) {
	case 0:
	case 1:
		o = opts[0]
	default:
		t.Fatalf("redisserver.StartClusterT: at most one ClusterOptions, got %d", len(opts))
	}
	c, err := StartCluster(context.Background(), o)
	if err != nil {
		t.Fatalf("redisserver: %v", err)
	}
	procutil.CleanupT(t, "redis cluster", c.Output, c.Close)
	return c
}
