package cli

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/internal/scenario"
	"github.com/modeldao/modeldao/store"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestVerifyComparesBytes runs `modeldao verify` against an API whose index holds CIDs that
// are not UTF-8: the index is exact, so verify must find no difference (it compares the
// chain's bytes with the API's …Raw bytes, not with the text shown).
func TestVerifyComparesBytes(t *testing.T) {
	ctx := context.Background()
	s, err := scenario.New(ctx, 41, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Hostile(ctx, 41, 80); err != nil {
		t.Fatal(err)
	}
	if s.Versions == 0 {
		t.Fatal("the hostile history submitted no version")
	}
	srv := redisserver.StartT(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	d := s.DAO.Deployment
	st := store.New(rdb, store.NewKeys(d.ChainID, d.Governor), quietLog)
	ix, err := indexer.New(indexer.Config{Chain: s.Chain.Client, Store: st, Deployment: d, Log: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(graphql.NewHandler(st, graphql.Options{ChainID: d.ChainID, Logger: quietLog}))
	defer api.Close()
	dep := filepath.Join(t.TempDir(), "deployment.json")
	if err := d.WriteFile(dep); err != nil {
		t.Fatal(err)
	}
	r := run(t, env{}, "verify", "--json", "--rpc", s.Chain.URL(), "--deployment", dep, "--api", api.URL+"/graphql")
	var res verifyResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("verify: %s", r)
	}
	if r.code != 0 || !res.OK || res.Checked["versions"] != int(s.Versions) {
		t.Fatalf("verify over CIDs that are not UTF-8: checked %v, differences %+v\n%s", res.Checked, res.Differences, r)
	}
}
