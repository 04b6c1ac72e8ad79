package graphql

import (
	"context"
	"encoding/json"
	"math"
	"strings"

	gql "github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/modeldao/modeldao/store"
)

// Limits on what one request may ask. Besides these, the parser refuses queries of more
// than MaxTokens tokens before validation (so that 10,000 aliases cost nothing), and the
// HTTP layer bounds the body size and the time of a request.

// shapeLimit is a gqlgen extension that refuses operations deeper than maxDepth or with
// more than maxFields fields (aliases count as fields; fragments count each time they are
// spread). It runs after validation and before execution.
type shapeLimit struct {
	maxDepth  int
	maxFields int
}

var _ interface {
	gql.HandlerExtension
	gql.OperationContextMutator
} = shapeLimit{}

func (shapeLimit) ExtensionName() string                      { return "ShapeLimit" }
func (shapeLimit) Validate(schema gql.ExecutableSchema) error { return nil }

func (l shapeLimit) MutateOperationContext(ctx context.Context, opCtx *gql.OperationContext) *gqlerror.Error {
	op := opCtx.Doc.Operations.ForName(opCtx.OperationName)
	if op == nil {
		return nil
	}
	w := shapeWalker{frags: map[string]shape{}, doc: opCtx.Doc}
	s := w.selections(op.SelectionSet, 0)
	if s.depth > l.maxDepth {
		return requestError(CodeDepthLimit, "the query is %d levels deep; at most %d are allowed: ask for less nesting", s.depth, l.maxDepth)
	}
	if s.fields > l.maxFields {
		return requestError(CodeTooManyFields, "the query selects %d fields (aliases and fragment spreads included); at most %d are allowed: split it", s.fields, l.maxFields)
	}
	return nil
}

type shape struct{ depth, fields int }

type shapeWalker struct {
	doc   *ast.QueryDocument
	frags map[string]shape // memo: a fragment spread many times is walked once
	busy  map[string]bool  // fragment cycles (validation refuses them; belt and braces)
}

func satAdd(a, b int) int {
	if a > math.MaxInt32-b {
		return math.MaxInt32
	}
	return a + b
}

func (w *shapeWalker) selections(set ast.SelectionSet, guard int) shape {
	var out shape
	if guard > 10000 {
		return shape{depth: math.MaxInt32}
	}
	for _, sel := range set {
		var s shape
		switch x := sel.(type) {
		case *ast.Field:
			child := w.selections(x.SelectionSet, guard+1)
			s = shape{depth: 1 + child.depth, fields: satAdd(1, child.fields)}
		case *ast.InlineFragment:
			s = w.selections(x.SelectionSet, guard+1)
		case *ast.FragmentSpread:
			s = w.fragment(x.Name, guard+1)
		}
		out.depth = max(out.depth, s.depth)
		out.fields = satAdd(out.fields, s.fields)
	}
	return out
}

func (w *shapeWalker) fragment(name string, guard int) shape {
	if s, ok := w.frags[name]; ok {
		return s
	}
	if w.busy == nil {
		w.busy = map[string]bool{}
	}
	if w.busy[name] {
		return shape{}
	}
	def := w.doc.Fragments.ForName(name)
	if def == nil {
		return shape{}
	}
	w.busy[name] = true
	s := w.selections(def.SelectionSet, guard)
	delete(w.busy, name)
	w.frags[name] = s
	return s
}

// costedSchema prices a connection field as its page size times its children, so that the
// complexity limit sees that proposals(first: 1000) { votes(first: 1000) … } asks for a
// million votes. A page size out of range is priced as one item: the resolver then refuses
// it with a BAD_USER_INPUT error that names the limit.
type costedSchema struct {
	gql.ExecutableSchema
	paged map[string]bool // "Type.field" of every field whose type is a connection
}

func newCostedSchema(es gql.ExecutableSchema) costedSchema {
	c := costedSchema{ExecutableSchema: es, paged: map[string]bool{}}
	for _, t := range es.Schema().Types {
		for _, f := range t.Fields {
			if strings.HasSuffix(f.Type.Name(), "Connection") {
				c.paged[t.Name+"."+f.Name] = true
			}
		}
	}
	return c
}

func (s costedSchema) Complexity(ctx context.Context, typeName, field string, childComplexity int, args map[string]any) (int, bool) {
	if !s.paged[typeName+"."+field] {
		return s.ExecutableSchema.Complexity(ctx, typeName, field, childComplexity, args)
	}
	return satAdd(1, satMul(max(childComplexity, 1), pageSize(args))), true
}

func satMul(a, b int) int {
	if a != 0 && b > math.MaxInt32/a {
		return math.MaxInt32
	}
	return a * b
}

// pageSize reads first or last from a connection field's arguments.
func pageSize(args map[string]any) int {
	n := store.DefaultPageSize
	for _, k := range []string{"first", "last"} {
		if v, ok := intArg(args[k]); ok {
			n = v
		}
	}
	if n < 1 || n > store.MaxPageSize {
		n = 1
	}
	return n
}

func intArg(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(max(min(x, math.MaxInt32), math.MinInt32)), true
	case *int:
		if x != nil {
			return *x, true
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return intArg(i)
		}
		return math.MaxInt32, true
	case float64:
		return int(max(min(x, math.MaxInt32), math.MinInt32)), true
	}
	return 0, false
}
