package graphql_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/store"
)

// BenchmarkLoad's API server runs in a process of its own, as `modeldao serve` does: the
// benchmark process also holds the chain, the indexer and the harness, whose heap and
// goroutines would otherwise be the server's (every collection marks the chain's state).
// The test binary is that process when envLoadServe is set (see TestMain): it serves the
// API over the index in Redis and writes its address on stdout; it stops when its stdin
// closes. MODELDAO_LOAD_INPROCESS=1 serves in the benchmark process instead, which adds the
// handler's own latencies and the CPU and heap profiles (MODELDAO_LOAD_PROFILE).

// envLoadServe holds "redisAddr chainID governor" for the server process.
const envLoadServe = "MODELDAO_LOAD_SERVE"

// serveLoad is the server process's main.
func serveLoad(spec string) int {
	f := strings.Fields(spec)
	if len(f) != 3 {
		fmt.Fprintf(os.Stderr, "%s=%q: want \"redisAddr chainID governor\"\n", envLoadServe, spec)
		return 2
	}
	chainID, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	graphql.TuneGCForServing()
	rdb := redis.NewClient(&redis.Options{Addr: f[0]})
	defer rdb.Close()
	st := store.New(rdb, store.NewKeys(chainID, common.HexToAddress(f[2])), quiet)
	ops, _ := strconv.Atoi(os.Getenv("MODELDAO_LOAD_OPERATIONS"))
	ln, err := netListen()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: graphql.NewHandler(st, graphql.Options{Logger: quiet, MaxConcurrentOperations: ops}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Println(ln.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the benchmark closes it (or exits)
	_ = srv.Close()
	return 0
}

// serverProcess is the API server's process.
type serverProcess struct {
	cmd   *exec.Cmd
	stdin io.Closer
}

// startServerProcess starts the test binary as the API server over the index in redisAddr
// and returns it with its URL.
func startServerProcess(b *testing.B, redisAddr string, chainID uint64, governor common.Address) (*serverProcess, string) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %s", envLoadServe, redisAddr, chainID, governor.Hex()))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		b.Fatalf("the API server process did not start: %v", err)
	}
	return &serverProcess{cmd: cmd, stdin: stdin}, "http://" + strings.TrimSpace(addr) + "/graphql"
}

func (p *serverProcess) close() {
	_ = p.stdin.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// cpu is the user and system CPU time of the server process so far (/proc/PID/stat, in
// clock ticks of 10 ms: a run of several seconds of CPU is read to within a percent).
func (p *serverProcess) cpu() time.Duration {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.cmd.Process.Pid), "stat"))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: the fields that follow start after ')'.
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// writeHeapProfile writes what this process holds live (as of the last collection): the
// mark work of every collection, which on two cores takes one of them while it runs.
func writeHeapProfile(b *testing.B, dir string) {
	f, err := os.Create(filepath.Join(dir, strings.ReplaceAll(b.Name(), "/", "_")+".heap"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	_ = pprof.Lookup("heap").WriteTo(f, 0)
}
