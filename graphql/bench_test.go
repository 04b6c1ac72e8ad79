package graphql_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The two typical frontend queries of the benchmark.
var benchQueries = []string{
	`{ proposals(first: 50) { totalCount edges { cursor node { id title state deadline voterCount
		tally { for against abstain forPercent againstPercent abstainPercent quorumReached quorumPercent } } } } }`,
	`{ modelVersions(first: 50) { totalCount edges { cursor node { id modelName label status tags license
		audits(first: 5) { edges { node { id passed metrics { kind sensitiveFeature value threshold passed } } } } } } } }`,
}

// BenchmarkFrontendQueries serves the two typical frontend queries (a page of 50 proposals
// with tallies, a page of 50 model versions with audits), alternately, to 64 concurrent
// clients over loopback, and reports requests/s and the p50 and p99 latencies: "cached" as
// the API answers them (from the response cache while the checkpoint stays), "computed"
// with Cache-Control: no-cache (every answer read from Redis and resolved).
//
//	go test ./graphql/ -run '^$' -bench FrontendQueries -benchtime 20000x
func BenchmarkFrontendQueries(b *testing.B) {
	b.Run("cached", func(b *testing.B) { benchFrontend(b, false) })
	b.Run("computed", func(b *testing.B) { benchFrontend(b, true) })
}

func benchFrontend(b *testing.B, noCache bool) {
	e, err := largeEnv()
	if err != nil {
		b.Fatal(err)
	}
	const clients = 64
	bodies := make([][]byte, len(benchQueries))
	for i, q := range benchQueries {
		bodies[i], _ = json.Marshal(map[string]string{"query": q})
	}
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	send := func(i int) error {
		req, _ := http.NewRequest(http.MethodPost, e.url, bytes.NewReader(bodies[i%len(bodies)]))
		req.Header.Set("Content-Type", "application/json")
		if noCache {
			req.Header.Set("Cache-Control", "no-cache")
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 || bytes.Contains(body, []byte(`"errors"`)) {
			return &httpErr{resp.StatusCode, string(body)}
		}
		return nil
	}
	for i := range bodies { // warm up: script loaded, connections open, answers checked
		if err := send(i); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				t0 := time.Now()
				if err := send(i); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
}

type httpErr struct {
	status int
	body   string
}

func (e *httpErr) Error() string { return http.StatusText(e.status) + ": " + e.body }
