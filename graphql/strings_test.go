package graphql_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/internal/scenario"
)

// shown is the documented display form of chain bytes, computed independently of the API:
// Go's conversion to runes gives one U+FFFD for each byte that does not start a valid UTF-8
// sequence.
func shown(raw string) string { return string([]rune(raw)) }

func rawHex(raw string) string { return "0x" + hex.EncodeToString([]byte(raw)) }

// gql runs a query and decodes its data into out, failing on any error.
func gql(t *testing.T, url, q string, out any) {
	t.Helper()
	status, r, body := post(t, url, "application/json", query(q))
	if status != 200 || len(r.Errors) > 0 {
		t.Fatalf("query %.80s…: status %d: %.500s", q, status, body)
	}
	buf, _ := json.Marshal(r.Data)
	if err := json.Unmarshal(buf, out); err != nil {
		t.Fatal(err)
	}
}

// pair is a String field and its …Raw companion as the API answers them.
type pair struct{ Shown, Raw string }

// check compares a String/…Raw pair with the chain's bytes.
func (p pair) check(t *testing.T, what, chain string) {
	t.Helper()
	if p.Raw != rawHex(chain) {
		t.Errorf("%s: raw %s, chain %s (%q)", what, p.Raw, rawHex(chain), chain)
	}
	if p.Shown != shown(chain) {
		t.Errorf("%s: shown %q, want %q for chain bytes %q", what, p.Shown, shown(chain), chain)
	}
	if !utf8.ValidString(p.Shown) {
		t.Errorf("%s: shown %q is not valid UTF-8", what, p.Shown)
	}
}

