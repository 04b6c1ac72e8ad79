package indexer_test

import (
	"context"
	"testing"
	"time"

	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/internal/benchchain"
	"github.com/modeldao/modeldao/store"
)

// TestStepCommitsInEveryCallOnADenseChain runs short Steps, as Lambda invocations, over a
// dense chain behind a node with a network's latency: every Step must commit progress while
// blocks remain (a batch too big to finish before the deadline would be thrown away whole,
// and the call would commit nothing), and return by its deadline (schedulerSlack).
func TestStepCommitsInEveryCallOnADenseChain(t *testing.T) {
	ready := benchchain.Start(t, 40_000)
	px := proxy(t, ready.URL, 5*time.Millisecond, 20*time.Millisecond, 11)
	_, rdb := newRedis(t)
	st := store.New(rdb, store.NewKeys(ready.Deployment.ChainID, ready.Deployment.Governor), quiet)
	ix, err := indexer.New(indexer.Config{Chain: dial(t, px.URL()), Store: st, Deployment: ready.Deployment, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	const (
		// schedulerSlack is how late past its deadline a Step may return on a loaded machine.
		schedulerSlack = time.Second
		budget         = 2 * time.Second
		margin         = 500 * time.Millisecond
	)
	total := 0
	for call := 1; ; call++ {
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		dl, _ := ctx.Deadline()
		p, err := ix.Step(ctx, margin)
		returned := time.Now()
		cancel()
		if err != nil {
			t.Fatalf("call %d: %v", call, err)
		}
		t.Logf("call %d: %d events in %d commits, checkpoint %d, returned %s before the deadline", call, p.Events, p.Commits, p.ToBlock, dl.Sub(returned).Round(time.Millisecond))
		// The deadline is honoured to within the scheduler's slack: on two cores shared with
		// other test processes a goroutine may wait hundreds of milliseconds for a CPU. A batch
		// thrown away or a commit that ignores the deadline overruns it by whole batches.
		if late := returned.Sub(dl); late > schedulerSlack {
			t.Fatalf("call %d returned %s after its deadline", call, late)
		}
		if p.Commits == 0 {
			t.Fatalf("call %d committed nothing (checkpoint %d, head %d)", call, p.ToBlock, p.Head)
		}
		total += p.Events
		if p.CaughtUp {
			break
		}
		if call > 500 {
			t.Fatal("the backfill did not finish in 500 calls")
		}
	}
	if total < ready.Events*9/10 {
		t.Fatalf("indexed %d events, the chain has about %d", total, ready.Events)
	}
}
