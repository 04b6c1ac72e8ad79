package indexer_test

import (
	"context"
	"math/big"
	"strconv"
	"testing"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/internal/scenario"
)

// newHostileScenario runs a scenario whose every free string holds invalid UTF-8, valid
// multi-byte UTF-8 and NULs.
func newHostileScenario(t *testing.T, seed uint64, actions int) *scenario.Scenario {
	t.Helper()
	ctx := context.Background()
	s, err := scenario.New(ctx, seed, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Hostile(ctx, seed, actions); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestInvalidUTF8GivesTheSameDigestWhateverTheRun indexes a chain whose strings are not
// UTF-8 in one backfill, in batches of one block (each batch reads back and writes again the
// records earlier batches wrote), and across reorgs (rollbacks restore records from the undo
// log, then the new branch is applied): every run must reach the digest of a clean index,
// and the records must hold the chain's exact bytes.
func TestInvalidUTF8GivesTheSameDigestWhateverTheRun(t *testing.T) {
	ctx := context.Background()
	s := newHostileScenario(t, 21, 160)
	if s.Versions < 5 || len(s.Proposals) < 5 {
		t.Fatalf("the hostile history is too thin: %d versions, %d proposals", s.Versions, len(s.Proposals))
	}

	// One block per batch, every block undoable: records are read back and re-encoded at
	// every block that touches them.
	_, rdb := newRedis(t)
	st := newStore(s, rdb)
	catchUp(t, newIndexer(t, dial(t, s.Chain.URL()), s, st, func(c *indexer.Config) {
		c.RangeBlocks, c.MaxRangeBlocks, c.ReorgDepth = 1, 1, 100000
	}))
	want, _ := cleanDigest(t, s)
	if got := digest(t, st); got != want {
		t.Errorf("batches of one block: digest %s, a backfill gives %s", got, want)
	}
	checkOracle(t, s, rdb, st)

	// Every string of every version is the chain's, byte for byte.
	for v := uint64(1); v <= s.Versions; v++ {
		cv, err := s.DAO.Registry.GetVersion(nil, new(big.Int).SetUint64(v))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := record[modeldao.ModelVersion](t, rdb, st, "version", strconv.FormatUint(v, 10))
		if !ok {
			t.Fatalf("version %d not indexed", v)
		}
		for _, f := range []struct {
			name       string
			chain, idx string
		}{
			{"label", cv.VersionLabel, string(got.Label)},
			{"weights CID", cv.WeightsCID, string(got.WeightsCID)},
			{"model card CID", cv.ModelCardCID, string(got.ModelCardCID)},
			{"licence", cv.License, string(got.License)},
		} {
			if f.chain != f.idx {
				t.Errorf("version %d %s: indexed %q, chain %q", v, f.name, f.idx, f.chain)
			}
		}
	}

	// Reorgs: the indexer rolls back blocks whose records hold such strings, and applies a
	// new branch with other hostile strings.
	for round := range 3 {
		head, err := s.Chain.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fork, err := s.Chain.Client.HeaderByNumber(ctx, new(big.Int).SetUint64(head.Number.Uint64()-uint64(5+4*round)))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Chain.Fork(fork.Hash()); err != nil {
			t.Fatal(err)
		}
		if err := s.Hostile(ctx, 100+uint64(round), 25); err != nil {
			t.Fatal(err)
		}
		s.Chain.Mine(20)
		catchUp(t, newIndexer(t, dial(t, s.Chain.URL()), s, st, func(c *indexer.Config) {
			c.RangeBlocks, c.MaxRangeBlocks, c.ReorgDepth = 3, 3, 100000
		}))
	}
	status, err := st.Status(ctx)
	if err != nil || status.Reorgs == 0 {
		t.Fatalf("no block was rolled back (%v): the test did not exercise the undo log", err)
	}
	want, _ = cleanDigest(t, s)
	if got := digest(t, st); got != want {
		t.Errorf("after %d rolled-back blocks: digest %s, a clean index gives %s", status.Reorgs, got, want)
	}
}

// TestRandomHistoryWithHostileStrings indexes the random history (every kind of action:
// votes by signature and with params, timelock executions and cancels…) with hostile
// strings, in one backfill and in batches of one block: the digests must be equal.
func TestRandomHistoryWithHostileStrings(t *testing.T) {
	ctx := context.Background()
	s, err := scenario.NewWith(ctx, scenario.Options{Seed: 22, RPC: true, HostileStrings: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Random(ctx, 250); err != nil {
		t.Fatal(err)
	}
	want, _ := cleanDigest(t, s)
	_, rdb := newRedis(t)
	st := newStore(s, rdb)
	catchUp(t, newIndexer(t, dial(t, s.Chain.URL()), s, st, func(c *indexer.Config) {
		c.RangeBlocks, c.MaxRangeBlocks, c.ReorgDepth = 1, 1, 100000
	}))
	if got := digest(t, st); got != want {
		t.Errorf("batches of one block: digest %s, a backfill gives %s", got, want)
	}
	checkOracle(t, s, rdb, st)
}
