package graphql_test

import (
	"context"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/store"
)

var bg = context.Background()

// P returns the id of proposal Pn of the fixture (1-based).
func P(n int) string { return fx.ids[n-1] }

// Ps returns the ids of the given proposals.
func Ps(ns ...int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = P(n)
	}
	return out
}

func proposalIDs(p *client.Page[client.Proposal]) []string {
	var out []string
	for _, x := range p.Items {
		out = append(out, x.ID)
	}
	return out
}

func versionIDs(p *client.Page[client.ModelVersion]) []uint64 {
	var out []uint64
	for _, x := range p.Items {
		out = append(out, x.ID)
	}
	return out
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	if client.Code(err) != code {
		t.Fatalf("error %v: code %q, want %q", err, client.Code(err), code)
	}
	var e *client.Error
	if msg != "" && (!errors.As(err, &e) || !strings.Contains(e.Message, msg)) {
		t.Fatalf("error %v: message does not say %q", err, msg)
	}
}

func eqBig(t *testing.T, what string, got, want *big.Int) {
	t.Helper()
	if got == nil || want == nil || got.Cmp(want) != 0 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestDAO(t *testing.T) {
	d := must[*client.DAO](t)(fx.client.DAO(bg))
	dep := fx.s.DAO.Deployment
	if d.ChainID != devchain.ChainID || d.Governor != dep.Governor || d.Token != dep.Token || d.Timelock != dep.Timelock || d.Registry != dep.Registry {
		t.Errorf("contracts: %+v, deployment %+v", d, dep)
	}
	if d.ID != modeldao.AccountID(devchain.ChainID, dep.Governor) || !strings.HasPrefix(d.ID, "eip155:1337:0x") {
		t.Errorf("id %q", d.ID)
	}
	if d.VotingDelay != 1 || d.VotingPeriod != 20 || d.QuorumNumerator != 4 || d.TimelockDelay != 60 || d.StartBlock != dep.Block {
		t.Errorf("parameters: %+v", d)
	}
	eqBig(t, "totalSupply", d.TotalSupply, tokens(5000))
	eqBig(t, "quorum", d.Quorum, tokens(200))
	eqBig(t, "proposalThreshold", d.ProposalThreshold, new(big.Int))
	want := client.DAO{ProposalCount: 7, DelegateCount: 3, AccountCount: 6, ModelCount: 2, ModelVersionCount: 4, AuditCount: 3, PolicyCount: 1, AuditorCount: 1}
	if d.ProposalCount != want.ProposalCount || d.DelegateCount != want.DelegateCount || d.AccountCount != want.AccountCount ||
		d.ModelCount != want.ModelCount || d.ModelVersionCount != want.ModelVersionCount || d.AuditCount != want.AuditCount ||
		d.PolicyCount != want.PolicyCount || d.AuditorCount != want.AuditorCount {
		t.Errorf("counts: %+v", d)
	}
}

func TestProposalsFilters(t *testing.T) {
	al, bo, ca := fx.addr(alice), fx.addr(bob), fx.addr(carol)
	all := must[*client.Page[client.Proposal]](t)(fx.client.Proposals(bg, client.ProposalQuery{}))
	if got := proposalIDs(all); !slices.Equal(got, Ps(7, 6, 5, 4, 3, 2, 1)) || all.TotalCount != 7 {
		t.Fatalf("all proposals, newest first: %v (total %d)", got, all.TotalCount)
	}
	created := map[string]time.Time{}
	for _, p := range all.Items {
		created[p.ID] = p.Created.Timestamp
	}
	var afterP4, beforeP3 []string
	for _, id := range proposalIDs(all) {
		if created[id].After(created[P(4)]) {
			afterP4 = append(afterP4, id)
		}
		if created[id].Before(created[P(3)]) {
			beforeP3 = append(beforeP3, id)
		}
	}
	if len(afterP4) != 3 || len(beforeP3) != 2 {
		t.Fatalf("the scenario's proposals should have distinct times: %v", created)
	}
	for _, c := range []struct {
		name string
		q    client.ProposalQuery
		want []string
	}{
		{"executed", client.ProposalQuery{State: "EXECUTED"}, Ps(5, 4, 3, 2, 1)},
		{"defeated", client.ProposalQuery{State: "DEFEATED"}, Ps(6)},
		{"active", client.ProposalQuery{State: "ACTIVE"}, Ps(7)},
		{"pending", client.ProposalQuery{State: "PENDING"}, nil},
		{"by bob", client.ProposalQuery{Proposer: &bo}, Ps(6)},
		{"by carol", client.ProposalQuery{Proposer: &ca}, Ps(7)},
		{"by alice", client.ProposalQuery{Proposer: &al}, Ps(5, 4, 3, 2, 1)},
		{"on version 3", client.ProposalQuery{ModelVersion: 3}, Ps(5, 4)},
		{"on version 4", client.ProposalQuery{ModelVersion: 4}, Ps(7, 6)},
		{"on version 9", client.ProposalQuery{ModelVersion: 9}, nil},
		{"title vision", client.ProposalQuery{TitleContains: "vision"}, Ps(7, 6, 5, 4)},
		{"title ACME", client.ProposalQuery{TitleContains: "ACME"}, Ps(3, 2)},
		{"created after P4", client.ProposalQuery{CreatedAfter: created[P(4)]}, afterP4},
		{"created before P3", client.ProposalQuery{CreatedBefore: created[P(3)]}, beforeP3},
		{"executed by alice on version 3, oldest first", client.ProposalQuery{State: "EXECUTED", Proposer: &al, ModelVersion: 3, Ascending: true}, Ps(4, 5)},
		{"executed, title beta", client.ProposalQuery{State: "EXECUTED", TitleContains: "beta"}, Ps(5, 4)},
		{"voting ends, ascending", client.ProposalQuery{OrderBy: "VOTING_ENDS", Ascending: true}, Ps(1, 2, 3, 4, 5, 6, 7)},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := must[*client.Page[client.Proposal]](t)(fx.client.Proposals(bg, c.q))
			if got := proposalIDs(p); !slices.Equal(got, c.want) || p.TotalCount != len(c.want) {
				t.Errorf("got %v (total %d), want %v", got, p.TotalCount, c.want)
			}
		})
	}
	// By votes cast: P2 4000, P7 3900, then P1, P4, P6 3000 each, then P3, P5 2000 each; ties
	// in the order of the ids (descending, as the list is).
	desc := func(ids ...string) []string { slices.Sort(ids); slices.Reverse(ids); return ids }
	want := append(append(Ps(2, 7), desc(P(1), P(4), P(6))...), desc(P(3), P(5))...)
	p := must[*client.Page[client.Proposal]](t)(fx.client.Proposals(bg, client.ProposalQuery{OrderBy: "VOTES"}))
	if got := proposalIDs(p); !slices.Equal(got, want) {
		t.Errorf("by votes: %v, want %v", got, want)
	}
	// The same ordering with a filter (paged in Go, not in Redis).
	want = append(Ps(2), append(desc(P(1), P(4)), desc(P(3), P(5))...)...)
	p = must[*client.Page[client.Proposal]](t)(fx.client.Proposals(bg, client.ProposalQuery{OrderBy: "VOTES", State: "EXECUTED"}))
	if got := proposalIDs(p); !slices.Equal(got, want) {
		t.Errorf("executed by votes: %v, want %v", got, want)
	}
}

