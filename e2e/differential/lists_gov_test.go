package differential

import (
	"context"
	"fmt"
	"math/big"
	"strings"
)

func idField(c *checker, f ...string) func(obj) string {
	return func(o obj) string { return str(c.t, o, f...) }
}

func dir(desc bool) string {
	if desc {
		return "DESC"
	}
	return "ASC"
}

// checkGovLists checks every ordering and filter of proposals, votes and delegates, and
// the lists of each account, against orders computed from chain values.
func (h *harness) checkGovLists(ctx context.Context, c *checker, o *oracle, k int) {
	top := func(field, args string, node string, idOf func(obj) string, desc bool, want []item) listSpec {
		return listSpec{name: fmt.Sprintf("%s(%s)", field, args), outer: "%s", field: field, args: args, node: node, idOf: idOf, desc: desc, want: want}
	}
	pid := idField(c, "id")
	props := func(keep func(*oProposal) bool, key func(*oProposal) []*big.Int) []item {
		var w []item
		for _, p := range o.proposals {
			if keep == nil || keep(p) {
				w = append(w, item{p.id.String(), key(p)})
			}
		}
		return w
	}
	created := func(p *oProposal) []*big.Int { return p.created.key() }
	orders := map[string]func(*oProposal) []*big.Int{
		"CREATED":     created,
		"VOTING_ENDS": func(p *oProposal) []*big.Int { return keyOf(p.deadline) },
		"VOTES":       func(p *oProposal) []*big.Int { return []*big.Int{p.total()} },
	}
	for _, by := range []string{"CREATED", "VOTING_ENDS", "VOTES"} {
		for _, desc := range []bool{true, false} {
			h.checkList(ctx, c, top("proposals", fmt.Sprintf("orderBy: %s, orderDirection: %s", by, dir(desc)), "id", pid, desc, props(nil, orders[by])), k)
		}
	}
	// Filters, under the default order and under VOTES.
	filters := map[string]func(*oProposal) bool{}
	for st := range stateNames {
		filters[fmt.Sprintf("state: %s", stateNames[st])] = func(p *oProposal) bool { return int(p.state) == st }
	}
	for _, a := range o.addrs {
		filters[fmt.Sprintf("proposer: %q", lower(a))] = func(p *oProposal) bool { return p.proposer == a }
	}
	for _, v := range o.versions[:min(4, len(o.versions))] {
		filters[fmt.Sprintf("modelVersion: \"%d\"", v.id)] = func(p *oProposal) bool {
			for _, x := range p.versions {
				if x == v.id {
					return true
				}
			}
			return false
		}
	}
	if n := len(o.proposals); n > 2 {
		mid := o.proposals[n/2].created.time
		filters[fmt.Sprintf("createdAfter: %q", fmtTime(mid))] = func(p *oProposal) bool { return p.created.time > mid }
		filters[fmt.Sprintf("createdBefore: %q", fmtTime(mid))] = func(p *oProposal) bool { return p.created.time < mid }
	}
	filters[`titleContains: "pROPOSAL 1"`] = func(p *oProposal) bool {
		return strings.Contains(strings.ToLower(title(p.ev.Description)), "proposal 1")
	}
	for f, keep := range filters {
		h.checkList(ctx, c, top("proposals", "where: {"+f+"}", "id", pid, true, props(keep, created)), k)
		if strings.HasPrefix(f, "state") {
			h.checkList(ctx, c, top("proposals", "where: {"+f+"}, orderBy: VOTES, orderDirection: ASC", "id", pid, false, props(keep, orders["VOTES"])), k)
		}
	}

	// Votes: by time (every filter) and by weight within a proposal.
	vid := func(v *oVote) string { return v.proposal.id.String() + ":" + lower(v.voter) }
	votes := func(keep func(*oVote) bool, key func(*oVote) []*big.Int) []item {
		var w []item
		for _, v := range o.votes {
			if keep(v) {
				w = append(w, item{vid(v), key(v)})
			}
		}
		return w
	}
	byTime := func(v *oVote) []*big.Int { return v.prov.key() }
	byWeight := func(v *oVote) []*big.Int { return []*big.Int{v.weight} }
	all := func(*oVote) bool { return true }
	for _, desc := range []bool{true, false} {
		h.checkList(ctx, c, top("votes", "orderDirection: "+dir(desc), "id", pid, desc, votes(all, byTime)), k)
	}
	for s := range supportNames {
		h.checkList(ctx, c, top("votes", "where: {support: "+supportNames[s]+"}", "id", pid, true, votes(func(v *oVote) bool { return int(v.support) == s }, byTime)), k)
	}
	for _, a := range o.addrs {
		if len(o.accounts[a].votesCast) > 0 {
			h.checkList(ctx, c, top("votes", fmt.Sprintf("where: {voter: %q}", a.Hex()), "id", pid, true, votes(func(v *oVote) bool { return v.voter == a }, byTime)), k)
		}
	}
	for _, p := range o.proposals {
		if len(p.votes) < 2 {
			continue
		}
		of := func(v *oVote) bool { return v.proposal == p }
		for _, desc := range []bool{true, false} {
			h.checkList(ctx, c, top("votes", fmt.Sprintf("where: {proposal: %q}, orderBy: WEIGHT, orderDirection: %s", p.id.String(), dir(desc)), "id", pid, desc, votes(of, byWeight)), 2)
			h.checkList(ctx, c, listSpec{name: "proposal.votes(orderBy: WEIGHT, " + dir(desc) + ")", outer: fmt.Sprintf("proposal(id: %q) { %%s }", p.id.String()), path: []string{"proposal"},
				field: "votes", args: "orderBy: WEIGHT, orderDirection: " + dir(desc), node: "id", idOf: pid, desc: desc, want: votes(of, byWeight)}, 2)
		}
		h.checkList(ctx, c, listSpec{name: "proposal.votes(orderBy: TIME)", outer: fmt.Sprintf("proposal(id: %q) { %%s }", p.id.String()), path: []string{"proposal"},
			field: "votes", args: "orderBy: TIME", node: "id", idOf: pid, desc: true, want: votes(of, byTime)}, 2)
	}

	// Delegates: accounts with voting power or with delegators, whatever the order.
	addr := idField(c, "address")
	delegates := func(key func(*oAccount) []*big.Int) []item {
		var w []item
		for _, a := range o.addrs {
			if acc := o.accounts[a]; acc.votes.Sign() > 0 || len(acc.delegators) > 0 {
				w = append(w, item{a.Hex(), key(acc)})
			}
		}
		return w
	}
	for _, desc := range []bool{true, false} {
		byPower := top("delegates", "orderBy: VOTING_POWER, orderDirection: "+dir(desc), "address", addr, desc,
			delegates(func(a *oAccount) []*big.Int { return []*big.Int{a.votes} }))
		h.checkList(ctx, c, byPower, 2)
		h.checkOrderOnly(ctx, c, byPower)
		h.checkList(ctx, c, top("delegates", "orderBy: DELEGATORS, orderDirection: "+dir(desc), "address", addr, desc,
			delegates(func(a *oAccount) []*big.Int { return keyOf(uint64(len(a.delegators))) })), 2)
	}

	// Each account's delegators (latest delegation first), delegations and votes.
	for _, a := range o.addrs {
		acc := o.accounts[a]
		outer, path := fmt.Sprintf("account(address: %q) { %%s }", a.Hex()), []string{"account"}
		var dl, dg, vs []item
		for _, d := range acc.delegators {
			dl = append(dl, item{d.Hex(), o.lastDelegation(d).key()})
		}
		for _, d := range acc.delegations {
			dg = append(dg, item{fmtProv(d.prov), d.prov.key()})
		}
		for _, v := range acc.votesCast {
			vs = append(vs, item{vid(v), v.prov.key()})
		}
		for _, desc := range []bool{true, false} {
			h.checkList(ctx, c, listSpec{name: "account.delegators(" + dir(desc) + ")", outer: outer, path: path, field: "delegators", args: "orderDirection: " + dir(desc),
				node: "address", idOf: addr, desc: desc, want: dl}, 2)
		}
		h.checkList(ctx, c, listSpec{name: "account.delegations", outer: outer, path: path, field: "delegations",
			node: "provenance " + provSel, idOf: func(n obj) string { return apiProv(c, sub(c.t, n, "provenance")) }, desc: true, want: dg}, 3)
		h.checkList(ctx, c, listSpec{name: "account.votes", outer: outer, path: path, field: "votes", node: "id", idOf: pid, desc: true, want: vs}, 3)
		h.checkDelegations(ctx, c, a.Hex(), acc)
	}
}

