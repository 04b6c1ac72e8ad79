// Package kubo runs a real kubo (go-ipfs) daemon for tests and "modeldao
// dev": a fresh repository initialised with the "test" profile (loopback
// only, no bootstrap peers, no mDNS), its RPC API and gateway on free
// 127.0.0.1 ports, offline unless Options.Online is set.
//
// The ipfs binary is $MODELDAO_IPFS_BIN if set, else <repo>/.bin/ipfs (built
// by "make tools"), else ipfs in PATH.
package kubo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/modeldao/modeldao/infra/procutil"
)

// DefaultStartTimeout bounds how long Start waits for "Daemon is ready".
const DefaultStartTimeout = 60 * time.Second

// Binary is where the ipfs executable is looked for.
var Binary = procutil.Binary{
	Name:    "ipfs",
	EnvVar:  "MODELDAO_IPFS_BIN",
	RepoBin: true,
	Missing: `ipfs (kubo) not found: run "make tools" (builds .bin/ipfs)`,
}

// Options configures a daemon. The zero value is ready to use.
type Options struct {
	// Binary is the ipfs path; empty means Binary.Find().
	Binary string
	// Online starts the daemon without --offline. With the test profile it
	// still has no bootstrap peers and listens on loopback only.
	Online bool
	// Profile is given to "ipfs init --profile"; empty means "test".
	Profile string
	// RepoDir is IPFS_PATH; empty means a temporary directory that Close
	// removes. A directory already holding a repository ("config" file) is
	// used as it is, without "ipfs init".
	RepoDir string
	// APIPort and GatewayPort, when 0, are free ports picked at Start.
	APIPort     int
	GatewayPort int
	// Config holds extra configuration set with
	// "ipfs config --json KEY VALUE" before the daemon starts, e.g.
	// {"Datastore.StorageMax": "1GB"}; each value is marshalled to JSON.
	Config map[string]any
	// Output, if not nil, also receives the daemon's stdout and stderr.
	Output io.Writer
	// Logger logs starts and stops; nil means slog.Default().
	Logger *slog.Logger
	// StartTimeout bounds each start (and Restart); 0 means
	// DefaultStartTimeout.
	StartTimeout time.Duration
}

// Server is a running kubo daemon.
type Server struct {
	opts        Options
	bin         string
	repo        string
	ownRepo     bool
	apiPort     int
	gatewayPort int

	procutil.Supervised
}

// Start initialises a repository, points its API and gateway at free
// loopback ports and starts "ipfs daemon", waiting for "Daemon is ready".
// ctx bounds the daemon's life (when it ends the daemon is stopped); call
// Close to stop it and remove its temporary repository.
func Start(ctx context.Context, opts Options) (_ *Server, err error) {
	bin := opts.Binary
	if bin == "" {
		if bin, err = Binary.Find(); err != nil {
			return nil, err
		}
	}
	if opts.Profile == "" {
		opts.Profile = "test"
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	s := &Server{opts: opts, bin: bin, repo: opts.RepoDir}
	if s.repo == "" {
		if s.repo, err = procutil.TempDir("ipfs"); err != nil {
			return nil, err
		}
		s.ownRepo = true
	}
	defer func() {
		if err != nil {
			_ = s.removeRepo()
		}
	}()

	initCtx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	if _, statErr := os.Stat(filepath.Join(s.repo, "config")); statErr != nil {
		if _, err := s.run(initCtx, "init", "--profile", opts.Profile); err != nil {
			return nil, fmt.Errorf("kubo: %w", err)
		}
	}
	keys := make([]string, 0, len(opts.Config))
	for k := range opts.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, err := json.Marshal(opts.Config[k])
		if err != nil {
			return nil, fmt.Errorf("kubo: Options.Config[%q]: %w", k, err)
		}
		if _, err := s.run(initCtx, "config", "--json", k, string(v)); err != nil {
			return nil, fmt.Errorf("kubo: %w", err)
		}
	}

	pickAPI, pickGateway := opts.APIPort == 0, opts.GatewayPort == 0
	s.apiPort, s.gatewayPort = opts.APIPort, opts.GatewayPort
	for attempt := 1; ; attempt++ {
		if pickAPI {
			if s.apiPort, err = procutil.FreePort(); err != nil {
				return nil, err
			}
		}
		if pickGateway {
			if s.gatewayPort, err = procutil.FreePort(); err != nil {
				return nil, err
			}
		}
		if _, err := s.run(initCtx, "config", "Addresses.API", s.APIAddr()); err != nil {
			return nil, fmt.Errorf("kubo: %w", err)
		}
		if _, err := s.run(initCtx, "config", "Addresses.Gateway", s.gatewayMultiaddr()); err != nil {
			return nil, fmt.Errorf("kubo: %w", err)
		}
		err = s.start(ctx)
		if err == nil {
			return s, nil
		}
		if attempt < 3 && (pickAPI || pickGateway) && procutil.AddrInUse(err) {
			s.logger().Debug("kubo port taken, retrying with others", "api", s.apiPort, "gateway", s.gatewayPort)
			continue
		}
		return nil, err
	}
}

