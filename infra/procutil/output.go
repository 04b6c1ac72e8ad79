package procutil

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// maxOutput is how much of a process's output an Output keeps: the most
// recent bytes win.
const maxOutput = 1 << 20

// Output collects a process's stdout and stderr. It is safe for concurrent
// use; it keeps the last MiB.
type Output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int64
	changed chan struct{} // closed and replaced on every write
}

// NewOutput returns an empty Output.
func NewOutput() *Output {
	return &Output{changed: make(chan struct{})}
}

// Write appends p.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	if over := o.buf.Len() - maxOutput; over > 0 {
		o.buf.Next(over)
		o.dropped += int64(over)
	}
	close(o.changed)
	o.changed = make(chan struct{})
	return len(p), nil
}

// String returns what was kept of the output.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dropped > 0 {
		return "[... earlier output dropped ...]\n" + o.buf.String()
	}
	return o.buf.String()
}

// Tail returns at most the last n lines of the output.
func (o *Output) Tail(n int) string {
	return tailLines(o.String(), n)
}

// tailLines returns at most the last n lines of s.
func tailLines(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{"[...]"}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// snapshot returns the output and a channel closed at the next write.
func (o *Output) snapshot() (string, <-chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String(), o.changed
}

// waitFor blocks until the output contains substr, stop is closed, or ctx
// ends. It reports whether substr was seen.
func (o *Output) waitFor(ctx context.Context, substr string, stop <-chan struct{}) bool {
	for {
		s, changed := o.snapshot()
		if strings.Contains(s, substr) {
			return true
		}
		select {
		case <-changed:
		case <-stop:
			s, _ := o.snapshot()
			return strings.Contains(s, substr)
		case <-ctx.Done():
			return false
		}
	}
}

// LogWriter returns a writer that logs each line written to it with l at
// level, as msg with attribute "line" plus attrs. Give it as a launcher's
// Output option to see a process's output in the application log (e.g. for
// "modeldao dev").
func LogWriter(l *slog.Logger, level slog.Level, msg string, attrs ...any) io.Writer {
	return &lineLogger{l: l, level: level, msg: msg, attrs: attrs}
}

type lineLogger struct {
	mu      sync.Mutex
	l       *slog.Logger
	level   slog.Level
	msg     string
	attrs   []any
	partial []byte
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(w.partial[:i]), "\r")
		w.partial = w.partial[i+1:]
		if line != "" {
			w.l.Log(context.Background(), w.level, w.msg, append([]any{"line", line}, w.attrs...)...)
		}
	}
	if len(w.partial) > 64<<10 { // a very long line: log what there is
		w.l.Log(context.Background(), w.level, w.msg, append([]any{"line", string(w.partial)}, w.attrs...)...)
		w.partial = w.partial[:0]
	}
	return len(p), nil
}
