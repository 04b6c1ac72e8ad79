package functions_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/internal/benchchain"
)

// BenchmarkIndexerBackfill is the indexer function's long backfill under the emulator: a
// chain of 200,000 events (MODELDAO_BENCH_LAMBDA_EVENTS=n for another size), served by a
// child process, indexed into a fresh redis-server by scheduled invocations of one warm
// container with serverless.yml's memory setting (512 MB) and a 15 s timeout (5 s of margin),
// so that the backfill spans dozens of invocations of the same process, as a long backfill
// on AWS spans many one-minute invocations. After each invocation it reads the function process's
// resident set (VmRSS) and peak (VmHWM); it reports the peak, the RSS after the first and
// the last invocation and their ratio (growth: 1.0 is flat), and events/s over the
// invocations that did not catch up (the last one polls until its deadline).
//
//	go test ./functions/ -run '^$' -bench IndexerBackfill -benchtime 1x -timeout 30m
func BenchmarkIndexerBackfill(b *testing.B) {
	events := 200_000
	if v := os.Getenv("MODELDAO_BENCH_LAMBDA_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("MODELDAO_BENCH_LAMBDA_EVENTS: %q is not a positive number", v)
		}
		events = n
	}
	ready := benchchain.Start(b, events)
	rs := redisserver.StartT(b)
	env := merge(deploymentEnv(ready.Deployment, ready.URL), map[string]string{
		config.EnvRedisURL:      rs.URL(),
		config.EnvIndexerMargin: benchIndexerMargin.String(),
		config.EnvLogLevel:      "warn",
		// What AWS sets from serverless.yml's indexerMemory (lambdafn.LimitMemory reads it).
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
	})
	// MODELDAO_BENCH_LAMBDA_TIMEOUT shortens the invocations (each works for the timeout
	// minus INDEXER_MARGIN), so that a fast backfill still spans many of them.
	timeout := benchIndexerTimeout
	if v := os.Getenv("MODELDAO_BENCH_LAMBDA_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= benchIndexerMargin {
			b.Fatalf("MODELDAO_BENCH_LAMBDA_TIMEOUT: %q is not a duration above the margin, %s", v, benchIndexerMargin)
		}
		timeout = d
	}
	f := startFn(b, "indexer", env, timeout)
	b.ResetTimer()
	var (
		total, fullEvents     int
		fullTime              time.Duration
		invocations           int
		firstRSS, lastRSS, hw int64
		rssLine               []string
	)
	for invocations = 1; ; invocations++ {
		var p indexer.Progress
		start := time.Now()
		f.mustInvoke(scheduled("modeldao-indexer"), &p)
		el := time.Since(start)
		total += p.Events
		if !p.CaughtUp {
			fullEvents += p.Events
			fullTime += el
		}
		pid, ok := f.srv.FunctionPID()
		if !ok {
			b.Fatal("the function's process is not running after an invocation")
		}
		rss, peak := procMemKiB(b, pid)
		if invocations == 1 {
			firstRSS = rss
		}
		lastRSS, hw = rss, peak
		rssLine = append(rssLine, strconv.FormatInt(rss>>10, 10))
		fmt.Fprintf(os.Stderr, "invocation %d: %d events in %s, checkpoint %d, caught up %v; function RSS %d MiB, peak %d MiB\n",
			invocations, p.Events, el.Round(time.Millisecond), p.ToBlock, p.CaughtUp, rss>>10, peak>>10)
		if p.CaughtUp {
			break
		}
		if invocations > 10_000 {
			b.Fatal("the backfill did not finish in 10,000 invocations")
		}
	}
	b.StopTimer()
	if total < ready.Events*9/10 {
		b.Fatalf("indexed %d events, the chain has about %d", total, ready.Events)
	}
	rate := float64(fullEvents) / fullTime.Seconds()
	b.ReportMetric(float64(invocations), "invocations")
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(float64(hw)/1024, "peak-RSS-MiB")
	b.ReportMetric(float64(firstRSS)/1024, "first-RSS-MiB")
	b.ReportMetric(float64(lastRSS)/1024, "last-RSS-MiB")
	b.ReportMetric(float64(lastRSS)/float64(firstRSS), "RSS-growth")
	fmt.Fprintf(os.Stderr, "lambda backfill: %d events in %d invocations (%.0f events/s in full ones); function RSS after each invocation (MiB): %s; peak %d MiB\n",
		total, invocations, rate, strings.Join(rssLine, " "), hw>>10)
}

// The bench's function timeout: longer than the tests' 5 s so that a loaded machine does not
// make an invocation overrun it; still short enough for dozens of invocations.
const (
	benchIndexerTimeout = 15 * time.Second
	benchIndexerMargin  = 5 * time.Second
)

// procMemKiB returns a process's resident set and its peak, in KiB.
func procMemKiB(b *testing.B, pid int) (rss, peak int64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			peak = n
		}
	}
	return rss, peak
}
