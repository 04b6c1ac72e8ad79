package redisserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/modeldao/modeldao/infra/procutil"
)

// DefaultClusterStartTimeout bounds how long StartCluster waits for
// cluster_state:ok once the cluster is created.
const DefaultClusterStartTimeout = 60 * time.Second

// CLIBinary is where redis-cli is looked for when it is not next to
// redis-server.
var CLIBinary = procutil.Binary{
	Name:    "redis-cli",
	EnvVar:  "MODELDAO_REDIS_CLI",
	Missing: `redis-cli not found: run "make test" (it installs it) or "apt-get install -y redis-server"`,
}

// ClusterOptions configures a cluster. The zero value is ready to use.
type ClusterOptions struct {
	// Masters is the number of master nodes (no replicas); 0 means 3,
	// which is also the least redis-cli accepts.
	Masters int
	// Binary is the redis-server path; empty means ServerBinary.Find().
	Binary string
	// CLI is the redis-cli path; empty means $MODELDAO_REDIS_CLI, else the
	// redis-cli next to redis-server, else redis-cli in PATH.
	CLI string
	// Args are extra redis-server arguments for every node.
	Args []string
	// Output, if not nil, also receives the nodes' logs and redis-cli's
	// (from several goroutines: it must be safe for concurrent use).
	Output io.Writer
	// Logger logs starts and stops; nil means slog.Default().
	Logger *slog.Logger
	// StartTimeout bounds the wait for cluster_state:ok; 0 means
	// DefaultClusterStartTimeout.
	StartTimeout time.Duration
}

// Cluster is a running Redis Cluster of masters on 127.0.0.1.
type Cluster struct {
	nodes []*Server
}

// StartCluster starts opts.Masters cluster-enabled redis-server nodes, joins
// them with "redis-cli --cluster create ... --cluster-replicas 0" and waits
// until every node reports cluster_state:ok, knows every other node and sees
// all 16384 slots served. ctx bounds the nodes' life, as in Start; call Close.
func StartCluster(ctx context.Context, opts ClusterOptions) (_ *Cluster, err error) {
	if opts.Masters == 0 {
		opts.Masters = 3
	}
	if opts.Masters < 3 {
		return nil, fmt.Errorf("redisserver: a cluster needs at least 3 masters, not %d", opts.Masters)
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultClusterStartTimeout
	}
	bin := opts.Binary
	if bin == "" {
		if bin, err = ServerBinary.Find(); err != nil {
			return nil, err
		}
	}
	cli := opts.CLI
	if cli == "" {
		if cli, err = findCLI(bin); err != nil {
			return nil, err
		}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}

	c := &Cluster{}
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()
	for range opts.Masters {
		node, err := Start(ctx, Options{
			Binary:         bin,
			ClusterEnabled: true,
			Args:           opts.Args,
			Output:         opts.Output,
			Logger:         opts.Logger,
		})
		if err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, node)
	}

	waitCtx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if _, err := procutil.Run(waitCtx, procutil.Config{
		Name:   "redis-cli",
		Path:   cli,
		Args:   args,
		Output: opts.Output,
		Logger: opts.Logger,
	}); err != nil {
		return nil, fmt.Errorf("redisserver: creating the cluster: %w", err)
	}
	for _, node := range c.nodes {
		proc := node.Process()
		want := map[string]string{
			"cluster_state":          "ok",
			"cluster_known_nodes":    strconv.Itoa(opts.Masters),
			"cluster_slots_ok":       "16384",
			"cluster_slots_assigned": "16384",
		}
		err := proc.WaitUntil(waitCtx, "CLUSTER INFO says cluster_state:ok", 50*time.Millisecond, func(ctx context.Context) error {
			return checkClusterInfo(ctx, node.Addr(), want)
		})
		if err != nil {
			return nil, fmt.Errorf("redisserver: %w", err)
		}
	}
	logger.Info("redis cluster started", "nodes", c.Addrs())
	return c, nil
}

// findCLI looks for redis-cli: $MODELDAO_REDIS_CLI, next to redis-server,
// then PATH.
func findCLI(serverBin string) (string, error) {
	if CLIBinary.EnvVar != "" && os.Getenv(CLIBinary.EnvVar) != "" {
		return CLIBinary.Find()
	}
	next := filepath.Join(filepath.Dir(serverBin), "redis-cli")
	if p, err := exec.LookPath(next); err == nil {
		return p, nil
	}
	return CLIBinary.Find()
}

// ClusterInfo returns the fields of CLUSTER INFO from the node at addr.
func ClusterInfo(ctx context.Context, addr string) (map[string]string, error) {
	reply, err := Do(ctx, addr, "CLUSTER", "INFO")
	if err != nil {
		return nil, err
	}
	text, ok := reply.(string)
	if !ok {
		return nil, fmt.Errorf("redis CLUSTER INFO: unexpected reply %v", reply)
	}
	info := map[string]string{}
	for line := range strings.Lines(text) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			info[k] = v
		}
	}
	return info, nil
}

func checkClusterInfo(ctx context.Context, addr string, want map[string]string) error {
	info, err := ClusterInfo(ctx, addr)
	if err != nil {
		return err
	}
	var problems []string
	for k, v := range want {
		if info[k] != v {
			problems = append(problems, fmt.Sprintf("%s:%s (want %s)", k, info[k], v))
		}
	}
	if len(problems) > 0 {
		return errors.New(addr + " CLUSTER INFO: " + strings.Join(problems, ", "))
	}
	return nil
}

// Nodes returns the cluster's nodes, e.g. to Stop or Restart one.
func (c *Cluster) Nodes() []*Server { return c.nodes }

// Addrs returns the nodes' "127.0.0.1:PORT" addresses (seed addresses for a
// cluster client).
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		addrs[i] = n.Addr()
	}
	return addrs
}

// Output returns the nodes' logs, each under a header line.
func (c *Cluster) Output() string {
	var b strings.Builder
	for _, n := range c.nodes {
		fmt.Fprintf(&b, "=== redis-server %s ===\n%s\n", n.Addr(), n.Output())
	}
	return b.String()
}

// Close stops every node and removes their directories.
func (c *Cluster) Close() error {
	var errs []error
	for _, n := range c.nodes {
		errs = append(errs, n.Close())
	}
	return errors.Join(errs...)
}