func TestProposalDetail(t *testing.T) {
	d := must[*client.ProposalDetail](t)(fx.client.Proposal(bg, P(2), "TIME", client.PageArgs{}))
	if d.Title != "Approve acme/sentiment v1" || !strings.HasPrefix(d.Description, "# Approve acme/sentiment v1\n") ||
		d.State != "EXECUTED" || d.Proposer != fx.addr(alice) || d.VoterCount != 4 || d.Eta == nil {
		t.Errorf("P2: %+v", d.Proposal)
	}
	if d.Deadline != d.Snapshot+20 || d.TimelockOperationID == (common.Hash{}) {
		t.Errorf("P2 snapshot %d deadline %d op %s", d.Snapshot, d.Deadline, d.TimelockOperationID)
	}
	tl := d.Tally
	eqBig(t, "for", tl.For, tokens(2000))
	eqBig(t, "against", tl.Against, tokens(1000))
	eqBig(t, "abstain", tl.Abstain, tokens(1000))
	eqBig(t, "total", tl.Total, tokens(4000))
	eqBig(t, "quorum", tl.Quorum, tokens(200))
	if tl.ForPercent != 50 || tl.AgainstPercent != 25 || tl.AbstainPercent != 25 || !tl.QuorumReached || tl.QuorumPercent == nil || *tl.QuorumPercent != 1500 {
		t.Errorf("P2 tally %+v", tl)
	}
	if len(d.Actions) != 1 {
		t.Fatalf("P2 actions %+v", d.Actions)
	}
	a := d.Actions[0]
	if a.Target != fx.s.DAO.Deployment.Registry || a.Method != "approveVersion" || a.ModelVersionID != 1 || a.Value.Sign() != 0 ||
		a.Args["versionId"] != "1" || a.Args["policyId"] != "1" || a.Args["auditId"] != "1" || len(a.Calldata) != 4+3*32 {
		t.Errorf("P2 action %+v", a)
	}
	var kinds []string
	for _, e := range d.Timeline {
		kinds = append(kinds, e.Kind)
	}
	if !slices.Equal(kinds, []string{"CREATED", "QUEUED", "EXECUTED"}) || d.Timeline[0].Provenance != d.Created {
		t.Errorf("P2 timeline %v", d.Timeline)
	}
	// Votes by time, newest first.
	type v struct {
		who     common.Address
		support string
		reason  string
	}
	want := []v{{fx.addr(dave), "ABSTAIN", ""}, {fx.addr(carol), "AGAINST", "Bias too high on one feature"}, {fx.addr(bob), "FOR", ""}, {fx.addr(alice), "FOR", "Audit is convincing"}}
	if d.Votes.TotalCount != 4 || len(d.Votes.Items) != 4 {
		t.Fatalf("P2 votes %+v", d.Votes)
	}
	for i, w := range want {
		got := d.Votes.Items[i]
		if got.Voter != w.who || got.Support != w.support || got.Reason != w.reason || got.ProposalID != P(2) || got.Weight.Cmp(tokens(1000)) != 0 {
			t.Errorf("P2 vote %d: %+v, want %+v", i, got, w)
		}
		if got.ID != P(2)+":"+strings.ToLower(w.who.Hex()) {
			t.Errorf("vote id %q", got.ID)
		}
	}
	// Provenance is the chain's.
	r, err := fx.chain.Client.TransactionReceipt(bg, d.Created.TxHash)
	if err != nil {
		t.Fatal(err)
	}
	if r.BlockNumber.Uint64() != d.Created.BlockNumber || r.BlockHash != d.Created.BlockHash || d.Created.Timestamp.IsZero() {
		t.Errorf("P2 created %+v; receipt block %d %s", d.Created, r.BlockNumber, r.BlockHash)
	}
	found := false
	for _, l := range r.Logs {
		found = found || l.Index == d.Created.LogIndex && l.Address == fx.s.DAO.Deployment.Governor
	}
	if !found {
		t.Errorf("no governor log %d in the transaction that created P2", d.Created.LogIndex)
	}

	// The active P7: alice's vote weighs what was delegated to her.
	d = must[*client.ProposalDetail](t)(fx.client.Proposal(bg, P(7), "", client.PageArgs{}))
	if d.State != "ACTIVE" || d.Eta != nil || len(d.Timeline) != 1 || d.Proposer != fx.addr(carol) {
		t.Errorf("P7 %+v", d.Proposal)
	}
	eqBig(t, "P7 for", d.Tally.For, tokens(2900))
	if len(d.Votes.Items) != 2 || d.Votes.Items[0].Voter != fx.addr(alice) || d.Votes.Items[0].Reason != "Looks good to me" ||
		d.Votes.Items[1].Voter != fx.addr(carol) {
		t.Errorf("P7 votes by weight: %+v", d.Votes.Items)
	}
	if p := d.Tally.ForPercent; p < 74.35 || p > 74.36 {
		t.Errorf("P7 for %% = %v, want 2900/3900", p)
	}

	_, err = fx.client.Proposal(bg, "12345", "", client.PageArgs{})
	wantCode(t, err, client.CodeNotFound, "no proposal with id 12345")
	_, err = fx.client.Proposal(bg, "P2", "", client.PageArgs{})
	wantCode(t, err, client.CodeBadUserInput, "not a proposal id")
}

