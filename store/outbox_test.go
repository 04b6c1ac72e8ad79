package store

import (
	"context"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// forkChain builds blocks on top of a checkpoint; salt makes its hashes differ from
// another fork's.
type forkChain struct {
	salt   int64
	blocks []modeldao.Block
	log    uint
}

func (f *forkChain) hash(n uint64) common.Hash {
	return common.BigToHash(new(big.Int).SetUint64(uint64(f.salt)*1_000_000 + n))
}

func (f *forkChain) next(parent common.Hash, n uint64, evs ...func(modeldao.At) modeldao.Event) modeldao.Block {
	b := modeldao.Block{Number: n, Hash: f.hash(n), ParentHash: parent, Timestamp: 1_700_000_000 + n}
	for _, e := range evs {
		f.log++
		b.Events = append(b.Events, e(modeldao.At{Provenance: modeldao.Provenance{BlockNumber: n, BlockHash: b.Hash, TxHash: common.BigToHash(big.NewInt(int64(f.log))), LogIndex: f.log}}))
	}
	return b
}

func outboxTypes(t *testing.T, s *Store) []string {
	t.Helper()
	ns, err := s.ReadOutbox(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range ns {
		if n.Type == modeldao.NoteRetracted {
			out = append(out, "retracted:"+string(n.RetractsType))
		} else {
			out = append(out, string(n.Type))
		}
	}
	return out
}

// The outbox gets, in each commit's transaction, what the commit made happen, in chain order;
// time-based proposal states at the block from which they hold, however the batches fall; a
// rollback retracts exactly the live entries above the ancestor; a reindex of what was
// announced announces nothing again; the digest ignores the outbox.
func TestOutboxCommitsRollsBackAndSurvivesReindex(t *testing.T) {
	ctx := context.Background()
	s := newReadStore(t)
	model := common.HexToHash("0x0d")
	var f forkChain
	f.salt = 1
	created := func(a modeldao.At) modeldao.Event {
		return &modeldao.ProposalCreated{At: a, ProposalID: big.NewInt(9), Proposer: acct(1), Description: "# Approve v1",
			VoteStart: 2, VoteEnd: 4, Actions: []modeldao.Action{{Method: "approveVersion", VersionID: 1}}}
	}
	b1 := f.next(common.Hash{}, 1,
		func(a modeldao.At) modeldao.Event {
			return &modeldao.PolicyAdopted{At: a, Policy: modeldao.Policy{ID: 1, Name: "p"}}
		},
		func(a modeldao.At) modeldao.Event {
			return &modeldao.ModelRegistered{At: a, ModelID: model, Name: "m", Owner: acct(1)}
		},
		func(a modeldao.At) modeldao.Event {
			return &modeldao.VersionSubmittedEvent{At: a, VersionID: 1, ModelID: model, Publisher: acct(1)}
		},
		created)
	b2 := f.next(b1.Hash, 2)
	b3 := f.next(b2.Hash, 3, func(a modeldao.At) modeldao.Event {
		return &modeldao.VoteCast{At: a, ProposalID: big.NewInt(9), Voter: acct(2), Support: modeldao.SupportFor, Weight: big.NewInt(5)}
	})
	b4 := f.next(b3.Hash, 4)
	b5 := f.next(b4.Hash, 5)
	// Blocks 1-2 in one batch, 3-5 in another: active (from block 3) and succeeded (from
	// block 5) are derived at the end of the second batch yet placed at their blocks.
	if _, err := s.Apply(ctx, ApplyArgs{Blocks: []modeldao.Block{b1, b2}, KeepUndo: 100, Init: &modeldao.DAOParams{ChainID: 1337, VotingPeriod: 2}}); err != nil {
		t.Fatal(err)
	}
	cp2 := Checkpoint{Number: 2, Hash: b2.Hash}
	if _, err := s.Apply(ctx, ApplyArgs{From: &cp2, Blocks: []modeldao.Block{b3, b4, b5}, KeepUndo: 100}); err != nil {
		t.Fatal(err)
	}
	want := []string{"policy.adopted", "version.submitted", "proposal.created", "proposal.active", "vote.cast", "proposal.succeeded"}
	if got := outboxTypes(t, s); !slices.Equal(got, want) {
		t.Fatalf("outbox = %v, want %v", got, want)
	}
	ns, _ := s.ReadOutbox(ctx, "", 100)
	if ns[3].Block != 3 || ns[5].Block != 5 || !ns[2].Concerns(model) || !ns[4].Concerns(model) || ns[0].Concerns(model) {
		t.Fatalf("blocks or models wrong: %+v", ns)
	}
	digest, err := s.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// A reorg replaces 3-5 by a fork without the vote: the vote, active and succeeded are
	// retracted, newest first, and the fork's own states announced.
	cp5 := Checkpoint{Number: 5, Hash: b5.Hash}
	if err := s.RollbackTo(ctx, cp5, cp2, nil); err != nil {
		t.Fatal(err)
	}
	g := forkChain{salt: 2, log: 100}
	c3 := g.next(b2.Hash, 3)
	c4 := g.next(c3.Hash, 4)
	c5 := g.next(c4.Hash, 5)
	if _, err := s.Apply(ctx, ApplyArgs{From: &cp2, Blocks: []modeldao.Block{c3, c4, c5}, KeepUndo: 100}); err != nil {
		t.Fatal(err)
	}
	want = append(want, "retracted:proposal.succeeded", "retracted:vote.cast", "retracted:proposal.active", "proposal.active", "proposal.defeated")
	if got := outboxTypes(t, s); !slices.Equal(got, want) {
		t.Fatalf("after the reorg, outbox = %v, want %v", got, want)
	}
	// A second rollback over the same blocks retracts only what is still live.
	if err := s.RollbackTo(ctx, Checkpoint{Number: 5, Hash: c5.Hash}, cp2, nil); err != nil {
		t.Fatal(err)
	}
	want = append(want, "retracted:proposal.defeated", "retracted:proposal.active")
	if got := outboxTypes(t, s); !slices.Equal(got, want) {
		t.Fatalf("after the second rollback, outbox = %v, want %v", got, want)
	}
	if _, err := s.Apply(ctx, ApplyArgs{From: &cp2, Blocks: []modeldao.Block{b3, b4, b5}, KeepUndo: 100}); err != nil {
		t.Fatal(err)
	}
	want = append(want, "proposal.active", "vote.cast", "proposal.succeeded")
	if got := outboxTypes(t, s); !slices.Equal(got, want) {
		t.Fatalf("back on the first fork, outbox = %v, want %v", got, want)
	}
	if d, err := s.Digest(ctx); err != nil || d != digest {
		t.Fatalf("digest %s after the reorgs, want %s (%v): the outbox must stay out of it", d, digest, err)
	}

	// Reindex: Drop keeps the outbox and the endpoints; replaying the chain adds nothing.
	w, err := s.AddWebhook(ctx, modeldao.Webhook{URL: "http://127.0.0.1:1/hook"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, ApplyArgs{Blocks: []modeldao.Block{b1, b2, b3, b4, b5}, KeepUndo: 100, Init: &modeldao.DAOParams{ChainID: 1337, VotingPeriod: 2}}); err != nil {
		t.Fatal(err)
	}
	if got := outboxTypes(t, s); !slices.Equal(got, want) {
		t.Fatalf("after reindex, outbox = %v, want %v", got, want)
	}
	if hs, err := s.Webhooks(ctx); err != nil || len(hs) != 1 || hs[0].ID != w.ID {
		t.Fatalf("webhooks after Drop: %+v, %v", hs, err)
	}
	if d, err := s.Digest(ctx); err != nil || d != digest {
		t.Fatalf("digest after reindex %s, want %s (%v)", d, digest, err)
	}

	// The pinner's failure is announced with its record.
	if err := s.SetPin(ctx, modeldao.Pin{VersionID: 1, CID: "bafy", Status: modeldao.PinFailed, LastError: "digest mismatch"}); err != nil {
		t.Fatal(err)
	}
	ns, _ = s.ReadOutbox(ctx, "", 1000)
	last := ns[len(ns)-1]
	if last.Type != modeldao.NotePinFailed || !last.Concerns(model) {
		t.Fatalf("last entry %+v, want pin.failed about the model", last)
	}
}

// A derived version is announced to whoever follows its bases' models too, with its
// relation and bases, whether the base was submitted in an earlier batch or in the same one.
func TestOutboxAnnouncesDerivativesToTheirBases(t *testing.T) {
	ctx := context.Background()
	s := newReadStore(t)
	base, other, merged := common.HexToHash("0x0b"), common.HexToHash("0x0c"), common.HexToHash("0x0e")
	submit := func(id uint64, model common.Hash, lin modeldao.Lineage) func(modeldao.At) modeldao.Event {
		return func(a modeldao.At) modeldao.Event {
			return &modeldao.VersionSubmittedEvent{At: a, VersionID: id, ModelID: model, Publisher: acct(1), Submission: modeldao.VersionSubmission{Lineage: lin}}
		}
	}
	var f forkChain
	f.salt = 3
	b1 := f.next(common.Hash{}, 1, submit(1, base, modeldao.Lineage{}))
	b2 := f.next(b1.Hash, 2,
		submit(2, other, modeldao.Lineage{}),
		submit(3, merged, modeldao.Lineage{Relation: modeldao.RelationMerge, Bases: []uint64{1, 2}}))
	if _, err := s.Apply(ctx, ApplyArgs{Blocks: []modeldao.Block{b1}, KeepUndo: 100, Init: &modeldao.DAOParams{ChainID: 1337, VotingPeriod: 2}}); err != nil {
		t.Fatal(err)
	}
	cp1 := Checkpoint{Number: 1, Hash: b1.Hash}
	if _, err := s.Apply(ctx, ApplyArgs{From: &cp1, Blocks: []modeldao.Block{b2}, KeepUndo: 100}); err != nil {
		t.Fatal(err)
	}
	ns, err := s.ReadOutbox(ctx, "", 100)
	if err != nil || len(ns) != 3 {
		t.Fatalf("outbox %+v, %v; want 3 submissions", ns, err)
	}
	if !slices.Equal(ns[0].Models, []common.Hash{base}) || !slices.Equal(ns[1].Models, []common.Hash{other}) {
		t.Fatalf("a version without bases concerns its own model only: %v, %v", ns[0].Models, ns[1].Models)
	}
	if !slices.Equal(ns[2].Models, []common.Hash{merged, base, other}) {
		t.Fatalf("the merge concerns %v, want its model and both bases' models", ns[2].Models)
	}
	if got, want := string(ns[2].Data), `{"bases":[1,2],"label":"","modelId":"0x000000000000000000000000000000000000000000000000000000000000000e","publisher":"`+acct(1).Hex()+`","relation":"MERGE","versionId":3}`; got != want {
		t.Fatalf("data %s, want %s", got, want)
	}
	if got := string(ns[0].Data); !strings.Contains(got, `"bases":[]`) || !strings.Contains(got, `"relation":"NONE"`) {
		t.Fatalf("a version without bases: data %s, want empty bases and relation NONE", got)
	}
}

// A revocation is announced to whoever follows a model built on the revoked version, at any
// depth: its derivatives, theirs, and so on, whether they were submitted in an earlier batch
// or earlier in the same one, with the ids of the versions it taints. A version submitted
// after the revocation is not among them.
func TestOutboxAnnouncesRevocationsToDerivatives(t *testing.T) {
	ctx := context.Background()
	s := newReadStore(t)
	a, b, c, d, other := common.HexToHash("0x0a"), common.HexToHash("0x0b"), common.HexToHash("0x0c"), common.HexToHash("0x0d"), common.HexToHash("0x0f")
	submit := func(id uint64, model common.Hash, bases ...uint64) func(modeldao.At) modeldao.Event {
		rel := modeldao.RelationNone
		if len(bases) > 0 {
			rel = modeldao.RelationFineTune
		}
		return func(at modeldao.At) modeldao.Event {
			return &modeldao.VersionSubmittedEvent{At: at, VersionID: id, ModelID: model, Publisher: acct(1),
				Submission: modeldao.VersionSubmission{Lineage: modeldao.Lineage{Relation: rel, Bases: bases}}}
		}
	}
	revoke := func(id uint64) func(modeldao.At) modeldao.Event {
		return func(at modeldao.At) modeldao.Event {
			return &modeldao.VersionRevokedEvent{At: at, VersionID: id, Reason: "bias"}
		}
	}
	var f forkChain
	f.salt = 4
	// Batch 1: v1 (model a), v2 fine-tuned from v1 (model b), v5 unrelated.
	b1 := f.next(common.Hash{}, 1, submit(1, a), submit(2, b, 1), submit(5, other))
	// Batch 2: v3 from v2 (model c), then v1 revoked, then v4 from v3 (model d) afterwards.
	b2 := f.next(b1.Hash, 2, submit(3, c, 2), revoke(1))
	b3 := f.next(b2.Hash, 3, submit(4, d, 3))
	if _, err := s.Apply(ctx, ApplyArgs{Blocks: []modeldao.Block{b1}, KeepUndo: 100, Init: &modeldao.DAOParams{ChainID: 1337, VotingPeriod: 2}}); err != nil {
		t.Fatal(err)
	}
	cp1 := Checkpoint{Number: 1, Hash: b1.Hash}
	if _, err := s.Apply(ctx, ApplyArgs{From: &cp1, Blocks: []modeldao.Block{b2, b3}, KeepUndo: 100}); err != nil {
		t.Fatal(err)
	}
	ns, err := s.ReadOutbox(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var revoked *modeldao.Notification
	for i := range ns {
		if ns[i].Type == modeldao.NoteVersionRevoked {
			revoked = &ns[i]
		}
	}
	if revoked == nil {
		t.Fatalf("no version.revoked in %v", outboxTypes(t, s))
	}
	if !slices.Equal(revoked.Models, []common.Hash{a, b, c}) {
		t.Fatalf("the revocation concerns %v, want the models of v1 and of its derivatives v2 and v3 (not v4's, submitted after, nor v5's)", revoked.Models)
	}
	if got := string(revoked.Data); !strings.Contains(got, `"tainted":[2,3]`) {
		t.Fatalf("data %s, want tainted [2,3]", got)
	}

	// Revoking a version nothing derives from taints nothing.
	b4 := f.next(b3.Hash, 4, revoke(5))
	cp3 := Checkpoint{Number: 3, Hash: b3.Hash}
	if _, err := s.Apply(ctx, ApplyArgs{From: &cp3, Blocks: []modeldao.Block{b4}, KeepUndo: 100}); err != nil {
		t.Fatal(err)
	}
	ns, _ = s.ReadOutbox(ctx, "", 100)
	last := ns[len(ns)-1]
	if last.Type != modeldao.NoteVersionRevoked || !slices.Equal(last.Models, []common.Hash{other}) || !strings.Contains(string(last.Data), `"tainted":[]`) {
		t.Fatalf("revoking v5: %+v %s", last, last.Data)
	}
}
