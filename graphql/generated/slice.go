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
	// The elements' field contexts and indexes in one allocation each, not two per element.
	fcs := make([]graphql.FieldContext, length)
	idxs := make([]int, length)
	for i := range length {
		idxs[i] = i
		fcs[i].Index = &idxs[i]
		childCtx := graphql.WithFieldContext(ctx, &fcs[i])
		if omitPanicHandler {
			ret[i] = marshalElement(childCtx, i)
			continue
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					graphql.AddError(childCtx, graphql.Recover(childCtx, r))
					ret[i] = graphql.Null
				}
			}()
			ret[i] = marshalElement(childCtx, i)
		}()
	}
	return ret
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