func TestVotes(t *testing.T) {
	al := fx.addr(alice)
	for _, c := range []struct {
		name string
		q    client.VoteQuery
		want int
	}{
		{"all", client.VoteQuery{}, 3 + 4 + 2 + 3 + 2 + 3 + 2},
		{"of P2", client.VoteQuery{ProposalID: P(2)}, 4},
		{"of alice", client.VoteQuery{Voter: &al}, 7},
		{"against", client.VoteQuery{Support: "AGAINST"}, 4},
		{"alice against", client.VoteQuery{Voter: &al, Support: "AGAINST"}, 1},
		{"alice on P2", client.VoteQuery{Voter: &al, ProposalID: P(2)}, 1},
		{"abstain on P2", client.VoteQuery{ProposalID: P(2), Support: "ABSTAIN"}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := must[*client.Page[client.Vote]](t)(fx.client.Votes(bg, c.q))
			if p.TotalCount != c.want || len(p.Items) != c.want {
				t.Errorf("%d votes (total %d), want %d", len(p.Items), p.TotalCount, c.want)
			}
			for _, v := range p.Items {
				if c.q.Voter != nil && v.Voter != *c.q.Voter || c.q.ProposalID != "" && v.ProposalID != c.q.ProposalID ||
					c.q.Support != "" && v.Support != c.q.Support {
					t.Errorf("vote %+v does not match %+v", v, c.q)
				}
			}
			for i := 1; i < len(p.Items); i++ {
				if p.Items[i].Provenance.BlockNumber > p.Items[i-1].Provenance.BlockNumber {
					t.Errorf("votes not newest first")
				}
			}
		})
	}
	p := must[*client.Page[client.Vote]](t)(fx.client.Votes(bg, client.VoteQuery{Voter: &al, Support: "AGAINST"}))
	if p.Items[0].ProposalID != P(6) || p.Items[0].Reason != "no audit" {
		t.Errorf("alice against: %+v", p.Items[0])
	}
	p = must[*client.Page[client.Vote]](t)(fx.client.Votes(bg, client.VoteQuery{ProposalID: P(7), OrderBy: "WEIGHT", Ascending: true}))
	if len(p.Items) != 2 || p.Items[0].Voter != fx.addr(carol) || p.Items[1].Weight.Cmp(tokens(2900)) != 0 {
		t.Errorf("P7 by weight ascending: %+v", p.Items)
	}
	_, err := fx.client.Votes(bg, client.VoteQuery{OrderBy: "WEIGHT"})
	wantCode(t, err, client.CodeBadUserInput, "ordered by weight only within one proposal")
}

