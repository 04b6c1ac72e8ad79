package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/pinning"
	"github.com/modeldao/modeldao/release"
)

// TestCLI runs `modeldao dev` in-process and the commands of every kind of user against it,
// then stops it and checks that nothing is left behind.
func TestCLI(t *testing.T) {
	start := time.Now()
	before := children(t)
	dev := startDev(t)
	stopped := false
	defer func() {
		if !stopped {
			dev.cancel()
			<-dev.done
		}
	}()
	info := dev.info
	t.Logf("dev stack ready in %s (seeded in %s)", time.Since(start).Round(time.Millisecond), info.Seed.Elapsed)
	ctx := context.Background()
	api := client.New(info.GraphQLURL, nil)
	eth, err := ethclient.Dial(info.RPCURL)
	if err != nil {
		t.Fatal(err)
	}
	defer eth.Close()
	dao, err := contracts.Bind(info.Deployment, eth)
	if err != nil {
		t.Fatal(err)
	}
	e := env{"ETH_RPC_URL": info.RPCURL, "MODELDAO_API_URL": info.GraphQLURL, "IPFS_API_URL": info.IPFSAPIURL,
		"REDIS_URL": info.RedisURL, "DEPLOYMENT_FILE": info.DeploymentFile}
	addr := func(i int) common.Address { return common.HexToAddress(info.Accounts[i].Address) }
	// indexed waits until the API has indexed block n.
	indexed := func(t *testing.T, n uint64) {
		t.Helper()
		waitFor(t, fmt.Sprintf("the API to index block %d", n), func() (bool, error) {
			st, err := api.IndexerStatus(ctx)
			return err == nil && st.IndexedBlock >= n, err
		})
	}
	head := func(t *testing.T) uint64 {
		t.Helper()
		n, err := eth.BlockNumber(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	f := devFixture{ctx: ctx, e: e, info: info, addr: addr, indexed: indexed, head: head}

	t.Run("seeded", func(t *testing.T) {
		approved, err := api.ModelVersions(ctx, client.VersionQuery{Status: "APPROVED"})
		if err != nil {
			t.Fatal(err)
		}
		if len(approved.Items) != 1 || approved.Items[0].Pin == nil || approved.Items[0].Pin.Status != "PINNED" {
			t.Fatalf("want one approved version, pinned: %+v", approved.Items)
		}
		v := approved.Items[0]
		ipfs, err := pinning.NewClient(info.IPFSAPIURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := release.Verify(ctx, release.Kubo{API: ipfs.HttpApi, Addr: info.IPFSAPIURL}, v.WeightsCID, v.WeightsSHA256, nil); err != nil {
			t.Errorf("the approved version's release in IPFS: %v", err)
		}
		page, err := api.Proposals(ctx, client.ProposalQuery{Page: client.First(50)})
		if err != nil {
			t.Fatal(err)
		}
		states := map[string]bool{}
		for _, p := range page.Items {
			states[p.State] = true
		}
		for _, s := range []string{"PENDING", "ACTIVE", "CANCELED", "DEFEATED", "SUCCEEDED", "QUEUED", "EXECUTED"} {
			if !states[s] {
				t.Errorf("no seeded proposal is %s: %v", s, states)
			}
		}
		votes, err := api.Votes(ctx, client.VoteQuery{Page: client.First(50)})
		if err != nil {
			t.Fatal(err)
		}
		reasons := 0
		for _, v := range votes.Items {
			if v.Reason != "" {
				reasons++
			}
		}
		if len(votes.Items) < 20 || reasons < 10 {
			t.Errorf("%d votes, %d with reasons", len(votes.Items), reasons)
		}
		acct, err := api.Account(ctx, addr(4), client.First(5))
		if err != nil {
			t.Fatal(err)
		}
		if acct.Delegate == nil || *acct.Delegate != addr(2) {
			t.Errorf("account 4 delegates to %v, want account 2", acct.Delegate)
		}
		// The query the banner suggests is valid.
		var out map[string]any
		if err := api.Exec(ctx, firstQuery, nil, &out); err != nil {
			t.Errorf("the banner's first query: %v", err)
		}
		// JSON-RPC over WebSocket goes through the dev chain's front too.
		ws, err := ethclient.Dial(info.WSURL)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		if id, err := ws.ChainID(ctx); err != nil || id.Uint64() != 1337 {
			t.Errorf("chain id over WebSocket: %v, %v", id, err)
		}
	})

	// The seeded approved versions against policies that fail each of them, and none.
	t.Run("policy dry run", func(t *testing.T) {
		approved, err := api.ModelVersions(ctx, client.VersionQuery{Status: "APPROVED"})
		if err != nil {
			t.Fatal(err)
		}
		isApproved := map[uint64]bool{}
		for _, v := range approved.Items {
			isApproved[v.ID] = true
		}
		// A difference of at most -1 fails every audit (differences are ≥ 0, or the kind is
		// missing); audit-required fails the versions approved without one: all of them.
		var impact []client.PolicyImpact
		ok(t, e, &impact, "propose", "policy", "--dry-run", "--json", "--audit-required", "--bound", "demographic_parity_difference<=-1")
		if len(impact) != len(isApproved) {
			t.Errorf("dry run lists %d versions, %d are approved: %+v", len(impact), len(isApproved), impact)
		}
		for _, p := range impact {
			if !isApproved[p.VersionID] || p.Reason == "" || (p.AuditID != 0) != (len(p.Failing) > 0) {
				t.Errorf("impact %+v", p)
			}
			for _, f := range p.Failing {
				if f.Passed || !f.Missing && f.Margin >= 0 || f.Bound.Limit != -modeldao.Fixed6Scale {
					t.Errorf("version %d: failing row %+v", p.VersionID, f)
				}
			}
		}
		r := ok(t, e, nil, "propose", "policy", "--dry-run", "--audit-required", "--bound", "demographic_parity_difference<=-1")
		if !strings.Contains(r.stdout, "| version | model | audit | metric | feature | bound | value | margin |") {
			t.Errorf("dry run table:\n%s", r.stdout)
		}
		// The README's example: the seeded version 1 (audit 1: DPD 0.041 and 0.058, DIR 0.86
		// and 0.83 on sex and age_group) fails on age_group.
		r = ok(t, e, nil, "propose", "policy", "--dry-run", "--audit-required", "--bound", "demographic_parity_difference<=0.05", "--bound", "disparate_impact_ratio>=0.85")
		for _, want := range []string{"1 approved version(s) would not meet the policy:",
			"| 1 | acme/sentiment-small 1.0.0 | 1 | DEMOGRAPHIC_PARITY_DIFFERENCE | age_group | ≤ 0.05 | 0.058 | -0.008 |",
			"| 1 | acme/sentiment-small 1.0.0 | 1 | DISPARATE_IMPACT_RATIO | age_group | ≥ 0.85 | 0.83 | -0.02 |"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("dry run: no %q in\n%s", want, r.stdout)
			}
		}
		if n := strings.Count(r.stdout, "\n| 1 |"); n != 2 {
			t.Errorf("dry run: %d rows, want 2:\n%s", n, r.stdout)
		}
		r = ok(t, e, nil, "propose", "policy", "--dry-run")
		if !strings.Contains(r.stdout, "Every approved version meets the policy.") {
			t.Errorf("dry run of a policy without bounds:\n%s", r.stdout)
		}
		fails(t, e, ExitUsage, "bounded twice", "propose", "policy", "--dry-run", "--bound", "disparate_impact_ratio>=0.8", "--bound", "disparate_impact_ratio>=0.9")
	})

	t.Run("usage", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(bad, []byte(`{"format":"modeldao-fairness-report/v1","policy":2,"passed":true,"bySensitiveFeature":{"sex":{"demographic_parity_difference":{"value":0.3,"threshold":0.1}}}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			args []string
			want string
		}{
			{nil, "Usage: modeldao <command>"},
			{[]string{"frobnicate"}, "unknown command"},
			{[]string{"vot"}, `Did you mean "vote"?`},
			{[]string{"vote"}, "missing arguments"},
			{[]string{"vote", "1", "maybe"}, "unknown vote"},
			{[]string{"vote", "abc", "for"}, "is not a proposal id"},
			{[]string{"vote", "1", "for", "--bogus"}, "flag provided but not defined: -bogus"},
			{[]string{"propose"}, "Commands:"},
			{[]string{"propose", "frob"}, "unknown subcommand"},
			{[]string{"propose", "reject", "2"}, "--reason is required"},
			{[]string{"propose", "policy", "--name", "x"}, "--version is required"},
			{[]string{"propose", "policy", "--bound", "nonsense"}, "want kind<=limit"},
			{[]string{"models", "--limit", "0"}, "--limit must be"},
			{[]string{"models", "--status", "GREAT"}, "unknown model version status"},
			{[]string{"delegate", "0x123"}, "is not an address"},
			{[]string{"publish", "/nonexistent", "--model", "a/b", "--version", "1", "--license", "MIT", "--card", "bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}, "cannot open the release"},
			{[]string{"publish", "/nonexistent", "--model", "a b", "--version", "1", "--license", "MIT", "--card", "x"}, "may only hold"},
			{[]string{"publish", "f", "--model", "a/b"}, "--version is required"},
			{[]string{"audit", "submit", bad}, "says passed=true"},
			{[]string{"delegate", "self"}, "no key to sign with"},
			{[]string{"digest", "--redis", ""}, "no Redis to read"},
			{[]string{"mine", "--time", "1500ms"}, "whole number of seconds"},
			{[]string{"dev", "--log-level", "loud"}, "--log-level"},
			{[]string{"help", "nothing"}, "no command"},
		} {
			r := run(t, e.with("MODELDAO_PRIVATE_KEY", ""), c.args...)
			if r.code != ExitUsage || !strings.Contains(r.stderr+r.stdout, c.want) {
				t.Errorf("modeldao %s: want exit 2 and %q, got %s", strings.Join(c.args, " "), c.want, r)
			}
		}
		// --help on every command (and help <command>) prints its usage and exits 0.
		for _, c := range commands {
			args := append(strings.Fields(c.name), "--help")
			r := run(t, e, args...)
			if r.code != 0 || !strings.Contains(r.stdout, "Usage: modeldao "+c.name) || !strings.Contains(r.stdout, c.summary) {
				t.Errorf("modeldao %s --help: %s", c.name, r)
			}
		}
		for _, args := range [][]string{{"help"}, {"--help"}, {"help", "propose", "approve"}, {"help", "propose"}, {"propose", "auditor", "--help"}} {
			if r := run(t, e, args...); r.code != 0 || !strings.Contains(r.stdout, "modeldao") {
				t.Errorf("modeldao %s: %s", strings.Join(args, " "), r)
			}
		}
		// Unavailable services: exit 3.
		fails(t, e, ExitUnavailable, "did not answer", "status", "--api", "http://127.0.0.1:1/graphql")
		fails(t, e, ExitUnavailable, "no Ethereum node answers", "vote", "1", "for", "--rpc", "http://127.0.0.1:1", "--dev-account", "0")
		r := fails(t, e, ExitUnavailable, "no Ethereum node answers", "vote", "1", "for", "--rpc", "http://127.0.0.1:1", "--dev-account", "0", "--json")
		var je struct{ Error struct{ ExitCode int } }
		if json.Unmarshal([]byte(r.stdout), &je) != nil || je.Error.ExitCode != ExitUnavailable {
			t.Errorf("--json error on stdout: %q", r.stdout)
		}
	})

	// publish: a weights file goes to IPFS, the version on chain, the approval proposal too.
	var pub publishResult
	t.Run("publish", func(t *testing.T) {
		dir := t.TempDir()
		weights := make([]byte, 5<<20)
		_, _ = rand.Read(weights)
		wf, card := filepath.Join(dir, "model.safetensors"), filepath.Join(dir, "card.md")
		if err := os.WriteFile(wf, weights, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(card, []byte("# test/tiny 0.1.0\n\nA test model.\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := ok(t, e, &pub, "publish", wf, "--model", "test/tiny", "--version", "0.1.0", "--license", "MIT", "--card", card,
			"--tag", "test", "--tag", "tiny,cli", "--propose", "--policy", "1", "--dev-account", "5", "--json")
		if !strings.Contains(r.stderr, "(100%)") {
			t.Errorf("no progress line on stderr:\n%s", r.stderr)
		}
		if want := common.Hash(sha256.Sum256(weights)); pub.WeightsSHA256 != want.Hex() || pub.Size != int64(len(weights)) {
			t.Errorf("published sha256 %s size %d, want %s %d", pub.WeightsSHA256, pub.Size, want.Hex(), len(weights))
		}
		if pub.Proposal == nil || pub.Proposal.ProposalID == "" {
			t.Fatalf("no approval proposal: %+v", pub)
		}
		ipfs, err := pinning.NewClient(info.IPFSAPIURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := pinning.Verify(ctx, ipfs, pub.WeightsCID, common.HexToHash(pub.WeightsSHA256)); err != nil || n != int64(len(weights)) {
			t.Errorf("weights in IPFS: %d bytes, %v", n, err)
		}
		indexed(t, pub.Proposal.Block)
		v, err := api.ModelVersion(ctx, pub.VersionID, client.First(5))
		if err != nil {
			t.Fatal(err)
		}
		if v.ModelName != "test/tiny" || v.Status != "SUBMITTED" || v.WeightsCID != pub.WeightsCID || v.Publisher != addr(5) ||
			strings.Join(v.Tags, ",") != "test,tiny,cli" || len(v.Proposals.Items) != 1 {
			t.Errorf("the API shows %+v", v)
		}
		// Publishing the same version again fails before uploading.
		fails(t, e, ExitFailure, "already published", "publish", wf, "--model", "test/tiny", "--version", "0.1.0", "--license", "MIT", "--card", card, "--dev-account", "5")
		// Another publisher may not publish versions of this model.
		fails(t, e, ExitFailure, "belongs to", "publish", wf, "--model", "test/tiny", "--version", "0.2.0", "--license", "MIT", "--card", card, "--dev-account", "6")
		// Voting opens after the snapshot.
		fails(t, e, ExitFailure, "voting has not opened yet", "vote", pub.Proposal.ProposalID, "for", "--dev-account", "1")
		// A policy that requires an audit cannot go with --propose.
		fails(t, e, ExitFailure, "requires an audit", "publish", wf, "--model", "test/tiny", "--version", "0.3.0", "--license", "MIT", "--card", card, "--propose", "--policy", "2", "--dev-account", "5")
	})
	if pub.Proposal == nil {
		t.Fatal("publish failed; the rest depends on it")
	}
	pid := pub.Proposal.ProposalID

	// A second proposal, named later by its description and its title.
	const desc = "# Register Test Auditors\n\nA third auditor, for the CLI test."
	var auditorProp proposalResult
	t.Run("propose", func(t *testing.T) {
		ok(t, e, &auditorProp, "propose", "auditor", "add", addr(9).Hex(), "--name", "Test Auditors", "--description", desc, "--dev-account", "0", "--json")
		fails(t, e, ExitFailure, "exists already", "propose", "auditor", "add", addr(9).Hex(), "--name", "Test Auditors", "--description", desc, "--dev-account", "0")
		fails(t, e, ExitFailure, "is already a registered auditor", "propose", "auditor", "add", addr(7).Hex(), "--name", "Again", "--dev-account", "0")
		var rej, appr, pol proposalResult
		ok(t, e, &rej, "propose", "reject", "2", "--reason", "bias above the bound", "--dev-account", "1", "--json")
		fails(t, e, ExitFailure, "only APPROVED versions can be revoked", "propose", "revoke", "3", "--reason", "x", "--dev-account", "1")
		ok(t, e, nil, "propose", "revoke", "1", "--reason", "superseded", "--dev-account", "3")
		ok(t, e, nil, "propose", "auditor", "remove", addr(8).Hex(), "--dev-account", "3")
		fails(t, e, ExitFailure, "is not a registered auditor", "propose", "auditor", "remove", addr(9).Hex(), "--dev-account", "3")
		fails(t, e, ExitFailure, "there is no model version 99", "propose", "approve", "99", "--dev-account", "1")
		// Version 6 has a passing audit (4) under the baseline policy: found on chain.
		ok(t, e, &appr, "propose", "approve", "6", "--dev-account", "1", "--json")
		if !strings.Contains(appr.Description, "relying on audit 4") {
			t.Errorf("approval of version 6: %q", appr.Description)
		}
		// Its evidence, a Markdown table in the description: audit 4 measured DPD 0.022 on
		// sex and 0.047 on race, DIR 0.95 and 0.88, under DPD ≤ 0.1 and DIR ≥ 0.8.
		for _, row := range []string{
			"| DEMOGRAPHIC_PARITY_DIFFERENCE | sex | ≤ 0.1 | 0.022 | 0.078 | pass |",
			"| DEMOGRAPHIC_PARITY_DIFFERENCE | race | ≤ 0.1 | 0.047 | 0.053 | pass |",
			"| DISPARATE_IMPACT_RATIO | race | ≥ 0.8 | 0.88 | 0.08 | pass |",
			"Audit 4 by " + addr(7).Hex(),
		} {
			if !strings.Contains(appr.Description, row) {
				t.Errorf("approval of version 6: no %q in its description:\n%s", row, appr.Description)
			}
		}
		// Version 2's only audit fails the baseline.
		fails(t, e, ExitFailure, "requires a passing audit", "propose", "approve", "2", "--policy", "2", "--dev-account", "1")
		doc := filepath.Join(t.TempDir(), "policy.md")
		if err := os.WriteFile(doc, []byte("# Strict policy\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		ok(t, e, &pol, "propose", "policy", "--name", "strict", "--version", "2.0", "--document", doc, "--audit-required",
			"--bound", "demographic_parity_difference<=0.05", "--bound", "disparate_impact_ratio>=0.9", "--attach-impact", "--dev-account", "2", "--json")
		// The seeded version 1 (audit 1: DIR 0.86 on sex) fails DIR ≥ 0.9: its row is in the description.
		if row := "| 1 | acme/sentiment-small 1.0.0 | 1 | DISPARATE_IMPACT_RATIO | sex | ≥ 0.9 | 0.86 | -0.04 |"; !strings.Contains(pol.Description, "## Impact on approved versions") ||
			!strings.Contains(pol.Description, row) {
			t.Errorf("policy proposal with --attach-impact: no %q in\n%s", row, pol.Description)
		}
		indexed(t, pol.Block)
		p, err := api.Proposal(ctx, pol.ProposalID, "", client.First(5))
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Actions) != 1 || p.Actions[0].Method != "adoptPolicy" || p.Title != "Adopt the policy strict 2.0" {
			t.Errorf("policy proposal in the API: %+v", p)
		}
	})

	// vote and delegate, with keys from the environment, a keystore and --dev-account.
	t.Run("vote", func(t *testing.T) {
		ok(t, e, nil, "mine", "--blocks", "2")
		var v1 voteResult
		ok(t, e.with("MODELDAO_PRIVATE_KEY", info.Accounts[1].PrivateKey), &v1, "vote", pid, "for", "--reason", "Looks good to me", "--json")
		if v1.Weight != devTokens(1250).String() || v1.Voter != addr(1).Hex() {
			t.Errorf("vote of account 1: %+v", v1)
		}
		fails(t, e, ExitFailure, "has already voted", "vote", pid, "against", "--dev-account", "1")
		// Account 3 votes with an encrypted keystore.
		dir := t.TempDir()
		key, err := crypto.HexToECDSA(strings.TrimPrefix(info.Accounts[3].PrivateKey, "0x"))
		if err != nil {
			t.Fatal(err)
		}
		ks := keystore.NewKeyStore(dir, keystore.LightScryptN, keystore.LightScryptP)
		acct, err := ks.ImportECDSA(key, "s3cret")
		if err != nil {
			t.Fatal(err)
		}
		pw := filepath.Join(dir, "password")
		if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		fails(t, e, ExitFailure, "cannot decrypt", "vote", pid, "against", "--keystore", acct.URL.Path, "--password-file", filepath.Join("testdata", "fairness-report.json"))
		ok(t, e, nil, "vote", pid, "against", "--reason", "Too small to matter", "--keystore", acct.URL.Path, "--password-file", pw)
		ok(t, e, nil, "vote", pid, "for", "--dev-account", "2")
		for _, i := range []string{"0", "2"} {
			ok(t, e, nil, "vote", auditorProp.ProposalID, "for", "--dev-account", i)
		}
		// Account 9 delegates to account 3.
		var del map[string]any
		ok(t, e, &del, "delegate", addr(3).Hex(), "--dev-account", "9", "--json")
		indexed(t, uint64(del["block"].(float64)))
		votes, err := api.Votes(ctx, client.VoteQuery{ProposalID: pid})
		if err != nil {
			t.Fatal(err)
		}
		got := map[common.Address]client.Vote{}
		for _, v := range votes.Items {
			got[v.Voter] = v
		}
		if v := got[addr(1)]; v.Support != "FOR" || v.Reason != "Looks good to me" || v.Weight.Cmp(devTokens(1250)) != 0 {
			t.Errorf("vote of account 1 in the API: %+v", v)
		}
		if v := got[addr(3)]; v.Support != "AGAINST" || v.Reason != "Too small to matter" {
			t.Errorf("vote of account 3 in the API: %+v", v)
		}
		a9, err := api.Account(ctx, addr(9), client.First(5))
		if err != nil {
			t.Fatal(err)
		}
		if a9.Delegate == nil || *a9.Delegate != addr(3) {
			t.Errorf("account 9 delegates to %v in the API, want %s", a9.Delegate, addr(3).Hex())
		}
		a3, err := api.Account(ctx, addr(3), client.First(5))
		if err != nil {
			t.Fatal(err)
		}
		if onChain, err := dao.Token.GetVotes(nil, addr(3)); err != nil || onChain.Cmp(a3.VotingPower) != 0 || onChain.Cmp(devTokens(1250)) != 0 {
			t.Errorf("voting power of account 3: chain %v (%v), API %v", onChain, err, a3.VotingPower)
		}
	})

	// queue and execute, by id, by description and by title.
	t.Run("queue and execute", func(t *testing.T) {
		fails(t, e, ExitFailure, "the proposal is ACTIVE: voting ends after block", "queue", pid, "--dev-account", "0")
		ok(t, e, nil, "mine", "--blocks", "31")
		ok(t, e, nil, "queue", pid, "--dev-account", "0")
		ok(t, e, nil, "queue", desc, "--dev-account", "0")
		fails(t, e, ExitFailure, "the timelock delay has not passed", "execute", pid, "--dev-account", "0")
		fails(t, e, ExitFailure, "no proposal has the description or a title containing", "execute", "no such proposal", "--dev-account", "0")
		ok(t, e, nil, "mine", "--blocks", "0", "--time", "61s")
		var ex map[string]any
		ok(t, e, &ex, "execute", pid, "--dev-account", "0", "--json")
		indexed(t, uint64(ex["block"].(float64)))
		ok(t, e, nil, "execute", "Register Test Auditors", "--dev-account", "0")
		if is, err := dao.Registry.IsAuditor(nil, addr(9)); err != nil || !is {
			t.Errorf("account 9 is not an auditor after the execution: %v", err)
		}
		waitFor(t, "the published version to be pinned", func() (bool, error) {
			v, err := api.ModelVersion(ctx, pub.VersionID, client.First(1))
			if err != nil {
				return false, err
			}
			return v.Status == "APPROVED" && v.Pin != nil && v.Pin.Status == "PINNED", nil
		})
	})

	t.Run("audit submit", func(t *testing.T) {
		fails(t, e, ExitFailure, "is not a registered auditor", "audit", "submit", filepath.Join("testdata", "fairness-report.json"), "--version", "6", "--dev-account", "3")
		fails(t, e, ExitUsage, "the report is under policy 2, not 1", "audit", "submit", filepath.Join("testdata", "fairness-report.json"), "--version", "6", "--policy", "1", "--dev-account", "7")
		var res auditResult
		ok(t, e, &res, "audit", "submit", filepath.Join("testdata", "fairness-report.json"), "--version", "6", "--dev-account", "7", "--json")
		if res.AuditID == 0 || !res.Passed || !res.MeetsPolicy || len(res.Metrics) != 5 || res.PolicyID != 2 {
			t.Errorf("audit: %+v", res)
		}
		indexed(t, res.Block)
		v, err := api.ModelVersion(ctx, 6, client.First(10))
		if err != nil {
			t.Fatal(err)
		}
		var found *client.Audit
		for i, a := range v.Audits.Items {
			if a.ID == res.AuditID {
				found = &v.Audits.Items[i]
			}
		}
		if found == nil || !found.Passed || len(found.Metrics) != 5 || found.Auditor != addr(7) || found.ReportCID != res.ReportCID {
			t.Fatalf("audit %d in the API: %+v", res.AuditID, found)
		}
		for _, m := range found.Metrics {
			if m.SensitiveFeature == "sex" && m.Kind == "DEMOGRAPHIC_PARITY_DIFFERENCE" && m.Value.String() != "0.0437" {
				t.Errorf("metric %+v", m)
			}
		}
		data, _ := os.ReadFile(filepath.Join("testdata", "fairness-report.json"))
		if found.ReportSHA256 != common.Hash(sha256.Sum256(data)) {
			t.Errorf("report sha256 %s", found.ReportSHA256.Hex())
		}
	})

	t.Run("read", func(t *testing.T) {
		r := ok(t, e, nil, "status")
		for _, want := range []string{"DAO on chain 1337", "Index: block", "Pins: 2 pinned"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("status: no %q in\n%s", want, r.stdout)
			}
		}
		r = ok(t, e, nil, "proposals", "--state", "executed", "--limit", "3")
		if !strings.Contains(r.stdout, "Register Test Auditors") || !strings.Contains(r.stdout, "next page: --after") {
			t.Errorf("proposals:\n%s", r.stdout)
		}
		var ps struct {
			Proposals []proposalOut
			Total     int
		}
		ok(t, e, &ps, "proposals", "--json", "--version", strconv.FormatUint(pub.VersionID, 10))
		if ps.Total != 1 || ps.Proposals[0].ID != pid || ps.Proposals[0].State != "EXECUTED" {
			t.Errorf("proposals of the published version: %+v", ps)
		}
		var ms struct{ Versions []versionOut }
		ok(t, e, &ms, "models", "--json", "--model", "test/tiny")
		if len(ms.Versions) != 1 || ms.Versions[0].Pin != "PINNED" || ms.Versions[0].Status != "APPROVED" {
			t.Errorf("models: %+v", ms)
		}
		r = ok(t, e, nil, "models", "--status", "approved")
		if !strings.Contains(r.stdout, "test/tiny") || !strings.Contains(r.stdout, "acme/sentiment-small") {
			t.Errorf("models:\n%s", r.stdout)
		}
	})

	// Release directories: publish, pull (seeded and new), refusals.
	t.Run("releases", func(t *testing.T) { testReleases(t, e, info, api) })

	// Operators (ops_test.go): the index verified and rebuilt, the services outside the dev
	// stack, the relayer, a corrupted record.
	t.Run("verify, digest and reindex", func(t *testing.T) { testVerifyDigestReindex(t, f) })
	t.Run("services", func(t *testing.T) { testServices(t, f, pub) })
	t.Run("relay", func(t *testing.T) { testRelay(t, f) })
	t.Run("verify mismatch", func(t *testing.T) { testVerifyMismatch(t, f) })

	// Ctrl-C: the stack stops, its child processes are reaped and its data removed.
	t.Run("stop", func(t *testing.T) {
		kids := children(t)
		var started []int
		for pid, name := range kids {
			if _, ok := before[pid]; !ok && (name == "redis-server" || name == "ipfs") {
				started = append(started, pid)
			}
		}
		if len(started) != 2 {
			t.Errorf("dev started these child processes: %v (want redis-server and ipfs)", kids)
		}
		dev.cancel()
		select {
		case code := <-dev.done:
			stopped = true
			if code != 0 {
				t.Errorf("modeldao dev exited with %d:\n%s", code, dev.stderr)
			}
		case <-time.After(time.Minute):
			t.Fatalf("modeldao dev did not stop within a minute:\n%s", dev.stderr)
		}
		now := children(t)
		for _, pid := range started {
			if name, ok := now[pid]; ok {
				t.Errorf("child process %d (%s) is still running", pid, name)
			}
		}
		if _, err := os.Stat(info.DataDir); !os.IsNotExist(err) {
			t.Errorf("data directory %s still exists: %v", info.DataDir, err)
		}
		for _, u := range []string{info.RPCURL, info.GraphQLURL} {
			host := strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "ws://")
			host, _, _ = strings.Cut(host, "/")
			if c, err := net.DialTimeout("tcp", host, time.Second); err == nil {
				c.Close()
				t.Errorf("%s still accepts connections", host)
			}
		}
		if !strings.Contains(dev.stderr.String(), "dev: stopped") {
			t.Errorf("stderr:\n%s", dev.stderr)
		}
	})
	t.Logf("TestCLI took %s", time.Since(start).Round(time.Millisecond))
}
