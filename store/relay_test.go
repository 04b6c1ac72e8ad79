package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/store"
)

// TestRelayAdmit checks the relayer's atomic steps on a real redis-server: a nonce is
// claimed once, the signer's sliding window and the period's gas budget refuse what is over
// them without claiming or reserving anything, a settlement happens once and corrects the
// budget, and a released claim can be taken again.
func TestRelayAdmit(t *testing.T) {
	ctx := context.Background()
	st, rdb := pinTestStore(t)
	signer := common.HexToAddress("0x00000000000000000000000000000000000000a1")
	now := time.UnixMilli(1_800_000_000_000)
	adm := func(id, nonce string, est uint64, at time.Time) store.RelayAdmission {
		return store.RelayAdmission{
			Record: modeldao.RelayRecord{ID: id, Kind: modeldao.RelayKindVote, Signer: signer, Status: modeldao.RelayPending, GasEstimate: est, CreatedAt: at.UnixMilli()},
			Nonce:  nonce, Now: at, SignerWindow: time.Minute, SignerMax: 3, Budget: 1000, Period: time.Hour,
			ClaimTTL: time.Hour, RecordTTL: time.Hour,
		}
	}
	must := func(a store.RelayAdmission, want string) store.RelayAdmitResult {
		t.Helper()
		r, err := st.RelayAdmit(ctx, a)
		if err != nil || r.Outcome != want {
			t.Fatalf("RelayAdmit(%s, nonce %s) = %+v, %v; want %s", a.Record.ID, a.Nonce, r, err, want)
		}
		return r
	}
	must(adm("0x01", "0", 400, now), store.RelayAdmitted)
	if r := must(adm("0x02", "0", 400, now), store.RelayReplayed); r.HeldBy != "0x01" {
		t.Fatalf("replay held by %q, want 0x01", r.HeldBy)
	}
	if n, _ := st.RelayBudgetReserved(ctx, now, time.Hour); n != 400 {
		t.Fatalf("reserved %d after a replay, want 400", n)
	}
	must(adm("0x03", "1", 400, now.Add(time.Second)), store.RelayAdmitted)
	// 400+400+400 > 1000: the budget refuses, and nothing is claimed or counted.
	r := must(adm("0x04", "2", 400, now.Add(2*time.Second)), store.RelayBudgetSpent)
	if r.Reserved != 800 || r.RetryAfter <= 0 || r.RetryAfter > time.Hour {
		t.Fatalf("budget refusal %+v", r)
	}
	if _, err := st.RelayRecord(ctx, "0x04"); modeldao.ErrorCode(err) != modeldao.ENOTFOUND {
		t.Fatalf("a refused request has a record: %v", err)
	}
	must(adm("0x05", "2", 100, now.Add(3*time.Second)), store.RelayAdmitted)
	// Three admitted in the minute: the window is full until the first leaves it.
	r = must(adm("0x06", "3", 1, now.Add(4*time.Second)), store.RelaySignerFull)
	if r.RetryAfter != 56*time.Second {
		t.Fatalf("signer window: retry after %v, want 56s", r.RetryAfter)
	}
	must(adm("0x06", "3", 1, now.Add(61*time.Second)), store.RelayAdmitted)

	// Settle 0x01: 150 of 400 used gives 250 back, once.
	rec, err := st.RelayRecord(ctx, "0x01")
	if err != nil || rec.Status != modeldao.RelayPending {
		t.Fatalf("record 0x01: %+v, %v", rec, err)
	}
	rec.Status = modeldao.RelayMined
	for i, want := range []bool{true, false} {
		ok, err := st.RelayUpdate(ctx, *rec, modeldao.RelayPending, time.Hour, 250, time.Hour)
		if err != nil || ok != want {
			t.Fatalf("settlement %d: %v, %v; want %v", i, ok, err, want)
		}
	}
	if n, _ := st.RelayBudgetReserved(ctx, now, time.Hour); n != 400+400+100+1-250 {
		t.Fatalf("reserved %d after settlement, want %d", n, 400+400+100+1-250)
	}

	// A released claim (the send failed) can be taken again; another id cannot release it.
	if err := st.RelayRelease(ctx, modeldao.RelayKindVote, signer, "1", "0xother"); err != nil {
		t.Fatal(err)
	}
	must(adm("0x07", "1", 1, now.Add(120*time.Second)), store.RelayReplayed)
	if err := st.RelayRelease(ctx, modeldao.RelayKindVote, signer, "1", "0x03"); err != nil {
		t.Fatal(err)
	}
	must(adm("0x07", "1", 1, now.Add(121*time.Second)), store.RelayAdmitted)

	// The IP window.
	for i := range 3 {
		ok, _, err := st.RelayHit(ctx, "203.0.113.9", now.Add(time.Duration(i)*time.Second), time.Minute, 2, string(rune('a'+i)))
		if err != nil || ok != (i < 2) {
			t.Fatalf("hit %d: %v, %v", i, ok, err)
		}
	}

	// The sender lock: one owner at a time.
	a := common.HexToAddress("0x00000000000000000000000000000000000000f1")
	if err := st.RelayLock(ctx, a, "one", time.Minute); err != nil {
		t.Fatal(err)
	}
	lctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err = st.RelayLock(lctx, a, "two", time.Minute)
	cancel()
	if modeldao.ErrorCode(err) != modeldao.EUNAVAILABLE {
		t.Fatalf("a second owner took the lock: %v", err)
	}
	if err := st.RelayUnlock(ctx, a, "one"); err != nil {
		t.Fatal(err)
	}
	if err := st.RelayLock(ctx, a, "two", time.Minute); err != nil {
		t.Fatal(err)
	}
	// Every relay key carries the DAO's hash tag.
	keys, err := rdb.Keys(ctx, "*relay*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("relay keys: %v, %v", keys, err)
	}
	for _, k := range keys {
		if len(k) < len(st.Keys().Prefix()) || k[:len(st.Keys().Prefix())] != st.Keys().Prefix() {
			t.Fatalf("key %q is outside the DAO's prefix", k)
		}
	}
}