func TestDelegatesAndAccounts(t *testing.T) {
	p := must[*client.Page[client.Account]](t)(fx.client.Delegates(bg, "", client.PageArgs{}))
	if p.TotalCount != 3 || len(p.Items) != 3 || p.Items[0].Address != fx.addr(alice) {
		t.Fatalf("delegates by power: %+v", p.Items)
	}
	eqBig(t, "alice's power", p.Items[0].VotingPower, tokens(2900))
	eqBig(t, "alice's balance", p.Items[0].Balance, tokens(900))
	rest := []common.Address{p.Items[1].Address, p.Items[2].Address}
	want := []common.Address{fx.addr(bob), fx.addr(carol)}
	slices.SortFunc(want, func(a, b common.Address) int {
		return -strings.Compare(strings.ToLower(a.Hex()), strings.ToLower(b.Hex()))
	})
	if !slices.Equal(rest, want) {
		t.Errorf("ties at 1000 votes in address order (descending): %v, want %v", rest, want)
	}
	p = must[*client.Page[client.Account]](t)(fx.client.Delegates(bg, "DELEGATORS", client.First(1)))
	if p.Items[0].Address != fx.addr(alice) || p.Items[0].DelegatorCount != 3 || !p.HasNextPage || p.TotalCount != 3 {
		t.Errorf("delegates by delegators: %+v", p)
	}

	er := must[*client.AccountDetail](t)(fx.client.Account(bg, fx.addr(erin), client.PageArgs{}))
	if er.Delegate == nil || *er.Delegate != fx.addr(alice) || er.VotingPower.Sign() != 0 || er.Balance.Cmp(tokens(1000)) != 0 ||
		er.FirstSeen == nil || er.ID != modeldao.AccountID(devchain.ChainID, fx.addr(erin)) || er.Votes.TotalCount != 0 {
		t.Errorf("erin: %+v", er)
	}
	var hist [][2]*common.Address
	for _, d := range er.Delegations.Items {
		if d.Delegator != fx.addr(erin) {
			t.Errorf("delegation of %s in erin's history", d.Delegator)
		}
		hist = append(hist, [2]*common.Address{d.From, d.To})
	}
	e, b, a := fx.addr(erin), fx.addr(bob), fx.addr(alice)
	if len(hist) != 3 || hist[0][0] == nil || *hist[0][0] != b || *hist[0][1] != a || *hist[1][0] != e || *hist[1][1] != b || hist[2][0] != nil || *hist[2][1] != e {
		t.Errorf("erin's delegations, newest first: %v", er.Delegations.Items)
	}

	al := must[*client.AccountDetail](t)(fx.client.Account(bg, fx.addr(alice), client.PageArgs{}))
	var delegators []common.Address
	for _, d := range al.Delegators.Items {
		delegators = append(delegators, d.Address)
	}
	if !slices.Equal(delegators, []common.Address{fx.addr(erin), fx.addr(dave), fx.addr(alice)}) || al.VoteCount != 7 || al.Votes.TotalCount != 7 {
		t.Errorf("alice: delegators %v, %d votes", delegators, al.VoteCount)
	}

	fr := must[*client.AccountDetail](t)(fx.client.Account(bg, fx.addr(frank), client.PageArgs{}))
	if fr.Delegate != nil || fr.Balance.Cmp(tokens(100)) != 0 || fr.VotingPower.Sign() != 0 {
		t.Errorf("frank: %+v", fr.Account)
	}
	// An address the chain never saw is an empty account.
	nb := must[*client.AccountDetail](t)(fx.client.Account(bg, fx.addr(nobody), client.PageArgs{}))
	if nb.Address != fx.addr(nobody) || nb.FirstSeen != nil || nb.Balance.Sign() != 0 || nb.Delegators.TotalCount != 0 ||
		nb.ID != modeldao.AccountID(devchain.ChainID, fx.addr(nobody)) {
		t.Errorf("nobody: %+v", nb)
	}
}

