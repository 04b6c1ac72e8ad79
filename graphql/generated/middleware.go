package generated

// Written by hand (gqlgen leaves this file alone): whether an operation's field middleware
// is gqlgen's identity, for the resolve_ functions of direct_gen.go (see resolve.go in
// graphql/internal/execrewrite), which call resolvers without it.

import (
	"context"
	"reflect"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
)

// identityMiddlewareCode is the code of the field middleware gqlgen's executor gives an
// operation when no extension intercepts fields (a func literal in gqlgen's
// processExtensions, the same code for every executor), learnt from an executor without
// extensions. An executor with a field interceptor wraps it in another func literal, whose
// code differs.
var identityMiddlewareCode = func() uintptr {
	oc, _ := executor.New(NewExecutableSchema(Config{})).CreateOperationContext(graphql.StartOperationTrace(context.Background()), &graphql.RawParams{Query: "{ __typename }"})
	if oc == nil || oc.ResolverMiddleware == nil {
		return 0
	}
	return reflect.ValueOf(oc.ResolverMiddleware).Pointer()
}()

// identityMiddleware says whether m, an operation's ResolverMiddleware, only calls the
// resolver it is given.
func identityMiddleware(m graphql.FieldMiddleware) bool {
	return m != nil && identityMiddlewareCode != 0 && reflect.ValueOf(m).Pointer() == identityMiddlewareCode
}
