package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/infra/anvil"
	"github.com/modeldao/modeldao/infra/kubo"
	"github.com/modeldao/modeldao/infra/procutil"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/pinning"
)

// cliRun runs the real modeldao binary as an operator does: environment variables only (no
// state shared with the test process), one process per step.
type cliRun struct {
	t   *testing.T
	bin string
	env map[string]string // what every step sees: node, deployment file, IPFS, Redis
}

// as returns the environment of an actor that signs with key.
func (c *cliRun) as(key *ecdsa.PrivateKey) map[string]string {
	e := map[string]string{"MODELDAO_PRIVATE_KEY": fmt.Sprintf("0x%x", crypto.FromECDSA(key))}
	for k, v := range c.env {
		e[k] = v
	}
	return e
}

// ok runs the command and fails the test unless it exits 0, printing the command, its
// stdout and its stderr. With out non-nil, --json is added and stdout decoded into out.
func (c *cliRun) ok(env map[string]string, out any, args ...string) string {
	c.t.Helper()
	if out != nil {
		args = append(args, "--json")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	// Only what an operator sets, plus what any program needs to run.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + c.t.TempDir()}
	var vars []string
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
		if k != "MODELDAO_PRIVATE_KEY" {
			vars = append(vars, k+"="+v)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	show := fmt.Sprintf("modeldao %s\n(env %s)\n--- stdout:\n%s\n--- stderr:\n%s", strings.Join(args, " "), strings.Join(vars, " "), stdout.String(), stderr.String())
	if err != nil {
		c.t.Fatalf("%v: %s", err, show)
	}
	if out != nil {
		if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
			c.t.Fatalf("decoding the JSON output: %v: %s", err, show)
		}
	}
	c.t.Logf("modeldao %s: ok", strings.Join(args, " "))
	return stdout.String()
}

// buildModeldao builds the modeldao command into a temporary directory.
func buildModeldao(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "modeldao")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/modeldao/modeldao/cmd/modeldao").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/modeldao: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The JSON outputs of the commands, as far as the test reads them.
type (
	deployOut struct {
		Token, Governor common.Address
		StartBlock      uint64 `json:"startBlock"`
	}
	proposalOut struct {
		ProposalID string `json:"proposalId"`
		VoteStart  uint64 `json:"voteStart"`
	}
	voteOut struct {
		Voter  common.Address `json:"voter"`
		Weight string         `json:"weight"`
	}
	publishOut struct {
		VersionID     uint64      `json:"versionId"`
		WeightsCID    string      `json:"weightsCid"`
		WeightsSHA256 common.Hash `json:"weightsSha256"`
		Size          int64       `json:"size"`
		Files         int         `json:"files"`
	}
	webhookRow struct {
		ID, URL, Model string
		Events         []string
		SecretHint     string `json:"secretHint"`
	}
	auditOut struct {
		AuditID     uint64 `json:"auditId"`
		Passed      bool   `json:"passed"`
		MeetsPolicy bool   `json:"meetsPolicy"`
	}
)

// TestMissionOnDeployedDAO walks the mission as users do it, every step a run of the real
// modeldao binary: `modeldao deploy` on anvil, then holders delegate, the DAO registers an
// auditor and adopts a policy that requires an audit, a publisher publishes a release
// directory (safetensors shards, config, tokenizer, card) to kubo, the auditor audits it,
// the DAO approves the version. `index --once` builds the index in a fresh redis-server
// before the vote; an integrator registers a webhook with a real receiver; a live query
// over `serve`'s SSE sees the first vote once indexed; `pin --once` pins and verifies every
// file, `notify --once` delivers the signed approval, `serve` answers the typed Go client
// (content, evidence), `verify` compares the API with the chain, and `pull` fetches the
// approved release byte-identical.
func TestMissionOnDeployedDAO(t *testing.T) {
	ctx := context.Background()
	bin := buildModeldao(t)
	node := anvil.StartT(t, anvil.Options{Quiet: true}) // automine: a block per transaction
	ipfsd := kubo.StartT(t)
	dir := t.TempDir()
	keys := node.Keys()
	deployer, publisher, auditor := keys[0], keys[4], keys[5]
	voters := keys[:4] // the deployer holds tokens and votes too
	addr := func(k *ecdsa.PrivateKey) common.Address { return crypto.PubkeyToAddress(k.PublicKey) }
	deploymentFile := filepath.Join(dir, "deployment.json")
	m := &cliRun{t: t, bin: bin, env: map[string]string{
		"ETH_RPC_URL": node.URL(), "DEPLOYMENT_FILE": deploymentFile, "IPFS_API_URL": ipfsd.APIURL(),
	}}
	const votingPeriod, timelockDelay = 20, "60s"

	// Deploy: four holders, a fixed supply (the token's owner renounces).
	dist := writeFile(t, dir, "distribution.csv", fmt.Sprintf("address,amount\n%s,400000\n%s,300000.5\n%s,200000\n%s,100000\n",
		addr(voters[0]).Hex(), addr(voters[1]).Hex(), addr(voters[2]).Hex(), addr(voters[3]).Hex()))
	deploy := []string{"deploy", "--chain-id", "31337", "--distribution", dist, "--units", "tokens",
		"--voting-delay", "1", "--voting-period", fmt.Sprint(votingPeriod), "--quorum", "10",
		"--timelock-delay", timelockDelay, "--token-owner", "renounce"}
	var plan, dep deployOut
	m.ok(m.as(deployer), &plan, append(deploy, "--dry-run")...)
	if _, err := os.Stat(deploymentFile); err == nil {
		t.Fatal("the dry run wrote the deployment file")
	}
	m.ok(m.as(deployer), &dep, deploy...)
	d, err := contracts.LoadDeployment(deploymentFile)
	if err != nil {
		t.Fatal(err)
	}
	if d.Governor != dep.Governor || d.Token != dep.Token || d.Block != dep.StartBlock || dep != (deployOut{Token: plan.Token, Governor: plan.Governor, StartBlock: dep.StartBlock}) {
		t.Fatalf("deployment file %+v, deploy printed %+v, the dry run planned %+v", d, dep, plan)
	}
	dao, err := contracts.Bind(d, node.Client())
	if err != nil {
		t.Fatal(err)
	}
	if owner, err := dao.Token.Owner(nil); err != nil || owner != (common.Address{}) {
		t.Fatalf("token owner after --token-owner renounce: %s %v", owner, err)
	}

	for _, v := range voters {
		m.ok(m.as(v), nil, "delegate", "self")
	}

	// passWatched has voter i vote supports[i] on the proposal and takes it through the
	// timelock, as the CLI's users do; voted, when not nil, runs after each vote.
	passed := map[string]map[common.Address]string{} // proposal id → voter → support cast
	passWatched := func(p proposalOut, voted func(i int), supports ...string) {
		t.Helper()
		m.ok(m.env, nil, "mine", "--blocks", "2") // past the voting delay
		cast := map[common.Address]string{}
		for i, s := range supports {
			cast[addr(voters[i])] = strings.ToUpper(s)
			var v voteOut
			m.ok(m.as(voters[i]), &v, "vote", p.ProposalID, s, "--reason", fmt.Sprintf("voter %d says %s", i, s))
			want, err := dao.Governor.GetVotes(nil, addr(voters[i]), new(big.Int).SetUint64(p.VoteStart))
			if err != nil {
				t.Fatal(err)
			}
			if v.Voter != addr(voters[i]) || v.Weight != want.String() {
				t.Fatalf("vote by %s with weight %s; want %s with getVotes at the snapshot %s", v.Voter, v.Weight, addr(voters[i]), want)
			}
			if voted != nil {
				voted(i)
			}
		}
		m.ok(m.env, nil, "mine", "--blocks", fmt.Sprint(votingPeriod+1))
		m.ok(m.as(deployer), nil, "queue", p.ProposalID)
		m.ok(m.env, nil, "mine", "--time", "61s")
		m.ok(m.as(voters[1]), nil, "execute", p.ProposalID) // anyone may execute
		passed[p.ProposalID] = cast
	}
	pass := func(p proposalOut, supports ...string) { t.Helper(); passWatched(p, nil, supports...) }

	// The DAO registers an auditor and adopts a policy that requires a passing audit.
	var addAuditor, adopt proposalOut
	m.ok(m.as(deployer), &addAuditor, "propose", "auditor", "add", addr(auditor).Hex(), "--name", "Fair Audits Ltd")
	pass(addAuditor, "for", "for", "against")
	policyDoc := writeFile(t, dir, "policy.md", "# Fairness baseline\nDemographic parity difference at most 0.1; disparate impact ratio at least 0.8.\n")
	m.ok(m.as(voters[1]), &adopt, "propose", "policy", "--name", "fairness-baseline", "--version", "1.0", "--document", policyDoc,
		"--audit-required", "--bound", "demographic_parity_difference<=0.1", "--bound", "disparate_impact_ratio>=0.8")
	pass(adopt, "for", "for", "abstain", "for")

	// A publisher publishes a release directory: kubo adds every file, the registry records
	// the directory's CID and the sha256 of its manifest.
	rel := writeTestRelease(t, filepath.Join(dir, "acme-sentiment"))
	card := writeFile(t, dir, "card.md", "# acme/sentiment\nA small sentiment classifier.\n")
	var pub publishOut
	m.ok(m.as(publisher), &pub, "publish", rel.dir, "--model", "acme/sentiment", "--version", "1.0.0",
		"--license", "Apache-2.0", "--card", card, "--tag", "nlp,sentiment")
	var relSize int64
	for _, b := range rel.files {
		relSize += int64(len(b))
	}
	if pub.Files != len(rel.files) || pub.Size != relSize {
		t.Fatalf("publish: %d files of %d bytes; the release has %d files of %d bytes (.git and __pycache__ left out)", pub.Files, pub.Size, len(rel.files), relSize)
	}
	// The publisher's own node pinned what it added; in production it is not the pinner's
	// node. Drop that pin so that only the pinner can make the release pinned below.
	ipfs, err := pinning.NewClient(ipfsd.APIURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	weightsCID, err := cid.Decode(pub.WeightsCID)
	if err != nil {
		t.Fatalf("publish printed CID %q: %v", pub.WeightsCID, err)
	}
	if err := ipfs.Pin().Rm(ctx, path.FromCid(weightsCID)); err != nil {
		t.Fatal(err)
	}
	if pinned(t, ipfs, weightsCID) {
		t.Fatal("the release is still pinned after the publisher's pin was removed")
	}

	// The registered auditor posts a passing audit under the policy.
	report := writeFile(t, dir, "report.json", fmt.Sprintf(`{
  "format": "modeldao-fairness-report/v1", "modelVersion": %d, "policy": 1,
  "generator": "fairlearn 0.12.0", "dataset": "adult census income, test split",
  "bySensitiveFeature": {"sex": {
    "demographic_parity_difference": {"value": 0.041, "threshold": 0.1, "byGroup": {"Female": 0.192, "Male": 0.233}},
    "disparate_impact_ratio": {"value": 0.82, "threshold": 0.8}}}}`, pub.VersionID))
	var aud auditOut
	m.ok(m.as(auditor), &aud, "audit", "submit", report)
	if !aud.Passed || !aud.MeetsPolicy {
		t.Fatalf("audit: %+v", aud)
	}

	// The services, before the approval: index into a fresh redis-server, serve.
	var approve proposalOut
	m.ok(m.as(voters[2]), &approve, "propose", "approve", fmt.Sprint(pub.VersionID))
	rs := redisserver.StartT(t)
	m.env["REDIS_URL"] = rs.URL()
	var idx struct {
		ToBlock  uint64
		Events   int
		CaughtUp bool
	}
	m.ok(m.env, &idx, "index", "--once")

	// An integrator registers a webhook for approvals of the model, with a real receiver.
	recv := startReceiver(t)
	hookURL := recv.URL + "/hooks/modeldao"
	modelID := modeldao.ModelID("acme/sentiment").Hex()
	var hook struct{ ID, URL, Secret string }
	m.ok(m.env, &hook, "webhook", "add", hookURL, "--events", "version.approved", "--model", modelID)
	if hook.ID == "" || hook.URL != hookURL || len(hook.Secret) < 32 {
		t.Fatalf("webhook add: %+v", hook)
	}
	var hooks []webhookRow
	m.ok(m.env, &hooks, "webhook", "list")
	if len(hooks) != 1 || hooks[0].ID != hook.ID || hooks[0].Model != modelID || strings.Contains(hooks[0].SecretHint, hook.Secret[4:len(hook.Secret)-2]) ||
		len(hooks[0].Events) != 1 || hooks[0].Events[0] != "version.approved" {
		t.Fatalf("webhook list: %+v (secret %s)", hooks, hook.Secret)
	}

	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	var env []string
	for k, v := range m.env {
		env = append(env, k+"="+v)
	}
	serve, err := procutil.Start(ctx, procutil.Config{Name: "modeldao serve", Path: bin, Args: []string{"serve", "--listen", listen}, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	defer serve.Kill()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = serve.WaitUntil(wctx, "/healthz answers 200", 50*time.Millisecond, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+listen+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	apiURL := "http://" + listen + "/graphql"
	gql := client.New(apiURL, &http.Client{Transport: noCache{}})

	// A frontend watches the approval's tally with a live query before anyone voted, and
	// sees the first vote once it is indexed.
	type tallyResult struct {
		Data struct {
			Proposal struct {
				Tally      struct{ For, Against, Abstain string }
				VoterCount int
			}
		}
		Errors []any
	}
	live := openLiveQuery(t, "http://"+listen, `query Watch($id: ID!) { proposal(id: $id) { tally { for against abstain } voterCount } }`,
		map[string]any{"id": approve.ProposalID})
	var tally tallyResult
	if !live.next(t, 20*time.Second, &tally) {
		t.Fatal("the live query sent no first result within 20s")
	}
	if tally.Errors != nil || tally.Data.Proposal.Tally.For != "0" || tally.Data.Proposal.VoterCount != 0 {
		t.Fatalf("live query before the votes: %+v", tally)
	}
	firstVote := func(i int) {
		if i != 0 {
			return
		}
		m.ok(m.env, nil, "index", "--once")
		w, err := dao.Governor.GetVotes(nil, addr(voters[0]), new(big.Int).SetUint64(approve.VoteStart))
		if err != nil {
			t.Fatal(err)
		}
		// Results change with every indexed checkpoint that changes them; wait for the one
		// that counts the vote.
		deadline := time.Now().Add(30 * time.Second)
		for tally.Data.Proposal.VoterCount == 0 {
			if !live.next(t, time.Until(deadline), &tally) {
				t.Fatalf("no live update counting the first vote within 30s; last result %+v", tally)
			}
		}
		if tally.Errors != nil || tally.Data.Proposal.Tally.For != w.String() || tally.Data.Proposal.VoterCount != 1 {
			t.Fatalf("live update after the first vote (for, weight %s): %+v", w, tally)
		}
		live.cancel()
	}

	// The DAO approves the version under the policy (the CLI found the audit on chain):
	// for, for, against, abstain.
	passWatched(approve, firstVote, "for", "for", "against", "abstain")

	m.ok(m.env, &idx, "index", "--once")
	head, err := node.Client().BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !idx.CaughtUp || idx.ToBlock != head {
		t.Fatalf("index --once: %+v, chain head %d", idx, head)
	}
	m.ok(m.env, nil, "pin", "--once")
	if !pinned(t, ipfs, weightsCID) {
		t.Fatal("kubo does not list the release as pinned after modeldao pin --once")
	}

	// The notifier delivers the approval to the receiver, signed with the secret.
	var sent struct{ FannedOut, Delivered, Retried, Dead int }
	m.ok(m.env, &sent, "notify", "--once")
	got := recv.deliveries()
	if sent.Delivered != 1 || len(got) != 1 {
		t.Fatalf("notify --once: %+v; the receiver got %d requests", sent, len(got))
	}
	if err := checkSignature(got[0], hook.Secret, time.Now()); err != nil {
		t.Fatalf("webhook delivery: %v\n%s", err, got[0].body)
	}
	var note struct {
		ID, Type string
		Block    uint64
		Models   []common.Hash
		Data     struct{ VersionID, PolicyID, AuditID uint64 }
	}
	if err := json.Unmarshal(got[0].body, &note); err != nil {
		t.Fatalf("webhook body %s: %v", got[0].body, err)
	}
	if note.Type != "version.approved" || got[0].header.Get("X-ModelDAO-Event") != note.Type || note.ID == "" || got[0].header.Get("X-ModelDAO-Event-Id") != note.ID ||
		note.Data.VersionID != pub.VersionID || note.Data.PolicyID != 1 || note.Data.AuditID != aud.AuditID || len(note.Models) != 1 || note.Models[0].Hex() != modelID ||
		note.Block == 0 || note.Block > head {
		t.Fatalf("webhook delivery %s with headers %v", got[0].body, got[0].header)
	}
	m.ok(m.env, &sent, "notify", "--once")
	if n := len(recv.deliveries()); n != 1 || sent.Delivered != 0 {
		t.Fatalf("a second notify --once: %+v, %d requests in all", sent, n)
	}

	// The index has caught up with the chain.
	st, err := gql.IndexerStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.IndexedBlock != head || st.Lag != 0 || !st.Healthy {
		t.Fatalf("indexer status %+v, chain head %d", st, head)
	}

	// The version is approved under the policy, with its audit; its release is pinned.
	v, err := gql.ModelVersion(ctx, pub.VersionID, client.PageArgs{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "APPROVED" || v.PolicyID != 1 || v.WeightsCID != pub.WeightsCID || v.WeightsSHA256 != pub.WeightsSHA256 ||
		v.Publisher != addr(publisher) || v.ModelName != "acme/sentiment" || v.Label != "1.0.0" {
		t.Fatalf("version as the API shows it: %+v", v.ModelVersion)
	}
	if len(v.Audits.Items) != 1 || v.Audits.Items[0].ID != aud.AuditID || !v.Audits.Items[0].Passed ||
		v.Audits.Items[0].Auditor != addr(auditor) || v.Audits.Items[0].AuditorName != "Fair Audits Ltd" || len(v.Audits.Items[0].Metrics) != 2 {
		t.Fatalf("audits: %+v", v.Audits.Items)
	}
	last := v.History[len(v.History)-1]
	if last.Status != "APPROVED" || last.ProposalID != approve.ProposalID || last.AuditID != aud.AuditID || last.PolicyID != 1 {
		t.Fatalf("approval in the history: %+v", last)
	}
	if v.Pin == nil || v.Pin.Status != "PINNED" || v.Pin.CID != pub.WeightsCID || v.Pin.Size < uint64(pub.Size) {
		t.Fatalf("pin: %+v", v.Pin)
	}
	checkContent(t, ctx, gql, pub.VersionID, rel)

	// What voters saw: the evidence table in the approval's description (as every Governor
	// frontend shows it, and as the README's voter walkthrough quotes it), and the same
	// evidence recomputed by the API.
	var ev struct {
		Proposal struct {
			Description string
			Evidence    []struct {
				Passed  bool
				Reason  string
				Content struct{ Status string }
				Checks  []struct {
					SensitiveFeature string
					Value, Margin    string
					Passed           bool
				}
			}
		}
	}
	err = gql.Exec(ctx, `query($id: ID!) { proposal(id: $id) { description evidence { passed reason content { status }
		checks { sensitiveFeature value margin passed } } } }`, map[string]any{"id": approve.ProposalID}, &ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"under policy 1 (fairness-baseline 1.0), relying on audit " + fmt.Sprint(aud.AuditID) + ".", "## Evidence",
		"| metric | feature | policy 1 bound | value | margin | result |",
		"| DEMOGRAPHIC_PARITY_DIFFERENCE | sex | ≤ 0.1 | 0.041 | 0.059 | pass |",
		"| DISPARATE_IMPACT_RATIO | sex | ≥ 0.8 | 0.82 | 0.02 | pass |"} {
		if !strings.Contains(ev.Proposal.Description, want) {
			t.Fatalf("the approval's description lacks %q:\n%s", want, ev.Proposal.Description)
		}
	}
	if e := ev.Proposal.Evidence; len(e) != 1 || len(e[0].Checks) != 2 || e[0].Content.Status != "VERIFIED" ||
		e[0].Checks[0].Margin != "0.059" || !e[0].Checks[0].Passed || e[0].Checks[1].Margin != "0.02" || !e[0].Checks[1].Passed {
		t.Fatalf("the approval's evidence: %+v", e)
	}

	// Every proposal is executed, its tally is the governor's, and every vote weighs what
	// the voter's votes were at the snapshot.
	for id, cast := range passed {
		checkProposal(t, ctx, gql, dao, id, cast)
	}

	m.env["MODELDAO_API_URL"] = apiURL
	var ver struct {
		OK          bool
		Differences []any
		Checked     map[string]int
	}
	m.ok(m.env, &ver, "verify")
	if !ver.OK || len(ver.Differences) != 0 || ver.Checked["proposals"] != len(passed) {
		t.Fatalf("verify: %+v", ver)
	}

	// An inference provider pulls the approved version: every file byte-identical.
	pulled := filepath.Join(t.TempDir(), "acme-sentiment-1.0.0")
	var pl struct {
		Dir    string
		Status string
		Files  int
		Kind   string
		SHA256 string
	}
	m.ok(m.env, &pl, "pull", "acme/sentiment@1.0.0", "--dir", pulled)
	if pl.Dir != pulled || pl.Status != "APPROVED" || pl.Files != len(rel.files) || pl.Kind != "directory" || !strings.EqualFold(pl.SHA256, pub.WeightsSHA256.Hex()) {
		t.Fatalf("pull: %+v", pl)
	}
	rel.sameTree(t, pulled, "manifest.json", ".modeldao-complete.json")

	// The integrator removes the webhook.
	m.ok(m.env, nil, "webhook", "remove", hook.ID)
	m.ok(m.env, &hooks, "webhook", "list")
	if len(hooks) != 0 {
		t.Fatalf("webhook list after remove: %+v", hooks)
	}

	// serve stops cleanly on SIGTERM.
	if err := serve.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := serve.ExitErr(); err != nil {
		t.Fatalf("modeldao serve after SIGTERM: %v\n%s", err, serve.Output())
	}
}

// checkContent compares the version's content as the API shows it (what the pinner
// verified) with the release the test wrote: every file with its size and sha256, and the
// tensors of each shard and in total.
func checkContent(t *testing.T, ctx context.Context, gql *client.Client, id uint64, rel *testRelease) {
	t.Helper()
	c, err := gql.VersionContent(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	paths := rel.paths()
	if c.Status != "VERIFIED" || c.Reason != "" || len(c.Files) != len(paths) {
		t.Fatalf("content: status %s (%s), %d files; want VERIFIED with %v", c.Status, c.Reason, len(c.Files), paths)
	}
	var total int64
	for i, f := range c.Files {
		b := rel.files[paths[i]]
		total += int64(len(b))
		if f.Path != paths[i] || f.Size != int64(len(b)) || f.SHA256 != fmt.Sprintf("%x", sha256.Sum256(b)) || f.CID == "" || f.FormatError != "" {
			t.Fatalf("content file %d: %+v; want %s, %d bytes, sha256 %x", i, f, paths[i], len(b), sha256.Sum256(b))
		}
		n, isShard := rel.tensors[f.Path]
		switch {
		case !isShard && f.Format != nil:
			t.Fatalf("content file %s has a tensor format: %+v", f.Path, f.Format)
		case isShard && (f.Format == nil || f.Format.TensorCount != int64(n) || f.Format.ParameterCount != rel.params[f.Path] || !slices.Equal(f.Format.Dtypes, rel.dtypes[f.Path])):
			t.Fatalf("content file %s: format %+v; want %d tensors, %d parameters, dtypes %v", f.Path, f.Format, n, rel.params[f.Path], rel.dtypes[f.Path])
		}
	}
	tensors, params, dtypes := rel.totals()
	if c.TotalSize != total || c.Format == nil || c.Format.TensorCount != int64(tensors) || c.Format.ParameterCount != params || !slices.Equal(c.Format.Dtypes, dtypes) {
		t.Fatalf("content totals: %d bytes, format %+v; want %d bytes, %d tensors, %d parameters, dtypes %v", c.TotalSize, c.Format, total, tensors, params, dtypes)
	}
}

// checkProposal compares the proposal as the API shows it with the governor: state, tally,
// snapshot, and each vote (voter, support as cast, weight as getVotes at the snapshot).
func checkProposal(t *testing.T, ctx context.Context, gql *client.Client, dao *contracts.DAO, id string, cast map[common.Address]string) {
	t.Helper()
	pid, ok := new(big.Int).SetString(id, 10)
	if !ok {
		t.Fatalf("proposal id %q", id)
	}
	p, err := gql.Proposal(ctx, id, "WEIGHT", client.PageArgs{})
	if err != nil {
		t.Fatal(err)
	}
	votes, err := dao.Governor.ProposalVotes(nil, pid)
	if err != nil {
		t.Fatal(err)
	}
	if p.State != "EXECUTED" || p.Tally.For.Cmp(votes.ForVotes) != 0 || p.Tally.Against.Cmp(votes.AgainstVotes) != 0 || p.Tally.Abstain.Cmp(votes.AbstainVotes) != 0 {
		t.Fatalf("proposal %s: state %s tally %+v; the governor says for %v against %v abstain %v", id, p.State, p.Tally, votes.ForVotes, votes.AgainstVotes, votes.AbstainVotes)
	}
	if p.Tally.For.Sign() == 0 || len(p.Votes.Items) != len(cast) || p.Votes.TotalCount != len(cast) || p.VoterCount != len(cast) {
		t.Fatalf("proposal %s: %d votes of %d, tally %+v", id, len(p.Votes.Items), p.Votes.TotalCount, p.Tally)
	}
	snapshot, err := dao.Governor.ProposalSnapshot(nil, pid)
	if err != nil {
		t.Fatal(err)
	}
	if p.Snapshot != snapshot.Uint64() {
		t.Fatalf("proposal %s: snapshot %d, the governor says %v", id, p.Snapshot, snapshot)
	}
	for _, v := range p.Votes.Items {
		w, err := dao.Governor.GetVotes(&bind.CallOpts{Context: ctx}, v.Voter, snapshot)
		if err != nil {
			t.Fatal(err)
		}
		if v.Weight.Cmp(w) != 0 || v.Weight.Sign() == 0 || v.ProposalID != id || v.Support != cast[v.Voter] || !strings.HasSuffix(v.Reason, " says "+strings.ToLower(v.Support)) {
			t.Fatalf("proposal %s: vote %+v; getVotes(%s, %v) = %v", id, v, v.Voter, snapshot, w)
		}
	}
}
