// Package lambdarie runs a Lambda function's bootstrap executable under the
// AWS Lambda Runtime Interface Emulator (aws-lambda-rie) on free loopback
// ports, for tests and "modeldao dev", and invokes it the way the Lambda
// service would.
//
// aws-lambda-rie is $MODELDAO_RIE_BIN if set, else <repo>/.bin/aws-lambda-rie
// (built by "make tools"), else aws-lambda-rie in PATH.
//
// What the emulator does, as checked with the pinned version: the bootstrap
// starts on the first invocation and is reused; it gets the emulator's
// environment; a handler error still answers HTTP 200 with
// {"errorMessage","errorType"} (a crash or panic answers 502 with the same
// shape, a timeout answers 200 with the plain text "Task timed out after N
// seconds"); and two invocations at once crash the emulator, so Invoke runs
// them one at a time.
package lambdarie

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modeldao/modeldao/infra/procutil"
)

// DefaultStartTimeout bounds how long Start waits for the emulator to listen.
const DefaultStartTimeout = 15 * time.Second

// Binary is where aws-lambda-rie is looked for.
var Binary = procutil.Binary{
	Name:    "aws-lambda-rie",
	EnvVar:  "MODELDAO_RIE_BIN",
	RepoBin: true,
	Missing: `aws-lambda-rie not found: run "make tools" (builds .bin/aws-lambda-rie)`,
}

// Options configures an emulator.
type Options struct {
	// Handler is the function's executable (a Go "bootstrap" built with
	// -tags lambda.norpc, see Build). Required.
	Handler string
	// Binary is the aws-lambda-rie path; empty means Binary.Find().
	Binary string
	// Dir is the working directory of the emulator and the function; empty
	// means the directory holding Handler.
	Dir string
	// Env holds extra environment variables for the function (the
	// emulator's own environment, which the function inherits, is this
	// process's plus these).
	Env map[string]string
	// Timeout is the function timeout (AWS_LAMBDA_FUNCTION_TIMEOUT, whole
	// seconds, rounded up); 0 leaves the emulator's default of 300 s.
	Timeout time.Duration
	// Output, if not nil, also receives the emulator's and the function's
	// stdout and stderr (they are always kept, see Server.Output).
	Output io.Writer
	// Logger logs starts and stops; nil means slog.Default().
	Logger *slog.Logger
	// StartTimeout bounds the wait for the emulator to listen; 0 means
	// DefaultStartTimeout.
	StartTimeout time.Duration
}

// Server is a running aws-lambda-rie with one function.
type Server struct {
	opts    Options
	port    int
	apiPort int
	proc    *procutil.Process
	client  *http.Client

	invokeMu  sync.Mutex // the emulator takes one invocation at a time
	closeOnce sync.Once
	closeErr  error
}

