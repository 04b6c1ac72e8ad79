// Package redisserver runs real redis-server processes on free loopback
// ports for tests and "modeldao dev": a single server (Start, StartT) or a
// cluster of masters (StartCluster, StartClusterT). Servers keep no data on
// disk (no RDB snapshots, no append-only file), so a Restart comes back
// empty.
//
// redis-server is the Debian package's binary: $MODELDAO_REDIS_SERVER if
// set, else redis-server in PATH.
package redisserver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/modeldao/modeldao/infra/procutil"
)

// DefaultStartTimeout bounds how long Start waits for the server to answer
// PING.
const DefaultStartTimeout = 15 * time.Second

// ServerBinary is where redis-server is looked for.
var ServerBinary = procutil.Binary{
	Name:    "redis-server",
	EnvVar:  "MODELDAO_REDIS_SERVER",
	Missing: `redis-server not found: run "make test" (it installs it) or "apt-get install -y redis-server"`,
}

// Options configures a server. The zero value is ready to use.
type Options struct {
	// Binary is the redis-server path; empty means ServerBinary.Find().
	Binary string
	// Port to listen on (127.0.0.1 only); 0 picks a free one.
	Port int
	// Dir is the server's working directory; empty means a temporary
	// directory that Close removes.
	Dir string
	// ClusterEnabled starts the server as a cluster node
	// ("--cluster-enabled yes", its own nodes.conf and a free cluster bus
	// port). StartCluster sets it; a lone node is not usable until the
	// cluster is created.
	ClusterEnabled bool
	// Args are extra redis-server arguments, e.g. {"--maxmemory", "64mb"}.
	Args []string
	// Output, if not nil, also receives the server's log.
	Output io.Writer
	// Logger logs starts and stops; nil means slog.Default().
	Logger *slog.Logger
	// StartTimeout bounds each start (and Restart); 0 means
	// DefaultStartTimeout.
	StartTimeout time.Duration
}

// Server is a running redis-server.
type Server struct {
	opts        Options
	bin         string
	port        int
	clusterPort int
	dir         string
	ownDir      bool

	procutil.Supervised
}

// Start starts redis-server on 127.0.0.1 and waits until it answers PING.
// ctx bounds the server's life (when it ends the server is stopped); call
// Close to stop it and remove its temporary directory.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin := opts.Binary
	if bin == "" {
		var err error
		if bin, err = ServerBinary.Find(); err != nil {
			return nil, err
		}
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	s := &Server{opts: opts, bin: bin, dir: opts.Dir}
	if s.dir == "" {
		dir, err := procutil.TempDir("redis")
		if err != nil {
			return nil, err
		}
		s.dir, s.ownDir = dir, true
	}
	pickPorts := opts.Port == 0
	s.port = opts.Port
	for attempt := 1; ; attempt++ {
		if pickPorts {
			port, err := procutil.FreePort()
			if err != nil {
				s.removeDir()
				return nil, err
			}
			s.port = port
		}
		if opts.ClusterEnabled {
			port, err := procutil.FreePort()
			if err != nil {
				s.removeDir()
				return nil, err
			}
			s.clusterPort = port
		}
		err := s.start(ctx)
		if err == nil {
			return s, nil
		}
		if attempt < 3 && procutil.AddrInUse(err) {
			s.logger().Debug("redis-server port taken, retrying with another", "port", s.port)
			continue
		}
		s.removeDir()
		return nil, err
	}
}

func (s *Server) logger() *slog.Logger {
	if s.opts.Logger != nil {
		return s.opts.Logger
	}
	return slog.Default()
}

func (s *Server) args() []string {
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
	}
	if s.opts.ClusterEnabled {
		args = append(args,
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(s.clusterPort),
		)
	}
	return append(args, s.opts.Args...)
}

// start starts the process and waits for PING.
func (s *Server) start(ctx context.Context) error {
	proc, err := procutil.Start(ctx, procutil.Config{
		Name:   "redis-server :" + strconv.Itoa(s.port),
		Path:   s.bin,
		Args:   s.args(),
		Dir:    s.dir,
		Output: s.opts.Output,
		Logger: s.opts.Logger,
	})
	if err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, s.opts.StartTimeout)
	defer cancel()
	err = proc.WaitUntil(waitCtx, "it answers PING", 20*time.Millisecond, func(ctx context.Context) error {
		reply, err := Do(ctx, s.Addr(), "PING")
		if err != nil {
			return err
		}
		if reply != "PONG" {
			return fmt.Errorf("PING answered %v", reply)
		}
		return nil
	})
	if err != nil {
		_ = proc.Stop()
		return fmt.Errorf("redisserver: %w", err)
	}
	s.SetProcess(proc)
	s.logger().Info("redis-server started", "addr", s.Addr(), "dir", s.dir, "cluster", s.opts.ClusterEnabled)
	return nil
}

// Addr returns "127.0.0.1:PORT".
func (s *Server) Addr() string { return procutil.LoopbackAddr(s.port) }

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.port }

// URL returns "redis://127.0.0.1:PORT/0".
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Dir returns the server's working directory.
func (s *Server) Dir() string { return s.dir }

// Do sends one command to the server; see the package function Do.
func (s *Server) Do(ctx context.Context, args ...string) (any, error) {
	return Do(ctx, s.Addr(), args...)
}

// Stop stops the server (SIGTERM, then SIGKILL), keeping its port and
// directory for Restart. Stopping a stopped server does nothing.
func (s *Server) Stop() error {
	stopped, err := s.StopProcess()
	if err != nil {
		return fmt.Errorf("redisserver: %w", err)
	}
	if stopped {
		s.logger().Info("redis-server stopped", "addr", s.Addr())
	}
	return nil
}

// Restart stops the server if it is running and starts it again on the same
// port and directory, waiting until it answers PING. The data is gone (the
// server persists nothing). ctx bounds the new process's life, as in Start.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.CheckOpen(); err != nil {
		return fmt.Errorf("redisserver: %w", err)
	}
	if err := s.Stop(); err != nil {
		return err
	}
	return s.start(ctx)
}

// Close stops the server and removes its temporary directory. It is safe to
// call more than once.
func (s *Server) Close() error {
	if !s.MarkClosed() {
		return nil
	}
	err := s.Stop()
	if rmErr := s.removeDir(); err == nil {
		err = rmErr
	}
	return err
}

func (s *Server) removeDir() error {
	if !s.ownDir {
		return nil
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("redisserver: %w", err)
	}
	return nil
}
