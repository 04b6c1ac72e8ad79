package graphql_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"

	"github.com/modeldao/modeldao/graphql"
)

var update = flag.Bool("update", false, "rewrite testdata/schema.snapshot.graphql from the schema")

// The served schema, printed, is the snapshot: a change to the API (above all a breaking
// one) shows up as a diff of testdata/schema.snapshot.graphql in review. After an intended
// change run: go test ./graphql/ -run TestSchemaSnapshot -update
func TestSchemaSnapshot(t *testing.T) {
	var buf bytes.Buffer
	formatter.NewFormatter(&buf, formatter.WithIndent("  ")).FormatSchema(graphql.NewSchema(fx.store, 0).Schema())
	got := buf.String()
	path := filepath.Join("testdata", "schema.snapshot.graphql")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run go test ./graphql/ -run TestSchemaSnapshot -update", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("the schema differs from %s from line %d:\n  served:   %q\n  snapshot: %q\nIf the change is intended, run: go test ./graphql/ -run TestSchemaSnapshot -update", path, i+1, g, w)
			}
		}
	}
}

// The printed schema is also what introspection serves: every type of the snapshot is
// known to the running server.
func TestIntrospectionMatchesSnapshot(t *testing.T) {
	var out struct {
		Schema struct {
			Types []struct{ Name string }
		} `json:"__schema"`
	}
	if err := fx.client.Exec(bg, `{ __schema { types { name } } }`, nil, &out); err != nil {
		t.Fatal(err)
	}
	snap, err := os.ReadFile(filepath.Join("testdata", "schema.snapshot.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ty := range out.Schema.Types {
		if strings.HasPrefix(ty.Name, "__") || map[string]bool{"String": true, "Int": true, "Float": true, "Boolean": true, "ID": true}[ty.Name] {
			continue
		}
		if !bytes.Contains(snap, []byte(" "+ty.Name+" ")) && !bytes.Contains(snap, []byte(" "+ty.Name+"\n")) {
			t.Errorf("type %s is served but not in the snapshot", ty.Name)
		}
	}
}

// GraphiQL's full introspection query passes the limits.
func TestFullIntrospection(t *testing.T) {
	var out struct {
		Schema struct {
			Types []struct{ Name string }
		} `json:"__schema"`
	}
	if err := fx.fresh.Exec(bg, introspection.NewQuery(introspection.QueryOptions{OneOf: true}), nil, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Schema.Types) < 50 {
		t.Errorf("%d types", len(out.Schema.Types))
	}
}

// The generated code is that of schema.graphqls: after editing the schema, run
// go generate ./graphql/.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	src, err := os.ReadFile("schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	parsed, gerr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(src)})
	if gerr != nil {
		t.Fatal(gerr)
	}
	print := func(s *ast.Schema) string {
		var buf bytes.Buffer
		formatter.NewFormatter(&buf).FormatSchema(s)
		return buf.String()
	}
	if print(parsed) != print(graphql.NewSchema(fx.store, 0).Schema()) {
		t.Fatal("schema.graphqls differs from the schema of the generated code: run go generate ./graphql/")
	}
}
