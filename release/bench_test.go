package release_test

import (
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/modeldao/modeldao/release"
)

// BenchmarkRelease publishes and pulls a generated multi-shard safetensors release through a
// real kubo, and reports the throughput of each step beside the throughput of sha256 over
// the same bytes (the floor of anything that verifies them). MODELDAO_BENCH_RELEASE_MB sets
// its size (default 64; BENCHMARKS.md reports 1024):
//
//	MODELDAO_BENCH_RELEASE_MB=1024 go test -run XXX -bench BenchmarkRelease -benchtime 1x -timeout 30m ./release/
func BenchmarkRelease(b *testing.B) {
	mb := 64
	if v := os.Getenv("MODELDAO_BENCH_RELEASE_MB"); v != "" {
		mb, _ = strconv.Atoi(v)
	}
	// 8 shards of F16 tensors 1024×1024 (2 MiB each).
	tensors := max(1, mb/16)
	dir := b.TempDir()
	if _, err := release.WriteDemo(dir, release.DemoRelease{Seed: 3, Shards: 8, Tensors: tensors, Dim: 1024}); err != nil {
		b.Fatal(err)
	}
	fs, err := release.Walk(dir)
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, f := range fs {
		total += f.Size
	}
	mbps := func(d time.Duration) float64 { return float64(total) / (1 << 20) / d.Seconds() }

	ctx := context.Background()
	n := startKuboB(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		for _, f := range fs {
			fh, _ := os.Open(f.Abs)
			h := sha256.New()
			_, _ = io.Copy(h, fh)
			fh.Close()
		}
		b.ReportMetric(mbps(time.Since(start)), "sha256-MB/s")
		_ = os.Remove(filepath.Join(dir, release.ProgressFile))
		start = time.Now()
		pub, err := release.Publish(ctx, n.api, dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(mbps(time.Since(start)), "publish-MB/s")
		start = time.Now()
		if _, err := release.Publish(ctx, n.api, dir, nil); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds()*1000, "republish-ms")
		for _, src := range []struct {
			name string
			s    release.Source
		}{{"pull-kubo", n.src()}, {"pull-gateway", release.Gateway{Base: n.k.GatewayURL()}}} {
			out := b.TempDir()
			start = time.Now()
			if _, err := release.Pull(ctx, src.s, pub.CID, pub.Digest, out, release.PullOptions{}); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(mbps(time.Since(start)), src.name+"-MB/s")
			_ = os.RemoveAll(out)
		}
	}
	b.ReportMetric(float64(total)/(1<<20), "MB")
}
