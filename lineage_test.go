package modeldao

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

func TestLineageValidate(t *testing.T) {
	ds := Dataset{Role: DatasetTraining, Name: "HuggingFaceFW/fineweb-edu", CID: "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", SHA256: common.Hash{1}}
	for _, c := range []struct {
		name string
		l    Lineage
		err  string
	}{
		{"none", Lineage{}, ""},
		{"fine-tune", Lineage{Relation: RelationFineTune, Bases: []uint64{3}, Datasets: []Dataset{ds}}, ""},
		{"merge", Lineage{Relation: RelationMerge, Bases: []uint64{3, 4}}, ""},
		{"base without relation", Lineage{Bases: []uint64{3}}, "name the relation"},
		{"merge of one", Lineage{Relation: RelationMerge, Bases: []uint64{3}}, "at least two distinct bases"},
		{"adapter of two", Lineage{Relation: RelationAdapter, Bases: []uint64{3, 4}}, "exactly one base"},
		{"unknown relation", Lineage{Relation: 9, Bases: []uint64{3}}, "unknown relation"},
		{"duplicate base", Lineage{Relation: RelationMerge, Bases: []uint64{3, 3}}, "named twice"},
		{"base 0", Lineage{Relation: RelationFineTune, Bases: []uint64{0}}, "start at 1"},
		{"too many bases", Lineage{Relation: RelationMerge, Bases: []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9}}, "at most 8"},
		{"bad role", Lineage{Datasets: []Dataset{{Role: 2, Name: ds.Name, CID: ds.CID, SHA256: ds.SHA256}}}, "unknown role"},
		{"bad CID", Lineage{Datasets: []Dataset{{Name: ds.Name, CID: "nope", SHA256: ds.SHA256}}}, "is not an IPFS CID"},
		{"zero digest", Lineage{Datasets: []Dataset{{Name: ds.Name, CID: ds.CID}}}, "sha256 is zero"},
		{"empty name", Lineage{Datasets: []Dataset{{CID: ds.CID, SHA256: ds.SHA256}}}, "dataset name is empty"},
	} {
		err := c.l.Validate()
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: Validate() = %v, want %q", c.name, err, c.err)
		}
	}
}

func TestRelationNames(t *testing.T) {
	for r := RelationNone; r <= RelationDistillation; r++ {
		got, err := ParseRelation(strings.ToLower(strings.ReplaceAll(r.String(), "_", "-")))
		if err != nil || got != r {
			t.Errorf("ParseRelation(%s) = %v, %v", r, got, err)
		}
	}
	if _, err := ParseRelation("fork"); err == nil || !strings.Contains(err.Error(), "fine-tune, adapter") {
		t.Errorf("ParseRelation(fork) = %v", err)
	}
	b, _ := json.Marshal(Lineage{Relation: RelationMerge, Bases: []uint64{1, 2}, Datasets: []Dataset{{Role: DatasetEvaluation}}})
	var back Lineage
	if err := json.Unmarshal(b, &back); err != nil || back.Relation != RelationMerge || back.Datasets[0].Role != DatasetEvaluation {
		t.Errorf("JSON round trip of %s: %+v, %v", b, back, err)
	}
}
