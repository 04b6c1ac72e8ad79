package procutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultStopTimeout is how long Stop waits for a process to exit after
// SIGTERM before it sends SIGKILL.
const DefaultStopTimeout = 10 * time.Second

// Config describes a process to start.
type Config struct {
	// Name is a short name for logs and errors, e.g. "redis-server".
	Name string
	// Path is the executable.
	Path string
	Args []string
	// Dir is the working directory; empty means the current one.
	Dir string
	// Env is added to this process's environment (later entries win).
	Env []string
	// Output, if not nil, also receives the process's stdout and stderr
	// (they are always kept in the Process's own buffer too).
	Output io.Writer
	// Logger logs starting and stopping; nil means slog.Default().
	Logger *slog.Logger
	// StopTimeout is how long Stop (or the end of the Start context) waits
	// after SIGTERM before SIGKILL; 0 means DefaultStopTimeout.
	StopTimeout time.Duration
}

func (c *Config) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

func (c *Config) stopTimeout() time.Duration {
	if c.StopTimeout > 0 {
		return c.StopTimeout
	}
	return DefaultStopTimeout
}

// command builds the exec.Cmd: its own process group (so stopping it stops
// its children too), killed with the group when this process dies, and
// SIGTERM to the whole group when ctx ends.
func (c *Config) command(ctx context.Context, out io.Writer) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
	}
	cmd.Cancel = func() error {
		return signalGroup(cmd.Process.Pid, syscall.SIGTERM)
	}
	// After Cancel, Wait gives the group this long before it kills the
	// leader and stops waiting for the output pipe.
	cmd.WaitDelay = c.stopTimeout()
	return cmd
}

func (c *Config) name() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Path
}

