package contracts_test

import (
	"crypto/sha256"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
)

func dataset(role modeldao.DatasetRole, name string) modeldao.Dataset {
	return modeldao.Dataset{Role: role, Name: modeldao.Text(name), CID: cidReport, SHA256: sha256.Sum256([]byte(name))}
}

// lineageOf reads a version's lineage through the registry's own view.
func (e *env) lineageOf(t *testing.T, id uint64) modeldao.Lineage {
	t.Helper()
	l, err := contracts.LineageOf(value[bindings.ModelRegistryLineage](t)(e.dao.Registry.GetLineage(e.callOpts(), u(id))))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A merge of two bases (one of them revoked: the chain records ancestry, it does not judge
// it), a fine-tune of the merge, and the lineage as the event carries it and as getLineage
// returns it.
func TestRegistryLineage(t *testing.T) {
	e := newRegistryEnv(t)
	merged := submission(modelName, "3.0.0-merge")
	merged.Lineage = modeldao.Lineage{Relation: modeldao.RelationMerge, Bases: []uint64{vApproved, vRevoked},
		Datasets: []modeldao.Dataset{dataset(modeldao.DatasetTraining, "HuggingFaceFW/fineweb-edu"), dataset(modeldao.DatasetEvaluation, "cais/mmlu")}}
	mergeID, r := e.submit(t, publisher, merged)
	ev := event(t, r, e.dao.Registry.ParseVersionSubmitted)
	got, err := contracts.LineageOf(ev.Lineage)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, merged.Lineage) {
		t.Fatalf("VersionSubmitted carries lineage %+v, want %+v", got, merged.Lineage)
	}
	if view := e.lineageOf(t, mergeID); !reflect.DeepEqual(view, merged.Lineage) {
		t.Fatalf("getLineage(%d) = %+v, want %+v", mergeID, view, merged.Lineage)
	}

	tuned := submission(modelName, "3.0.1")
	tuned.Lineage = modeldao.Lineage{Relation: modeldao.RelationFineTune, Bases: []uint64{mergeID}}
	tunedID, _ := e.submit(t, publisher, tuned)
	if view := e.lineageOf(t, tunedID); !reflect.DeepEqual(view, tuned.Lineage.Normalized()) {
		t.Fatalf("getLineage(%d) = %+v, want %+v", tunedID, view, tuned.Lineage)
	}
	// A version submitted without a lineage has the empty one.
	if view := e.lineageOf(t, vSubmitted); !reflect.DeepEqual(view, modeldao.Lineage{}.Normalized()) {
		t.Fatalf("getLineage(%d) = %+v, want the empty lineage", vSubmitted, view)
	}
	expectRevert(t, e.callRegistry(t, e.addr(publisher), contracts.RegistryCall{Method: "getLineage", Args: []any{u(unknownID)}}), "UnknownVersion", unknownID)
}

func TestRegistryLineageBadInput(t *testing.T) {
	e := newRegistryEnv(t)
	sub := func(l modeldao.Lineage) contracts.RegistryCall {
		s := submission(modelName, "9.9.9")
		s.Lineage = l
		return submitCall(s)
	}
	one := func(r modeldao.Relation, bases ...uint64) modeldao.Lineage {
		return modeldao.Lineage{Relation: r, Bases: bases}
	}
	datasets := func(n int, f func(*modeldao.Dataset)) modeldao.Lineage {
		l := modeldao.Lineage{}
		for i := range n {
			d := dataset(modeldao.DatasetTraining, fmt.Sprint("data-", i))
			f(&d)
			l.Datasets = append(l.Datasets, d)
		}
		return l
	}
	long := func(n int) modeldao.Text { return modeldao.Text(strings.Repeat("x", n)) }
	from := e.addr(publisher)
	e.runRevertCases(t, []revertCase{
		{"none", from, sub(modeldao.Lineage{}), "", nil},
		{"fine-tune of a submitted version", from, sub(one(modeldao.RelationFineTune, vSubmitted)), "", nil},
		{"adapter of a rejected version", from, sub(one(modeldao.RelationAdapter, vRejected)), "", nil},
		{"quantization of a revoked version", from, sub(one(modeldao.RelationQuantization, vRevoked)), "", nil},
		{"distillation", from, sub(one(modeldao.RelationDistillation, vApproved)), "", nil},
		{"merge of the most bases", from, sub(one(modeldao.RelationMerge, vSubmitted, vApproved, vRejected, vRevoked)), "", nil},
		{"limits of datasets", from, sub(datasets(modeldao.MaxDatasets, func(d *modeldao.Dataset) {
			d.Name, d.CID, d.Role = "Aa0-"+long(modeldao.MaxModelNameLength-4), long(modeldao.MaxCIDLength), modeldao.DatasetEvaluation
		})), "", nil},
		{"unknown relation", from, sub(one(6, vApproved)), "InvalidRelation", []any{6}},
		{"relation none with a base", from, sub(one(modeldao.RelationNone, vApproved)), "WrongBaseCount", []any{0, 1}},
		{"fine-tune without a base", from, sub(one(modeldao.RelationFineTune)), "WrongBaseCount", []any{1, 0}},
		{"fine-tune of two bases", from, sub(one(modeldao.RelationFineTune, vApproved, vSubmitted)), "WrongBaseCount", []any{1, 2}},
		{"merge of one base", from, sub(one(modeldao.RelationMerge, vApproved)), "WrongBaseCount", []any{4, 1}},
		{"merge of a base with itself", from, sub(one(modeldao.RelationMerge, vApproved, vApproved)), "DuplicateBase", []any{vApproved}},
		{"merge of too many bases", from, sub(one(modeldao.RelationMerge, 1, 2, 3, 4, 1, 2, 3, 4, 1)), "TooMany", []any{"bases", modeldao.MaxBases}},
		{"unknown base", from, sub(one(modeldao.RelationFineTune, unknownID)), "UnknownVersion", []any{unknownID}},
		{"base 0", from, sub(one(modeldao.RelationAdapter, 0)), "UnknownVersion", []any{0}},
		{"too many datasets", from, sub(datasets(modeldao.MaxDatasets+1, func(*modeldao.Dataset) {})), "TooMany", []any{"datasets", modeldao.MaxDatasets}},
		{"unknown dataset role", from, sub(datasets(1, func(d *modeldao.Dataset) { d.Role = 2 })), "InvalidDatasetRole", []any{2}},
		{"empty dataset name", from, sub(datasets(1, func(d *modeldao.Dataset) { d.Name = "" })), "EmptyString", []any{"datasetName"}},
		{"dataset name too long", from, sub(datasets(1, func(d *modeldao.Dataset) { d.Name = long(modeldao.MaxModelNameLength + 1) })), "StringTooLong", []any{"datasetName", modeldao.MaxModelNameLength}},
		{"empty dataset CID", from, sub(datasets(1, func(d *modeldao.Dataset) { d.CID = "" })), "EmptyString", []any{"datasetCID"}},
		{"dataset CID too long", from, sub(datasets(1, func(d *modeldao.Dataset) { d.CID = long(modeldao.MaxCIDLength + 1) })), "StringTooLong", []any{"datasetCID", modeldao.MaxCIDLength}},
		{"zero dataset digest", from, sub(datasets(1, func(d *modeldao.Dataset) { d.SHA256 = [32]byte{} })), "ZeroDigest", []any{"datasetSha256"}},
	})
}

// What the registry cannot emit is refused by the conversion (the indexer then reports a
// malformed log) rather than stored.
func TestLineageOfRefusesWhatTheRegistryCannotEmit(t *testing.T) {
	huge := new(big.Int).Lsh(big.NewInt(1), 64)
	for _, c := range []struct {
		name string
		l    bindings.ModelRegistryLineage
		err  string
	}{
		{"unknown relation", bindings.ModelRegistryLineage{Relation: 6}, "unknown relation 6"},
		{"unknown role", bindings.ModelRegistryLineage{Datasets: []bindings.ModelRegistryDataset{{Role: 2, Name: "d"}}}, "unknown role 2"},
		{"base beyond 64 bits", bindings.ModelRegistryLineage{Relation: 1, Bases: []*big.Int{huge}}, "does not fit 64 bits"},
	} {
		if _, err := contracts.LineageOf(c.l); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		}
	}
	l, err := contracts.LineageOf(contracts.LineageArg(modeldao.Lineage{Relation: modeldao.RelationMerge, Bases: []uint64{1, 2}, Datasets: []modeldao.Dataset{dataset(modeldao.DatasetEvaluation, "x")}}))
	if err != nil || l.Relation != modeldao.RelationMerge || len(l.Bases) != 2 || l.Datasets[0].Name != "x" {
		t.Errorf("round trip: %+v %v", l, err)
	}
}