func TestModels(t *testing.T) {
	var out struct {
		Models struct {
			TotalCount int
			Edges      []struct {
				Node struct {
					ID           string
					Name         string
					VersionCount int
					Owner        struct{ Address common.Address }
					Versions     struct {
						Edges []struct{ Node struct{ ID string } }
					}
				}
			}
		}
		Model    struct{ Name string }
		ByID     struct{ Name string }
		Filtered struct{ TotalCount int }
	}
	acme := store.ModelID("acme/sentiment")
	err := fx.client.Exec(bg, `query($id: ID) {
		models { totalCount edges { node { id name versionCount owner { address } versions { edges { node { id } } } } } }
		model(name: "acme/sentiment") { name }
		byID: model(id: $id) { name }
		filtered: models(where: {nameContains: "VISION", owner: "`+fx.addr(pub2).Hex()+`"}) { totalCount }
	}`, map[string]any{"id": acme.Hex()}, &out)
	if err != nil {
		t.Fatal(err)
	}
	ms := out.Models.Edges
	if out.Models.TotalCount != 2 || len(ms) != 2 || ms[0].Node.Name != "beta/vision" || ms[1].Node.Name != "acme/sentiment" {
		t.Fatalf("models: %+v", out.Models)
	}
	m := ms[1].Node
	if m.ID != acme.Hex() || m.VersionCount != 2 || m.Owner.Address != fx.addr(pub1) || len(m.Versions.Edges) != 2 ||
		m.Versions.Edges[0].Node.ID != "2" || m.Versions.Edges[1].Node.ID != "1" {
		t.Errorf("acme/sentiment: %+v", m)
	}
	if out.Model.Name != "acme/sentiment" || out.ByID.Name != "acme/sentiment" || out.Filtered.TotalCount != 1 {
		t.Errorf("model by name %+v, by id %+v, filtered %+v", out.Model, out.ByID, out.Filtered)
	}
	err = fx.client.Exec(bg, `{ model(name: "no/such") { name } }`, nil, nil)
	wantCode(t, err, client.CodeNotFound, `no model named "no/such"`)
	err = fx.client.Exec(bg, `{ model { name } }`, nil, nil)
	wantCode(t, err, client.CodeBadUserInput, "give the model's name or its id")
}

