package generated

import (
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
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
