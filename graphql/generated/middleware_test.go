package generated

import (
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/99designs/gqlgen/graphql/handler/extension"
)

type fieldSpy struct{}

func (fieldSpy) ExtensionName() string                   { return "fieldSpy" }
func (fieldSpy) Validate(graphql.ExecutableSchema) error { return nil }
func (fieldSpy) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	return next(ctx)
}

// Resolvers are called directly only under gqlgen's identity field middleware: other
// extensions keep it, a field interceptor replaces it (and then fields go through
// graphql.ResolveField, the interceptor with them).
func TestIdentityMiddleware(t *testing.T) {
	if identityMiddlewareCode == 0 {
		t.Fatal("the identity field middleware was not learnt")
	}
	middleware := func(exts ...graphql.HandlerExtension) graphql.FieldMiddleware {
		e := executor.New(NewExecutableSchema(Config{}))
		for _, x := range exts {
			e.Use(x)
		}
		oc, _ := e.CreateOperationContext(graphql.StartOperationTrace(context.Background()), &graphql.RawParams{Query: "{ __typename }"})
		return oc.ResolverMiddleware
	}
	if !identityMiddleware(middleware()) {
		t.Fatal("an executor without extensions: not the identity")
	}
	if !identityMiddleware(middleware(extension.Introspection{}, extension.FixedComplexityLimit(100))) {
		t.Fatal("an executor with extensions that do not intercept fields: not the identity")
	}
	if identityMiddleware(middleware(fieldSpy{})) {
		t.Fatal("an executor with a field interceptor: taken for the identity")
	}
	if identityMiddleware(nil) {
		t.Fatal("nil taken for the identity")
	}
}
