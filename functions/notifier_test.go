package functions_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/notify"
	"github.com/modeldao/modeldao/store"
)

// TestNotifierFunction runs the notifier's bootstrap under the runtime emulator with a
// scheduled event: it delivers the outbox to a real HTTP receiver, signed, and a second
// invocation has nothing left to send.
func TestNotifierFunction(t *testing.T) {
	ctx := context.Background()
	rs := redisserver.StartT(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { rdb.Close() })
	governor := common.HexToAddress("0x00000000000000000000000000000000000000a2")
	st := store.New(rdb, store.NewKeys(1337, governor), slog.New(slog.NewTextHandler(io.Discard, nil)))

	var mu sync.Mutex
	var got []modeldao.Notification
	var secret string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := notify.Verify(secret, r.Header.Get(notify.HeaderSignature), r.Header.Get(notify.HeaderTimestamp), body, time.Minute, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			t.Errorf("delivery refused: %v", err)
			return
		}
		var n modeldao.Notification
		_ = json.Unmarshal(body, &n)
		got = append(got, n)
	}))
	t.Cleanup(srv.Close)
	wh, err := st.AddWebhook(ctx, modeldao.Webhook{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	secret = wh.Secret
	mu.Unlock()
	// Two blocks of the registry's events, committed as the indexer commits them.
	at := func(n uint64, i uint) modeldao.At {
		return modeldao.At{Provenance: modeldao.Provenance{BlockNumber: n, LogIndex: i, TxHash: common.BigToHash(big.NewInt(int64(n)))}}
	}
	b1 := modeldao.Block{Number: 1, Hash: common.HexToHash("0xb1"), Events: []modeldao.Event{
		&modeldao.PolicyAdopted{At: at(1, 0), Policy: modeldao.Policy{ID: 1, Name: "baseline"}},
	}}
	b2 := modeldao.Block{Number: 2, Hash: common.HexToHash("0xb2"), ParentHash: b1.Hash, Events: []modeldao.Event{
		&modeldao.PolicyRetired{At: at(2, 0), PolicyID: 1},
	}}
	if _, err := st.Apply(ctx, store.ApplyArgs{Blocks: []modeldao.Block{b1, b2}, UndoFrom: 1, KeepUndo: 10, Init: &modeldao.DAOParams{ChainID: 1337}}); err != nil {
		t.Fatal(err)
	}

	f := startFn(t, "notifier", map[string]string{config.EnvRedisURL: rs.URL(), config.EnvChainID: "1337", config.EnvGovernor: governor.Hex(),
		notify.EnvRequestTimeout: "2s"}, 10*time.Second)
	var rep notify.Report
	f.mustInvoke(scheduled("modeldao-notifier"), &rep)
	mu.Lock()
	types := []modeldao.NotificationType{}
	for _, n := range got {
		types = append(types, n.Type)
	}
	mu.Unlock()
	if rep.FannedOut != 2 || rep.Delivered != 2 || len(types) != 2 || types[0] != modeldao.NotePolicyAdopted || types[1] != modeldao.NotePolicyRetired {
		t.Fatalf("report %+v, received %v; want policy.adopted then policy.retired", rep, types)
	}
	f.mustInvoke(scheduled("modeldao-notifier"), &rep)
	if rep != (notify.Report{}) {
		t.Fatalf("second invocation %+v, want nothing to do", rep)
	}
}
