package functions_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/infra/lambdarie"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/store"
)

// Benchmarks of the API function under the emulator (make bench):
//
//	go test -run '^$' -bench . -benchtime 20x ./functions/
//
// BenchmarkAPIColdStart: the first invocation of a fresh emulator, which starts the bootstrap
// process (process start, Go runtime, init: configuration, clients) and answers a query.
// BenchmarkAPIWarm: later invocations of the same container. BenchmarkAPIInProcess: the same
// queries through the same http.Handler in this process, without Lambda: the difference with
// BenchmarkAPIWarm is what the function adds (event decoding, the adapter, the emulator's two
// HTTP hops, which AWS replaces by its own). BenchmarkZipSize: the zipped bootstraps.

var benchQueries = []struct{ name, query string }{
	{"status", `{ indexerStatus { indexedBlock } }`},
	{"registry", `{ models(first: 20) { totalCount edges { node { name versionCount } } } proposals(first: 20) { totalCount edges { node { title state } } } }`},
}

// benchEnv is a Redis holding the index of the shared chain, built once.
var benchEnv struct {
	once sync.Once
	rs   *redisserver.Server
	env  map[string]string
	st   *store.Store
	err  error
}

func indexedRedis(b *testing.B) (map[string]string, *store.Store) {
	b.Helper()
	s := chain(b)
	benchEnv.once.Do(func() {
		ctx := context.Background()
		benchEnv.rs, benchEnv.err = redisserver.Start(ctx, redisserver.Options{})
		if benchEnv.err != nil {
			return
		}
		benchEnv.env = merge(daoEnv(b, s, false), map[string]string{config.EnvRedisURL: benchEnv.rs.URL(), config.EnvLogLevel: "warn"})
		cfg, err := config.Load(func(k string) string { return benchEnv.env[k] }, config.ForAPI)
		if err != nil {
			benchEnv.err = err
			return
		}
		d := s.DAO.Deployment
		benchEnv.st = store.New(config.Redis(cfg), store.NewKeys(d.ChainID, d.Governor), nil)
		ix, err := indexer.New(indexer.Config{Chain: s.Chain.Client, Store: benchEnv.st, Deployment: contracts.Deployment(d)})
		if err != nil {
			benchEnv.err = err
			return
		}
		_, benchEnv.err = ix.CatchUp(ctx)
	})
	if benchEnv.err != nil {
		b.Fatal(benchEnv.err)
	}
	return benchEnv.env, benchEnv.st
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func gqlEvent(b *testing.B, q string) []byte {
	body, _ := json.Marshal(map[string]string{"query": q})
	ev, err := json.Marshal(httpRequest(http.MethodPost, "/graphql", "", body, map[string]string{
		"content-type": "application/json", "cache-control": "no-cache"}))
	if err != nil {
		b.Fatal(err)
	}
	return ev
}

func checkOK(b *testing.B, res []byte) {
	var resp struct {
		StatusCode int
		Body       string
	}
	if err := json.Unmarshal(res, &resp); err != nil || resp.StatusCode != 200 || strings.Contains(resp.Body, `"errors"`) {
		b.Fatalf("response %s (%v)", res, err)
	}
}

// percentiles reports p50 and p99 of ds in ms.
func percentiles(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	b.ReportMetric(float64(ds[len(ds)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(ds[(len(ds)*99)/100])/1e6, "p99-ms")
}

func BenchmarkAPIColdStart(b *testing.B) {
	env, _ := indexedRedis(b)
	bin := bootstrap(b, "api")
	ev := gqlEvent(b, benchQueries[0].query)
	ctx := context.Background()
	var ds []time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		srv, err := lambdarie.Start(ctx, lambdarie.Options{Handler: bin, Env: env, Timeout: 10 * time.Second, Logger: quietLogger()})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		res, err := srv.Invoke(ctx, ev)
		ds = append(ds, time.Since(start))
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		checkOK(b, res)
		_ = srv.Close()
		b.StartTimer()
	}
	b.StopTimer()
	percentiles(b, ds)
}

func BenchmarkAPIWarm(b *testing.B) {
	env, _ := indexedRedis(b)
	srv := lambdarie.StartT(b, lambdarie.Options{Handler: bootstrap(b, "api"), Env: env, Timeout: 10 * time.Second, Logger: quietLogger()})
	ctx := context.Background()
	for _, q := range benchQueries {
		b.Run(q.name, func(b *testing.B) {
			ev := gqlEvent(b, q.query)
			res, err := srv.Invoke(ctx, ev) // warm: the container is started
			if err != nil {
				b.Fatal(err)
			}
			checkOK(b, res)
			ds := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if _, err := srv.Invoke(ctx, ev); err != nil {
					b.Fatal(err)
				}
				ds = append(ds, time.Since(start))
			}
			b.StopTimer()
			percentiles(b, ds)
		})
	}
}

func BenchmarkAPIInProcess(b *testing.B) {
	_, st := indexedRedis(b)
	h := graphql.NewHandler(st, graphql.Options{Logger: quietLogger()})
	for _, q := range benchQueries {
		b.Run(q.name, func(b *testing.B) {
			body, _ := json.Marshal(map[string]string{"query": q.query})
			ds := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Cache-Control", "no-cache")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				ds = append(ds, time.Since(start))
				if w.Code != 200 || strings.Contains(w.Body.String(), `"errors"`) {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
			b.StopTimer()
			percentiles(b, ds)
		})
	}
}

// BenchmarkZipSize reports the size of each function's bootstrap zipped as functions/build.sh
// zips it (deflate, best compression), built for this machine's architecture (the arm64 zips
// that build.sh makes are a little smaller). It zips once, whatever b.N.
func BenchmarkZipSize(b *testing.B) {
	for _, n := range functionNames {
		bin := bootstrap(b, n)
		b.Run(n, func(b *testing.B) {
			size, err := zipSize(bin)
			if err != nil {
				b.Fatal(err)
			}
			for range b.N {
			}
			fi, _ := os.Stat(bin)
			b.ReportMetric(float64(size)/(1<<20), "zip-MB")
			b.ReportMetric(float64(fi.Size())/(1<<20), "bootstrap-MB")
			if size > 15<<20 {
				b.Errorf("%s zips to %.1f MB, above the 15 MB target", n, float64(size)/(1<<20))
			}
		})
	}
}

var zipSizes sync.Map // bootstrap path → zipped size

func zipSize(bin string) (int, error) {
	if n, ok := zipSizes.Load(bin); ok {
		return n.(int), nil
	}
	f, err := os.Open(bin)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestCompression) })
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "bootstrap", Method: zip.Deflate})
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(w, f); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	zipSizes.Store(bin, buf.Len())
	return buf.Len(), nil
}
