package graphql_test

import (
	"context"
	"slices"
	"testing"

	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/internal/scenario"
)

func TestPagingForwardAndBackward(t *testing.T) {
	q := func(p client.PageArgs) *client.Page[client.Proposal] {
		t.Helper()
		return must[*client.Page[client.Proposal]](t)(fx.client.Proposals(bg, client.ProposalQuery{Page: p}))
	}
	// Forward by 3: [P7 P6 P5] [P4 P3 P2] [P1].
	var pages [][]string
	p := q(client.First(3))
	if p.HasPreviousPage {
		t.Error("the first page has a previous page")
	}
	for {
		pages = append(pages, proposalIDs(p))
		if p.TotalCount != 7 {
			t.Errorf("totalCount %d on a page", p.TotalCount)
		}
		if !p.HasNextPage {
			break
		}
		p = q(p.Next(3))
		if !p.HasPreviousPage {
			t.Error("a later page has no previous page")
		}
	}
	if !slices.EqualFunc(pages, [][]string{Ps(7, 6, 5), Ps(4, 3, 2), Ps(1)}, slices.Equal) {
		t.Fatalf("forward pages %v", pages)
	}
	// Backward by 3 from the end: [P3 P2 P1] [P6 P5 P4] [P7].
	pages = nil
	p = q(client.PageArgs{Last: 3})
	if p.HasNextPage {
		t.Error("the last page has a next page")
	}
	for {
		pages = append(pages, proposalIDs(p))
		if !p.HasPreviousPage {
			break
		}
		p = q(p.Previous(3))
	}
	if !slices.EqualFunc(pages, [][]string{Ps(3, 2, 1), Ps(6, 5, 4), Ps(7)}, slices.Equal) {
		t.Fatalf("backward pages %v", pages)
	}
	// Between two cursors.
	all := q(client.PageArgs{})
	p = q(client.PageArgs{First: 10, After: all.Cursors[1], Before: all.Cursors[5]})
	if got := proposalIDs(p); !slices.Equal(got, Ps(5, 4, 3)) || p.HasNextPage || !p.HasPreviousPage {
		t.Errorf("between P6 and P2: %v next=%v prev=%v", got, p.HasNextPage, p.HasPreviousPage)
	}
	p = q(client.PageArgs{Last: 2, After: all.Cursors[1], Before: all.Cursors[5]})
	if got := proposalIDs(p); !slices.Equal(got, Ps(4, 3)) || !p.HasNextPage || !p.HasPreviousPage {
		t.Errorf("last 2 between P6 and P2: %v next=%v prev=%v", got, p.HasNextPage, p.HasPreviousPage)
	}
	// Past the end, and first: 0.
	p = q(client.PageArgs{First: 5, After: all.EndCursor})
	if len(p.Items) != 0 || p.HasNextPage || !p.HasPreviousPage || p.StartCursor != "" || p.EndCursor != "" || p.TotalCount != 7 {
		t.Errorf("after the last item: %+v", p)
	}
	var out struct {
		Proposals struct {
			Edges    []struct{ Cursor string }
			PageInfo struct{ HasNextPage bool }
		}
	}
	if err := fx.client.Exec(bg, `{ proposals(first: 0) { edges { cursor } pageInfo { hasNextPage } } }`, nil, &out); err != nil ||
		len(out.Proposals.Edges) != 0 || !out.Proposals.PageInfo.HasNextPage {
		t.Errorf("first: 0: %+v %v", out, err)
	}
	// A filtered list (paged in Go) pages the same way.
	fp := must[*client.Page[client.Proposal]](t)(fx.client.Proposals(bg, client.ProposalQuery{State: "EXECUTED", TitleContains: "e", Page: client.First(2)}))
	fp = must[*client.Page[client.Proposal]](t)(fx.client.Proposals(bg, client.ProposalQuery{State: "EXECUTED", TitleContains: "e", Page: fp.Next(2)}))
	if got := proposalIDs(fp); !slices.Equal(got, Ps(3, 2)) || !fp.HasNextPage || !fp.HasPreviousPage || fp.TotalCount != 5 {
		t.Errorf("second page of a filtered list: %v", got)
	}
	// Nested lists page too: the votes of P2 by time, two at a time.
	d := must[*client.ProposalDetail](t)(fx.client.Proposal(bg, P(2), "TIME", client.First(2)))
	d2 := must[*client.ProposalDetail](t)(fx.client.Proposal(bg, P(2), "TIME", d.Votes.Next(2)))
	if len(d.Votes.Items) != 2 || len(d2.Votes.Items) != 2 || d2.Votes.HasNextPage || d2.Votes.Items[1].Voter != fx.addr(alice) {
		t.Errorf("P2's votes in pages: %+v then %+v", d.Votes.Items, d2.Votes.Items)
	}
}

