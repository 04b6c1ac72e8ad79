package store

import (
	"context"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// TestRollbackOfInvalidUTF8 applies, inside the undo window, a block that submits a
// version whose tags and licence (keys of the tag and licence indexes) and label are not
// UTF-8 (and a lineage whose dataset names and CIDs are not either), and a block that rejects it with such a reason; rolling both back must restore the
// projection exactly: the undo log keeps keys, members and values byte for byte.
func TestRollbackOfInvalidUTF8(t *testing.T) {
	ctx := context.Background()
	s := newReadStore(t)
	at := func(n uint64, log uint) modeldao.Provenance {
		return modeldao.Provenance{BlockNumber: n, BlockHash: common.BigToHash(common.Big1), TxHash: common.Hash{byte(n)}, LogIndex: log}
	}
	hash := func(n uint64) common.Hash { return common.Hash{0xb, byte(n)} }
	first := modeldao.Block{Number: 10, Hash: hash(10), ParentHash: hash(9), Events: []modeldao.Event{
		&modeldao.ModelRegistered{At: modeldao.At{Provenance: at(10, 0)}, ModelID: ModelID("org/m"), Name: "org/m", Owner: common.Address{1}},
	}}
	res, err := s.Apply(ctx, ApplyArgs{Blocks: []modeldao.Block{first}, UndoFrom: 0, KeepUndo: 100,
		Init: &modeldao.DAOParams{ChainID: 1337}})
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tags := []string{"t\xff", "t\uFFFD", "\xed\xa0\x80\x00é"}
	sub := modeldao.VersionSubmission{ModelName: "org/m", Label: "v\xc3", WeightsCID: "bafk\x80", WeightsSHA256: common.Hash{7},
		ModelCardCID: "bafk\xfe", License: "MIT\xff", Tags: tags,
		// Lineage: a base (its derivative set) and datasets whose name and CID (keys of the
		// dataset index) are not UTF-8 either.
		Lineage: modeldao.Lineage{Relation: modeldao.RelationFineTune, Bases: []uint64{5},
			Datasets: []modeldao.Dataset{{Name: "d\xff", CID: "bafk\xfd", SHA256: common.Hash{8}}, {Role: modeldao.DatasetEvaluation, Name: "d\uFFFD", CID: "bafk\xfd", SHA256: common.Hash{9}}}}}
	blocks := []modeldao.Block{
		{Number: 11, Hash: hash(11), ParentHash: hash(10), Events: []modeldao.Event{
			&modeldao.VersionSubmittedEvent{At: modeldao.At{Provenance: at(11, 0)}, VersionID: 1, ModelID: ModelID("org/m"), Publisher: common.Address{1}, Submission: sub},
		}},
		{Number: 12, Hash: hash(12), ParentHash: hash(11), Events: []modeldao.Event{
			&modeldao.VersionRejectedEvent{At: modeldao.At{Provenance: at(12, 0)}, VersionID: 1, Reason: "no\xe2\x82"},
		}},
	}
	cp := res.Checkpoint
	if _, err := s.Apply(ctx, ApplyArgs{From: &cp, Blocks: blocks, UndoFrom: 0, KeepUndo: 100}); err != nil {
		t.Fatal(err)
	}
	k := s.Keys()
	for _, key := range []string{k.Key("versions", "tag", tags[0]), k.Key("versions", "tag", tags[1]), k.Key("versions", "tag", tags[2]), k.Key("versions", "license", sub.License),
		k.VersionsDerivedFrom(5), k.VersionsWithDataset("d\xff"), k.VersionsWithDataset("d\uFFFD"), k.VersionsWithDataset("bafk\xfd")} {
		if n, err := s.rdb.ZCard(ctx, key).Result(); err != nil || n != 1 {
			t.Fatalf("index %q holds %d versions (%v), want 1", key, n, err)
		}
	}
	top := Checkpoint{Number: 12, Hash: hash(12)}
	for range 2 {
		if top, err = s.Rollback(ctx, top, nil); err != nil {
			t.Fatal(err)
		}
	}
	after, err := s.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		keys, _ := s.scanKeys(ctx)
		t.Fatalf("rolling back the version left another projection: digest %s, before %s; keys %q", after, before, keys)
	}
}
