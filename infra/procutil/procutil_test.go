package procutil

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFreePorts(t *testing.T) {
	seen := map[int]bool{}
	for range 20 {
		ports, err := FreePorts(3)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ports {
			if p <= 0 || seen[p] {
				t.Fatalf("port %d returned twice or invalid", p)
			}
			seen[p] = true
		}
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if rel, err := filepath.Rel(root, wd); err != nil || rel != filepath.Join("infra", "procutil") {
		t.Errorf("RepoRoot() = %s, working directory %s", root, wd)
	}
	// The tools module's go.mod declares another module: it is skipped.
	if got, err := RepoRootFrom(filepath.Join(root, "infra", "tools")); err != nil || got != root {
		t.Errorf("RepoRootFrom(infra/tools) = %s, %v", got, err)
	}
	if _, err := RepoRootFrom(t.TempDir()); err == nil || !strings.Contains(err.Error(), ModulePath) {
		t.Errorf("outside the repository: err = %v", err)
	}
}

func TestBinaryFind(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "mytool")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := Binary{Name: "mytool", EnvVar: "MODELDAO_TEST_MYTOOL", RepoBin: true, Missing: `mytool not found: run "make tools"`}

	t.Setenv("MODELDAO_TEST_MYTOOL", "")
	t.Setenv("PATH", t.TempDir())
	if _, err := b.Find(); err == nil || !strings.Contains(err.Error(), `run "make tools"`) || !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: err = %v", err)
	}
	t.Setenv("PATH", dir)
	if got, err := b.Find(); err != nil || got != exe {
		t.Errorf("in PATH: %s, %v", got, err)
	}
	t.Setenv("MODELDAO_TEST_MYTOOL", exe)
	if got, err := b.Find(); err != nil || got != exe {
		t.Errorf("from env: %s, %v", got, err)
	}
	t.Setenv("MODELDAO_TEST_MYTOOL", filepath.Join(dir, "nope"))
	if _, err := b.Find(); err == nil || !strings.Contains(err.Error(), "MODELDAO_TEST_MYTOOL") {
		t.Errorf("bad env: err = %v", err)
	}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// Stop ends the whole process group, children included.
func TestStopKillsChildren(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	p, err := Start(t.Context(), Config{
		Name: "sh",
		Path: "/bin/sh",
		// The child ignores SIGTERM, so Stop has to escalate to SIGKILL.
		Args:        []string{"-c", `sh -c 'trap "" TERM; echo $$ > ` + pidFile + `; while :; do sleep 1; done' & echo started; wait`},
		StopTimeout: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := p.WaitForOutput(ctx, "started"); err != nil {
		t.Fatal(err)
	}
	var child int
	if err := p.WaitUntil(ctx, "the child wrote its pid", 10*time.Millisecond, func(context.Context) error {
		data, err := os.ReadFile(pidFile)
		if err == nil {
			child, err = strconv.Atoi(strings.TrimSpace(string(data)))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(child) {
		if time.Now().After(deadline) {
			t.Fatalf("child %d still alive after Stop", child)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestContextEndStopsProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	p, err := Start(ctx, Config{Path: "/bin/sleep", Args: []string{"100"}})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("process still running after its context ended")
	}
}

func TestWaitErrorsIncludeOutput(t *testing.T) {
	p, err := Start(t.Context(), Config{Name: "failer", Path: "/bin/sh", Args: []string{"-c", "echo bind: Address already in use >&2; exit 3"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	err = p.WaitForOutput(ctx, "never printed")
	var ee *ExitedError
	if !errors.As(err, &ee) || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "Address already in use") {
		t.Fatalf("err = %v", err)
	}
	if !AddrInUse(err) {
		t.Error("AddrInUse = false")
	}

	p, err = Start(t.Context(), Config{Name: "sleeper", Path: "/bin/sh", Args: []string{"-c", "echo hi; sleep 100"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	short, cancel2 := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel2()
	err = p.WaitUntil(short, "pigs fly", 10*time.Millisecond, func(context.Context) error { return errors.New("not yet") })
	if err == nil || !strings.Contains(err.Error(), "not yet") || !strings.Contains(err.Error(), "hi") {
		t.Fatalf("err = %v", err)
	}
}

func TestRun(t *testing.T) {
	out, err := Run(t.Context(), Config{Path: "/bin/sh", Args: []string{"-c", "echo ok"}})
	if err != nil || out != "ok\n" {
		t.Fatalf("Run = %q, %v", out, err)
	}
	_, err = Run(t.Context(), Config{Name: "sh", Path: "/bin/sh", Args: []string{"-c", "echo what went wrong; exit 2"}})
	if err == nil || !strings.Contains(err.Error(), "what went wrong") {
		t.Fatalf("err = %v", err)
	}
}

func TestLogWriter(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	w := LogWriter(l, slog.LevelInfo, "proc", "name", "x")
	w.Write([]byte("first li"))
	w.Write([]byte("ne\nsecond\n"))
	got := buf.String()
	if !strings.Contains(got, `line="first line"`) || !strings.Contains(got, "line=second") || !strings.Contains(got, "name=x") {
		t.Fatalf("log:\n%s", got)
	}
}

func TestOutputKeepsTail(t *testing.T) {
	o := NewOutput()
	chunk := bytes.Repeat([]byte("x"), 1000)
	for range 2000 {
		o.Write(chunk)
	}
	o.Write([]byte("\nlast line\n"))
	s := o.String()
	if len(s) > maxOutput+100 || !strings.HasSuffix(s, "last line\n") || !strings.HasPrefix(s, "[... earlier output dropped ...]") {
		t.Fatalf("len %d, prefix %q, suffix %q", len(s), s[:40], s[len(s)-20:])
	}
	if o.Tail(1) != "[...]\nlast line" {
		t.Errorf("Tail(1) = %q", o.Tail(1))
	}
}