func TestPagingEmptyResult(t *testing.T) {
	var out struct {
		Proposals struct {
			TotalCount int
			Edges      []struct{ Cursor string }
			PageInfo   struct {
				HasNextPage, HasPreviousPage bool
				StartCursor, EndCursor       *string
			}
		}
	}
	err := fx.client.Exec(bg, `{ proposals(where: {state: PENDING}, last: 5) { totalCount edges { cursor }
		pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`, nil, &out)
	p := out.Proposals
	if err != nil || p.TotalCount != 0 || len(p.Edges) != 0 || p.PageInfo.HasNextPage || p.PageInfo.HasPreviousPage ||
		p.PageInfo.StartCursor != nil || p.PageInfo.EndCursor != nil {
		t.Errorf("empty list: %+v %v", p, err)
	}
}

func TestPagingBadArguments(t *testing.T) {
	all := must[*client.Page[client.Proposal]](t)(fx.client.Proposals(bg, client.ProposalQuery{}))
	for _, c := range []struct {
		name string
		q    client.ProposalQuery
		msg  string
	}{
		{"malformed cursor", client.ProposalQuery{Page: client.PageArgs{After: "not-a-cursor"}}, "cursor is not one this API issued"},
		{"base64 but not a cursor", client.ProposalQuery{Page: client.PageArgs{Before: "aGVsbG8"}}, "cursor is not one this API issued"},
		{"cursor of another ordering", client.ProposalQuery{OrderBy: "VOTES", Page: client.PageArgs{After: all.EndCursor}}, "cursor is not one this API issued for this list"},
		{"page too large", client.ProposalQuery{Page: client.First(1001)}, "a page holds at most 1000 items"},
		{"negative page", client.ProposalQuery{Page: client.PageArgs{Last: -3}}, "last is -3"},
		{"first and last", client.ProposalQuery{Page: client.PageArgs{First: 1, Last: 1}}, "pass first or last, not both"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := fx.client.Proposals(bg, c.q)
			wantCode(t, err, client.CodeBadUserInput, c.msg)
		})
	}
	// A cursor of votes used on proposals.
	d := must[*client.ProposalDetail](t)(fx.client.Proposal(bg, P(2), "TIME", client.First(1)))
	_, err := fx.client.Proposals(bg, client.ProposalQuery{Page: client.PageArgs{After: d.Votes.EndCursor}})
	wantCode(t, err, client.CodeBadUserInput, "cursor is not one this API issued for this list")
}

// A cursor stays valid when the list changes under it: new proposals indexed after the
// cursor was issued appear on the first page, not on the page after the cursor.
func TestCursorOnChangedList(t *testing.T) {
	ctx := context.Background()
	s, err := scenario.New(ctx, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	propose := func(desc string) {
		t.Helper()
		p, err := s.DAO.RegistryProposal(desc, contracts.AddAuditor(s.Chain.Accounts[scenario.Extra1].Address, desc))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DAO.Propose(ctx, 0, p); err != nil {
			t.Fatal(err)
		}
	}
	propose("# A")
	propose("# B")
	e, err := newEnv(ctx, s, graphql.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	titles := func(p *client.Page[client.Proposal]) []string {
		var out []string
		for _, x := range p.Items {
			out = append(out, x.Title)
		}
		return out
	}
	first := must[*client.Page[client.Proposal]](t)(e.client.Proposals(ctx, client.ProposalQuery{Page: client.First(1)}))
	if got := titles(first); !slices.Equal(got, []string{"B"}) || first.TotalCount != 3 {
		t.Fatalf("first page %v", got)
	}
	propose("# C")
	ix, err := indexer.New(indexer.Config{Chain: s.Chain.Client, Store: e.store, Deployment: s.DAO.Deployment, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	// The answer of the first page was cached at the old checkpoint; the new one is computed.
	again := must[*client.Page[client.Proposal]](t)(e.client.Proposals(ctx, client.ProposalQuery{Page: client.First(1)}))
	if got := titles(again); !slices.Equal(got, []string{"C"}) || again.TotalCount != 4 {
		t.Errorf("the first page after the list changed: %v (total %d)", got, again.TotalCount)
	}
	next := must[*client.Page[client.Proposal]](t)(e.client.Proposals(ctx, client.ProposalQuery{Page: first.Next(5)}))
	if got := titles(next); !slices.Equal(got, []string{"A", "Set up auditing"}) || next.TotalCount != 4 || next.HasNextPage || !next.HasPreviousPage {
		t.Errorf("after the old cursor: %v (total %d)", got, next.TotalCount)
	}
	back := must[*client.Page[client.Proposal]](t)(e.client.Proposals(ctx, client.ProposalQuery{Page: next.Previous(5)}))
	if got := titles(back); !slices.Equal(got, []string{"C", "B"}) {
		t.Errorf("before it: %v", got)
	}
}
