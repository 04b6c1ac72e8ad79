package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modeldao/modeldao/internal/devstack"
)

// syncBuffer is a bytes.Buffer safe for a writer and readers in other goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a test environment: only these variables exist.
type env map[string]string

func (e env) get(k string) string { return e[k] }

func (e env) with(kv ...string) env {
	out := env{}
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs the CLI in-process.
func run(t *testing.T, e env, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	t0 := time.Now()
	code := Main(ctx, args, Env{Stdout: &out, Stderr: &errb, Getenv: e.get})
	t.Logf("%s: %s", time.Since(t0).Round(time.Millisecond), strings.Join(args, " "))
	return result{code, out.String(), errb.String()}
}

// ok runs the CLI and fails the test unless it exits 0; with --json among args it decodes
// stdout into v.
func ok(t *testing.T, e env, v any, args ...string) result {
	t.Helper()
	r := run(t, e, args...)
	if r.code != 0 {
		t.Fatalf("modeldao %s: %s", strings.Join(args, " "), r)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
			t.Fatalf("modeldao %s: stdout is not JSON: %v\n%s", strings.Join(args, " "), err, r.stdout)
		}
	}
	return r
}

// fails runs the CLI and wants exit status code with want in stderr.
func fails(t *testing.T, e env, code int, want string, args ...string) result {
	t.Helper()
	r := run(t, e, args...)
	if r.code != code || !strings.Contains(r.stderr, want) {
		t.Fatalf("modeldao %s: want exit %d and %q on stderr, got %s", strings.Join(args, " "), code, want, r)
	}
	return r
}

// waitFor polls cond every 50 ms until it holds, for up to 30 s.
func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		done, err := cond()
		if done && err == nil {
			return
		}
		if err != nil {
			last = err
		}
		select {
		case <-deadline:
			t.Fatalf("waiting for %s: timed out (last error: %v)", what, last)
		case <-tick.C:
		}
	}
}

// children returns the pids of this process's child processes with their names.
func children(t *testing.T) map[int]string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	me := os.Getpid()
	out := map[int]string{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < 0 {
			continue
		}
		fields := strings.Fields(s[closing+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == me {
			out[pid] = s[open+1 : closing]
		}
	}
	return out
}

// stack is the dev stack `modeldao dev` runs in-process for the test.
type stack struct {
	info   devstack.Info
	cancel context.CancelFunc
	done   chan int
	stderr *syncBuffer
}

// startDev starts `modeldao dev`. A start that fails is tried once more (with its error
// logged): free ports are picked before the processes bind them, and test packages running
// in parallel can take one in between.
func startDev(t *testing.T) *stack {
	t.Helper()
	s, err := tryStartDev()
	if err != nil {
		t.Logf("first start of modeldao dev failed, trying again: %v", err)
		if s, err = tryStartDev(); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func tryStartDev() (*stack, error) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &stack{cancel: cancel, done: make(chan int, 1), stderr: &syncBuffer{}}
	go func() {
		code := Main(ctx, []string{"dev", "--json", "--rpc-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0", "--ipfs-port", "0",
			"--block-time", "0", "--voting-delay", "1", "--voting-period", "30", "--timelock-delay", "60s"},
			Env{Stdout: pw, Stderr: s.stderr, Getenv: env{}.get})
		pw.Close()
		s.done <- code
	}()
	infoc := make(chan devstack.Info, 1)
	go func() {
		var info devstack.Info
		dec := json.NewDecoder(pr)
		// Under --json a failed start prints an error object instead: only an Info that
		// names the API counts as ready (the failure is then reported through done).
		if dec.Decode(&info) == nil && info.GraphQLURL != "" {
			infoc <- info
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case s.info = <-infoc:
	case code := <-s.done:
		cancel()
		return nil, fmt.Errorf("modeldao dev exited with %d before it was ready:\n%s", code, s.stderr)
	case <-time.After(3 * time.Minute):
		cancel()
		<-s.done
		return nil, fmt.Errorf("modeldao dev not ready after 3 minutes:\n%s", s.stderr)
	}
	return s, nil
}

func devTokens(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }
