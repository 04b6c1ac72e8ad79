package generated

import (
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// An element context answers for the field context as graphql.WithFieldContext's does,
// and for everything else as its parent.
func TestElemCtxIsAFieldContext(t *testing.T) {
	if fieldContextKey == nil {
		t.Fatal("gqlgen's field context key was not learnt")
	}
	type k struct{}
	parent := graphql.WithFieldContext(context.WithValue(context.Background(), k{}, "v"), &graphql.FieldContext{Object: "Parent"})
	fc := &graphql.FieldContext{Object: "Elem", Parent: graphql.GetFieldContext(parent)}
	ctx := context.Context(&elemCtx{Context: parent, fc: fc})
	if got := graphql.GetFieldContext(ctx); got != fc {
		t.Fatalf("GetFieldContext = %v, want the element's", got)
	}
	if got := graphql.GetFieldContext(ctx).Parent.Object; got != "Parent" {
		t.Fatalf("parent field context %q, want Parent", got)
	}
	if got := ctx.Value(k{}); got != "v" {
		t.Fatalf("Value(k) = %v, want the parent's v", got)
	}
	// A context derived from it sees it too (the resolvers below a list element).
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	if got := graphql.GetFieldContext(child); got != fc {
		t.Fatalf("GetFieldContext of a derived context = %v, want the element's", got)
	}
}

// A panic in one element makes that element null with an error at its index; the others
// are marshalled.
func TestMarshalSliceInlineRecoversAnElement(t *testing.T) {
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, graphql.DefaultRecover)
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Object: "Query", Field: graphql.CollectedField{Field: &ast.Field{Alias: "list"}}})
	ret := marshalSliceInline(ctx, 4, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		if i == 1 || i == 3 {
			panic("boom")
		}
		return graphql.MarshalInt(i)
	})
	for i, want := range []bool{false, true, false, true} {
		if got := ret[i] == graphql.Null; got != want {
			t.Fatalf("element %d null = %v, want %v", i, got, want)
		}
	}
	errs := graphql.GetErrors(ctx)
	if len(errs) != 2 || errs[0].Path.String() != "list[1]" || errs[1].Path.String() != "list[3]" {
		t.Fatalf("errors %v, want one at list[1] and one at list[3]", errs)
	}
}