// TestInvalidUTF8InTheAPI indexes a chain whose every free string holds invalid UTF-8,
// multi-byte UTF-8 and NULs, and checks every string field of the API against the chain:
// the String shows the documented replacement, the …Raw field the exact bytes, and the
// String and …Raw filters match exact bytes (two tags that look alike are told apart).
func TestInvalidUTF8InTheAPI(t *testing.T) {
	ctx := context.Background()
	s, err := scenario.New(ctx, 31, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Hostile(ctx, 31, 150); err != nil {
		s.Close()
		t.Fatal(err)
	}
	e, err := newEnv(ctx, s, graphql.Options{ChainID: devchain.ChainID})
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	defer e.close()
	d := s.DAO
	all := &bind.FilterOpts{Start: 0, Context: ctx}

	// Versions: labels, CIDs, licences, tags, and the reasons of their history.
	var vs struct {
		ModelVersions struct {
			Edges []struct{ Node versionStrings }
		}
	}
	gql(t, e.url, `{ modelVersions(first: 1000, orderDirection: ASC) { edges { node {
		id label labelRaw weightsCid weightsCidRaw modelCardCid modelCardCidRaw license licenseRaw tags tagsRaw
		history { reason reasonRaw } } } } }`, &vs)
	subs, err := d.Registry.FilterVersionSubmitted(all, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	byTag := map[string][]string{}     // raw tag → version ids
	byLicense := map[string][]string{} // raw licence → version ids
	n := 0
	for ; subs.Next(); n++ {
		ev := subs.Event
		id := ev.VersionId.String()
		i := slices.IndexFunc(vs.ModelVersions.Edges, func(x struct{ Node versionStrings }) bool { return x.Node.ID == id })
		if i < 0 {
			t.Fatalf("version %s not served", id)
		}
		v := vs.ModelVersions.Edges[i].Node
		pair{v.Label, v.LabelRaw}.check(t, "version "+id+" label", ev.VersionLabel)
		pair{v.WeightsCid, v.WeightsCidRaw}.check(t, "version "+id+" weightsCid", ev.WeightsCID)
		pair{v.ModelCardCid, v.ModelCardCidRaw}.check(t, "version "+id+" modelCardCid", ev.ModelCardCID)
		pair{v.License, v.LicenseRaw}.check(t, "version "+id+" license", ev.License)
		if len(v.Tags) != len(ev.Tags) || len(v.TagsRaw) != len(ev.Tags) {
			t.Fatalf("version %s: tags %q / %q, chain %q", id, v.Tags, v.TagsRaw, ev.Tags)
		}
		for j, tag := range ev.Tags {
			pair{v.Tags[j], v.TagsRaw[j]}.check(t, fmt.Sprintf("version %s tag %d", id, j), tag)
			if !slices.Contains(byTag[tag], id) {
				byTag[tag] = append(byTag[tag], id)
			}
		}
		byLicense[ev.License] = append(byLicense[ev.License], id)
		if len(v.History) == 0 {
			t.Fatalf("version %s has no history", id)
		}
	}
	if n != len(vs.ModelVersions.Edges) || n < 5 {
		t.Fatalf("%d versions on chain, %d served", n, len(vs.ModelVersions.Edges))
	}
	// A version is rejected or revoked at most once: its last change carries the reason.
	reasons := map[string]string{}
	rej, err := d.Registry.FilterVersionRejected(all, nil)
	if err != nil {
		t.Fatal(err)
	}
	for rej.Next() {
		reasons[rej.Event.VersionId.String()] = rej.Event.Reason
	}
	rev, err := d.Registry.FilterVersionRevoked(all, nil)
	if err != nil {
		t.Fatal(err)
	}
	for rev.Next() {
		reasons[rev.Event.VersionId.String()] = rev.Event.Reason
	}
	if len(reasons) == 0 {
		states := map[modeldao.ProposalState]int{}
		for _, p := range s.Proposals {
			st, _ := d.Governor.State(nil, p.ID())
			states[modeldao.ProposalState(st)]++
		}
		t.Fatalf("no version was rejected or revoked: the history is too thin (proposals by state %v)", states)
	}
	for _, x := range vs.ModelVersions.Edges {
		v := x.Node
		last := v.History[len(v.History)-1]
		pair{last.Reason, last.ReasonRaw}.check(t, "version "+v.ID+" reason", reasons[v.ID])
	}

	// Filters match exact bytes: the twin tags "tag\xff" and "tag\uFFFD" look the same.
	twinInvalid, twinValid := scenario.HostileStrings(0).Twins("tag")
	if len(byTag[twinInvalid]) == 0 || len(byTag[twinValid]) == 0 {
		t.Fatalf("the history has no versions with both twin tags: %d and %d", len(byTag[twinInvalid]), len(byTag[twinValid]))
	}
	ids := func(where string) []string {
		var r struct {
			ModelVersions struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		gql(t, e.url, `{ modelVersions(first: 1000, orderDirection: ASC, where: `+where+`) { edges { node { id } } } }`, &r)
		out := []string{}
		for _, x := range r.ModelVersions.Edges {
			out = append(out, x.Node.ID)
		}
		return out
	}
	sorted := func(xs []string) []string {
		out := slices.Clone(xs)
		slices.SortFunc(out, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
		if out == nil {
			out = []string{}
		}
		return out
	}
	for tag, want := range byTag {
		if got := ids(fmt.Sprintf(`{tagRaw: %q}`, rawHex(tag))); !slices.Equal(got, sorted(want)) {
			t.Errorf("tagRaw %q: versions %v, want %v", tag, got, sorted(want))
		}
		if utf8 := shown(tag) == tag; utf8 {
			if got := ids(fmt.Sprintf(`{tag: %s}`, strconv.Quote(tag))); !slices.Equal(got, sorted(want)) {
				t.Errorf("tag %q: versions %v, want %v", tag, got, sorted(want))
			}
		}
	}
	// The shown text of an invalid tag matches only the tag that really is that text.
	if got := ids(fmt.Sprintf(`{tag: %s}`, strconv.Quote(shown(twinInvalid)))); !slices.Equal(got, sorted(byTag[twinValid])) {
		t.Errorf("tag %q (the shown form of %q): versions %v, want only those tagged with the valid twin %v", shown(twinInvalid), twinInvalid, got, sorted(byTag[twinValid]))
	}
	for lic, want := range byLicense {
		if got := ids(fmt.Sprintf(`{licenseRaw: %q}`, rawHex(lic))); !slices.Equal(got, sorted(want)) {
			t.Errorf("licenseRaw %q: versions %v, want %v", lic, got, sorted(want))
		}
	}

	// Proposals: descriptions, titles, and the string arguments of their calls.
	var ps struct {
		Proposals struct {
			Edges []struct{ Node proposalStrings }
		}
	}
	gql(t, e.url, `{ proposals(first: 1000) { edges { node { id title titleRaw description descriptionRaw
		actions { args { name value valueRaw } } } } } }`, &ps)
	created, err := d.Governor.FilterProposalCreated(all)
	if err != nil {
		t.Fatal(err)
	}
	n = 0
	for ; created.Next(); n++ {
		ev := created.Event
		id := ev.ProposalId.String()
		i := slices.IndexFunc(ps.Proposals.Edges, func(x struct{ Node proposalStrings }) bool { return x.Node.ID == id })
		if i < 0 {
			t.Fatalf("proposal %s not served", id)
		}
		p := ps.Proposals.Edges[i].Node
		pair{p.Description, p.DescriptionRaw}.check(t, "proposal "+id+" description", ev.Description)
		pair{p.Title, p.TitleRaw}.check(t, "proposal "+id+" title", modeldao.ProposalTitle(ev.Description))
		for j, data := range ev.Calldatas {
			m, err := contracts.RegistryABI.MethodById(data[:4])
			if err != nil {
				t.Fatal(err)
			}
			args := map[string]any{}
			if err := m.Inputs.UnpackIntoMap(args, data[4:]); err != nil {
				t.Fatal(err)
			}
			for name, v := range args {
				str, ok := v.(string)
				if !ok {
					continue
				}
				k := slices.IndexFunc(p.Actions[j].Args, func(a argStrings) bool { return a.Name == name })
				if k < 0 {
					t.Fatalf("proposal %s action %d: no argument %s", id, j, name)
				}
				a := p.Actions[j].Args[k]
				pair{a.Value, a.ValueRaw}.check(t, fmt.Sprintf("proposal %s action %d %s", id, j, name), str)
			}
		}
	}
	if n != len(ps.Proposals.Edges) {
		t.Fatalf("%d proposals on chain, %d served", n, len(ps.Proposals.Edges))
	}

	// Votes: reasons.
	var votes struct {
		Votes struct {
			Edges []struct {
				Node struct {
					ID, Reason, ReasonRaw string
				}
			}
		}
	}
	gql(t, e.url, `{ votes(first: 1000) { edges { node { id reason reasonRaw } } } }`, &votes)
	cast, err := d.Governor.FilterVoteCast(all, nil)
	if err != nil {
		t.Fatal(err)
	}
	n = 0
	for ; cast.Next(); n++ {
		ev := cast.Event
		id := ev.ProposalId.String() + ":" + strings.ToLower(ev.Voter.Hex())
		i := slices.IndexFunc(votes.Votes.Edges, func(x struct {
			Node struct{ ID, Reason, ReasonRaw string }
		}) bool {
			return x.Node.ID == id
		})
		if i < 0 {
			t.Fatalf("vote %s not served", id)
		}
		v := votes.Votes.Edges[i].Node
		pair{v.Reason, v.ReasonRaw}.check(t, "vote "+id+" reason", ev.Reason)
	}
	if n == 0 || n != len(votes.Votes.Edges) {
		t.Fatalf("%d votes on chain, %d served", n, len(votes.Votes.Edges))
	}

	// Audits, policies and auditors, against the registry's views and events.
	var regs struct {
		Audits struct {
			Edges []struct {
				Node struct {
					ID, ReportCid, ReportCidRaw string
					Metrics                     []struct{ SensitiveFeature, SensitiveFeatureRaw string }
				}
			}
		}
		Policies struct {
			Edges []struct {
				Node struct{ ID, Name, NameRaw, Version, VersionRaw, DocumentCid, DocumentCidRaw string }
			}
		}
		Auditors struct {
			Edges []struct {
				Node struct{ Address, Name, NameRaw string }
			}
		}
	}
	gql(t, e.url, `{ audits(first: 1000) { edges { node { id reportCid reportCidRaw metrics { sensitiveFeature sensitiveFeatureRaw } } } }
		policies(first: 1000) { edges { node { id name nameRaw version versionRaw documentCid documentCidRaw } } }
		auditors(first: 1000) { edges { node { address name nameRaw } } } }`, &regs)
	if len(regs.Audits.Edges) < 2 || len(regs.Policies.Edges) < 2 || len(regs.Auditors.Edges) < 2 {
		states := map[modeldao.ProposalState]int{}
		for _, p := range s.Proposals {
			st, _ := d.Governor.State(nil, p.ID())
			states[modeldao.ProposalState(st)]++
		}
		t.Fatalf("the history is too thin: %d audits, %d policies, %d auditors (proposals by state %v)", len(regs.Audits.Edges), len(regs.Policies.Edges), len(regs.Auditors.Edges), states)
	}
	for _, x := range regs.Audits.Edges {
		a := x.Node
		id, _ := new(big.Int).SetString(a.ID, 10)
		ca, err := d.Registry.GetAudit(nil, id)
		if err != nil {
			t.Fatal(err)
		}
		pair{a.ReportCid, a.ReportCidRaw}.check(t, "audit "+a.ID+" reportCid", ca.ReportCID)
		for j, m := range ca.Metrics {
			pair{a.Metrics[j].SensitiveFeature, a.Metrics[j].SensitiveFeatureRaw}.check(t, fmt.Sprintf("audit %s metric %d", a.ID, j), m.SensitiveFeature)
		}
	}
	for _, x := range regs.Policies.Edges {
		p := x.Node
		id, _ := new(big.Int).SetString(p.ID, 10)
		cp, err := d.Registry.GetPolicy(nil, id)
		if err != nil {
			t.Fatal(err)
		}
		pair{p.Name, p.NameRaw}.check(t, "policy "+p.ID+" name", cp.Name)
		pair{p.Version, p.VersionRaw}.check(t, "policy "+p.ID+" version", cp.Version)
		pair{p.DocumentCid, p.DocumentCidRaw}.check(t, "policy "+p.ID+" documentCid", cp.DocumentCID)
	}
	added, err := d.Registry.FilterAuditorAdded(all, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{} // the latest name of each auditor
	for added.Next() {
		names[strings.ToLower(added.Event.Auditor.Hex())] = added.Event.Name
	}
	for _, x := range regs.Auditors.Edges {
		a := x.Node
		pair{a.Name, a.NameRaw}.check(t, "auditor "+a.Address+" name", names[strings.ToLower(a.Address)])
	}
}

type versionStrings struct {
	ID                            string
	Label, LabelRaw               string
	WeightsCid, WeightsCidRaw     string
	ModelCardCid, ModelCardCidRaw string
	License, LicenseRaw           string
	Tags, TagsRaw                 []string
	History                       []struct{ Reason, ReasonRaw string }
}

type argStrings struct{ Name, Value, ValueRaw string }

type proposalStrings struct {
	ID                          string
	Title, TitleRaw             string
	Description, DescriptionRaw string
	Actions                     []struct{ Args []argStrings }
}
