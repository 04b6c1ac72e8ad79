package procutil

import (
	"errors"
	"sync"
)

// Supervised is the lifecycle every launcher shares: the current process of a service
// that can be stopped (keeping its ports and data for a restart), killed as in a crash,
// restarted in place, and closed once. Launchers embed it and set the process on start.
type Supervised struct {
	mu     sync.Mutex
	proc   *Process
	closed bool
}

// SetProcess records the process of the latest start.
func (v *Supervised) SetProcess(p *Process) {
	v.mu.Lock()
	v.proc = p
	v.mu.Unlock()
}

// Process returns the process of the latest start (nil before the first).
func (v *Supervised) Process() *Process {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.proc
}

// Output returns what the current process printed so far.
func (v *Supervised) Output() string {
	if p := v.Process(); p != nil {
		return p.Output()
	}
	return ""
}

// Running reports whether the process is alive.
func (v *Supervised) Running() bool {
	p := v.Process()
	return p != nil && !p.Exited()
}

// StopProcess stops the process (SIGTERM, then SIGKILL) and reports whether one was
// running. Stopping a stopped service does nothing.
func (v *Supervised) StopProcess() (bool, error) {
	p := v.Process()
	if p == nil || p.Exited() {
		return false, nil
	}
	return true, p.Stop()
}

// Kill kills the process with SIGKILL, as in a crash.
func (v *Supervised) Kill() error {
	if p := v.Process(); p != nil {
		return p.Kill()
	}
	return nil
}

// ErrClosed is returned by a Restart after Close.
var ErrClosed = errors.New("restart after Close")

// CheckOpen returns ErrClosed once the service was closed.
func (v *Supervised) CheckOpen() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return ErrClosed
	}
	return nil
}

// MarkClosed marks the service closed and reports whether this was the first call, so
// that Close is safe to call more than once.
func (v *Supervised) MarkClosed() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	first := !v.closed
	v.closed = true
	return first
}