func TestModelVersionsFilters(t *testing.T) {
	p1, p2 := fx.addr(pub1), fx.addr(pub2)
	fix := func(s string) *modeldao.Fixed6 { f, _ := modeldao.ParseFixed6(s); return &f }
	for _, c := range []struct {
		name string
		q    client.VersionQuery
		want []uint64
	}{
		{"all", client.VersionQuery{}, []uint64{4, 3, 2, 1}},
		{"oldest first", client.VersionQuery{Ascending: true}, []uint64{1, 2, 3, 4}},
		{"approved", client.VersionQuery{Status: "APPROVED"}, []uint64{1}},
		{"rejected", client.VersionQuery{Status: "REJECTED"}, []uint64{2}},
		{"revoked", client.VersionQuery{Status: "REVOKED"}, []uint64{3}},
		{"submitted", client.VersionQuery{Status: "SUBMITTED"}, []uint64{4}},
		{"by pub1", client.VersionQuery{Publisher: &p1}, []uint64{2, 1}},
		{"by pub2", client.VersionQuery{Publisher: &p2}, []uint64{4, 3}},
		{"model", client.VersionQuery{Model: "beta/vision"}, []uint64{4, 3}},
		{"no such model", client.VersionQuery{Model: "beta/visionx"}, nil},
		{"tag text", client.VersionQuery{Tag: "text"}, []uint64{4, 1}},
		{"tag audio", client.VersionQuery{Tag: "audio"}, []uint64{2}},
		{"tag llm", client.VersionQuery{Tag: "llm"}, []uint64{4, 3, 2, 1}},
		{"license", client.VersionQuery{License: "Apache-2.0"}, []uint64{4, 3, 2, 1}},
		{"license MIT", client.VersionQuery{License: "MIT"}, nil},
		{"approved under policy 1 (also if revoked since)", client.VersionQuery{PolicyID: 1}, []uint64{3, 1}},
		{"approved now under policy 1", client.VersionQuery{PolicyID: 1, Status: "APPROVED"}, []uint64{1}},
		{"pub1 tag text", client.VersionQuery{Publisher: &p1, Tag: "text"}, []uint64{1}},
		{"DPD at most 0.1", client.VersionQuery{Metrics: []client.MetricBound{{Kind: "DEMOGRAPHIC_PARITY_DIFFERENCE", Max: fix("0.1")}}}, []uint64{3, 1}},
		{"DPD at most 0.5", client.VersionQuery{Metrics: []client.MetricBound{{Kind: "demographic_parity_difference", Max: fix("0.5")}}}, []uint64{3, 2, 1}},
		{"DPD on race", client.VersionQuery{Metrics: []client.MetricBound{{Kind: "DEMOGRAPHIC_PARITY_DIFFERENCE", SensitiveFeature: "race", Max: fix("1")}}}, nil},
		{"DIR at least 0.8", client.VersionQuery{Metrics: []client.MetricBound{{Kind: "DISPARATE_IMPACT_RATIO", Min: fix("0.8")}}}, []uint64{3, 2, 1}},
		{"DIR at least 0.95", client.VersionQuery{Metrics: []client.MetricBound{{Kind: "DISPARATE_IMPACT_RATIO", Min: fix("0.95")}}}, nil},
		{"both bounds, by pub1", client.VersionQuery{Publisher: &p1, Metrics: []client.MetricBound{
			{Kind: "DEMOGRAPHIC_PARITY_DIFFERENCE", Max: fix("0.1")}, {Kind: "DISPARATE_IMPACT_RATIO", Min: fix("0.8")}}}, []uint64{1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := must[*client.Page[client.ModelVersion]](t)(fx.client.ModelVersions(bg, c.q))
			if got := versionIDs(p); !slices.Equal(got, c.want) || p.TotalCount != len(c.want) {
				t.Errorf("got %v (total %d), want %v", got, p.TotalCount, c.want)
			}
		})
	}
	// The shorthand.
	var out struct {
		ModelVersions struct{ TotalCount int }
	}
	if err := fx.client.Exec(bg, `{ modelVersions(where: {demographicParityDifferenceMax: "0.1"}) { totalCount } }`, nil, &out); err != nil || out.ModelVersions.TotalCount != 2 {
		t.Errorf("demographicParityDifferenceMax 0.1: %+v %v", out, err)
	}
	_, err := fx.client.ModelVersions(bg, client.VersionQuery{Metrics: []client.MetricBound{{Kind: "FAIRNESS"}}})
	wantCode(t, err, client.CodeBadUserInput, `unknown metric kind "FAIRNESS"`)
	_, err = fx.client.ModelVersions(bg, client.VersionQuery{Metrics: []client.MetricBound{{Kind: "DISPARATE_IMPACT_RATIO"}}})
	wantCode(t, err, client.CodeBadUserInput, "bounds nothing: set max or min")
	err = fx.client.Exec(bg, `{ modelVersions(where: {demographicParityDifferenceMax: "0.1234567"}) { totalCount } }`, nil, nil)
	wantCode(t, err, client.CodeBadUserInput, "at most 6 fractional digits")
}

