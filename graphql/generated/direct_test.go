package generated

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/graphql/model"
)

// Resolvers of the tests below: only what their queries reach (the embedded interfaces
// are nil, the rest would panic).
type stubRoot struct {
	ResolverRoot
	accounts []*modeldao.Account // Query.delegates' nodes
	votes    []*modeldao.Vote    // Query.votes' nodes
}

func (r stubRoot) Query() QueryResolver { return stubQuery{r: r} }
func (r stubRoot) Vote() VoteResolver   { return stubVote{} }

type stubQuery struct {
	QueryResolver
	r stubRoot
}

func (q stubQuery) Delegates(context.Context, *model.DelegateOrderField, *model.OrderDirection, *int, *string, *int, *string) (*model.AccountConnection, error) {
	c := &model.AccountConnection{PageInfo: &model.PageInfo{}, TotalCount: len(q.r.accounts)}
	for i, a := range q.r.accounts {
		c.Edges = append(c.Edges, &model.AccountEdge{Cursor: string(rune('a' + i)), Node: a})
	}
	return c, nil
}

func (q stubQuery) Votes(context.Context, *model.VoteWhere, *model.VoteOrderField, *model.OrderDirection, *int, *string, *int, *string) (*model.VoteConnection, error) {
	c := &model.VoteConnection{PageInfo: &model.PageInfo{}, TotalCount: len(q.r.votes)}
	for i, v := range q.r.votes {
		c.Edges = append(c.Edges, &model.VoteEdge{Cursor: string(rune('a' + i)), Node: v})
	}
	return c, nil
}

// stubVote answers Vote.voter by the vote's reason: "error" fails, "panic" panics.
type stubVote struct{ VoteResolver }

func (stubVote) Voter(_ context.Context, v *modeldao.Vote) (*modeldao.Account, error) {
	switch v.Reason {
	case "error":
		return nil, errors.New("no voter")
	case "panic":
		panic("voter panicked")
	}
	return account(v.Voter[19]), nil
}

func account(b byte) *modeldao.Account {
	return &modeldao.Account{Address: common.Address{19: b}, Balance: big.NewInt(int64(b)), VotingPower: big.NewInt(int64(b) * 10)}
}

func run(t *testing.T, r stubRoot, query string) *graphql.Response {
	t.Helper()
	e := executor.New(NewExecutableSchema(Config{Resolvers: r}))
	ctx := graphql.StartOperationTrace(context.Background())
	oc, errs := e.CreateOperationContext(ctx, &graphql.RawParams{Query: query})
	if errs != nil {
		t.Fatalf("query %s: %v", query, errs)
	}
	h, ctx := e.DispatchOperation(ctx, oc)
	return h(ctx)
}

// A list of plain data is written by the plain writers as gqlgen writes it (aliases,
// __typename, nested objects).
func TestPlainListWritesWhatGqlgenWrites(t *testing.T) {
	resp := run(t, stubRoot{accounts: []*modeldao.Account{account(1), account(2)}},
		`{ delegates(first: 2) { edges { cursor node { __typename address power: votingPower balance } } } }`)
	want := `{"delegates":{"edges":[{"cursor":"a","node":{"__typename":"Account","address":"0x0000000000000000000000000000000000000001","power":"10","balance":"1"}},` +
		`{"cursor":"b","node":{"__typename":"Account","address":"0x0000000000000000000000000000000000000002","power":"20","balance":"2"}}]}}`
	if len(resp.Errors) > 0 || string(resp.Data) != want {
		t.Fatalf("got %s %v\nwant %s", resp.Data, resp.Errors, want)
	}
}

// A value of a plain list with no plain JSON (a nil node) makes the list go through
// gqlgen's marshalers, whose error has the element's path (main.go's plain fields have no
// field context of their own: the path ends at the edge, as before the plain writers).
func TestPlainListFallsBackWithThePath(t *testing.T) {
	resp := run(t, stubRoot{accounts: []*modeldao.Account{account(1), nil}},
		`{ delegates(first: 2) { edges { cursor node { address } } } }`)
	if len(resp.Errors) != 1 || resp.Errors[0].Path.String() != "delegates.edges[1]" || !strings.Contains(resp.Errors[0].Message, "cannot return null") {
		t.Fatalf("errors %v, want one: cannot return null at delegates.edges[1]", resp.Errors)
	}
	if string(resp.Data) != `null` {
		t.Fatalf("data %s, want null (delegates is non-null)", resp.Data)
	}
}

// A resolver field resolved directly reports an error and a panic at its path, and nulls
// up to the nearest nullable parent, as graphql.ResolveField does (the edge's node, a
// plain field, has no field context: the path goes from the edge to the voter).
func TestResolverFieldErrorsHaveTheirPaths(t *testing.T) {
	votes := []*modeldao.Vote{
		{Voter: common.Address{19: 7}, Weight: big.NewInt(1)},
		{Voter: common.Address{19: 8}, Weight: big.NewInt(1), Reason: "error"},
		{Voter: common.Address{19: 9}, Weight: big.NewInt(1), Reason: "panic"},
	}
	resp := run(t, stubRoot{votes: votes[:1]}, `{ votes(first: 3) { edges { node { weight voter { address } } } } }`)
	if want := `{"votes":{"edges":[{"node":{"weight":"1","voter":{"address":"0x0000000000000000000000000000000000000007"}}}]}}`; len(resp.Errors) > 0 || string(resp.Data) != want {
		t.Fatalf("got %s %v\nwant %s", resp.Data, resp.Errors, want)
	}
	resp = run(t, stubRoot{votes: votes}, `{ votes(first: 3) { edges { node { weight voter { address } } } } }`)
	if len(resp.Errors) != 2 {
		t.Fatalf("errors %v, want two", resp.Errors)
	}
	got := map[string]string{}
	for _, e := range resp.Errors {
		got[e.Path.String()] = e.Message
	}
	if got["votes.edges[1].voter"] != "no voter" {
		t.Fatalf("errors %v, want no voter at votes.edges[1].voter", resp.Errors)
	}
	if got["votes.edges[2].voter"] != "internal system error" {
		t.Fatalf("errors %v, want the panic at votes.edges[2].voter", resp.Errors)
	}
	if string(resp.Data) != `null` {
		t.Fatalf("data %s, want null (votes is non-null)", resp.Data)
	}
}