// Start starts the emulator for opts.Handler on free 127.0.0.1 ports and
// waits until it accepts connections (the function itself starts on the
// first Invoke). ctx bounds the emulator's life (when it ends the emulator
// and the function are stopped); call Close to stop it earlier.
func Start(ctx context.Context, opts Options) (_ *Server, err error) {
	if opts.Handler == "" {
		return nil, errors.New("lambdarie: Options.Handler (the function's bootstrap executable) is required")
	}
	handler, err := filepath.Abs(opts.Handler)
	if err != nil {
		return nil, fmt.Errorf("lambdarie: %w", err)
	}
	if fi, err := os.Stat(handler); err != nil {
		return nil, fmt.Errorf("lambdarie: handler: %w", err)
	} else if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("lambdarie: handler %s is not an executable file", handler)
	}
	opts.Handler = handler
	if opts.Dir == "" {
		opts.Dir = filepath.Dir(handler)
	}
	if opts.Binary == "" {
		if opts.Binary, err = Binary.Find(); err != nil {
			return nil, err
		}
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	s := &Server{opts: opts, client: &http.Client{}}
	for attempt := 1; ; attempt++ {
		ports, err := procutil.FreePorts(2)
		if err != nil {
			return nil, err
		}
		s.port, s.apiPort = ports[0], ports[1]
		err = s.start(ctx)
		if err == nil {
			return s, nil
		}
		if attempt < 3 && procutil.AddrInUse(err) {
			s.logger().Debug("aws-lambda-rie port taken, retrying with others", "port", s.port, "runtime_api_port", s.apiPort)
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

func (s *Server) start(ctx context.Context) error {
	var env []string
	keys := make([]string, 0, len(s.opts.Env))
	for k := range s.opts.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+s.opts.Env[k])
	}
	if s.opts.Timeout > 0 {
		secs := int(math.Ceil(s.opts.Timeout.Seconds()))
		env = append(env, "AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(secs))
	}
	proc, err := procutil.Start(ctx, procutil.Config{
		Name: "aws-lambda-rie",
		Path: s.opts.Binary,
		Args: []string{
			"--runtime-interface-emulator-address", procutil.LoopbackAddr(s.port),
			"--runtime-api-address", procutil.LoopbackAddr(s.apiPort),
			s.opts.Handler,
		},
		Dir:    s.opts.Dir,
		Env:    env,
		Output: s.opts.Output,
		Logger: s.opts.Logger,
	})
	if err != nil {
		return fmt.Errorf("lambdarie: %w", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, s.opts.StartTimeout)
	defer cancel()
	err = proc.WaitUntil(waitCtx, "it listens on "+s.Addr(), 20*time.Millisecond, func(ctx context.Context) error {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", s.Addr())
		if err != nil {
			return err
		}
		return conn.Close()
	})
	if err != nil {
		_ = proc.Stop()
		return fmt.Errorf("lambdarie: %w", err)
	}
	s.proc = proc
	s.logger().Info("aws-lambda-rie started", "url", s.InvokeURL(), "handler", s.opts.Handler)
	return nil
}

// Addr returns the emulator's "127.0.0.1:PORT".
func (s *Server) Addr() string { return procutil.LoopbackAddr(s.port) }

// InvokeURL returns the URL Invoke POSTs events to,
// "http://127.0.0.1:PORT/2015-03-31/functions/function/invocations".
func (s *Server) InvokeURL() string {
	return "http://" + s.Addr() + "/2015-03-31/functions/function/invocations"
}

// Output returns what the emulator and the function have written to stdout
// and stderr so far (the function's logs are there).
func (s *Server) Output() string { return s.proc.Output() }

// FunctionPID returns the process id of the function (the handler the emulator started on
// its first invocation, as its child in a process group of its own); false before the first
// invocation or after the function exited. Benchmarks read its memory from /proc.
func (s *Server) FunctionPID() (int, bool) {
	rie := strconv.Itoa(s.proc.Pid())
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", d.Name(), "exe")); err != nil || exe != s.opts.Handler {
			continue
		}
		status, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "status"))
		for _, line := range strings.Split(string(status), "\n") {
			if ppid, ok := strings.CutPrefix(line, "PPid:"); ok && strings.TrimSpace(ppid) == rie {
				pid, _ := strconv.Atoi(d.Name())
				return pid, true
			}
		}
	}
	return 0, false
}

// Running reports whether the emulator is running.
func (s *Server) Running() bool { return !s.proc.Exited() }

// FunctionError is a failed invocation as the function (or the emulator on
// its behalf) reported it.
type FunctionError struct {
	// Type is "errorType": for a Go handler, the name of the returned
	// error's type (e.g. "errorString"); "Runtime.ExitError" when the
	// process exited; "Sandbox.Timedout" when it ran out of time.
	Type string
	// Message is "errorMessage".
	Message string
	// StackTrace is "stackTrace" as sent (e.g. after a panic), if any.
	StackTrace json.RawMessage
	// StatusCode is the emulator's HTTP status (200 even for handler
	// errors; 502 for crashes).
	StatusCode int
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("lambda function failed: %s: %s", e.Type, e.Message)
}

