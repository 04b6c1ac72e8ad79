package indexer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/internal/benchchain"
	"github.com/modeldao/modeldao/store"
)

// TestMain lets the test binary double as the chain node of BenchmarkBackfill (benchchain).
func TestMain(m *testing.M) {
	benchchain.ServeIfChild()
	os.Exit(m.Run())
}

// BenchmarkBackfill measures backfills of 100,000 and 400,000 events (and 1,000,000 with
// MODELDAO_BENCH_1M=1; MODELDAO_BENCH_EVENTS=n,m,… picks other sizes), mostly delegation
// changes and votes, over JSON-RPC into a fresh redis-server, with the indexer's default
// configuration (indexer.Config zero values: what `modeldao index` and the Lambda run).
// The chain node runs in a child process (this test binary, see TestMain), so that the
// figures are the indexer's own. Each size reports events/s of the backfill; peak-RSS-MiB,
// this process's peak resident set during the backfill (VmHWM, reset before it through
// /proc/self/clear_refs); CPU-µs/event, this process's CPU time per event (the indexer's
// cost whatever else loads the machine); node-CPU-µs/event and redis-CPU-µs/event, the same
// for the node (the child process) and redis-server during the backfill, the three sharing
// the machine's cores; redis-RSS-MiB, redis-server's used_memory_rss after it; and
// node-events/s, the rate of a bare eth_getLogs loop over the same node and range (raw
// JSON, not decoded) measured in the same run, with node-ratio = events/s over it, and
// bare-node-CPU-µs/log, the node's CPU time per log it served to that loop.
// MODELDAO_BENCH_HEAPPROFILE=prefix writes, per size, prefix-<events>.pprof: the heap
// profile taken after the garbage collection that found the most live heap during the
// backfill (what the peak RSS is made of; `go tool pprof -sample_index=inuse_space`).
//
//	MODELDAO_BENCH_1M=1 go test ./indexer -run '^$' -bench Backfill -benchtime 1x -timeout 60m
func BenchmarkBackfill(b *testing.B) {
	sizes := []int{100_000, 400_000}
	if os.Getenv("MODELDAO_BENCH_1M") != "" {
		sizes = append(sizes, 1_000_000)
	}
	if v := os.Getenv("MODELDAO_BENCH_EVENTS"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				b.Fatalf("MODELDAO_BENCH_EVENTS: %q is not a positive number", f)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) { benchBackfill(b, n) })
	}
}