// signalGroup sends sig to the process group led by pid.
func signalGroup(pid int, sig syscall.Signal) error {
	err := syscall.Kill(-pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// Process is a running external process in a process group of its own.
type Process struct {
	cfg  Config
	cmd  *exec.Cmd
	out  *Output
	done chan struct{}

	mu      sync.Mutex
	waitErr error
	stopped bool // Stop was called
}

// Start starts the process described by cfg. ctx bounds its life: when ctx
// ends the process group gets SIGTERM, then SIGKILL after cfg.StopTimeout
// (as with exec.CommandContext). Stop ends it earlier.
func Start(ctx context.Context, cfg Config) (*Process, error) {
	if cfg.Path == "" {
		return nil, fmt.Errorf("procutil: start %s: no executable path", cfg.name())
	}
	p := &Process{cfg: cfg, out: NewOutput(), done: make(chan struct{})}
	var w io.Writer = p.out
	if cfg.Output != nil {
		w = io.MultiWriter(p.out, cfg.Output)
	}
	p.cmd = cfg.command(ctx, w)
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start %s: %w", cfg.name(), cfg.Path, err)
	}
	pid := p.cmd.Process.Pid
	cfg.logger().Debug("process started", "name", cfg.name(), "pid", pid, "path", cfg.Path, "args", cfg.Args)
	go func() {
		err := p.cmd.Wait()
		// Whatever the leader left behind in its group goes with it.
		_ = signalGroup(pid, syscall.SIGKILL)
		p.mu.Lock()
		p.waitErr = err
		stopped := p.stopped
		p.mu.Unlock()
		close(p.done)
		if stopped {
			cfg.logger().Debug("process stopped", "name", cfg.name(), "pid", pid)
		} else {
			cfg.logger().Debug("process exited", "name", cfg.name(), "pid", pid, "err", err)
		}
	}()
	return p, nil
}

// Name returns the process's name from its Config.
func (p *Process) Name() string { return p.cfg.name() }

// Pid returns the process id (also its process group id).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitErr returns how the process ended (nil for exit status 0); it is only
// meaningful once Done is closed.
func (p *Process) ExitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// Output returns the process's combined stdout and stderr so far (the last
// MiB of it).
func (p *Process) Output() string { return p.out.String() }

// OutputTail returns at most the last n lines of Output.
func (p *Process) OutputTail(n int) string { return p.out.Tail(n) }

// Stop sends SIGTERM to the process group, waits up to the stop timeout for
// the process to exit, then sends SIGKILL. Stopping a process that has already
// exited does nothing. The error is only about failing to stop it, not about
// its exit status.
func (p *Process) Stop() error {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	if p.Exited() {
		return nil
	}
	pid := p.Pid()
	if err := signalGroup(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("%s: stop pid %d: %w", p.Name(), pid, err)
	}
	timer := time.NewTimer(p.cfg.stopTimeout())
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
	}
	p.cfg.logger().Warn("process did not stop after SIGTERM; killing it", "name", p.Name(), "pid", pid, "timeout", p.cfg.stopTimeout())
	if err := signalGroup(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("%s: kill pid %d: %w", p.Name(), pid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s: pid %d did not exit after SIGKILL", p.Name(), pid)
	}
}

// Kill sends SIGKILL to the process group and waits for the process to exit,
// for tests that simulate a crash.
func (p *Process) Kill() error {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	if p.Exited() {
		return nil
	}
	if err := signalGroup(p.Pid(), syscall.SIGKILL); err != nil {
		return fmt.Errorf("%s: kill pid %d: %w", p.Name(), p.Pid(), err)
	}
	<-p.done
	return nil
}

// exitedError describes an unexpected exit, with the end of the output.
func (p *Process) exitedError(while string) error {
	return &ExitedError{Name: p.Name(), While: while, Err: p.ExitErr(), Output: p.OutputTail(40)}
}

// ExitedError is returned by the Wait methods when the process exits before it
// is ready.
type ExitedError struct {
	Name   string
	While  string
	Err    error // the exit status
	Output string
}

func (e *ExitedError) Error() string {
	status := "exit status 0"
	if e.Err != nil {
		status = e.Err.Error()
	}
	return fmt.Sprintf("%s exited (%s) while %s; its output:\n%s", e.Name, status, e.While, indent(e.Output))
}

func (e *ExitedError) Unwrap() error { return e.Err }

func indent(s string) string {
	if strings.TrimSpace(s) == "" {
		return "    (no output)"
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// WaitForOutput waits until the process's output contains substr. It fails
// if the process exits first or ctx ends (give ctx a deadline).
func (p *Process) WaitForOutput(ctx context.Context, substr string) error {
	if p.out.waitFor(ctx, substr, p.done) {
		return nil
	}
	while := fmt.Sprintf("waiting for %q in its output", substr)
	if p.Exited() {
		return p.exitedError(while)
	}
	return fmt.Errorf("%s: gave up %s: %w; its output so far:\n%s", p.Name(), while, ctx.Err(), indent(p.OutputTail(40)))
}

// WaitUntil calls check every interval until it returns nil. It fails if the
// process exits first or ctx ends (give ctx a deadline); the error then
// includes check's last error and the end of the output.
func (p *Process) WaitUntil(ctx context.Context, what string, interval time.Duration, check func(context.Context) error) error {
	var last error
	for {
		if last = check(ctx); last == nil {
			return nil
		}
		timer := time.NewTimer(interval)
		select {
		case <-p.done:
			timer.Stop()
			return p.exitedError("waiting until " + what)
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%s: gave up waiting until %s: %w (last attempt: %v); its output so far:\n%s",
				p.Name(), what, ctx.Err(), last, indent(p.OutputTail(40)))
		case <-timer.C:
		}
	}
}

// Run runs a short command to completion (e.g. "ipfs init") in its own
// process group and returns its combined output. A failure's error includes
// the output.
func Run(ctx context.Context, cfg Config) (string, error) {
	out := NewOutput()
	var w io.Writer = out
	if cfg.Output != nil {
		w = io.MultiWriter(out, cfg.Output)
	}
	cmd := cfg.command(ctx, w)
	cfg.logger().Debug("running", "name", cfg.name(), "path", cfg.Path, "args", cfg.Args)
	err := cmd.Run()
	if cmd.Process != nil {
		_ = signalGroup(cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return out.String(), fmt.Errorf("%s %s: %w; its output:\n%s", cfg.name(), strings.Join(cfg.Args, " "), err, indent(out.Tail(40)))
	}
	return out.String(), nil
}

// AddrInUse reports whether err says a process exited because its address
// was taken (an *ExitedError whose output says "address already in use").
// Launchers that chose ports with FreePort retry with new ones then.
func AddrInUse(err error) bool {
	var e *ExitedError
	return errors.As(err, &e) && IsAddrInUse(e.Output)
}
