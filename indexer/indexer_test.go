package indexer_test

import (
	"testing"

	"github.com/modeldao/modeldao"
)

// TestOracle indexes random histories and compares every proposal's state and tallies,
// every account's voting power, balance and delegate, and every version's status with what
// the contracts answer.
func TestOracle(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		s := newScenario(t, seed, 300)
		_, rdb := newRedis(t)
		st := newStore(s, rdb)
		ix := newIndexer(t, dial(t, s.Chain.URL()), s, st, nil)
		p := catchUp(t, ix)
		if p.Events == 0 {
			t.Fatal("no events indexed")
		}
		checkOracle(t, s, rdb, st)
		states := map[modeldao.ProposalState]int{}
		for _, pr := range s.Proposals {
			st, _ := s.DAO.Governor.State(nil, pr.ID())
			states[modeldao.ProposalState(st)]++
		}
		t.Logf("seed %d: %d events, %d blocks, %d proposals by state %v, %d versions", seed, p.Events, p.Blocks, len(s.Proposals), states, s.Versions)
	}
}
