package graphql_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/internal/scenario"
)

// The lineage fixture:
//
//	v1 org/base-a   original, approved (then revoked, then the revoke undone by a reorg)
//	v2 org/base-b   original, submitted
//	v3 org/merged   MERGE of v1 and v2; trained on fineweb, evaluated on mmlu; approved
//	                (stale with REVOKED_ANCESTOR while v1 is revoked)
//	v4 org/merged   FINE_TUNE of v3; trained on fineweb
//	v5 org/adapter  ADAPTER on v2
var (
	fineweb = modeldao.Dataset{Role: modeldao.DatasetTraining, Name: "HuggingFaceFW/fineweb-edu", CID: "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", SHA256: sha256.Sum256([]byte("fineweb"))}
	mmlu    = modeldao.Dataset{Role: modeldao.DatasetEvaluation, Name: "cais/mmlu", CID: "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4", SHA256: sha256.Sum256([]byte("mmlu"))}
)

type lineageVersion struct {
	ID       string
	Relation string
	Base     *struct{ ID string }
	Bases    []struct{ ID string }
	Datasets []struct {
		Role, Name, Cid, Sha256 string
	}
	Derivatives struct {
		TotalCount int
		Edges      []struct{ Node struct{ ID string } }
	}
	Ancestors []struct {
		Depth        int
		ModelVersion struct{ ID, Status string }
	}
	TaintedAncestry   bool
	TaintingAncestors []struct{ ID string }
}

const lineageFields = `id relation base { id } bases { id } datasets { role name cid sha256 }
	derivatives(first: 10) { totalCount edges { node { id } } }
	ancestors { depth modelVersion { id status } }
	taintedAncestry taintingAncestors { id }`

func ids(refs []struct{ ID string }) []string {
	out := []string{}
	for _, r := range refs {
		out = append(out, r.ID)
	}
	return out
}

