package scenario_test

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"

	"github.com/modeldao/modeldao/internal/scenario"
)

func TestHostileStrings(t *testing.T) {
	a, b := scenario.HostileStrings(7), scenario.HostileStrings(7)
	seen := map[string]bool{}
	nul, multi := false, false
	for i := range 500 {
		max := 16 + i%100
		s := a.Next(max)
		if s != b.Next(max) {
			t.Fatal("the same seed gave different strings")
		}
		if utf8.ValidString(s) || len(s) == 0 || len(s) > max || seen[s] {
			t.Fatalf("string %d %q: want invalid UTF-8, 1 to %d bytes, never seen before", i, s, max)
		}
		seen[s] = true
		nul = nul || strings.Contains(s, "\x00")
		for _, r := range s {
			multi = multi || r > 0x7f && r != utf8.RuneError
		}
	}
	if !nul || !multi {
		t.Fatalf("500 strings hold no NUL (%v) or no valid multi-byte character (%v)", nul, multi)
	}
	inv, val := a.Twins("x")
	if utf8.ValidString(inv) || !utf8.ValidString(val) || string([]rune(inv)) != val {
		t.Fatalf("twins %q and %q do not look alike", inv, val)
	}
}

// TestRandomWithHostileStrings runs the random history with Options.HostileStrings: every
// action still happens, and the strings the chain holds are not UTF-8 (model names aside,
// which the registry keeps ASCII).
func TestRandomWithHostileStrings(t *testing.T) {
	ctx := context.Background()
	s, err := scenario.NewWith(ctx, scenario.Options{Seed: 12, HostileStrings: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Random(ctx, 500); err != nil {
		t.Fatal(err)
	}
	checkCensus(t, s)
	d := s.DAO
	for v := uint64(1); v <= s.Versions; v++ {
		cv, err := d.Registry.GetVersion(nil, new(big.Int).SetUint64(v))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{cv.VersionLabel, cv.WeightsCID, cv.ModelCardCID, cv.License} {
			if utf8.ValidString(f) {
				t.Errorf("version %d holds the UTF-8 string %q", v, f)
			}
		}
	}
	opts := &bind.FilterOpts{Start: d.Deployment.Block, Context: ctx}
	created, err := d.Governor.FilterProposalCreated(opts)
	if err != nil {
		t.Fatal(err)
	}
	for created.Next() {
		if utf8.ValidString(created.Event.Description) {
			t.Errorf("proposal %s has the UTF-8 description %q", created.Event.ProposalId, created.Event.Description)
		}
	}
	votes, err := d.Governor.FilterVoteCast(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	for votes.Next() {
		if r := votes.Event.Reason; r != "" && utf8.ValidString(r) {
			t.Errorf("a vote has the UTF-8 reason %q", r)
		}
	}
	if s.Versions == 0 || len(s.Proposals) == 0 {
		t.Fatalf("%d versions, %d proposals", s.Versions, len(s.Proposals))
	}
}