func benchBackfill(b *testing.B, target int) {
	ctx := context.Background()
	ready := benchchain.Start(b, target)
	_, rdb := newRedis(b)
	st := store.New(rdb, store.NewKeys(ready.Deployment.ChainID, ready.Deployment.Governor), quiet)
	ix, err := indexer.New(indexer.Config{Chain: indexer.NewNode(dial(b, ready.URL), ready.URL), Store: st, Deployment: ready.Deployment, Log: quiet})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	debug.FreeOSMemory()
	resetHWM()
	rssBefore := vmHWM()
	var peak *peakHeap
	if prefix := os.Getenv("MODELDAO_BENCH_HEAPPROFILE"); prefix != "" {
		peak = watchPeakHeap(fmt.Sprintf("%s-%d.pprof", prefix, target))
	}
	cpuBefore, nodeBefore, redisBefore := cpuTime(), procCPU(b, ready.PID), redisCPU(b, rdb)
	b.ResetTimer()
	start := time.Now()
	p, err := ix.CatchUp(ctx)
	el := time.Since(start)
	b.StopTimer()
	cpu := cpuTime() - cpuBefore
	nodeCPU, redisCPU := procCPU(b, ready.PID)-nodeBefore, redisCPU(b, rdb)-redisBefore
	if peak != nil {
		if err := peak.stop(); err != nil {
			b.Fatal(err)
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	if p.Events < ready.Events*9/10 {
		b.Fatalf("indexed %d events, the chain has about %d", p.Events, ready.Events)
	}
	rss := vmHWM()
	redisRSS := redisRSS(b, rdb)
	bareBefore := procCPU(b, ready.PID)
	nodeRate, nodeLogs := bareGetLogs(b, ready.URL, ready.Deployment, p.FromBlock, p.ToBlock)
	bareCPU := procCPU(b, ready.PID) - bareBefore
	rate := float64(p.Events) / el.Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(float64(p.Events), "events")
	b.ReportMetric(float64(rss)/1024, "peak-RSS-MiB")
	b.ReportMetric(float64(redisRSS)/(1<<20), "redis-RSS-MiB")
	b.ReportMetric(nodeRate, "node-events/s")
	b.ReportMetric(rate/nodeRate, "node-ratio")
	perEvent := func(d time.Duration) float64 { return d.Seconds() * 1e6 / float64(p.Events) }
	b.ReportMetric(perEvent(cpu), "CPU-µs/event")
	b.ReportMetric(perEvent(nodeCPU), "node-CPU-µs/event")
	b.ReportMetric(perEvent(redisCPU), "redis-CPU-µs/event")
	b.ReportMetric(bareCPU.Seconds()*1e6/float64(nodeLogs), "bare-node-CPU-µs/log")
	fmt.Fprintf(os.Stderr, "backfill: %d events (%d logs) in %d blocks, %d commits, %s, %.0f events/s; CPU of this process %s (%.1f µs/event), of the node %.1f µs/event, of redis-server %.1f µs/event; peak RSS %d MiB (at start %d MiB); redis-server RSS %d MiB; bare eth_getLogs %.0f logs/s (ratio %.2f), node CPU %.1f µs/log\n",
		p.Events, nodeLogs, p.Blocks, p.Commits, el.Round(time.Millisecond), rate, cpu.Round(time.Millisecond), perEvent(cpu), perEvent(nodeCPU), perEvent(redisCPU), rss/1024, rssBefore/1024, redisRSS>>20, nodeRate, rate/nodeRate, bareCPU.Seconds()*1e6/float64(nodeLogs))
}

// bareGetLogs reads the DAO's logs of blocks from..to from the node as fast as one client
// can, in ranges of about 20,000 logs, keeping the raw JSON undecoded: the rate at which
// the node serves the logs, the limit of any indexer reading them from it. Like the
// indexer's Node with a node on this machine, it asks for uncompressed answers (gzip would
// cost the node CPU that the indexer does not make it spend).
func bareGetLogs(b *testing.B, url string, d contracts.Deployment, from, to uint64) (logsPerSec float64, logs int) {
	c, err := rpc.DialOptions(context.Background(), url, rpc.WithHTTPClient(&http.Client{Transport: &http.Transport{DisableCompression: true}}))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	addrs := []common.Address{d.Governor, d.Token, d.Timelock, d.Registry}
	const step = 25 // blocks: ~20,000 logs of the bench chain
	start := time.Now()
	for n := from; n <= to; n += step {
		var raw []json.RawMessage
		q := map[string]any{"fromBlock": hexutil.Uint64(n), "toBlock": hexutil.Uint64(min(n+step-1, to)), "address": addrs}
		if err := c.CallContext(context.Background(), &raw, "eth_getLogs", q); err != nil {
			b.Fatal(err)
		}
		logs += len(raw)
	}
	return float64(logs) / time.Since(start).Seconds(), logs
}

// redisRSS returns redis-server's resident set size in bytes.
func redisRSS(b *testing.B, rdb *redis.Client) int64 {
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory_rss:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	b.Fatal("INFO memory has no used_memory_rss")
	return 0
}

// procCPU returns the CPU time (user and system) process pid used so far, from
// /proc/<pid>/stat (in clock ticks of 10 ms, Linux's USER_HZ).
func procCPU(b *testing.B, pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name (which may hold spaces, inside parentheses);
	// utime and stime are the 14th and 15th of the line.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %q", pid, stat)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// redisCPU returns the CPU time redis-server used so far (INFO cpu).
func redisCPU(b *testing.B, rdb *redis.Client) time.Duration {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var sec float64
	for _, line := range strings.Split(info, "\n") {
		for _, k := range []string{"used_cpu_user:", "used_cpu_sys:"} {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), k); ok {
				x, _ := strconv.ParseFloat(v, 64)
				sec += x
			}
		}
	}
	return time.Duration(sec * float64(time.Second))
}

// cpuTime returns the CPU time (user and system) this process used so far: the indexer's
// cost, which, unlike events/s, does not depend on what else runs on the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetHWM resets this process's peak RSS to its current RSS, so that VmHWM measures the
// backfill alone and not the sizes benchmarked before it.
func resetHWM() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// vmHWM returns this process's peak resident set size in KiB.
func vmHWM() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// peakHeap keeps the heap profile of the garbage collection that found the most live heap.
type peakHeap struct {
	path string
	quit chan struct{}
	done chan struct{}
	max  uint64
	prof []byte
}

// watchPeakHeap polls the runtime's GC count; after each new collection whose live heap is
// the largest so far, it takes a heap profile (which describes that collection's live heap).
func watchPeakHeap(path string) *peakHeap {
	h := &peakHeap{path: path, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		samples := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/live:bytes"}}
		var lastGC uint64
		for {
			select {
			case <-h.quit:
				return
			case <-time.After(5 * time.Millisecond):
			}
			metrics.Read(samples)
			if gc := samples[0].Value.Uint64(); gc == lastGC {
				continue
			} else {
				lastGC = gc
			}
			if live := samples[1].Value.Uint64(); live > h.max {
				h.max = live
				var buf strings.Builder
				if err := pprof.Lookup("heap").WriteTo(&buf, 0); err == nil {
					h.prof = []byte(buf.String())
				}
			}
		}
	}()
	return h
}

// stop ends the watch and writes the profile of the peak.
func (h *peakHeap) stop() error {
	close(h.quit)
	<-h.done
	fmt.Fprintf(os.Stderr, "peak live heap %d MiB, profile in %s\n", h.max>>20, h.path)
	return os.WriteFile(h.path, h.prof, 0o644)
}