func TestModelVersionDetail(t *testing.T) {
	v1 := must[*client.ModelVersionDetail](t)(fx.client.ModelVersion(bg, 1, client.PageArgs{}))
	if v1.ModelName != "acme/sentiment" || v1.Label != "v1" || v1.Status != "APPROVED" || v1.PolicyID != 1 || v1.Publisher != fx.addr(pub1) ||
		v1.License != "Apache-2.0" || !slices.Equal(v1.Tags, []string{"llm", "text"}) || v1.WeightsCID == "" || v1.WeightsSHA256 == (common.Hash{}) {
		t.Errorf("v1: %+v", v1.ModelVersion)
	}
	if v1.Pin == nil || v1.Pin.Status != "PINNED" || v1.Pin.Size != 123456 || v1.Pin.Attempts != 1 || v1.Pin.PinnedAt == nil ||
		!v1.Pin.PinnedAt.Equal(time.Unix(1_700_000_000, 0)) {
		t.Errorf("v1 pin: %+v", v1.Pin)
	}
	if len(v1.History) != 2 || v1.History[0].Status != "SUBMITTED" || v1.History[1].Status != "APPROVED" ||
		v1.History[1].ProposalID != P(2) || v1.History[1].PolicyID != 1 || v1.History[1].AuditID != 1 {
		t.Errorf("v1 history: %+v", v1.History)
	}
	if v1.Audits.TotalCount != 1 || v1.Audits.Items[0].ID != 1 || !v1.Audits.Items[0].Passed {
		t.Errorf("v1 audits: %+v", v1.Audits)
	}
	if got := proposalIDs(&v1.Proposals); !slices.Equal(got, Ps(2)) {
		t.Errorf("v1 proposals: %v", got)
	}

	v3 := must[*client.ModelVersionDetail](t)(fx.client.ModelVersion(bg, 3, client.PageArgs{}))
	var hist []string
	for _, h := range v3.History {
		hist = append(hist, h.Status+"/"+h.Reason)
	}
	if !slices.Equal(hist, []string{"SUBMITTED/", "APPROVED/", "REVOKED/licence withdrawn"}) || v3.History[2].ProposalID != P(5) ||
		v3.History[1].ProposalID != P(4) || v3.Pin == nil || v3.Pin.Status != "QUEUED" {
		t.Errorf("v3: history %v, pin %+v", v3.History, v3.Pin)
	}
	if got := proposalIDs(&v3.Proposals); !slices.Equal(got, Ps(5, 4)) {
		t.Errorf("v3 proposals: %v", got)
	}

	v4 := must[*client.ModelVersionDetail](t)(fx.client.ModelVersion(bg, 4, client.PageArgs{}))
	if v4.Status != "SUBMITTED" || v4.Pin != nil || v4.PolicyID != 0 || v4.Audits.TotalCount != 0 || !slices.Equal(proposalIDs(&v4.Proposals), Ps(7, 6)) {
		t.Errorf("v4: %+v", v4)
	}
	_, err := fx.client.ModelVersion(bg, 99, client.PageArgs{})
	wantCode(t, err, client.CodeNotFound, "no model version with id 99")
}

