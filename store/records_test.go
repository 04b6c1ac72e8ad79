package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// commitRecords writes version v of every record and moves the checkpoint, in one
// MULTI/EXEC as the indexer's commits do.
func commitRecords(t testing.TB, s *Store, z, h string, members []string, v int) {
	t.Helper()
	ctx := context.Background()
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range members {
			r, _ := json.Marshal(rec{M: m, K: v})
			p.ZAdd(ctx, z, redis.Z{Score: float64(i), Member: m})
			p.HSet(ctx, h, m, r)
		}
		p.Set(ctx, s.keys.Checkpoint(), fmt.Sprintf("%d:0x%064x", v, v), 0)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Records are served from memory while the checkpoint stays, and read again when a commit
// moves it: in a page, in a read by field, with and without a view.
func TestRecordCacheFollowsCheckpoint(t *testing.T) {
	s := newReadStore(t)
	z, h := s.keys.Key("z"), s.keys.Key("h")
	members := []string{"a", "b", "c"}
	l := pageList{name: "t", zset: z, hash: h}
	check := func(ctx context.Context, want int) {
		t.Helper()
		p, err := fetchList[rec](ctx, s, l, PageArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := readMany[rec](ctx, s, h, members)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 3 || len(rs) != 3 {
			t.Fatalf("page of %d, %d records; want 3", len(p.Items), len(rs))
		}
		for i := range 3 {
			if p.Items[i].K != want || rs[i].K != want {
				t.Fatalf("version %d in the page, %d by field; want %d", p.Items[i].K, rs[i].K, want)
			}
		}
	}
	for v := 1; v <= 3; v++ {
		commitRecords(t, s, z, h, members, v)
		check(context.Background(), v)
		check(WithView(context.Background()), v)
		// A write that does not move the checkpoint is not a commit: the memory's records
		// stay (this is what makes them safe to keep only because commits move it).
		if got, ok := s.recs.get(fmt.Sprintf("%d:0x%064x", v, v), h, "a"); !ok || got == "" {
			t.Fatalf("record a not held in memory at checkpoint %d", v)
		}
	}
	// At an unchanged checkpoint a request's page costs one GET of the checkpoint, its
	// records by field none.
	var n int
	s.rdb.AddHook(countHook{&n})
	check(WithView(context.Background()), 3)
	if n != 1 {
		t.Errorf("a page and its records at a known checkpoint took %d round trips; want 1", n)
	}
	// Pin records change outside commits: never from memory.
	pin := s.keys.Pin()
	for i := range 2 {
		s.rdb.HSet(context.Background(), pin, "7", fmt.Sprintf(`{"m":"p","k":%d}`, i))
		rs, err := readMany[rec](WithView(context.Background()), s, pin, []string{"7"})
		if err != nil || rs[0] == nil || rs[0].K != i {
			t.Fatalf("pin record after write %d: %+v %v", i, rs[0], err)
		}
	}
}

// Under commits that rewrite every record, a page read concurrently never mixes records
// of two checkpoints (run with -race).
func TestRecordCacheOneCheckpointPerPage(t *testing.T) {
	s := newReadStore(t)
	z, h := s.keys.Key("z"), s.keys.Key("h")
	var members []string
	for i := range 40 {
		members = append(members, fmt.Sprintf("m%02d", i))
	}
	l := pageList{name: "t", zset: z, hash: h}
	commitRecords(t, s, z, h, members, 1)
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for v := 2; v < 200; v++ {
			commitRecords(t, s, z, h, members, v)
		}
		stop.Store(true)
	}()
	var pages, versions atomic.Int64
	seen := sync.Map{}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 40
			for !stop.Load() {
				p, err := fetchList[rec](WithView(context.Background()), s, l, PageArgs{First: &n}, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if len(p.Items) != 40 {
					t.Errorf("page of %d items", len(p.Items))
					return
				}
				for _, r := range p.Items {
					if r.K != p.Items[0].K {
						t.Errorf("one page mixes versions %d and %d", p.Items[0].K, r.K)
						return
					}
				}
				pages.Add(1)
				if _, dup := seen.LoadOrStore(p.Items[0].K, true); !dup {
					versions.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d pages of %d versions read during 198 commits", pages.Load(), versions.Load())
	if versions.Load() < 2 {
		t.Fatalf("the reads saw %d versions: the test did not read during commits", versions.Load())
	}
}
