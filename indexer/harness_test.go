package indexer_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"os"
	"testing"

	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/internal/scenario"
	"github.com/modeldao/modeldao/store"
)

// quiet is the tests' logger: silent, unless MODELDAO_TEST_LOG=debug (or info, warn)
// asks for the indexer's log on stderr.
var quiet = func() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv("MODELDAO_TEST_LOG"))); err != nil || os.Getenv("MODELDAO_TEST_LOG") == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}()

// newRedis starts a real redis-server for the test and returns a client of it.
func newRedis(t testing.TB) (*redisserver.Server, *redis.Client) {
	t.Helper()
	srv := redisserver.StartT(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return srv, rdb
}

// newScenario runs a scenario chain serving JSON-RPC.
func newScenario(t *testing.T, seed uint64, actions int) *scenario.Scenario {
	t.Helper()
	ctx := context.Background()
	s, err := scenario.New(ctx, seed, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Random(ctx, actions); err != nil {
		t.Fatal(err)
	}
	return s
}

func dial(t testing.TB, url string) *ethclient.Client {
	t.Helper()
	c, err := ethclient.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func newStore(s *scenario.Scenario, rdb redis.UniversalClient) *store.Store {
	d := s.DAO.Deployment
	return store.New(rdb, store.NewKeys(d.ChainID, d.Governor), quiet)
}

func newIndexer(t *testing.T, chain indexer.Chain, s *scenario.Scenario, st *store.Store, mod func(*indexer.Config)) *indexer.Indexer {
	t.Helper()
	cfg := indexer.Config{Chain: chain, Store: st, Deployment: s.DAO.Deployment, Log: quiet}
	if mod != nil {
		mod(&cfg)
	}
	ix, err := indexer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func catchUp(t *testing.T, ix *indexer.Indexer) indexer.Progress {
	t.Helper()
	p, err := ix.CatchUp(context.Background())
	if err != nil {
		t.Fatalf("catch up: %v", err)
	}
	return p
}

func digest(t *testing.T, st *store.Store) string {
	t.Helper()
	d, err := st.Digest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func record[T any](t *testing.T, rdb redis.UniversalClient, st *store.Store, hash, field string) (*T, bool) {
	t.Helper()
	v, err := rdb.HGet(context.Background(), st.Keys().Key(hash), field).Result()
	if err == redis.Nil {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	out := new(T)
	if err := json.Unmarshal([]byte(v), out); err != nil {
		t.Fatal(err)
	}
	return out, true
}

// checkOracle compares the index with what the contracts answer at the head.
func checkOracle(t *testing.T, s *scenario.Scenario, rdb redis.UniversalClient, st *store.Store) {
	t.Helper()
	d := s.DAO
	for _, p := range s.Proposals {
		id := p.ID()
		want, err := d.Governor.State(nil, id)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := record[modeldao.Proposal](t, rdb, st, "proposal", id.String())
		if !ok {
			t.Fatalf("proposal %s not indexed", id)
		}
		if got.State != modeldao.ProposalState(want) {
			t.Errorf("proposal %s: indexed state %s, governor says %s", id, got.State, modeldao.ProposalState(want))
		}
		votes, err := d.Governor.ProposalVotes(nil, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Tally.Against.Cmp(votes.AgainstVotes) != 0 || got.Tally.For.Cmp(votes.ForVotes) != 0 || got.Tally.Abstain.Cmp(votes.AbstainVotes) != 0 {
			t.Errorf("proposal %s: indexed tally %v/%v/%v, governor says %v/%v/%v", id, got.Tally.For, got.Tally.Against, got.Tally.Abstain, votes.ForVotes, votes.AgainstVotes, votes.AbstainVotes)
		}
	}
	for i, a := range s.Chain.Accounts {
		power, err := d.Token.GetVotes(nil, a.Address)
		if err != nil {
			t.Fatal(err)
		}
		bal, err := d.Token.BalanceOf(nil, a.Address)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := record[modeldao.Account](t, rdb, st, "account", store.Addr(a.Address))
		if !ok {
			if power.Sign() != 0 || bal.Sign() != 0 {
				t.Errorf("account %d not indexed but has power %v and balance %v", i, power, bal)
			}
			continue
		}
		if cmp(got.VotingPower, power) != 0 || cmp(got.Balance, bal) != 0 {
			t.Errorf("account %d: indexed power %v balance %v; token says %v and %v", i, got.VotingPower, got.Balance, power, bal)
		}
		del, _ := d.Token.Delegates(nil, a.Address)
		if got.Delegate != del {
			t.Errorf("account %d: indexed delegate %s, token says %s", i, got.Delegate, del)
		}
	}
	for v := uint64(1); v <= s.Versions; v++ {
		want, err := d.Registry.VersionStatus(nil, new(big.Int).SetUint64(v))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := record[modeldao.ModelVersion](t, rdb, st, "version", big.NewInt(int64(v)).String())
		if !ok || got.Status != modeldao.VersionStatus(want) {
			t.Errorf("version %d: indexed %v, registry says %s", v, got, modeldao.VersionStatus(want))
		}
	}
}

func cmp(a, b *big.Int) int {
	if a == nil {
		a = new(big.Int)
	}
	return a.Cmp(b)
}