func TestAuditsPoliciesAuditors(t *testing.T) {
	var out struct {
		Audits struct {
			TotalCount int
			Edges      []struct {
				Node struct {
					ID           string
					Passed       bool
					ModelVersion struct{ ID string }
					Policy       struct{ Name string }
					Auditor      struct{ Name string }
					Metrics      []struct {
						Kind             string
						SensitiveFeature string
						Value            string
						Threshold        string
						Passed           bool
					}
					Provenance struct{ BlockNumber uint64 }
				}
			}
		}
		Failed struct {
			Edges []struct{ Node struct{ ID string } }
		}
		OfV1      struct{ TotalCount int }
		ByAuditor struct{ TotalCount int }
		Policies  struct {
			Edges []struct {
				Node struct {
					ID, Name, Version     string
					Active, AuditRequired bool
					Bounds                []struct {
						Kind      string
						IsMinimum bool
						Limit     string
					}
					Retired          *struct{ BlockNumber int }
					Audits           struct{ TotalCount int }
					ApprovedVersions struct {
						Edges []struct{ Node struct{ ID string } }
					}
				}
			}
		}
		Retired  struct{ TotalCount int }
		Auditors struct {
			Edges []struct {
				Node struct {
					ID, Name   string
					Address    common.Address
					Active     bool
					AuditCount int
					Removed    *struct{ BlockNumber int }
					Account    struct{ Balance string }
					Audits     struct{ TotalCount int }
				}
			}
		}
		Audit struct{ ID string }
	}
	auditor := fx.addr(audtr).Hex()
	err := fx.client.Exec(bg, `{
		audits { totalCount edges { node { id passed modelVersion { id } policy { name } auditor { name }
			metrics { kind sensitiveFeature value threshold passed } provenance { blockNumber } } } }
		failed: audits(where: {passed: false}) { edges { node { id } } }
		ofV1: audits(where: {modelVersion: "1"}) { totalCount }
		byAuditor: audits(where: {auditor: "`+auditor+`", policy: "1"}) { totalCount }
		policies { edges { node { id name version active auditRequired bounds { kind isMinimum limit } retired { blockNumber }
			audits { totalCount } approvedVersions { edges { node { id } } } } } }
		retired: policies(where: {active: false}) { totalCount }
		auditors { edges { node { id name address active auditCount removed { blockNumber } account { balance } audits { totalCount } } } }
		audit(id: "2") { id }
	}`, nil, &out)
	if err != nil {
		t.Fatal(err)
	}
	as := out.Audits.Edges
	if out.Audits.TotalCount != 3 || len(as) != 3 || as[0].Node.ID != "3" || as[2].Node.ID != "1" {
		t.Fatalf("audits: %+v", out.Audits)
	}
	a1 := as[2].Node
	if !a1.Passed || a1.ModelVersion.ID != "1" || a1.Policy.Name != "fairness-baseline" || a1.Auditor.Name != "Fair Audits Ltd" || len(a1.Metrics) != 2 ||
		a1.Metrics[0].Kind != "DEMOGRAPHIC_PARITY_DIFFERENCE" || a1.Metrics[0].SensitiveFeature != "sex" || a1.Metrics[0].Value != "0.05" ||
		a1.Metrics[0].Threshold != "0.1" || a1.Metrics[1].Kind != "DISPARATE_IMPACT_RATIO" || a1.Metrics[1].Value != "0.9" || a1.Provenance.BlockNumber == 0 {
		t.Errorf("audit 1: %+v", a1)
	}
	if len(out.Failed.Edges) != 1 || out.Failed.Edges[0].Node.ID != "2" || out.OfV1.TotalCount != 1 || out.ByAuditor.TotalCount != 3 || out.Audit.ID != "2" {
		t.Errorf("filtered audits: %+v %+v %+v %+v", out.Failed, out.OfV1, out.ByAuditor, out.Audit)
	}
	if len(out.Policies.Edges) != 1 {
		t.Fatalf("policies: %+v", out.Policies)
	}
	p := out.Policies.Edges[0].Node
	if p.ID != "1" || p.Name != "fairness-baseline" || p.Version != "1.0" || !p.Active || !p.AuditRequired || p.Retired != nil || p.Audits.TotalCount != 3 ||
		len(p.Bounds) != 2 || p.Bounds[0].Kind != "DEMOGRAPHIC_PARITY_DIFFERENCE" || p.Bounds[0].IsMinimum || p.Bounds[0].Limit != "0.1" ||
		p.Bounds[1].Kind != "DISPARATE_IMPACT_RATIO" || !p.Bounds[1].IsMinimum || p.Bounds[1].Limit != "0.8" ||
		len(p.ApprovedVersions.Edges) != 2 || p.ApprovedVersions.Edges[0].Node.ID != "3" {
		t.Errorf("policy 1: %+v", p)
	}
	if out.Retired.TotalCount != 0 {
		t.Errorf("retired policies: %+v", out.Retired)
	}
	if len(out.Auditors.Edges) != 1 {
		t.Fatalf("auditors: %+v", out.Auditors)
	}
	au := out.Auditors.Edges[0].Node
	if au.ID != modeldao.AccountID(devchain.ChainID, fx.addr(audtr)) || au.Name != "Fair Audits Ltd" || au.Address != fx.addr(audtr) || !au.Active ||
		au.AuditCount != 3 || au.Removed != nil || au.Audits.TotalCount != 3 || au.Account.Balance != "0" {
		t.Errorf("auditor: %+v", au)
	}
}

func TestPinAndIndexerStatus(t *testing.T) {
	pins := must[*client.PinCounts](t)(fx.client.PinStatus(bg))
	if *pins != (client.PinCounts{Total: 2, Pinned: 1, Queued: 1}) {
		t.Errorf("pin status: %+v", pins)
	}
	st := must[*client.IndexerStatus](t)(fx.client.IndexerStatus(bg))
	head, err := fx.chain.Head(bg)
	if err != nil {
		t.Fatal(err)
	}
	if st.IndexedBlock != head.Number.Uint64() || st.IndexedHash != head.Hash() || st.Lag != 0 || st.ChainHead != st.IndexedBlock || st.LastError != "" ||
		!st.Healthy || st.HeadSeenAt == nil || st.LastErrorAt != nil {
		t.Errorf("indexer status %+v; head %d %s", st, head.Number, head.Hash())
	}
}