func (s *Server) logger() *slog.Logger {
	if s.opts.Logger != nil {
		return s.opts.Logger
	}
	return slog.Default()
}

// env is the environment every ipfs command gets: this repository, and no
// telemetry reports to the internet.
func (s *Server) env() []string {
	return []string{"IPFS_PATH=" + s.repo, "IPFS_TELEMETRY=off"}
}

// run runs a short ipfs command against the repository.
func (s *Server) run(ctx context.Context, args ...string) (string, error) {
	return procutil.Run(ctx, procutil.Config{
		Name:   "ipfs",
		Path:   s.bin,
		Args:   args,
		Env:    s.env(),
		Output: s.opts.Output,
		Logger: s.opts.Logger,
	})
}

// start starts the daemon and waits for "Daemon is ready".
func (s *Server) start(ctx context.Context) error {
	args := []string{"daemon"}
	if !s.opts.Online {
		args = append(args, "--offline")
	}
	proc, err := procutil.Start(ctx, procutil.Config{
		Name:   "ipfs daemon",
		Path:   s.bin,
		Args:   args,
		Env:    s.env(),
		Output: s.opts.Output,
		Logger: s.opts.Logger,
	})
	if err != nil {
		return fmt.Errorf("kubo: %w", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, s.opts.StartTimeout)
	defer cancel()
	if err := proc.WaitForOutput(waitCtx, "Daemon is ready"); err != nil {
		_ = proc.Stop()
		return fmt.Errorf("kubo: %w", err)
	}
	s.SetProcess(proc)
	s.logger().Info("kubo daemon started", "api", s.APIURL(), "gateway", s.GatewayURL(), "repo", s.repo, "online", s.opts.Online)
	return nil
}

// APIAddr returns the RPC API's multiaddr, "/ip4/127.0.0.1/tcp/PORT" (what
// kubo's client/rpc NewApi takes).
func (s *Server) APIAddr() string { return "/ip4/127.0.0.1/tcp/" + strconv.Itoa(s.apiPort) }

// APIURL returns the RPC API's URL, "http://127.0.0.1:PORT" (RPC calls are
// POSTs to APIURL()+"/api/v0/...").
func (s *Server) APIURL() string { return "http://" + procutil.LoopbackAddr(s.apiPort) }

// APIPort returns the RPC API's port.
func (s *Server) APIPort() int { return s.apiPort }

// GatewayURL returns the HTTP gateway's URL, "http://127.0.0.1:PORT"
// (content is at GatewayURL()+"/ipfs/CID").
func (s *Server) GatewayURL() string { return "http://" + procutil.LoopbackAddr(s.gatewayPort) }

// GatewayPort returns the gateway's port.
func (s *Server) GatewayPort() int { return s.gatewayPort }

func (s *Server) gatewayMultiaddr() string {
	return "/ip4/127.0.0.1/tcp/" + strconv.Itoa(s.gatewayPort)
}

// RepoPath returns the repository directory (IPFS_PATH).
func (s *Server) RepoPath() string { return s.repo }

// PeerID returns the node's peer ID from the repository's config.
func (s *Server) PeerID() (string, error) {
	data, err := os.ReadFile(filepath.Join(s.repo, "config"))
	if err != nil {
		return "", fmt.Errorf("kubo: %w", err)
	}
	var cfg struct{ Identity struct{ PeerID string } }
	if err := json.Unmarshal(data, &cfg); err != nil {
		return "", fmt.Errorf("kubo: reading %s: %w", filepath.Join(s.repo, "config"), err)
	}
	return cfg.Identity.PeerID, nil
}

// Stop stops the daemon (SIGTERM, then SIGKILL), keeping its repository and
// ports for Restart. Stopping a stopped daemon does nothing.
func (s *Server) Stop() error {
	stopped, err := s.StopProcess()
	if err != nil {
		return fmt.Errorf("kubo: %w", err)
	}
	if stopped {
		s.logger().Info("kubo daemon stopped", "api", s.APIURL())
	}
	return nil
}

// Restart stops the daemon if it is running and starts it again with the
// same repository (so pinned content is still there) and the same ports.
// ctx bounds the new process's life, as in Start.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.CheckOpen(); err != nil {
		return fmt.Errorf("kubo: %w", err)
	}
	if err := s.Stop(); err != nil {
		return err
	}
	return s.start(ctx)
}

// Close stops the daemon and removes its temporary repository. It is safe
// to call more than once.
func (s *Server) Close() error {
	if !s.MarkClosed() {
		return nil
	}
	err := s.Stop()
	if rmErr := s.removeRepo(); err == nil {
		err = rmErr
	}
	return err
}

func (s *Server) removeRepo() error {
	if !s.ownRepo {
		return nil
	}
	if err := os.RemoveAll(s.repo); err != nil {
		return fmt.Errorf("kubo: %w", err)
	}
	return nil
}