// checkDelegations compares the from and to of an account's delegations with the
// DelegateChanged events.
func (h *harness) checkDelegations(ctx context.Context, c *checker, a string, acc *oAccount) {
	t := c.t
	data := h.query(ctx, t, fmt.Sprintf(`{ account(address: %q) { delegations(first: 1000, orderDirection: ASC) { edges { node { delegator { address } from { address } to { address } provenance %s } } } } }`, a, provSel))
	edges := list(t, data, "account", "delegations", "edges")
	var got, want []string
	opt := func(o obj) string {
		if o == nil {
			return "<null>"
		}
		return str(t, o, "address")
	}
	for _, e := range edges {
		n := sub(t, e, "node")
		got = append(got, fmt.Sprintf("%s→%s→%s@%s", opt(sub(t, n, "delegator")), opt(sub(t, n, "from")), opt(sub(t, n, "to")), apiProv(c, sub(t, n, "provenance"))))
	}
	for _, d := range acc.delegations {
		want = append(want, fmt.Sprintf("%s→%s→%s@%s", fmtAddr(d.delegator), fmtOptAddr(d.from), fmtOptAddr(d.to), fmtProv(d.prov)))
	}
	c.eq("account delegations", "account "+a, strings.Join(got, "; "), strings.Join(want, "; "))
}
