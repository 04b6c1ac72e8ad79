package store_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/store"
)

func pinTestStore(t *testing.T) (*store.Store, *redis.Client) {
	t.Helper()
	srv := redisserver.StartT(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	keys := store.NewKeys(1337, common.HexToAddress("0x00000000000000000000000000000000000000bb"))
	return store.New(rdb, keys, slog.New(slog.NewTextHandler(io.Discard, nil))), rdb
}

func TestPinQueue(t *testing.T) {
	ctx := context.Background()
	st, rdb := pinTestStore(t)
	k := st.Keys()
	sha := common.HexToHash("0x" + "ab12000000000000000000000000000000000000000000000000000000000001")
	job := store.PinJob{Op: store.PinOpPin, VersionID: 7, CID: "bafkreiexample", SHA256: sha, Block: 42}

	// Jobs enqueued before the group exists are not missed.
	if _, err := rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		k.EnqueuePin(pipe, ctx, job)
		k.EnqueuePin(pipe, ctx, store.PinJob{Op: store.PinOpUnpin, VersionID: 8, CID: "bafkreiother", SHA256: sha, Block: 43})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p, err := st.GetPin(ctx, 7)
	if err != nil || p == nil || p.Status != modeldao.PinQueued || string(p.CID) != job.CID || p.UpdatedAt.IsZero() {
		t.Fatalf("pin record after EnqueuePin: %+v, %v", p, err)
	}
	if p, err := st.GetPin(ctx, 8); err != nil || p != nil {
		t.Fatalf("an unpin job wrote a pin record: %+v, %v", p, err)
	}
	for range 2 {
		if err := st.EnsurePinGroup(ctx); err != nil {
			t.Fatalf("EnsurePinGroup: %v", err)
		}
	}

	ds, err := st.ReadPinJobs(ctx, "a", 1, time.Millisecond)
	if err != nil || len(ds) != 1 || ds[0].Err != nil || ds[0].Job != job {
		t.Fatalf("ReadPinJobs = %+v, %v; want %+v", ds, err, job)
	}
	id := ds[0].ID
	if ds, err := st.PendingPinJobs(ctx, "a", 10); err != nil || len(ds) != 1 || ds[0].ID != id {
		t.Fatalf("PendingPinJobs(a) = %+v, %v", ds, err)
	}
	if ds, err := st.PendingPinJobs(ctx, "b", 10); err != nil || len(ds) != 0 {
		t.Fatalf("PendingPinJobs(b) = %+v, %v", ds, err)
	}
	// b takes a's job over once it is idle long enough, not before.
	if ds, err := st.ClaimPinJobs(ctx, "b", time.Hour, 10); err != nil || len(ds) != 0 {
		t.Fatalf("ClaimPinJobs with a long min-idle = %+v, %v", ds, err)
	}
	if ds, err := st.ClaimPinJobs(ctx, "b", 0, 10); err != nil || len(ds) != 1 || ds[0].ID != id || ds[0].Job != job {
		t.Fatalf("ClaimPinJobs = %+v, %v", ds, err)
	}
	if err := st.TouchPinJob(ctx, "b", id); err != nil {
		t.Fatal(err)
	}

	// Postpone, promote when due, ack.
	due := time.Now().Add(time.Hour)
	rec := modeldao.Pin{VersionID: 7, CID: modeldao.Text(job.CID), Status: modeldao.PinQueued, Attempts: 1, LastError: "boom", UpdatedAt: time.Now().UTC()}
	if err := st.RetryPinJob(ctx, id, job, due, &rec); err != nil {
		t.Fatal(err)
	}
	if q, w, err := st.PinBacklog(ctx); err != nil || q != 1 || w != 1 { // the unpin job and the retry
		t.Fatalf("PinBacklog = %d, %d, %v; want 1, 1", q, w, err)
	}
	if next, ok, err := st.NextPinRetry(ctx); err != nil || !ok || next.UnixMilli() != due.UnixMilli() {
		t.Fatalf("NextPinRetry = %v, %v, %v; want %v", next, ok, err, due)
	}
	if n, err := st.PromotePinRetries(ctx, time.Now(), 10); err != nil || n != 0 {
		t.Fatalf("PromotePinRetries before due = %d, %v", n, err)
	}
	if n, err := st.PromotePinRetries(ctx, due, 10); err != nil || n != 1 {
		t.Fatalf("PromotePinRetries when due = %d, %v", n, err)
	}
	ds, err = st.ReadPinJobs(ctx, "a", 10, -1)
	if err != nil || len(ds) != 2 || ds[0].Job.Op != store.PinOpUnpin || ds[1].Job != job {
		t.Fatalf("ReadPinJobs after promotion = %+v, %v", ds, err)
	}
	rec.Status, rec.Attempts, rec.LastError = modeldao.PinPinned, 2, ""
	for _, d := range ds {
		var r *modeldao.Pin
		if d.Job.VersionID == 7 {
			r = &rec
		}
		if err := st.AckPinJob(ctx, d.ID, r); err != nil {
			t.Fatal(err)
		}
	}
	if q, w, err := st.PinBacklog(ctx); err != nil || q != 0 || w != 0 {
		t.Fatalf("PinBacklog after acks = %d, %d, %v", q, w, err)
	}
	pend, err := rdb.XPending(ctx, k.PinJobs(), store.PinGroup).Result()
	if err != nil || pend.Count != 0 {
		t.Fatalf("pending after acks: %+v, %v", pend, err)
	}
	if p, _ := st.GetPin(ctx, 7); p == nil || p.Status != modeldao.PinPinned || p.Attempts != 2 {
		t.Fatalf("record after ack: %+v", p)
	}
}

func TestMalformedPinJobs(t *testing.T) {
	ctx := context.Background()
	st, rdb := pinTestStore(t)
	if err := st.EnsurePinGroup(ctx); err != nil {
		t.Fatal(err)
	}
	bad := [][]string{
		{"op", "frobnicate", "version", "1"},
		{"op", "pin", "version", "0"},
		{"op", "pin", "version", "x"},
		{"op", "pin", "version", "1", "sha256", "0x1234"},
		{"op", "pin", "version", "1", "block", "-1"},
	}
	for _, v := range bad {
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: st.Keys().PinJobs(), Values: v}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := st.ReadPinJobs(ctx, "a", 10, -1)
	if err != nil || len(ds) != len(bad) {
		t.Fatalf("ReadPinJobs = %d jobs, %v", len(ds), err)
	}
	for i, d := range ds {
		if modeldao.ErrorCode(d.Err) != modeldao.EINVALID {
			t.Errorf("job %v: Err = %v, want an EINVALID error", bad[i], d.Err)
		}
	}
}

func TestPinSummaryAndLookups(t *testing.T) {
	ctx := context.Background()
	st, _ := pinTestStore(t)
	recs := []modeldao.Pin{
		{VersionID: 1, CID: "a", Status: modeldao.PinPinned},
		{VersionID: 2, CID: "a", Status: modeldao.PinQueued},
		{VersionID: 3, CID: "b", Status: modeldao.PinFailed, LastError: "digest mismatch"},
		{VersionID: 4, CID: "c", Status: modeldao.PinPinned},
	}
	for _, r := range recs {
		if err := st.SetPin(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := st.PinSummary(ctx)
	if err != nil || len(sum) != 3 || sum[modeldao.PinPinned] != 2 || sum[modeldao.PinQueued] != 1 || sum[modeldao.PinFailed] != 1 {
		t.Fatalf("PinSummary = %v, %v", sum, err)
	}
	same, err := st.PinsByCID(ctx, "a")
	if err != nil || len(same) != 2 {
		t.Fatalf("PinsByCID(a) = %+v, %v", same, err)
	}
	if p, err := st.GetPin(ctx, 99); err != nil || p != nil {
		t.Fatalf("GetPin(absent) = %+v, %v", p, err)
	}
	if v, err := st.VersionForPin(ctx, 99); err != nil || v != nil {
		t.Fatalf("VersionForPin(absent) = %+v, %v", v, err)
	}
}
