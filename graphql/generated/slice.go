package generated

// Written by hand (gqlgen leaves this file alone): the generated executor calls
// marshalSliceInline where gqlgen wrote graphql.MarshalSliceConcurrently, and
// newDeferredGroup where it wrote graphql.NewDeferredGroup; see graphql/internal/execrewrite
// for why.

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
)

// marshalSliceInline marshals the elements of a list one after the other in the calling
// goroutine, each under its own field context (the index, for paths in errors), recovering
// a panic of one element into an error and a null as gqlgen does. workerLimit is ignored:
// there are no workers.
func marshalSliceInline(ctx context.Context, length int, workerLimit int64, omitPanicHandler bool,
	marshalElement func(ctx context.Context, i int) graphql.Marshaler,
) graphql.Array {
	_ = workerLimit
	ret := make(graphql.Array, length)
	// The elements' field contexts, indexes and contexts in one allocation, not three per
	// element (graphql.WithFieldContext allocates a context.WithValue for each).
	es := make([]listElem, length)
	parent := graphql.GetFieldContext(ctx)
	for i := 0; i < length; {
		i = marshalElems(ctx, parent, es, ret, i, omitPanicHandler, marshalElement)
	}
	return ret
}

// marshalElems marshals the elements from from on, and returns where to go on: len(ret)
// when done, or the index after an element that panicked (its error added and its value
// null). One deferred recover for the list rather than a closure and a defer per element.
func marshalElems(ctx context.Context, parent *graphql.FieldContext, es []listElem, ret graphql.Array, from int,
	omitPanicHandler bool, marshalElement func(ctx context.Context, i int) graphql.Marshaler,
) (next int) {
	i := from
	if !omitPanicHandler {
		defer func() {
			if r := recover(); r != nil {
				childCtx := &es[i].ctx
				graphql.AddError(childCtx, graphql.Recover(childCtx, r))
				ret[i] = graphql.Null
				next = i + 1
			}
		}()
	}
	for ; i < len(ret); i++ {
		e := &es[i]
		e.idx = i
		e.fc.Index = &e.idx
		e.fc.Parent = parent
		e.ctx = elemCtx{Context: ctx, fc: &e.fc}
		ret[i] = marshalElement(&e.ctx, i)
	}
	return i
}

// listElem is what a list element needs to be marshalled under its own field context.
type listElem struct {
	fc  graphql.FieldContext
	idx int
	ctx elemCtx
}

// elemCtx is what graphql.WithFieldContext(ctx, fc) returns (fc.Parent set by the caller),
// as a type of ours so that a list's element contexts are allocated together.
type elemCtx struct {
	context.Context
	fc *graphql.FieldContext
}

func (c *elemCtx) Value(key any) any {
	if key == fieldContextKey {
		return c.fc
	}
	return c.Context.Value(key)
}

// fieldContextKey is the (unexported) key under which gqlgen keeps the field context, as
// graphql.GetFieldContext asks a context for it.
var fieldContextKey = func() any {
	var p keyProbe
	graphql.GetFieldContext(&p)
	return p.key
}()

type keyProbe struct {
	context.Context
	key any
}

func (p *keyProbe) Value(key any) any {
	p.key = key
	return nil
}

// newDeferredGroup is graphql.NewDeferredGroup(ctx) when one of fields is deferred (@defer),
// and an empty group otherwise: gqlgen only touches the group for deferred fields
// (FieldSet.ResolveConcurrently) and ProcessDeferredGroup ignores a group without defers.
func newDeferredGroup(ctx context.Context, fields []graphql.CollectedField) graphql.DeferredGroup {
	for i := range fields {
		if fields[i].IsDeferred() {
			return graphql.NewDeferredGroup(ctx)
		}
	}
	return graphql.DeferredGroup{}
}

// withFieldContext is graphql.WithFieldContext(ctx, fc) as an elemCtx (the resolve_
// functions of direct_gen.go).
func withFieldContext(ctx context.Context, fc *graphql.FieldContext) context.Context {
	fc.Parent = graphql.GetFieldContext(ctx)
	return &elemCtx{Context: ctx, fc: fc}
}

// fieldFrame is a resolver field's field context and the context that carries it, in one
// allocation (the resolve_ functions of direct_gen.go whose field context has no
// arguments).
type fieldFrame struct {
	fc  graphql.FieldContext
	ctx elemCtx
}

// enter is withFieldContext(ctx, &f.fc) without an allocation.
func (f *fieldFrame) enter(ctx context.Context) context.Context {
	f.fc.Parent = graphql.GetFieldContext(ctx)
	f.ctx = elemCtx{Context: ctx, fc: &f.fc}
	return &f.ctx
}