func TestLineage(t *testing.T) {
	ctx := context.Background()
	s, err := scenario.New(ctx, 7, false)
	if err != nil {
		t.Fatal(err)
	}
	submit := func(model string, l modeldao.Lineage) uint64 {
		t.Helper()
		w := fmt.Sprint("lineage weights ", s.Versions+1)
		id, err := s.SubmitDerived(ctx, scenario.Publisher1, model, scenario.FakeCID(w), sha256.Sum256([]byte(w)), l)
		if err != nil {
			t.Fatalf("submit %s: %v", model, err)
		}
		return id
	}
	v1 := submit("org/base-a", modeldao.Lineage{})
	v2 := submit("org/base-b", modeldao.Lineage{})
	v3 := submit("org/merged", modeldao.Lineage{Relation: modeldao.RelationMerge, Bases: []uint64{v1, v2}, Datasets: []modeldao.Dataset{fineweb, mmlu}})
	v4 := submit("org/merged", modeldao.Lineage{Relation: modeldao.RelationFineTune, Bases: []uint64{v3}, Datasets: []modeldao.Dataset{fineweb}})
	v5 := submit("org/adapter", modeldao.Lineage{Relation: modeldao.RelationAdapter, Bases: []uint64{v2}})
	audit, err := s.Audit(ctx, v1, true)
	if err != nil {
		t.Fatal(err)
	}
	audit3, err := s.Audit(ctx, v3, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DAO.Pass(ctx, "# Approve base-a and the merge", []int{0, 1, 2},
		contracts.ApproveVersion(v1, s.Policy, audit), contracts.ApproveVersion(v3, s.Policy, audit3)); err != nil {
		t.Fatal(err)
	}
	e, err := newEnv(ctx, s, graphql.Options{ChainID: devchain.ChainID})
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	defer e.close()
	d := s.DAO.Deployment
	ix, err := indexer.New(indexer.Config{Chain: s.Chain.Client, Store: e.store, Deployment: d, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	catchUp := func() {
		t.Helper()
		if _, err := ix.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
	}
	version := func(id uint64) lineageVersion {
		t.Helper()
		var out struct{ ModelVersion lineageVersion }
		if err := e.fresh.Exec(ctx, fmt.Sprintf(`{ modelVersion(id: "%d") { %s } }`, id, lineageFields), nil, &out); err != nil {
			t.Fatalf("version %d: %v", id, err)
		}
		return out.ModelVersion
	}
	// stale checks that exactly the versions of want are stale, each for a revoked
	// ancestor, with those ancestors.
	stale := func(when string, want map[string][]string) {
		t.Helper()
		var out struct {
			ModelVersions struct {
				Edges []struct {
					Node struct {
						ID           string
						StaleReasons []struct {
							Kind, Detail string
							Ancestors    []struct{ ID string }
						}
					}
				}
			}
		}
		if err := e.fresh.Exec(ctx, `{ modelVersions(orderDirection: ASC, where: {stale: true}) { edges { node { id staleReasons { kind detail ancestors { id } } } } } }`, nil, &out); err != nil {
			t.Fatalf("%s: stale versions: %v", when, err)
		}
		got := map[string][]string{}
		for _, e := range out.ModelVersions.Edges {
			for _, r := range e.Node.StaleReasons {
				if r.Kind != "REVOKED_ANCESTOR" || !strings.Contains(r.Detail, "derives from version") {
					t.Errorf("%s: version %s stale for %s (%q)", when, e.Node.ID, r.Kind, r.Detail)
				}
				got[e.Node.ID] = append(got[e.Node.ID], ids(r.Ancestors)...)
			}
		}
		if !maps.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%s: stale versions %v, want %v", when, got, want)
		}
	}
	taint := func(when string, want map[uint64][]string) {
		t.Helper()
		for _, id := range []uint64{v1, v2, v3, v4, v5} {
			v := version(id)
			w := want[id]
			if w == nil {
				w = []string{}
			}
			if got := ids(v.TaintingAncestors); v.TaintedAncestry != (len(w) > 0) || !slices.Equal(got, w) {
				t.Errorf("%s: version %d taintedAncestry %v by %v, want by %v", when, id, v.TaintedAncestry, got, w)
			}
		}
	}

	t.Run("facts", func(t *testing.T) {
		v := version(v3)
		if v.Relation != "MERGE" || v.Base == nil || v.Base.ID != "1" || !slices.Equal(ids(v.Bases), []string{"1", "2"}) {
			t.Errorf("v3: relation %s, base %+v, bases %v", v.Relation, v.Base, ids(v.Bases))
		}
		if len(v.Datasets) != 2 || v.Datasets[0].Role != "TRAINING" || v.Datasets[0].Name != string(fineweb.Name) || v.Datasets[0].Cid != string(fineweb.CID) ||
			v.Datasets[0].Sha256 != fineweb.SHA256.Hex() || v.Datasets[1].Role != "EVALUATION" || v.Datasets[1].Name != "cais/mmlu" {
			t.Errorf("v3 datasets: %+v", v.Datasets)
		}
		if v.Derivatives.TotalCount != 1 || v.Derivatives.Edges[0].Node.ID != "4" {
			t.Errorf("v3 derivatives: %+v", v.Derivatives)
		}
		if o := version(v1); o.Relation != "NONE" || o.Base != nil || len(o.Bases) != 0 || len(o.Datasets) != 0 || len(o.Ancestors) != 0 {
			t.Errorf("v1 (an original): %+v", o)
		}
		if o := version(v2); o.Derivatives.TotalCount != 2 || o.Derivatives.Edges[0].Node.ID != "3" || o.Derivatives.Edges[1].Node.ID != "5" {
			t.Errorf("v2 derivatives: %+v", o.Derivatives)
		}
		a := version(v4).Ancestors
		var got []string
		for _, x := range a {
			got = append(got, fmt.Sprintf("%d:%s:%s", x.Depth, x.ModelVersion.ID, x.ModelVersion.Status))
		}
		if want := []string{"1:3:APPROVED", "2:1:APPROVED", "2:2:SUBMITTED"}; !slices.Equal(got, want) {
			t.Errorf("v4 ancestors %v, want %v", got, want)
		}
		var shallow struct {
			ModelVersion struct{ Ancestors []struct{ Depth int } }
		}
		if err := e.fresh.Exec(ctx, `{ modelVersion(id: "4") { ancestors(maxDepth: 1) { depth } } }`, nil, &shallow); err != nil || len(shallow.ModelVersion.Ancestors) != 1 {
			t.Errorf("ancestors(maxDepth: 1): %+v %v", shallow, err)
		}
		err := e.fresh.Exec(ctx, `{ modelVersion(id: "4") { ancestors(maxDepth: 0) { depth } } }`, nil, nil)
		wantCode(t, err, client.CodeBadUserInput, "at least 1")
	})

	t.Run("filters", func(t *testing.T) {
		for _, c := range []struct {
			where string
			want  []string
		}{
			{`{derivedFrom: "2"}`, []string{"3", "5"}},
			{`{derivedFrom: "3"}`, []string{"4"}},
			{`{derivedFrom: "4"}`, []string{}},
			{`{dataset: "HuggingFaceFW/fineweb-edu"}`, []string{"3", "4"}},
			{fmt.Sprintf(`{dataset: "%s"}`, mmlu.CID), []string{"3"}},
			{`{dataset: "cais/mmlu", derivedFrom: "1"}`, []string{"3"}},
			{`{dataset: "nothing"}`, []string{}},
		} {
			var out struct {
				ModelVersions struct {
					TotalCount int
					Edges      []struct{ Node struct{ ID string } }
				}
			}
			if err := e.fresh.Exec(ctx, `{ modelVersions(orderDirection: ASC, where: `+c.where+`) { totalCount edges { node { id } } } }`, nil, &out); err != nil {
				t.Fatalf("%s: %v", c.where, err)
			}
			got := []string{}
			for _, x := range out.ModelVersions.Edges {
				got = append(got, x.Node.ID)
			}
			if !slices.Equal(got, c.want) || out.ModelVersions.TotalCount != len(c.want) {
				t.Errorf("where %s: %v (total %d), want %v", c.where, got, out.ModelVersions.TotalCount, c.want)
			}
		}
		err := e.fresh.Exec(ctx, `{ modelVersions(where: {derivedFrom: "x"}) { totalCount } }`, nil, nil)
		wantCode(t, err, client.CodeBadUserInput, "derivedFrom")
	})

	// A page of every version with all lineage fields costs a number of round trips set by
	// the query's shape and the ancestry's depth, not by the page size.
	t.Run("round trips", func(t *testing.T) {
		q := `query($n: Int) { modelVersions(first: $n) { edges { node { ` + lineageFields + ` } } } }`
		var one, all int64
		for n, c := range map[int]*int64{1: &one, 50: &all} {
			*c = e.tripsOf(t, func() {
				if err := e.fresh.Exec(ctx, q, map[string]any{"n": n}, nil); err != nil {
					t.Fatal(err)
				}
			})
		}
		// list 2, base 1, bases 1, derivatives 2, ancestors and the taint walks one per level
		// (two levels here, and the level that finds nothing more) each.
		if all > 15 {
			t.Errorf("a page of all versions costs %d round trips (a page of one: %d); want at most 15", all, one)
		}
	})

	taint("before the revoke", nil)
	stale("before the revoke", map[string][]string{})
	before, err := s.Chain.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DAO.Pass(ctx, "# Revoke base-a", []int{0, 1, 2}, contracts.RevokeVersion(v1, "data licence withdrawn")); err != nil {
		t.Fatal(err)
	}
	catchUp()
	taint("after the revoke", map[uint64][]string{v3: {"1"}, v4: {"1"}})
	stale("after the revoke", map[string][]string{"3": {"1"}})
	var tainted struct {
		ModelVersions struct {
			Edges []struct {
				Node struct {
					ID              string
					TaintedAncestry bool
				}
			}
		}
	}
	if err := e.fresh.Exec(ctx, `{ modelVersions(orderDirection: ASC, where: {derivedFrom: "1"}) { edges { node { id taintedAncestry } } } }`, nil, &tainted); err != nil ||
		len(tainted.ModelVersions.Edges) != 1 || !tainted.ModelVersions.Edges[0].Node.TaintedAncestry {
		t.Errorf("derivatives of the revoked version: %+v %v", tainted, err)
	}

	// The Go client: the filters and the lineage of each version.
	cp := must[*client.Page[client.ModelVersion]](t)(e.fresh.ModelVersions(ctx, client.VersionQuery{DerivedFrom: v1, Dataset: "cais/mmlu", Ascending: true}))
	if len(cp.Items) != 1 {
		t.Fatalf("client: derivatives of v1 with mmlu: %+v", cp.Items)
	}
	if c := cp.Items[0]; c.ID != v3 || c.Relation != "MERGE" || !slices.Equal(c.Bases, []uint64{v1, v2}) || !c.TaintedAncestry || len(c.Datasets) != 2 ||
		c.Datasets[1] != (client.Dataset{Role: "EVALUATION", Name: "cais/mmlu", CID: string(mmlu.CID), SHA256: mmlu.SHA256}) {
		t.Errorf("client: v3 is %+v", c)
	}

	// A reorg replaces the blocks of the revoke: the projection rolls it back, and nothing
	// is tainted any more.
	after, err := s.Chain.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Chain.Fork(before.Hash()); err != nil {
		t.Fatal(err)
	}
	s.Chain.Mine(int(after.Number.Uint64()-before.Number.Uint64()) + 2)
	catchUp()
	if st := version(v1).Ancestors; len(st) != 0 {
		t.Errorf("v1 has ancestors %+v", st)
	}
	var v1Status struct{ ModelVersion struct{ Status string } }
	if err := e.fresh.Exec(ctx, `{ modelVersion(id: "1") { status } }`, nil, &v1Status); err != nil || v1Status.ModelVersion.Status != "APPROVED" {
		t.Fatalf("after the reorg v1 is %+v (%v), want APPROVED", v1Status, err)
	}
	taint("after the reorg", nil)
	stale("after the reorg", map[string][]string{})

	// The projection after the reorg is the one a fresh index of the same chain builds.
	digest, err := e.store.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := newEnv(ctx, s, graphql.Options{ChainID: devchain.ChainID})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { fresh.srv.Close(); fresh.rdb.Close(); _ = fresh.redis.Close() }()
	if d2, err := fresh.store.Digest(ctx); err != nil || d2 != digest {
		t.Errorf("digest after the reorg %s, a fresh index %s (%v)", digest, d2, err)
	}
	// And the chain's own view of every version's lineage is what the API shows.
	for _, id := range []uint64{v1, v2, v3, v4, v5} {
		l, err := s.DAO.Registry.GetLineage(nil, new(big.Int).SetUint64(id))
		if err != nil {
			t.Fatal(err)
		}
		want, err := contracts.LineageOf(l)
		if err != nil {
			t.Fatal(err)
		}
		v := version(id)
		got := modeldao.Lineage{Bases: []uint64{}, Datasets: []modeldao.Dataset{}}
		if err := json.Unmarshal([]byte(`"`+v.Relation+`"`), &got.Relation); err != nil {
			t.Fatal(err)
		}
		for _, b := range v.Bases {
			var n uint64
			fmt.Sscan(b.ID, &n)
			got.Bases = append(got.Bases, n)
		}
		for _, ds := range v.Datasets {
			var role modeldao.DatasetRole
			_ = role.UnmarshalText([]byte(ds.Role))
			got.Datasets = append(got.Datasets, modeldao.Dataset{Role: role, Name: modeldao.Text(ds.Name), CID: modeldao.Text(ds.Cid), SHA256: common.HexToHash(ds.Sha256)})
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("version %d: the API shows %+v, the registry %+v", id, got, want)
		}
	}
}