// Invoke sends event (JSON) to the function and returns its result (JSON).
// A failure the function reports comes back as a *FunctionError; other
// errors are about reaching the emulator. Invocations run one at a time.
func (s *Server) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	if event == nil {
		event = []byte("{}")
	}
	s.invokeMu.Lock()
	defer s.invokeMu.Unlock()
	if s.proc.Exited() {
		return nil, fmt.Errorf("lambdarie: the emulator is not running; its output:\n%s", s.proc.OutputTail(40))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.InvokeURL(), bytes.NewReader(event))
	if err != nil {
		return nil, fmt.Errorf("lambdarie: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("lambdarie: invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("lambdarie: invoke: reading the response: %w", err)
	}
	if ferr := parseFunctionError(resp.StatusCode, body); ferr != nil {
		return nil, ferr
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("lambdarie: invoke: %s: %s", resp.Status, body)
	}
	return body, nil
}

// timeoutPrefix starts the plain-text body the emulator answers when the
// function times out.
const timeoutPrefix = "Task timed out after"

// parseFunctionError returns the error a response body carries, or nil: a
// JSON object with exactly the fields of a Lambda error (errorMessage and
// errorType, optionally stackTrace and the like), or the emulator's timeout
// text.
func parseFunctionError(status int, body []byte) *FunctionError {
	trimmed := bytes.TrimSpace(body)
	if bytes.HasPrefix(trimmed, []byte(timeoutPrefix)) && !json.Valid(trimmed) {
		return &FunctionError{Type: "Sandbox.Timedout", Message: string(trimmed), StatusCode: status}
	}
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &fields); err != nil {
		return nil
	}
	rawType, hasType := fields["errorType"]
	rawMsg, hasMsg := fields["errorMessage"]
	if !hasType || !hasMsg {
		return nil
	}
	for k := range fields {
		switch k {
		case "errorType", "errorMessage", "stackTrace", "requestId", "cause":
		default:
			return nil // some other object that happens to have these fields
		}
	}
	e := &FunctionError{StackTrace: fields["stackTrace"], StatusCode: status}
	if json.Unmarshal(rawType, &e.Type) != nil || json.Unmarshal(rawMsg, &e.Message) != nil {
		return nil
	}
	return e
}

// Close stops the emulator and the function. It is safe to call more than
// once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if err := s.proc.Stop(); err != nil {
			s.closeErr = fmt.Errorf("lambdarie: %w", err)
			return
		}
		s.client.CloseIdleConnections()
		s.logger().Info("aws-lambda-rie stopped", "url", s.InvokeURL())
	})
	return s.closeErr
}

// BuildOptions configures Build.
type BuildOptions struct {
	// Package is the main package to build: an import path or a path
	// relative to Dir ("./cmd/fn").
	Package string
	// Dir is where "go build" runs (inside the module); empty means the
	// working directory.
	Dir string
	// OutDir receives the executable, named "bootstrap" as the
	// provided.al2023 runtime wants; required.
	OutDir string
	// Output, if not nil, receives the compiler's output.
	Output io.Writer
}

// Build compiles a Go Lambda function the way the provided.al2023 runtime
// runs it (GOOS=linux, CGO_ENABLED=0, -tags lambda.norpc) for this machine's
// architecture, into OutDir/bootstrap, and returns that path.
func Build(ctx context.Context, opts BuildOptions) (string, error) {
	if opts.Package == "" || opts.OutDir == "" {
		return "", errors.New("lambdarie: Build needs Package and OutDir")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("lambdarie: the go command is not in PATH: %w", err)
	}
	out := filepath.Join(opts.OutDir, "bootstrap")
	if !filepath.IsAbs(out) {
		if out, err = filepath.Abs(out); err != nil {
			return "", fmt.Errorf("lambdarie: %w", err)
		}
	}
	_, err = procutil.Run(ctx, procutil.Config{
		Name:   "go build",
		Path:   goBin,
		Args:   []string{"build", "-buildvcs=false", "-trimpath", "-tags", "lambda.norpc", "-o", out, opts.Package},
		Dir:    opts.Dir,
		Env:    []string{"GOOS=linux", "CGO_ENABLED=0"},
		Output: opts.Output,
	})
	if err != nil {
		return "", fmt.Errorf("lambdarie: building %s: %w", opts.Package, err)
	}
	return out, nil
}
