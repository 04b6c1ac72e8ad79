package graphql

import (
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/modeldao/modeldao/store"
)

// TransportPair returns two bare GraphQL servers over st, one writing answers with
// gqlgen's POST transport and one with jsonPOST, to compare their bytes.
func TransportPair(st *store.Store) (gqlgenPOST, ours *handler.Server) {
	gqlgenPOST = handler.New(NewSchema(st, 0))
	gqlgenPOST.AddTransport(transport.POST{})
	ours = handler.New(NewSchema(st, 0))
	ours.AddTransport(jsonPOST{})
	return gqlgenPOST, ours
}

var NeedsEscape = needsEscape
